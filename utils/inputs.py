"""Checks of explainer arguments, shared by every explainer: each bad input gets one
error that says what is wrong and what to pass instead, before any computation
starts."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def finite(values: torch.Tensor) -> torch.Tensor:
    """``values`` if none is NaN or infinite: the maps of such an input are NaN or
    meaningless everywhere, so it is an error that says so."""
    bad = ~torch.isfinite(values)
    if bad.any():
        raise ValueError(
            f"{int(bad.sum()):,} of the {values.numel():,} input values are NaN or "
            "infinite: every map of them would be meaningless. Check how the images "
            "were made (a division by zero in a normalisation, a failed load?)."
        )
    return values


def one_image(image: torch.Tensor) -> torch.Tensor:
    """``image`` if it is one finite (C, H, W) image; a batch or anything else is an
    error."""
    if not isinstance(image, torch.Tensor):
        raise TypeError(
            f"Expected an image tensor (C, H, W), got a {type(image).__name__}: load "
            "files with utils.data.load_image."
        )
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
    return finite(image)


def image_batch(images: torch.Tensor) -> torch.Tensor:
    """``images`` if it is a finite batch (N, C, H, W); a single (C, H, W) image is an
    error naming the fix."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(
            f"Expected a batch of images (N, C, H, W) as a tensor, got a "
            f"{type(images).__name__}: stack them with torch.stack."
        )
    if images.ndim == 3:
        raise ValueError(
            f"Expected a batch (N, C, H, W), got one image {tuple(images.shape)}: "
            "pass image[None]."
        )
    if images.ndim != 4:
        raise ValueError(
            f"Expected a batch of images (N, C, H, W), got shape {tuple(images.shape)}."
        )
    return finite(images)


def declared_input_shape(model: nn.Module) -> tuple[int, ...] | None:
    """The (C, H, W) that ``model`` (or a network inside a wrapper) declares as its
    ``input_shape``, or ``None``: the course's CIFAR-10 and CryptoPunks networks declare
    theirs; ImageNet networks take any size."""
    for module in model.modules():
        shape = getattr(module, "input_shape", None)
        if shape is not None:
            return tuple(shape)
    return None


def fits_model(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """``images`` (N, C, H, W) if ``model`` takes them: as many channels as its first
    convolution, and the (C, H, W) it declares (:func:`declared_input_shape`). A
    network would often run on other sizes and give outputs, and maps, that mean
    nothing, so a mismatch is an error naming the fix."""
    shape = tuple(images.shape[1:])
    expected = declared_input_shape(model)
    if expected is not None and shape != expected:
        height, width = expected[-2:]
        raise ValueError(
            f"images of shape {shape}, but {type(model).__name__} takes {expected} "
            f"(C, H, W): resize them to {height}×{width}, e.g. with "
            f"utils.data.load_image(path, size=({height}, {width}))."
        )
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is not None and shape[0] != conv.in_channels:
        fix = (
            "convert them to RGB (utils.data.load_image does)"
            if conv.in_channels == 3
            else f"pass {conv.in_channels}-channel images"
        )
        raise ValueError(
            f"images with {shape[0]} channel(s), but the model's first convolution "
            f"takes {conv.in_channels}: {fix}."
        )
    return images


def ranked_outputs_in_range(ranked_outputs: int, num_outputs: int) -> int:
    """``ranked_outputs`` if it is a whole number of outputs this model has."""
    if (
        isinstance(ranked_outputs, bool)
        or not isinstance(ranked_outputs, int)
        or not 1 <= ranked_outputs <= num_outputs
    ):
        raise ValueError(
            f"ranked_outputs={ranked_outputs!r}: explain between 1 and {num_outputs} "
            "outputs per image (as many as the model has), e.g. ranked_outputs=2 for "
            "the top two classes."
        )
    return ranked_outputs


def targets_in_range(
    targets: Sequence[int] | torch.Tensor, num_outputs: int, batch: int | None = None
) -> torch.Tensor:
    """``targets`` as a (N,) long tensor, checked against the model's ``num_outputs``
    (and the batch size). Targets are class indices: a class name or a fractional
    number is an error, not silently converted."""
    names = [targets] if isinstance(targets, str) else targets
    if isinstance(names, Sequence) and any(isinstance(t, str) for t in names):
        name = next(t for t in names if isinstance(t, str))
        raise ValueError(
            f"target {name!r} is a class name: pass the class's index instead, e.g. "
            f"classes.index({name!r})."
        )
    targets = torch.as_tensor(targets)
    if (
        targets.is_floating_point()
        or targets.is_complex()
        or targets.dtype == torch.bool
    ):
        raise ValueError(
            f"targets must be class indices (whole numbers), got {targets.dtype} "
            f"values {targets.reshape(-1)[:3].tolist()}: pass ints, e.g. "
            "outputs.argmax(1)."
        )
    targets = targets.reshape(-1).long()
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
