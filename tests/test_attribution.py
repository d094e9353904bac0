import pytest
import torch

from utils import attribution


def test_every_method_returns_pixel_maps(setup) -> None:
    model, x, targets = setup
    background = torch.rand(6, 3, 8, 8)
    methods = {
        "Deep SHAP": attribution.deep_shap_maps(background),
        "Gradient SHAP": attribution.gradient_shap_maps(background, nsamples=8),
        "Integrated Gradients": attribution.integrated_gradients,
        "Saliency": attribution.saliency,
        "Occlusion": attribution.occlusion_maps(window=2, stride=1, blur=True),
        "Grad-CAM": attribution.grad_cam_maps(lambda m: m.bn),
        "Random": attribution.random_maps(),
    }
    for name, method in methods.items():
        maps = method(model, x, targets)
        assert maps.shape == (3, 8, 8), name
        assert torch.isfinite(maps).all(), name
    assert torch.equal(
        attribution.random_maps(1)(model, x, targets),
        attribution.random_maps(1)(model, x, targets),
    )


def test_integrated_gradients_is_complete(setup) -> None:
    model, x, targets = setup
    assert attribution.integrated_gradients_delta(model, x, targets).abs().max() < 1e-3
    total = attribution.integrated_gradients(model, x, targets).sum((1, 2))
    with torch.no_grad():
        change = (
            model(x)[range(3), targets] - model(torch.zeros_like(x))[range(3), targets]
        )
    torch.testing.assert_close(total, change, atol=1e-3, rtol=0)


def test_deep_shap_maps_pick_the_target_column(setup) -> None:
    model, x, targets = setup
    background = torch.rand(6, 3, 8, 8)
    maps = attribution.deep_shap_maps(background)(model, x, targets)
    with torch.no_grad():
        change = model(x)[range(3), targets] - model(background).mean(0)[targets]
    torch.testing.assert_close(maps.sum((1, 2)), change, atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    ("targets", "message"),
    [([0, 1, 7], "not an output"), ([0, 1], "one target per image")],
)
def test_bad_targets_say_what_to_pass(setup, targets, message) -> None:
    model, x, _ = setup
    with pytest.raises(ValueError, match=message):
        attribution.saliency(model, x, torch.tensor(targets))


def test_one_image_instead_of_a_batch_says_so(setup) -> None:
    model, x, targets = setup
    with pytest.raises(ValueError, match=r"image\[None\]"):
        attribution.integrated_gradients(model, x[0], targets[:1])


def test_in_batches_gives_the_maps_of_one_pass(setup) -> None:
    model, x, targets = setup
    torch.testing.assert_close(
        attribution.in_batches(attribution.saliency, model, x, targets, batch_size=2),
        attribution.saliency(model, x, targets),
    )
