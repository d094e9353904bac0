import pytest
import torch
from torch import nn

from utils import cam, models


class GapNet(nn.Module):
    """conv → ReLU → global average pool → linear: the architecture CAM was defined
    for."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).mean((2, 3)))


def test_cam_mean_plus_bias_is_the_logit() -> None:
    net, x = GapNet().eval(), torch.rand(3, 3, 6, 5)
    maps = cam.CAM(net, net.features, net.fc)(x, [0, 2, 3])
    assert maps.shape == (3, 6, 5)
    logits = net(x)
    torch.testing.assert_close(
        maps.mean((1, 2)) + net.fc.bias.detach()[[0, 2, 3]],
        logits[[0, 1, 2], [0, 2, 3]].detach(),
        atol=1e-5,
        rtol=1e-5,
    )


def test_difference_of_two_cams_decomposes_the_logit_difference() -> None:
    """The contrastive map of notebook 04: CAM(a) − CAM(b) is the CAM of logit_a −
    logit_b."""
    net, x = GapNet().eval(), torch.rand(1, 3, 6, 5)
    maps = cam.CAM(net, net.features, net.fc)(x.repeat(2, 1, 1, 1), [1, 3])
    logits, bias = net(x)[0].detach(), net.fc.bias.detach()
    torch.testing.assert_close(
        (maps[0] - maps[1]).mean() + bias[1] - bias[3],
        logits[1] - logits[3],
        atol=1e-5,
        rtol=1e-5,
    )


def test_gradcam_of_a_gap_net_is_the_positive_part_of_cam_scaled() -> None:
    net, x = GapNet().eval(), torch.rand(2, 3, 6, 5)
    cam_maps = cam.CAM(net, net.features, net.fc)(x, [1, 1])
    grad_maps = cam.GradCAM(net, net.features)(x, [1, 1])
    # d logit / d feature = w / (h·w): Grad-CAM's weights are CAM's divided by the
    # number of cells
    torch.testing.assert_close(
        grad_maps, cam_maps.clamp(min=0) / 30, atol=1e-6, rtol=1e-5
    )
    assert all(not m._forward_hooks for m in net.modules())


def test_gradcam_reaches_features_of_a_frozen_network() -> None:
    net = GapNet().eval()
    for p in net.parameters():
        p.requires_grad_(False)
    assert cam.GradCAM(net, net.features)(torch.rand(1, 3, 4, 4), [0]).shape == (
        1,
        4,
        4,
    )


def test_upsample_and_normalize() -> None:
    maps = torch.tensor([[[0.0, 2.0], [4.0, 8.0]]])
    assert cam.upsample(maps, (8, 8)).shape == (1, 8, 8)
    norm = cam.normalize01(maps)
    assert norm.min() == 0 and norm.max() == 1
    assert cam.normalize01(torch.ones(1, 2, 2)).eq(0).all()


class UniformCAM(cam.BaseCAM):
    """Every channel weighs 1: the base class must then return the sum of the feature
    maps."""

    def channel_weights(self, features, gradients, targets):
        return torch.ones(features.shape[:2])


def test_base_cam_weights_the_hooked_features_and_leaves_no_hook() -> None:
    net = GapNet().eval()
    x = torch.rand(2, 3, 4, 4)
    maps = UniformCAM(net, net.features)(x, [0, 1])
    torch.testing.assert_close(maps, net.features(x).sum(1))
    assert not net.features._forward_hooks


@pytest.mark.parametrize(
    ("x", "targets", "message"),
    [
        (torch.rand(3, 4, 4), [0], r"image\[None\]"),
        (torch.rand(2, 3, 4, 4), [0, 4], "not an output"),
        (torch.rand(2, 3, 4, 4), [0, 1, 2], "one target per image"),
    ],
)
def test_bad_input_says_what_to_pass(x, targets, message) -> None:
    net = GapNet()
    with pytest.raises(ValueError, match=message):
        cam.CAM(net, net.features, net.fc)(x, targets)


class GapSoftmaxNet(GapNet):
    """GapNet followed by a softmax: it returns probabilities, like the course's
    ConvNet."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(super().forward(x), dim=1)


def test_gradcam_of_the_score_layer_explains_the_logit_not_the_probability() -> None:
    """Selvaraju et al. differentiate the score before the softmax. For a GAP net,
    ∂logit_c/∂A^k_ij = w_ck / (h·w), so Grad-CAM of the logit is ReLU(Σ_k w_ck A^k) / 30
    on a 6×5 map; ∂p_c/∂A^k_ij = p_c (w_ck − Σ_j p_j w_jk) / (h·w) weights the
    channels differently, and so gives another map."""
    net, x = GapSoftmaxNet().eval(), torch.rand(2, 3, 6, 5)
    targets = [1, 2]
    features = net.features(x).detach()
    w = net.fc.weight.detach()
    of_logit = cam.GradCAM(net, net.features, score_layer=net.fc)(x, targets)
    by_hand = (w[targets][:, :, None, None] * features).sum(1).clamp(min=0) / 30
    torch.testing.assert_close(of_logit, by_hand, atol=1e-6, rtol=1e-5)
    of_probability = cam.GradCAM(net, net.features)(x, targets)
    p = net(x).detach()
    alpha = p[[0, 1], targets][:, None] * (w[targets] - p @ w) / 30
    torch.testing.assert_close(
        of_probability,
        (alpha[:, :, None, None] * features).sum(1).clamp(min=0),
        atol=1e-6,
        rtol=1e-5,
    )
    assert not torch.allclose(of_logit, of_probability, atol=1e-4)
    assert all(not m._forward_hooks for m in net.modules()), "no hook left behind"


def test_gradcam_score_layer_with_a_bad_target_says_so() -> None:
    net = GapSoftmaxNet().eval()
    with pytest.raises(ValueError, match="not an output"):
        cam.GradCAM(net, net.features, score_layer=net.fc)(torch.rand(1, 3, 4, 4), [4])
    assert all(not m._forward_hooks for m in net.modules())


@pytest.mark.parametrize("shape", [(1, 3, 64, 64), (1, 1, 32, 32)])
def test_images_the_model_does_not_take_are_refused(shape) -> None:
    net = models.CifarConvNet().eval()
    for explainer in (
        cam.GradCAM(net, net.conv6),
        cam.GradCAM(net, net.conv6, score_layer=net.pool7),
    ):
        with pytest.raises(ValueError, match=r"takes \(3, 32, 32\)"):
            explainer(torch.rand(shape), [0])
    assert all(not m._forward_hooks for m in net.modules()), "no hook left behind"
