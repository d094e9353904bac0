"""Checks of explainer arguments, shared by every explainer: each bad input gets one
error that says what is wrong and what to pass instead, before any computation
starts."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def one_image(image: torch.Tensor) -> torch.Tensor:
    """``image`` if it is one (C, H, W) image; a batch or anything else is an error."""
    if image.ndim == 4 and len(image) == 1:
        raise ValueError(
            f"Expected one image (C, H, W), got a batch of one {tuple(image.shape)}: "
            "pass images[0]."
        )
    if image.ndim != 3:
        raise ValueError(
            f"Expected one image (C, H, W), got shape {tuple(image.shape)}: "
            "pass images[i], not a batch."
        )
    return image


def image_batch(images: torch.Tensor) -> torch.Tensor:
    """``images`` if it is a batch (N, C, H, W); a single (C, H, W) image is an error
    naming the fix."""
    if images.ndim == 3:
        raise ValueError(
            f"Expected a batch (N, C, H, W), got one image {tuple(images.shape)}: "
            "pass image[None]."
        )
    if images.ndim != 4:
        raise ValueError(
            f"Expected a batch of images (N, C, H, W), got shape {tuple(images.shape)}."
        )
    return images


def targets_in_range(
    targets: Sequence[int] | torch.Tensor, num_outputs: int, batch: int | None = None
) -> torch.Tensor:
    """``targets`` as a (N,) long tensor, checked against the model's ``num_outputs``
    (and the batch size)."""
    targets = torch.as_tensor(targets).reshape(-1).long()
    if batch is not None and len(targets) not in (1, batch):
        raise ValueError(
            f"{len(targets)} targets for {batch} images: pass one target per image "
            "(or one for all)."
        )
    bad = targets[(targets < 0) | (targets >= num_outputs)]
    if len(bad):
        raise ValueError(
            f"target {bad[0].item()} is not an output of this model, which has "
            f"{num_outputs} (valid targets: 0 … {num_outputs - 1})."
        )
    return targets.expand(batch) if batch is not None and len(targets) == 1 else targets


def baseline_like(
    baseline: float | torch.Tensor, image: torch.Tensor
) -> float | torch.Tensor:
    """``baseline`` if it is a number or a tensor of the image's shape (C, H, W); else
    an error."""
    if (
        isinstance(baseline, torch.Tensor)
        and baseline.ndim > 0
        and baseline.shape != image.shape
    ):
        raise ValueError(
            f"baseline of shape {tuple(baseline.shape)} does not match the image's "
            f"{tuple(image.shape)}: pass a number or a tensor shaped like the image."
        )
    return baseline
