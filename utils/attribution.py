"""One interface over the course's attribution methods: every method maps
(model, images, targets) to pixel maps (N, H, W), so that maps can be compared, scored
and sanity-checked side by side.

Signed maps sum the attribution over the colour channels; positive means "raises the
target". Each method computes on the model's device and returns maps on the CPU. The
settings a notebook uses (which layer, how many samples) are presets in
:mod:`utils.recipes`, not here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from captum.attr import IntegratedGradients, Saliency
from torch import nn
from tqdm import tqdm

from . import cam, occlusion, shapley
from .config import device_of
from .faithfulness import blurred
from .inputs import fits_model, image_batch, targets_in_range

Method = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]
# Integrated Gradients' integration steps for the maps (notebook 07 measures the error)
IG_STEPS = 128
# interpolated images per forward/backward pass: bounds memory whatever the steps
IG_BATCH = 256


def checked(
    model: nn.Module, x: torch.Tensor, targets: torch.Tensor
) -> tuple[torch.Tensor, list[int]]:
    """``x`` on the model's device and ``targets`` as a list, after checking both: ``x``
    a finite batch of images the model takes (:func:`utils.inputs.fits_model`), and one
    output pass on the first image tells how many outputs the model has."""
    x = fits_model(model, image_batch(x)).to(device_of(model))
    with torch.no_grad():
        num_outputs = model.eval()(x[:1]).shape[1]
    return x, targets_in_range(targets, num_outputs, batch=len(x)).tolist()


def saliency(model: nn.Module, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """|∂ output / ∂ pixel|, largest over channels, via Captum's ``Saliency``.

    Simonyan, Vedaldi, Zisserman, "Deep Inside Convolutional Networks: Visualising Image
    Classification Models and Saliency Maps", ICLR workshop 2014:
    M_ij = max_c |∂S/∂x_cij| (they differentiate the class score before the softmax;
    this explains whatever the model returns).
    """
    x, targets = checked(model, x, targets)
    return Saliency(model).attribute(x, target=targets, abs=True).amax(1).detach().cpu()


def integrated_gradients(
    model: nn.Module, x: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """Integrated Gradients from a black image, via Captum, ``IG_STEPS`` quadrature
    nodes: (x − x′) · ∫₀¹ ∂f(x′ + α(x − x′))/∂x dα with x′ = 0, summed over channels.

    Sundararajan, Taly, Yan, "Axiomatic Attribution for Deep Networks", ICML 2017.
    """
    x, targets = checked(model, x, targets)
    attr = IntegratedGradients(model).attribute(
        x, target=targets, n_steps=IG_STEPS, internal_batch_size=IG_BATCH
    )
    return attr.sum(1).detach().cpu()


def integrated_gradients_delta(
    model: nn.Module, x: torch.Tensor, targets: torch.Tensor, n_steps: int = IG_STEPS
) -> torch.Tensor:
    """(N,) completeness gap of Integrated Gradients with ``n_steps``: Σ attribution −
    (f(x) − f(black))."""
    x, targets = checked(model, x, targets)
    _, delta = IntegratedGradients(model).attribute(
        x,
        target=targets,
        n_steps=n_steps,
        internal_batch_size=IG_BATCH,
        return_convergence_delta=True,
    )
    return delta.detach().cpu()


def _per_target(explain_one: Callable[[nn.Module, torch.Tensor], np.ndarray]) -> Method:
    """A method that runs ``explain_one(one-output model, images)`` once per distinct
    target, so that each image costs one explained output instead of all K, and sums the
    values over channels."""

    def method(
        model: nn.Module, x: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        x, target_list = checked(model, x, targets)
        targets = torch.tensor(target_list)
        maps = torch.empty(len(x), *x.shape[-2:])
        for k in targets.unique().tolist():
            rows = (targets == k).nonzero()[:, 0]
            values = np.asarray(
                explain_one(shapley.OutputColumn(model, k), x[rows.to(x.device)])
            )
            maps[rows] = (
                torch.from_numpy(values.reshape(len(rows), *x.shape[1:])).float().sum(1)
            )
        return maps

    return method


def deep_shap_maps(background: torch.Tensor) -> Method:
    """DeepExplainer with the given background (see :func:`utils.shapley.deep_shap`)."""
    return _per_target(
        lambda column, x: (
            shapley.deep_shap(column, background, x, check_additivity=False).values
        )
    )


def gradient_shap_maps(
    background: torch.Tensor, nsamples: int = 64, seed: int = 0
) -> Method:
    """SHAP's GradientExplainer (expected gradients) on the input pixels (see
    :func:`utils.shapley.gradient_shap`), its random draws seeded with ``seed``."""
    return _per_target(
        lambda column, x: shapley.gradient_shap(
            column, background, x, nsamples=nsamples, seed=seed
        )
    )


def occlusion_maps(window: int = 4, stride: int = 2, blur: bool = False) -> Method:
    """The course's batched occlusion (hide a window, measure the drop), per pixel; the
    window is set to black, or with ``blur`` to a blurred copy of the image (what the
    deletion metric removes to)."""

    def method(
        model: nn.Module, x: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        x, targets = checked(model, x, targets)
        return torch.stack(
            [
                occlusion.occlusion_attribution(
                    model,
                    img,
                    target=t,
                    window=(window, window),
                    stride=(stride, stride),
                    baseline=blurred(img) if blur else 0.0,
                )
                for img, t in zip(x, targets)
            ]
        )

    return method


def grad_cam_maps(
    feature_layer_of: Callable[[nn.Module], nn.Module],
    score_layer_of: Callable[[nn.Module], nn.Module] | None = None,
) -> Method:
    """Grad-CAM on ``feature_layer_of(model)``, upsampled to the image; it explains the
    output of ``score_layer_of(model)`` (the logits, as Selvaraju et al. do), or the
    model's own output when that is ``None`` (see :class:`utils.cam.GradCAM`)."""

    def method(
        model: nn.Module, x: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        x, targets = checked(model, x, targets)
        score_layer = None if score_layer_of is None else score_layer_of(model)
        maps = cam.GradCAM(model, feature_layer_of(model), score_layer)(x, targets)
        return cam.upsample(maps, tuple(x.shape[-2:])).detach().cpu()

    return method


def random_maps(seed: int = 0) -> Method:
    """Uniform noise: the baseline every real method must beat."""

    def method(
        model: nn.Module, x: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        return torch.rand(
            len(x), *x.shape[-2:], generator=torch.Generator().manual_seed(seed)
        )

    return method


def in_batches(
    method: Method,
    model: nn.Module,
    x: torch.Tensor,
    targets: torch.Tensor,
    batch_size: int = 500,
) -> torch.Tensor:
    """``method``'s maps (N, H, W) of many images, ``batch_size`` images at a time:
    gradient methods keep every activation of a batch, so one pass over thousands of
    images would not fit in memory. (A seeded :func:`random_maps` would repeat its noise
    in every batch: call it on all images at once.)"""
    return torch.cat(
        [
            method(model, x[i : i + batch_size], targets[i : i + batch_size])
            for i in tqdm(range(0, len(x), batch_size), desc="maps", leave=False)
        ]
    )
