import pytest
import torch
from captum.attr import Occlusion
from torch import nn

from utils import attribution, faithfulness, occlusion


class TinyNet(nn.Module):
    """conv → ReLU → BatchNorm → pool → linear → softmax: small, but every method applies."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv, self.relu, self.bn = nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(4)
        self.pool, self.fc, self.softmax = nn.AvgPool2d(2), nn.Linear(4 * 4 * 4, 3), nn.Softmax(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.softmax(self.fc(self.pool(self.bn(self.relu(self.conv(x)))).flatten(1)))


@pytest.fixture
def setup() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    model = TinyNet().eval()
    x = torch.rand(3, 3, 8, 8)
    return model, x, model(x).argmax(1).detach()


def test_every_method_returns_pixel_maps(setup) -> None:
    model, x, targets = setup
    background = torch.rand(6, 3, 8, 8)
    methods = {**attribution.standard_methods(background), "Grad-CAM": attribution.grad_cam_maps(lambda m: m.bn)}
    methods["Gradient SHAP"] = attribution.gradient_shap_maps(background, nsamples=8)
    for name, method in methods.items():
        maps = method(model, x, targets)
        assert maps.shape == (3, 8, 8), name
        assert torch.isfinite(maps).all(), name
    assert torch.equal(attribution.random_maps(1)(model, x, targets), attribution.random_maps(1)(model, x, targets))


def test_integrated_gradients_is_complete(setup) -> None:
    model, x, targets = setup
    assert attribution.integrated_gradients_delta(model, x, targets).abs().max() < 1e-3
    total = attribution.integrated_gradients(model, x, targets).sum((1, 2))
    with torch.no_grad():
        change = model(x)[range(3), targets] - model(torch.zeros_like(x))[range(3), targets]
    torch.testing.assert_close(total, change, atol=1e-3, rtol=0)


def test_deep_shap_maps_pick_the_target_column(setup) -> None:
    model, x, targets = setup
    background = torch.rand(6, 3, 8, 8)
    maps = attribution.deep_shap_maps(background)(model, x, targets)
    with torch.no_grad():
        change = model(x)[range(3), targets] - model(background).mean(0)[targets]
    torch.testing.assert_close(maps.sum((1, 2)), change, atol=1e-4, rtol=0)


def test_occlusion_with_an_image_baseline_matches_captum(setup) -> None:
    model, x, targets = setup
    base = faithfulness.blurred(x[0])
    ours = occlusion.occlusion_attribution(model, x[0], target=int(targets[0]), window=(2, 2), stride=(2, 2),
                                           baseline=base)
    theirs = Occlusion(model).attribute(x[:1], sliding_window_shapes=(3, 2, 2), strides=(3, 2, 2),
                                        baselines=base[None], target=int(targets[0]))[0, 0]
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-5)


def test_deletion_and_insertion_curves_run_between_the_right_ends(setup) -> None:
    model, x, targets = setup
    saliency, target = torch.rand(8, 8), int(targets[0])
    with torch.no_grad():
        p = model(torch.stack([x[0], torch.zeros_like(x[0]), faithfulness.blurred(x[0])]))[:, target]
    deletion = faithfulness.deletion_curve(model, x[0], saliency, target, steps=8)
    insertion = faithfulness.insertion_curve(model, x[0], saliency, target, steps=8)
    blurred = faithfulness.blurred_deletion_curve(model, x[0], saliency, target, steps=8)
    assert deletion.shape == (9,)
    torch.testing.assert_close(deletion[[0, -1]], p[[0, 1]])
    torch.testing.assert_close(insertion[[0, -1]], p[[2, 0]])
    torch.testing.assert_close(blurred[[0, -1]], p[[0, 2]])


def test_area_under() -> None:
    assert faithfulness.area_under(torch.ones(5)) == pytest.approx(1.0)
    assert faithfulness.area_under(torch.linspace(0, 1, 11)) == pytest.approx(0.5)
