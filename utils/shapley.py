"""SHAP (Lundberg & Lee 2017) in one place: every SHAP explainer of the course is built
here and returns a :class:`ShapExplanation`; :func:`utils.plots.shap_image_plot` draws
them.

Lundberg & Lee, "A Unified Approach to Interpreting Model Predictions", NeurIPS 2017.
Each call puts the model in eval mode (SHAP never does), computes on the model's device,
and leaves no hook behind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shap
import torch
from torch import nn

from .config import device_of
from .hooks import restored_hooks
from .inputs import finite, fits_model, image_batch, ranked_outputs_in_range
from .training import predict

# SHAP's own tolerance in DeepExplainer's additivity check
# (shap/explainers/_deep/deep_utils.py).
SHAP_ADDITIVITY_TOL = 1e-2


@dataclass
class ShapExplanation:
    """SHAP values of a batch of images for the explained outputs, whatever the
    explainer.

    Attributes:
        values: (N, C, H, W, K): one attribution per input value (pixels, or a layer's
            activations) and explained output.
        base_values: (K,) or (N, K): the expected output over the background set.
        outputs: (N, K): the model's outputs that the values decompose.
        indexes: (N, K) which model output each of the K columns explains, when the
            explainer ranked them per image (``ranked_outputs``); ``None`` when column k
            is output k.
    """

    values: np.ndarray
    base_values: np.ndarray
    outputs: np.ndarray
    indexes: np.ndarray | None = None

    def classes(self) -> np.ndarray:
        """(N, K) the model output explained by each column."""
        if self.indexes is not None:
            return self.indexes
        return np.broadcast_to(np.arange(self.values.shape[-1]), self.outputs.shape)

    def totals(self) -> np.ndarray:
        """(N, K): sum of the SHAP values plus the base value, SHAP's reconstruction of
        each output."""
        return (
            self.values.reshape(*self.values.shape[:1], -1, self.values.shape[-1]).sum(
                1
            )
            + self.base_values
        )

    def net_and_gross(self) -> tuple[np.ndarray, np.ndarray]:
        """(N, K) sums of the values (what they add up to) and of their absolute values
        (how loud a column of the image plot looks); a loud column with a small net sum
        is mostly cancellation."""
        flat = self.values.reshape(len(self.values), -1, self.values.shape[-1])
        return flat.sum(1), np.abs(flat).sum(1)

    def additivity_error(self) -> float:
        """Largest |sum of SHAP values + base value − model output| over images and
        outputs."""
        return float(np.abs(self.totals() - self.outputs).max())

    def pixel_maps(self, size: tuple[int, int] | None = None) -> np.ndarray:
        """(N, K, h, w) values summed over channels, bilinearly resized to ``size``
        (for a layer's values)."""
        maps = (
            torch.from_numpy(np.ascontiguousarray(self.values.sum(1)))
            .permute(0, 3, 1, 2)
            .float()
        )
        if size is not None and tuple(maps.shape[-2:]) != tuple(size):
            maps = torch.nn.functional.interpolate(
                maps, size=size, mode="bilinear", align_corners=False
            )
        return maps.numpy()


def checked_inputs(
    model: nn.Module, background: torch.Tensor, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``background`` and ``x`` after the checks every SHAP call shares: batches of one
    shape ((N, C, H, W) images, or a layer's activations), finite, and images the model
    takes (:func:`utils.inputs.fits_model`); else one error naming the fix."""
    background, x = (
        image_batch(t) if t.ndim in (3, 4) else finite(t) for t in (background, x)
    )
    if background.shape[1:] != x.shape[1:]:
        raise ValueError(
            f"background of shape {tuple(background.shape[1:])} per item, inputs of "
            f"{tuple(x.shape[1:])}: SHAP compares each input with background items, "
            "so both must have the same shape."
        )
    if x.ndim == 4:
        fits_model(model, x)
    return background, x


def deep_shap(
    model: nn.Module,
    background: torch.Tensor,
    x: torch.Tensor,
    check_additivity: bool = True,
) -> ShapExplanation:
    """SHAP values of ``model``'s outputs for images ``x`` by DeepExplainer
    (DeepLIFT-based Deep SHAP).

    Lundberg & Lee 2017, "A Unified Approach to Interpreting Model Predictions". The
    model is put in eval mode and left without any hook, even when SHAP's own additivity
    check raises.

    Args:
        background: (B, C, H, W) images whose average output is the base value
            (the articles' "mask").
        x: (N, C, H, W) images to explain.
        check_additivity: let SHAP raise ``AssertionError`` when the values do not add
            up to the outputs within ``SHAP_ADDITIVITY_TOL``.
    """
    background, x = checked_inputs(model, background, x)
    model.eval()
    device = device_of(model)
    with restored_hooks(model):
        explainer = shap.DeepExplainer(model, background.to(device))
        values = explainer.shap_values(x.to(device), check_additivity=check_additivity)
    outputs = predict(model, x).numpy()
    values = np.asarray(values)
    if values.ndim == 4:  # a single output: shap drops the last axis
        values = values[..., None]
    return ShapExplanation(
        values, np.atleast_1d(explainer.expected_value), outputs.reshape(len(x), -1)
    )


def gradient_shap(
    model: nn.Module,
    background: torch.Tensor,
    x: torch.Tensor,
    *,
    nsamples: int = 200,
    seed: int = 0,
) -> np.ndarray:
    """SHAP values (N, C, H, W, K) of every output of ``model`` for its inputs, by
    GradientExplainer.

    Expected gradients (Erion et al. 2021, "Improving performance of deep learning
    models with axiomatic attribution priors and expected gradients"): gradients at
    random points between each image and random background images, times
    (image − background), averaged over ``nsamples``. The totals match
    f(x) − E f(background) only in expectation. Explain one output per model
    (see :class:`OutputColumn`) to keep the cost at one output.
    """
    background, x = checked_inputs(model, background, x)
    model.eval()
    device = device_of(model)
    with restored_hooks(model):
        explainer = shap.GradientExplainer(model, background.to(device))
        values = explainer.shap_values(x.to(device), nsamples=nsamples, rseed=seed)
    values = np.asarray(values)
    return values[..., None] if values.ndim == x.ndim else values


def gradient_shap_top(
    model: nn.Module,
    background: torch.Tensor,
    x: torch.Tensor,
    *,
    ranked_outputs: int = 2,
    nsamples: int = 200,
    seed: int = 0,
    batch_size: int = 50,
) -> ShapExplanation:
    """SHAP values of ``model``'s ``ranked_outputs`` largest outputs per input, by
    GradientExplainer.

    Expected gradients (Erion et al. 2021) on whatever ``model`` takes: images, or a
    layer's activations when ``model`` is the *tail* of a network split at that layer
    and ``background`` and ``x`` went through the *head* first. The latter is the
    PyTorch port of Keras'
    ``GradientExplainer((layer.input, model.output), map2layer(background))``
    (notebook 06): the path and the multiplier both live in the layer's space, so the
    totals estimate f(x) − E f(background) (completeness, up to Monte-Carlo
    error ~ 1/√nsamples).

    Args:
        background: (B, ...) inputs of ``model`` whose mean output is the reference.
        x: (N, ...) inputs to explain.
        ranked_outputs: explain the K largest outputs of each input, best first.
        nsamples: samples per input and output (SHAP's default 200); seed: SHAP's
            ``rseed``.

    Returns:
        A :class:`ShapExplanation` with values (N, ..., K), ``indexes`` (N, K) of the
        explained outputs, their ``outputs`` (N, K) and ``base_values`` (N, K), the mean
        over ``background``.
    """
    return _ranked_gradient_shap(
        model,
        None,
        background,
        x,
        ranked_outputs=ranked_outputs,
        nsamples=nsamples,
        seed=seed,
        batch_size=batch_size,
    )


def _ranked_gradient_shap(
    model: nn.Module,
    layer: nn.Module | None,
    background: torch.Tensor,
    x: torch.Tensor,
    *,
    ranked_outputs: int,
    nsamples: int,
    seed: int,
    batch_size: int,
    local_smoothing: float = 0.0,
) -> ShapExplanation:
    """GradientExplainer on ``model`` (or ``(model, layer)``) for the top outputs, with
    the outputs and mean background outputs of the explained classes; no hook is left
    behind."""
    background, x = checked_inputs(model, background, x)
    outputs = predict(model, x).numpy()
    ranked_outputs_in_range(ranked_outputs, outputs.shape[1])
    model.eval()
    device = device_of(model)
    target = model if layer is None else (model, layer)
    with restored_hooks(model):
        explainer = shap.GradientExplainer(
            target,
            background.to(device),
            batch_size=batch_size,
            local_smoothing=local_smoothing,
        )
        values, indexes = explainer.shap_values(
            x.to(device), ranked_outputs=ranked_outputs, nsamples=nsamples, rseed=seed
        )
    indexes = np.asarray(indexes.cpu() if hasattr(indexes, "cpu") else indexes)
    base = predict(model, background).numpy().mean(0)
    return ShapExplanation(
        np.asarray(values),
        base[indexes],
        np.take_along_axis(outputs, indexes, 1),
        indexes,
    )


class OutputColumn(nn.Module):
    """Output column ``k`` of ``model`` as a one-output model, so that SHAP explains
    only that class."""

    def __init__(self, model: nn.Module, k: int) -> None:
        super().__init__()
        self.model, self.k = model, k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)[:, self.k : self.k + 1]


def gradient_shap_layer(
    model: nn.Module,
    layer: nn.Module,
    background: torch.Tensor,
    x: torch.Tensor,
    *,
    ranked_outputs: int = 2,
    nsamples: int = 200,
    local_smoothing: float = 0.0,
    batch_size: int = 25,
    seed: int = 0,
) -> ShapExplanation:
    """SHAP values of ``model``'s top outputs for the *input of* ``layer``, by
    GradientExplainer.

    Expected gradients (Erion et al. 2021) as implemented in
    ``shap.GradientExplainer((model, layer), background)``: the path runs between
    *images* (x and background images) while the gradients are multiplied by the layer's
    input itself, so the totals need not add up to f(x) − E f(background). To explain a
    layer with completeness, split the network there and call :func:`gradient_shap` on
    the tail with the head's outputs. ``ranked_outputs`` is always passed: without it
    every class is explained.

    Args:
        background: (B, C, H, W) images; small, since every sample runs the whole model.
        x: (N, C, H, W) images to explain.
        local_smoothing: std of the noise SHAP adds to each explained image
            (SmoothGrad-like).

    Returns:
        values (N, C', h, w, ranked_outputs) for the layer's input (its channels and
        spatial size, not the image's), ``indexes`` (N, ranked_outputs) of the explained
        classes, best first, and the outputs and mean background outputs of those
        classes.
    """
    return _ranked_gradient_shap(
        model,
        layer,
        background,
        x,
        ranked_outputs=ranked_outputs,
        nsamples=nsamples,
        seed=seed,
        batch_size=batch_size,
        local_smoothing=local_smoothing,
    )
