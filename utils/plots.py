"""Figures the notebooks share: image grids, training curves, SHAP image plots, NBDT
trees.

Every figure is laid out to be read at the width of the course's website: at most
``MAX_FIGURE_WIDTH`` inches wide (800 px at matplotlib's 100 dpi, shown at full size in
the page's column) with no text below ``MIN_FONT_SIZE`` points. A grid with many
columns gets smaller panels, not a wider figure; a label longer than its panel wraps.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .nbdt import Node
from .shapley import ShapExplanation
from .training import History

MAX_FIGURE_WIDTH = 8.0  # inches: the website's column shows 800 px at 100 dpi
# Jupyter's inline backend saves with bbox_inches="tight", which pads 0.1 in a side: the
# figures are laid out this wide so that the saved image stays within MAX_FIGURE_WIDTH.
FIGURE_WIDTH = MAX_FIGURE_WIDTH - 0.2
MIN_FONT_SIZE = 8  # points: 11 px at 100 dpi, the smallest label the page keeps legible
TITLE_FONT_SIZE = 9  # a panel's title, where the panel is wide enough
COLORBAR_WIDTH = 0.9  # inches: a SHAP plot's colour bar with its ticks and label
HISTORY_PANEL = (3.4, 2.8)  # inches: one training curve
MIN_HISTORY_PANEL_WIDTH = 2.5  # inches: narrower and the tick labels collide


def fit_label(text: str, width: float, fontsize: float = MIN_FONT_SIZE) -> str:
    """``text`` wrapped into lines that fit ``width`` inches at ``fontsize`` points.

    Breaks after spaces, underscores and hyphens (``black_headed_`` / ``night_monkey``),
    never inside a word, so a class name stays recognisable; a single word longer than
    the width stays whole. The width of a character is taken as 0.6 em, a little more
    than DejaVu Sans' average.
    """
    chars = max(1, int(width * 72 / (0.6 * fontsize)))
    lines: list[str] = []
    for piece in re.findall(r"[^\s_-]*[\s_-]*", text):
        if not piece:
            continue
        if lines and len(lines[-1].rstrip() + piece.rstrip()) <= chars:
            lines[-1] += piece
        else:
            lines.append(piece)
    return "\n".join(line.strip() for line in lines) or text


def grid_shape(n: int, max_cols: int) -> tuple[int, int]:
    """(rows, columns) for ``n`` panels, at most ``max_cols`` a row, rows balanced (four
    panels in two rows of two rather than three and one)."""
    rows = -(-n // max(1, min(max_cols, n)))
    return rows, -(-n // rows)


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
    """A grid of (N, C, H, W) images in [0, 1] with optional titles.

    Args:
        ncols: images per row at most (fewer when there are fewer images).
        size: the largest side of one image, inches; smaller where ``ncols`` of them
            would be wider than ``MAX_FIGURE_WIDTH``.
    """
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    size = min(size, FIGURE_WIDTH / ncols)
    fontsize = TITLE_FONT_SIZE if size >= 1.0 else MIN_FONT_SIZE
    labels = [fit_label(t, size, fontsize) for t in titles]
    title_lines = max((label.count("\n") + 1 for label in labels), default=0)
    title_height = title_lines * fontsize * 1.4 / 72
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(size * ncols, (size + title_height) * nrows),
        squeeze=False,
        layout="constrained",
    )
    for ax in axes.flat:
        ax.axis("off")
    for ax, img, title in zip(axes.flat, to_hwc(images), labels + [""] * n):
        ax.imshow(
            img.squeeze(), cmap="gray" if img.shape[-1] == 1 else None, vmin=0, vmax=1
        )
        ax.set_title(title, fontsize=fontsize)
    return fig


def plot_history(
    history: History, metrics: Sequence[str] = ("loss", "acc", "precision", "recall")
) -> plt.Figure:
    """Training and validation curves, one panel per metric, from
    :class:`utils.training.Trainer`: in one row where they fit ``MAX_FIGURE_WIDTH``,
    else in balanced rows (four metrics: two rows of two)."""
    epochs = [row["epoch"] for row in history]
    width, height = HISTORY_PANEL
    nrows, ncols = grid_shape(
        len(metrics), int(FIGURE_WIDTH // MIN_HISTORY_PANEL_WIDTH)
    )
    width = min(width, FIGURE_WIDTH / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False
    )
    for ax in axes.flat[len(metrics) :]:
        ax.remove()
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
    has a colour bar. The figure is at most ``MAX_FIGURE_WIDTH`` wide: with many
    outputs (ten classes) the panels shrink to fit it, and class names wrap.

    Args:
        images: (N, C, H, W) in [0, 1], the pixels the values belong to
            (or are resized onto).
        class_names: the model's class names, indexed by ``explanation.classes()``.
        size: the side of one panel, inches, where the figure has room for it.
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
    size = min(size, (FIGURE_WIDTH - COLORBAR_WIDTH) / (k + 1))
    fontsize = TITLE_FONT_SIZE if size >= 1.0 else MIN_FONT_SIZE
    names = {
        int(c): fit_label(class_names[int(c)], size, fontsize)
        for c in np.unique(explanation.classes())
    }
    title_lines = max(name.count("\n") + 1 for name in names.values())
    title_height = title_lines * fontsize * 1.4 / 72
    fig, axes = plt.subplots(
        n,
        k + 1,
        figsize=(size * (k + 1) + COLORBAR_WIDTH, (size + title_height) * n + 0.1),
        squeeze=False,
        layout="constrained",
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
            axes[row, col].set_title(names[int(c)], fontsize=fontsize)
        bar = fig.colorbar(
            shown, ax=list(axes[row]), fraction=0.05, pad=0.01, aspect=12
        )
        bar.set_label("SHAP value", fontsize=MIN_FONT_SIZE)
        bar.ax.tick_params(labelsize=MIN_FONT_SIZE)
    for ax in axes.flat:
        ax.axis("off")
    return fig


def draw_tree(
    root: Node, highlight: Sequence[Node] = (), ax: plt.Axes | None = None
) -> plt.Axes:
    """Draw an NBDT hierarchy (leaves at the bottom, evenly spaced); nodes in
    ``highlight`` in red."""
    ax = ax or plt.subplots(figsize=(FIGURE_WIDTH, 4))[1]
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
