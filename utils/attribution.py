"""One interface over the course's attribution methods: every method maps (model, images, targets)
to pixel maps (N, H, W), so that maps can be compared, scored and sanity-checked side by side.

Signed maps sum the attribution over the colour channels; positive means "raises the target".
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shap
import torch
from captum.attr import IntegratedGradients, Saliency
from torch import nn

from . import cam, occlusion
from .config import DEVICE, by_mode
from .explain import deep_shap
from .faithfulness import blurred
from .hooks import restored_hooks

Method = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]
IG_STEPS = 128  # Integrated Gradients' integration steps for the maps (notebook 07 measures the error)
IG_BATCH = 256  # interpolated images per forward/backward pass: bounds memory whatever the steps


def saliency(model: nn.Module, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """|∂ output / ∂ pixel|, largest over channels (Simonyan et al. 2014), via Captum's ``Saliency``."""
    return Saliency(model).attribute(x.to(DEVICE), target=targets.tolist(), abs=True).amax(1).detach().cpu()


def integrated_gradients(model: nn.Module, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Integrated Gradients from a black image (Sundararajan et al. 2017), via Captum."""
    attr = IntegratedGradients(model).attribute(x.to(DEVICE), target=targets.tolist(), n_steps=IG_STEPS,
                                                internal_batch_size=IG_BATCH)
    return attr.sum(1).detach().cpu()


def integrated_gradients_delta(model: nn.Module, x: torch.Tensor, targets: torch.Tensor,
                               n_steps: int = IG_STEPS) -> torch.Tensor:
    """(N,) completeness gap of Integrated Gradients with ``n_steps``: Σ attribution − (f(x) − f(black))."""
    _, delta = IntegratedGradients(model).attribute(x.to(DEVICE), target=targets.tolist(), n_steps=n_steps,
                                                    internal_batch_size=IG_BATCH, return_convergence_delta=True)
    return delta.detach().cpu()


class _Column(nn.Module):
    """Output column ``k`` of ``model`` as a one-output model: SHAP then explains only that class."""

    def __init__(self, model: nn.Module, k: int) -> None:
        super().__init__()
        self.model, self.k = model, k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)[:, self.k:self.k + 1]


def _per_target(explain_one: Callable[[nn.Module, torch.Tensor], np.ndarray]) -> Method:
    """A method that runs ``explain_one(one-output model, images)`` once per distinct target, so that
    each image costs one explained output instead of all K, and sums the values over channels."""
    def method(model: nn.Module, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        maps = torch.empty(len(x), *x.shape[-2:])
        for k in targets.unique().tolist():
            rows = (targets == k).nonzero()[:, 0]
            values = np.asarray(explain_one(_Column(model, k), x[rows])).reshape(len(rows), *x.shape[1:])
            maps[rows] = torch.from_numpy(values).float().sum(1)
        return maps
    return method


def deep_shap_maps(background: torch.Tensor) -> Method:
    """DeepExplainer with the given background (see :func:`utils.explain.deep_shap`)."""
    return _per_target(lambda column, x: deep_shap(column, background, x, check_additivity=False).values)


def gradient_shap_maps(background: torch.Tensor, nsamples: int = 64) -> Method:
    """SHAP's GradientExplainer (expected gradients) on the input pixels."""
    def explain_one(column: nn.Module, x: torch.Tensor) -> np.ndarray:
        column.eval()
        with restored_hooks(column):
            explainer = shap.GradientExplainer(column, background.to(DEVICE))
            return explainer.shap_values(x.to(DEVICE), nsamples=nsamples, rseed=0)
    return _per_target(explain_one)


def occlusion_maps(window: int = 4, stride: int = 2, blur: bool = False) -> Method:
    """The course's batched occlusion (hide a window, measure the drop), per pixel; the window is set
    to black, or with ``blur`` to a blurred copy of the image (what the deletion metric removes to)."""
    def method(model: nn.Module, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return torch.stack([occlusion.occlusion_attribution(model, img, target=int(t), window=(window, window),
                                                            stride=(stride, stride),
                                                            baseline=blurred(img) if blur else 0.0)
                            for img, t in zip(x, targets)])
    return method


def grad_cam_maps(feature_layer_of: Callable[[nn.Module], nn.Module]) -> Method:
    """Grad-CAM on ``feature_layer_of(model)``, upsampled to the image."""
    def method(model: nn.Module, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        maps = cam.GradCAM(model, feature_layer_of(model))(x.to(DEVICE), targets.to(DEVICE))
        return cam.upsample(maps, tuple(x.shape[-2:])).detach().cpu()
    return method


def random_maps(seed: int = 0) -> Method:
    """Uniform noise: the baseline every real method must beat."""
    def method(model: nn.Module, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return torch.rand(len(x), *x.shape[-2:], generator=torch.Generator().manual_seed(seed))
    return method


def standard_methods(background: torch.Tensor) -> dict[str, Method]:
    """The seven maps notebook 07 compares on the course's CIFAR-10 ConvNet, at its settings (by mode).

    Grad-CAM uses the last 8×8 feature map (``batchnorm6``); occlusion hides 4×4 windows (stride 2)
    with a blurred copy, the removal the deletion metric uses.
    """
    return {
        "Deep SHAP": deep_shap_maps(background),
        "Gradient SHAP": gradient_shap_maps(background, nsamples=by_mode(quick=32, full=200)),
        "Integrated Gradients": integrated_gradients,
        "Saliency": saliency,
        "Occlusion": occlusion_maps(window=4, stride=2, blur=True),
        "Grad-CAM": grad_cam_maps(lambda m: m.batchnorm6),
        "Random": random_maps(),
    }
