"""Explainers the notebooks share, with the shapes and conventions spelled out once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shap
import torch
from torch import nn

from .config import DEVICE
from .hooks import restored_hooks
from .training import predict

# SHAP's own tolerance in DeepExplainer's additivity check (shap/explainers/_deep/deep_utils.py).
SHAP_ADDITIVITY_TOL = 1e-2


@dataclass
class ShapExplanation:
    """SHAP values of a batch of images for every explained output.

    Attributes:
        values: (N, C, H, W, K): one attribution per input value and explained output.
        base_values: (K,): the expected output over the background set.
        outputs: (N, K): the model's outputs that the values decompose.
    """

    values: np.ndarray
    base_values: np.ndarray
    outputs: np.ndarray

    def totals(self) -> np.ndarray:
        """(N, K): sum of the SHAP values plus the base value, SHAP's reconstruction of each output."""
        return self.values.reshape(*self.values.shape[:1], -1, self.values.shape[-1]).sum(1) + self.base_values

    def net_and_gross(self) -> tuple[np.ndarray, np.ndarray]:
        """(N, K) sums of the values (what they add up to) and of their absolute values (how loud a
        column of ``image_plot`` looks); a loud column with a small net sum is mostly cancellation."""
        flat = self.values.reshape(len(self.values), -1, self.values.shape[-1])
        return flat.sum(1), np.abs(flat).sum(1)

    def additivity_error(self) -> float:
        """Largest |sum of SHAP values + base value − model output| over images and outputs."""
        return float(np.abs(self.totals() - self.outputs).max())

    def for_image_plot(self) -> list[np.ndarray]:
        """The values as ``shap.image_plot`` wants them: a list over outputs of (N, H, W, C) arrays.

        shap ≥ 0.45 returns one array with the outputs on the last axis; the older list format that
        the articles use had one (N, C, H, W) array per output.
        """
        return [self.values[..., k].transpose(0, 2, 3, 1) for k in range(self.values.shape[-1])]


def deep_shap(model: nn.Module, background: torch.Tensor, x: torch.Tensor,
              check_additivity: bool = True) -> ShapExplanation:
    """SHAP values of ``model``'s outputs for images ``x`` by DeepExplainer (DeepLIFT-based Deep SHAP).

    Lundberg & Lee 2017, "A Unified Approach to Interpreting Model Predictions". The model is put in
    eval mode and left without any hook, even when SHAP's own additivity check raises.

    Args:
        background: (B, C, H, W) images whose average output is the base value (the articles' "mask").
        x: (N, C, H, W) images to explain.
        check_additivity: let SHAP raise ``AssertionError`` when the values do not add up to the
            outputs within ``SHAP_ADDITIVITY_TOL``.
    """
    model.eval()
    with restored_hooks(model):
        explainer = shap.DeepExplainer(model, background.to(DEVICE))
        values = explainer.shap_values(x.to(DEVICE), check_additivity=check_additivity)
    outputs = predict(model, x).numpy()
    values = np.asarray(values)
    if values.ndim == 4:  # a single output: shap drops the last axis
        values = values[..., None]
    return ShapExplanation(values, np.atleast_1d(explainer.expected_value), outputs.reshape(len(x), -1))


def gradient_shap_layer(model: nn.Module, layer: nn.Module, background: torch.Tensor, x: torch.Tensor, *,
                        ranked_outputs: int = 2, nsamples: int = 200, local_smoothing: float = 0.0,
                        batch_size: int = 25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """SHAP values of ``model``'s top outputs for the *input of* ``layer``, by GradientExplainer.

    Expected gradients (Erion et al. 2021) as implemented in ``shap.GradientExplainer((model, layer),
    background)``. ``ranked_outputs`` is always passed: without it every class is explained.

    Args:
        background: (B, C, H, W) images; small, since every sample runs the whole model.
        x: (N, C, H, W) images to explain.
        local_smoothing: std of the noise SHAP adds to each explained image (SmoothGrad-like).

    Returns:
        values (N, C', h, w, ranked_outputs) for the layer's input (its channels and spatial size,
        not the image's), and indexes (N, ranked_outputs) of the explained classes, best first.
    """
    model.eval()
    with restored_hooks(model):
        explainer = shap.GradientExplainer((model, layer), background.to(DEVICE), batch_size=batch_size,
                                           local_smoothing=local_smoothing)
        values, indexes = explainer.shap_values(x.to(DEVICE), ranked_outputs=ranked_outputs, nsamples=nsamples,
                                                rseed=seed)
    return np.asarray(values), np.asarray(indexes.cpu() if hasattr(indexes, "cpu") else indexes)
