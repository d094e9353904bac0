"""Figures the notebooks share: image grids, training curves, SHAP image plots, NBDT
trees."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .nbdt import Node
from .shapley import ShapExplanation
from .training import History


def to_hwc(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """(N, C, H, W) or (C, H, W) images as NumPy (…, H, W, C), the layout matplotlib and
    shap plot."""
    array = (
        images.detach().cpu().numpy()
        if isinstance(images, torch.Tensor)
        else np.asarray(images)
    )
    return np.moveaxis(array, -3, -1)


def show_images(
    images: torch.Tensor, titles: Sequence[str] = (), ncols: int = 8, size: float = 1.6
) -> plt.Figure:
    """A grid of (N, C, H, W) images in [0, 1] with optional titles."""
    n = len(images)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(size * ncols, size * nrows + 0.3 * bool(titles)),
        squeeze=False,
    )
    for ax in axes.flat:
        ax.axis("off")
    for ax, img, title in zip(axes.flat, to_hwc(images), list(titles) + [""] * n):
        ax.imshow(
            img.squeeze(), cmap="gray" if img.shape[-1] == 1 else None, vmin=0, vmax=1
        )
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_history(
    history: History, metrics: Sequence[str] = ("loss", "acc", "precision", "recall")
) -> plt.Figure:
    """Training and validation curves, one panel per metric, from
    :class:`utils.training.Trainer`."""
    epochs = [row["epoch"] for row in history]
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(3.4 * len(metrics), 2.8), squeeze=False
    )
    for ax, metric in zip(axes.flat, metrics):
        for split in ("train", "val"):
            ax.plot(
                epochs,
                [row[f"{split}_{metric}"] for row in history],
                marker=".",
                label=split,
            )
        ax.set(title=metric, xlabel="epoch")
        ax.legend()
    fig.tight_layout()
    return fig


def shap_image_plot(
    explanation: ShapExplanation,
    images: torch.Tensor,
    class_names: Sequence[str],
    scale: str = "row",
    size: float = 1.7,
) -> plt.Figure:
    """SHAP values as ``shap.image_plot`` draws them, with the colour scale stated.

    One row per image: the image, then one panel per explained output (its class name
    above; red raises the output, blue lowers it), the values summed over channels and
    drawn over a grey copy of the image; a layer's values are resized to the image.
    ``scale="row"`` gives each row its own symmetric colour limit (so one loud panel
    does not blank the others), ``"shared"`` one limit for the whole figure; each row
    has a colour bar.

    Args:
        images: (N, C, H, W) in [0, 1], the pixels the values belong to
            (or are resized onto).
        class_names: the model's class names, indexed by ``explanation.classes()``.
    """
    if scale not in ("row", "shared"):
        raise ValueError(
            f"scale={scale!r}: choose 'row' (one colour limit per image) or 'shared'."
        )
    maps = explanation.pixel_maps(tuple(images.shape[-2:]))  # (N, K, H, W)
    limits = (
        np.abs(maps).reshape(len(maps), -1).max(1)
        if scale == "row"
        else np.full(len(maps), np.abs(maps).max())
    )
    grey = to_hwc(images).mean(-1)
    n, k = maps.shape[:2]
    fig, axes = plt.subplots(
        n, k + 1, figsize=(size * (k + 1.4), size * n), squeeze=False
    )
    for row, (picture, row_maps, limit, classes) in enumerate(
        zip(to_hwc(images), maps, limits, explanation.classes())
    ):
        axes[row, 0].imshow(
            picture.squeeze(),
            cmap="gray" if picture.shape[-1] == 1 else None,
            vmin=0,
            vmax=1,
        )
        for col, (m, c) in enumerate(zip(row_maps, classes), start=1):
            axes[row, col].imshow(grey[row], cmap="gray", alpha=0.25)
            shown = axes[row, col].imshow(
                m, cmap="bwr", vmin=-limit, vmax=limit, alpha=0.85
            )
            axes[row, col].set_title(class_names[int(c)], fontsize=9)
        fig.colorbar(
            shown, ax=list(axes[row]), fraction=0.02, pad=0.01, label="SHAP value"
        )
    for ax in axes.flat:
        ax.axis("off")
    return fig


def draw_tree(
    root: Node, highlight: Sequence[Node] = (), ax: plt.Axes | None = None
) -> plt.Axes:
    """Draw an NBDT hierarchy (leaves at the bottom, evenly spaced); nodes in
    ``highlight`` in red."""
    ax = ax or plt.subplots(figsize=(10, 4))[1]
    x_of: dict[int, float] = {}
    leaves_placed = iter(range(len(root.leaves)))

    def place(node: Node) -> float:
        # leaves left to right, parents above their children's middle
        x_of[id(node)] = (
            float(np.mean([place(c) for c in node.children]))
            if node.children
            else float(next(leaves_placed))
        )
        return x_of[id(node)]

    def height(node: Node) -> int:
        return 1 + max(map(height, node.children)) if node.children else 0

    place(root)
    top = height(root)

    def plot(node: Node, depth: int) -> None:
        colour = "tab:red" if any(node is h for h in highlight) else "black"
        y = top - depth if node.children else 0
        for child in node.children:
            cy = top - depth - 1 if child.children else 0
            on_path = any(child is h for h in highlight)
            ax.plot(
                [x_of[id(node)], x_of[id(child)]],
                [y, cy],
                color="tab:red" if on_path else "grey",
                lw=1.5,
            )
            plot(child, depth + 1)
        ax.text(
            x_of[id(node)],
            y,
            node.name,
            ha="center",
            va="top" if not node.children else "bottom",
            fontsize=8,
            color=colour,
            rotation=0 if node.children else 30,
        )

    plot(root, 0)
    ax.set_ylim(-1.2, top + 0.5)
    ax.axis("off")
    return ax
