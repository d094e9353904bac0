"""Occlusion: hide part of the image, watch the output move (Zeiler & Fergus 2014).

Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014. The
walkthrough of notebook 03 zeroes one pixel at a time; here every occluded copy goes
through the network in batches, with the window, stride and baseline as arguments.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import device_of
from .inputs import baseline_like, fits_model, one_image, targets_in_range

BATCH_SIZE = 256  # occluded copies per forward pass


def _check_window(
    image: torch.Tensor, window: tuple[int, int], stride: tuple[int, int]
) -> None:
    height, width = one_image(image).shape[1:]
    if not (0 < window[0] <= height and 0 < window[1] <= width):
        raise ValueError(
            f"window {window} does not fit an image of {height}×{width}: "
            "use 1 ≤ window ≤ image size."
        )
    if min(stride) < 1:
        raise ValueError(f"stride {stride} must be at least 1 in both directions.")


def occlusion_masks(
    height: int, width: int, window: tuple[int, int], stride: tuple[int, int]
) -> torch.Tensor:
    """Boolean masks (nH, nW, H, W): True inside the window at each of its nH × nW
    positions."""

    def covered(size: int, length: int, step: int) -> torch.Tensor:
        # (positions, size): pixel inside window?
        starts = torch.arange(0, size - length + 1, step)[:, None]
        pixels = torch.arange(size)[None, :]
        return (pixels >= starts) & (pixels < starts + length)

    rows, cols = (
        covered(height, window[0], stride[0]),
        covered(width, window[1], stride[1]),
    )
    return rows[:, None, :, None] & cols[None, :, None, :]


def _occlude(
    model: nn.Module,
    image: torch.Tensor,
    target: int,
    window: tuple[int, int],
    stride: tuple[int, int],
    baseline: float | torch.Tensor,
    batch_size: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(original output, outputs (nH, nW) with each window occluded, window masks
    (nH, nW, H, W)), on the CPU."""
    _check_window(image, window, stride)
    fits_model(model, image[None])
    baseline_like(baseline, image)
    model.eval()
    device = device_of(model)
    grid = occlusion_masks(*image.shape[1:], window, stride)
    masks = grid.flatten(0, 1)
    # A window whose pixels already equal the baseline leaves the input, and so the
    # output, unchanged: only the others go through the network (on a punk, the black
    # background and outlines).
    base_cpu = baseline.cpu() if isinstance(baseline, torch.Tensor) else baseline
    changes_input = (masks & (image.cpu() != base_cpu).any(0)).flatten(1).any(1)
    image = image.to(device)
    baseline = baseline.to(device) if isinstance(baseline, torch.Tensor) else baseline
    outputs = model(image[None])
    original = outputs[0, targets_in_range([target], outputs.shape[1]).item()]
    result = original.expand(len(masks)).clone()
    active = masks[changes_input].to(device)
    if len(active):
        result[changes_input.to(device)] = torch.cat(
            [
                model(torch.where(chunk[:, None], baseline, image))[:, target]
                for chunk in active.split(batch_size)
            ]
        )
    return original.cpu(), result.reshape(grid.shape[:2]).cpu(), grid


@torch.no_grad()
def occluded_outputs(
    model: nn.Module,
    image: torch.Tensor,
    *,
    target: int = 0,
    window: tuple[int, int] = (1, 1),
    stride: tuple[int, int] = (1, 1),
    baseline: float | torch.Tensor = 0.0,
    batch_size: int = BATCH_SIZE,
) -> torch.Tensor:
    """The model's output ``target`` with the window at each position set to
    ``baseline`` (all channels).

    Args:
        image: (C, H, W) one image.
        target: which output column to read (0 for a single sigmoid output).
        window, stride: (height, width) of the occluding patch and of its steps.
        baseline: a value, or a (C, H, W) image (a blurred copy, say) whose pixels
            replace the window's.

    Returns:
        (nH, nW): the output with the window at each position; with a 1×1 window and
        stride 1, an (H, W) map of "the probability when this pixel is hidden", the
        walkthrough's map.
    """
    return _occlude(model, image, target, window, stride, baseline, batch_size)[1]


@torch.no_grad()
def occlusion_attribution(
    model: nn.Module,
    image: torch.Tensor,
    *,
    target: int = 0,
    window: tuple[int, int] = (1, 1),
    stride: tuple[int, int] = (1, 1),
    baseline: float | torch.Tensor = 0.0,
    batch_size: int = BATCH_SIZE,
) -> torch.Tensor:
    """Per-pixel occlusion attribution (H, W): the output's drop when a window covering
    the pixel is occluded, averaged over the windows that cover it (the convention of
    Captum's ``Occlusion``).
    """
    original, outputs, grid = _occlude(
        model, image, target, window, stride, baseline, batch_size
    )
    masks = grid.float()
    total = ((original - outputs)[:, :, None, None] * masks).sum((0, 1))
    return total / masks.sum((0, 1)).clamp(min=1)


@torch.no_grad()
def occluded_outputs_loop(
    model: nn.Module, image: torch.Tensor, target: int = 0
) -> torch.Tensor:
    """The walkthrough's loop: zero one pixel (all channels), run the network, record
    the output.

    Kept for teaching and as the reference the batched :func:`occluded_outputs` must
    match; it runs one forward pass per pixel. Returns (H, W).
    """
    model.eval()
    device = device_of(model)
    height, width = fits_model(model, one_image(image)[None]).shape[2:]
    result = torch.zeros(height, width)
    for i in range(height):
        for j in range(width):
            occluded = image.clone()
            occluded[:, i, j] = 0
            result[i, j] = model(occluded[None].to(device))[0, target].cpu()
    return result
