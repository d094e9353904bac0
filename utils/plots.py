"""Figures the notebooks share: image grids, training curves, SHAP image plots."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import shap
import torch

from .explain import ShapExplanation
from .training import History


def to_hwc(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """(N, C, H, W) or (C, H, W) images as NumPy (…, H, W, C), the layout matplotlib and shap plot."""
    array = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    return np.moveaxis(array, -3, -1)


def show_images(images: torch.Tensor, titles: Sequence[str] = (), ncols: int = 8, size: float = 1.6) -> plt.Figure:
    """A grid of (N, C, H, W) images in [0, 1] with optional titles."""
    n = len(images)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3 * bool(titles)), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, img, title in zip(axes.flat, to_hwc(images), list(titles) + [""] * n):
        ax.imshow(img.squeeze(), cmap="gray" if img.shape[-1] == 1 else None, vmin=0, vmax=1)
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_history(history: History, metrics: Sequence[str] = ("loss", "acc", "precision", "recall")) -> plt.Figure:
    """Training and validation curves, one panel per metric, from :class:`utils.training.Trainer`."""
    epochs = [row["epoch"] for row in history]
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.4 * len(metrics), 2.8), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        for split in ("train", "val"):
            ax.plot(epochs, [row[f"{split}_{metric}"] for row in history], marker=".", label=split)
        ax.set(title=metric, xlabel="epoch")
        ax.legend()
    fig.tight_layout()
    return fig


def shap_image_plot(explanation: ShapExplanation, images: torch.Tensor, class_names: Sequence[str],
                    pixel_values: torch.Tensor | None = None) -> None:
    """``shap.image_plot``: one row per image, one column per explained class (red raises the output).

    ``pixel_values`` is what is drawn in grey under the attributions (default: ``images``).
    """
    names = np.array([list(class_names)] * len(images))
    shown = images if pixel_values is None else pixel_values
    shap.image_plot(explanation.for_image_plot(), to_hwc(shown), labels=names)
