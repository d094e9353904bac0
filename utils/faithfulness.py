"""Is an attribution map faithful to the model? Deletion and insertion curves (Petsiuk et al. 2018).

Petsiuk, Das, Saenko, "RISE: Randomized Input Sampling for Explanation of Black-box Models", BMVC 2018.
Deletion removes pixels in order of decreasing attribution and watches the target's probability
fall: a faithful map makes it fall fast, so **lower deletion AUC is better**. Insertion starts from a
blurred image and puts the pixels back in the same order: **higher insertion AUC is better**.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.transforms.functional import gaussian_blur

from .config import device_of

STEPS = 32  # points on each curve


def blurred(image: torch.Tensor) -> torch.Tensor:
    """A strongly blurred copy of the (C, H, W) image: the RISE paper's start for insertion."""
    return gaussian_blur(image[None], kernel_size=11, sigma=5.0)[0]


def _curve(model: nn.Module, start: torch.Tensor, end: torch.Tensor, order: torch.Tensor, target: int,
           steps: int) -> torch.Tensor:
    """Probabilities of ``target`` while the pixels in ``order`` switch from ``start`` to ``end``."""
    n_pixels = order.numel()
    counts = torch.linspace(0, n_pixels, steps + 1).round().long()
    rank = torch.empty(n_pixels, dtype=torch.long)
    rank[order] = torch.arange(n_pixels)
    switched = (rank[None] < counts[:, None]).reshape(steps + 1, 1, *start.shape[-2:])
    images = torch.where(switched, end, start)
    with torch.no_grad():
        return model.eval()(images.to(device_of(model)))[:, target].cpu()


def deletion_curve(model: nn.Module, image: torch.Tensor, saliency: torch.Tensor, target: int,
                   steps: int = STEPS) -> torch.Tensor:
    """(steps + 1,) probability of ``target`` as the most-attributed pixels of (C, H, W) ``image`` are set to 0."""
    order = saliency.flatten().argsort(descending=True)
    return _curve(model, image, torch.zeros_like(image), order, target, steps)


def blurred_deletion_curve(model: nn.Module, image: torch.Tensor, saliency: torch.Tensor, target: int,
                           steps: int = STEPS) -> torch.Tensor:
    """Deletion towards a blurred copy instead of black: it removes information without adding the
    out-of-distribution black specks that make random deletion look as good as any map."""
    order = saliency.flatten().argsort(descending=True)
    return _curve(model, image, blurred(image), order, target, steps)


def insertion_curve(model: nn.Module, image: torch.Tensor, saliency: torch.Tensor, target: int,
                    steps: int = STEPS) -> torch.Tensor:
    """(steps + 1,) probability of ``target`` as the most-attributed pixels are restored into a blurred copy."""
    order = saliency.flatten().argsort(descending=True)
    return _curve(model, blurred(image), image, order, target, steps)


def area_under(curve: torch.Tensor) -> float:
    """Area under a curve sampled evenly on [0, 1] (trapezoid rule)."""
    return torch.trapezoid(curve, dx=1 / (len(curve) - 1)).item()
