import pytest
import torch

from utils import attribution, cam, models


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


def test_grad_cam_maps_explain_the_score_layer_when_given_one(setup) -> None:
    """TinyNet ends in a softmax: Grad-CAM of its ``fc`` (the logits) differs from
    Grad-CAM of its output, and equals utils.cam's with the same layers."""
    model, x, targets = setup
    of_logit = attribution.grad_cam_maps(lambda m: m.bn, lambda m: m.fc)(
        model, x, targets
    )
    of_output = attribution.grad_cam_maps(lambda m: m.bn)(model, x, targets)
    direct = cam.GradCAM(model, model.bn, score_layer=model.fc)(x, targets)
    torch.testing.assert_close(of_logit, cam.upsample(direct, (8, 8)))
    assert not torch.allclose(of_logit, of_output)


@pytest.mark.parametrize(
    "shape, message",
    [
        ((2, 3, 64, 64), r"takes \(3, 32, 32\)"),  # another size
        ((2, 1, 32, 32), r"takes \(3, 32, 32\)"),  # grey images
    ],
)
def test_images_the_model_does_not_take_are_refused(shape, message) -> None:
    """A CifarConvNet would run on 64×64 images (its pooling adapts) and explain
    nothing; every method refuses them before computing, naming the shape it takes."""
    net = models.CifarConvNet().eval()
    with pytest.raises(ValueError, match=message):
        attribution.saliency(net, torch.rand(shape), [0, 1])
