"""Is an attribution map right? Deletion and insertion curves (Petsiuk et al. 2018),
ROAR's removal, rank correlations for sanity checks, robustness, localisation against
a ground-truth mask, and the paired tests that compare methods.

Petsiuk, Das, Saenko, "RISE: Randomized Input Sampling for Explanation of Black-box
Models", BMVC 2018. Deletion removes pixels in order of decreasing attribution and
watches the target's probability fall: a faithful map makes it fall fast, so **lower
deletion AUC is better**. Insertion starts from a blurred image and puts the pixels back
in the same order: **higher insertion AUC is better**.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn
from torchvision.transforms.functional import gaussian_blur

from .config import device_of

STEPS = 32  # points on each curve
BOOTSTRAP_SAMPLES = 2000  # resamples behind every confidence interval
PERMUTATIONS = 10_000  # random sign flips behind every permutation p-value


def blurred(image: torch.Tensor) -> torch.Tensor:
    """A strongly blurred copy of the (C, H, W) image: the RISE paper's start for
    insertion."""
    return gaussian_blur(image[None], kernel_size=11, sigma=5.0)[0]


def removal_curve(
    model: nn.Module,
    start: torch.Tensor,
    end: torch.Tensor,
    order: torch.Tensor,
    target: int,
    steps: int,
) -> torch.Tensor:
    """(steps + 1,) probabilities of ``target`` while the pixels in ``order`` (a
    permutation of the H·W pixel indices) switch from ``start`` to ``end`` (C, H, W):
    the curve behind every deletion and insertion metric here."""
    n_pixels = order.numel()
    counts = torch.linspace(0, n_pixels, steps + 1).round().long()
    rank = torch.empty(n_pixels, dtype=torch.long)
    rank[order] = torch.arange(n_pixels)
    switched = (rank[None] < counts[:, None]).reshape(steps + 1, 1, *start.shape[-2:])
    images = torch.where(switched, end, start)
    with torch.no_grad():
        return model.eval()(images.to(device_of(model)))[:, target].cpu()


def deletion_curve(
    model: nn.Module,
    image: torch.Tensor,
    saliency: torch.Tensor,
    target: int,
    steps: int = STEPS,
) -> torch.Tensor:
    """(steps + 1,) probability of ``target`` as the most-attributed pixels of (C, H, W)
    ``image`` are set to 0."""
    order = saliency.flatten().argsort(descending=True)
    return removal_curve(model, image, torch.zeros_like(image), order, target, steps)


def blurred_deletion_curve(
    model: nn.Module,
    image: torch.Tensor,
    saliency: torch.Tensor,
    target: int,
    steps: int = STEPS,
) -> torch.Tensor:
    """Deletion towards a blurred copy instead of black: it removes information without
    adding the out-of-distribution black specks that make random deletion look as good
    as any map."""
    order = saliency.flatten().argsort(descending=True)
    return removal_curve(model, image, blurred(image), order, target, steps)


def insertion_curve(
    model: nn.Module,
    image: torch.Tensor,
    saliency: torch.Tensor,
    target: int,
    steps: int = STEPS,
) -> torch.Tensor:
    """(steps + 1,) probability of ``target`` as the most-attributed pixels are restored
    into a blurred copy."""
    order = saliency.flatten().argsort(descending=True)
    return removal_curve(model, blurred(image), image, order, target, steps)


def remove_top(
    images: torch.Tensor, maps: torch.Tensor, fraction: float, fill: torch.Tensor
) -> torch.Tensor:
    """ROAR's removal (Hooker et al. 2019): (N, C, H, W) ``images`` with the
    ``fraction`` most-attributed pixels of each map (N, H, W) replaced by the colour
    ``fill`` (C,), e.g. the training set's mean.

    Hooker, Erhan, Kindermans, Kim, "A Benchmark for Interpretability Methods in Deep
    Neural Networks", NeurIPS 2019: retrain on images degraded this way and test on
    degraded test images; the more the accuracy drops, the more of the information the
    model used the map pointed at.
    """
    if (
        images.ndim != 4
        or maps.shape != (images.shape[0], *images.shape[2:])
        or fill.shape != images.shape[1:2]
    ):
        raise ValueError(
            "Expected images (N, C, H, W), maps (N, H, W) and fill (C,), got "
            f"{tuple(images.shape)}, {tuple(maps.shape)} and {tuple(fill.shape)}."
        )
    n, _, h, w = images.shape
    top = maps.flatten(1).argsort(1, descending=True)[:, : round(fraction * h * w)]
    removed = (
        torch.zeros(n, h * w, dtype=torch.bool)
        .scatter_(1, top, True)
        .reshape(n, 1, h, w)
    )
    return torch.where(removed, fill.view(1, -1, 1, 1).to(images.dtype), images)


def area_under(curve: torch.Tensor) -> float:
    """Area under a curve sampled evenly on [0, 1] (trapezoid rule)."""
    return torch.trapezoid(curve, dx=1 / (len(curve) - 1)).item()


Curve = Callable[[nn.Module, torch.Tensor, torch.Tensor, int], torch.Tensor]


def aucs(
    curve: Curve,
    model: nn.Module,
    images: torch.Tensor,
    maps: torch.Tensor,
    targets: torch.Tensor,
) -> np.ndarray:
    """(N,) area under ``curve`` (e.g. :func:`deletion_curve`) for each image, its map
    and its target.

    Args:
        images: (N, C, H, W); maps: (N, H, W) attribution maps; targets: (N,) explained
            classes.
    """
    return np.array(
        [
            area_under(curve(model, image, saliency, int(target)))
            for image, saliency, target in zip(images, maps, targets)
        ]
    )


def bootstrap_ci(
    scores: np.ndarray,
    level: float = 0.95,
    n_boot: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Mean of per-image ``scores`` (N,) and its percentile bootstrap confidence
    interval.

    Efron & Tibshirani 1993, "An Introduction to the Bootstrap": resample the N images
    with replacement ``n_boot`` times; the interval holds the central ``level`` of the
    resampled means. For a difference between two methods on the same images, pass the
    per-image differences (a paired bootstrap): the interval then excludes 0 only when
    one method wins on this sample of images.

    Returns:
        (mean, lower, upper).
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 1 or len(scores) < 2:
        raise ValueError(
            f"Expected one score per image (N,) with N ≥ 2, got shape {scores.shape}."
        )
    rows = np.random.default_rng(seed).integers(0, len(scores), (n_boot, len(scores)))
    means = scores[rows].mean(1)
    tail = (1 - level) / 2 * 100
    return (
        float(scores.mean()),
        float(np.percentile(means, tail)),
        float(np.percentile(means, 100 - tail)),
    )


def sign_flip_p_value(
    differences: np.ndarray, n_perm: int = PERMUTATIONS, seed: int = 0
) -> float:
    """Two-sided p-value of "the mean per-image difference is 0" by a paired sign-flip
    permutation test.

    Under the null hypothesis each image's difference (N,) between two methods is as
    likely to have either sign, so flipping the signs at random draws the null
    distribution of the mean (Good 2005, "Permutation, Parametric and Bootstrap Tests
    of Hypotheses"). p = (1 + #{|mean of flipped| ≥ |observed mean|}) /
    (1 + ``n_perm``): never 0, and valid for a finite number of flips.
    """
    differences = np.asarray(differences, dtype=float)
    if differences.ndim != 1 or len(differences) < 2:
        raise ValueError(
            f"Expected one difference per image (N,) with N ≥ 2, got shape "
            f"{differences.shape}."
        )
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], (n_perm, len(differences)))
    flipped = np.abs((signs * differences).mean(1))
    extreme = (flipped >= abs(differences.mean()) - 1e-12).sum()
    return float((1 + extreme) / (1 + n_perm))


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (same order): reject the hypotheses whose
    adjusted p is below α and the family-wise error rate stays below α.

    Holm, "A Simple Sequentially Rejective Multiple Test Procedure", Scandinavian
    Journal of Statistics 1979: the k-th smallest of m p-values is multiplied by
    m − k + 1, and the adjusted values are made non-decreasing (capped at 1).
    """
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    scaled = p[order] * (len(p) - np.arange(len(p)))
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted


def pointing_game(maps: torch.Tensor, masks: torch.Tensor) -> np.ndarray:
    """(N,) pointing-game score of each map (N, H, W) against a ground-truth mask
    (N, H, W, bool): 1 where the map's largest value lies on the mask, 0 where not.

    Zhang, Bargal, Lin, Brandt, Shen, Sclaroff, "Top-Down Neural Attention by
    Excitation Backprop", IJCV 2018 (ECCV 2016), count a hit when the maximum falls on
    the object (with a tolerance of 15 pixels on large images; none here). Where
    several pixels share the largest value, the score is the share of them on the
    mask, so a flat map scores the mask's area share, as a random map does on average.
    """
    _check_masks(maps, masks)
    flat_maps, flat_masks = maps.flatten(1), masks.flatten(1)
    top = flat_maps == flat_maps.amax(1, keepdim=True)
    return ((top & flat_masks).sum(1) / top.sum(1)).numpy()


def relevance_mass(maps: torch.Tensor, masks: torch.Tensor) -> np.ndarray:
    """(N,) share of each map's positive attribution that falls on the ground-truth
    mask: Σ_mask max(a, 0) / Σ max(a, 0) (0 for a map with no positive value).

    Arras, Osman, Samek, "CLEVR-XAI: A benchmark dataset for the ground truth
    evaluation of neural network explanations", Information Fusion 2022 ("relevance
    mass accuracy"). A map spread evenly scores the mask's area share.
    """
    _check_masks(maps, masks)
    positive = maps.clamp(min=0).flatten(1)
    inside = (positive * masks.flatten(1)).sum(1)
    return (inside / positive.sum(1).clamp(min=1e-30)).numpy()


def _check_masks(maps: torch.Tensor, masks: torch.Tensor) -> None:
    if maps.ndim != 3 or masks.shape != maps.shape or masks.dtype != torch.bool:
        raise ValueError(
            "Expected maps (N, H, W) and boolean masks of the same shape, got "
            f"{tuple(maps.shape)} and {tuple(masks.shape)} {masks.dtype}."
        )


def is_flat(maps: torch.Tensor) -> torch.Tensor:
    """(N,) True where a map (N, H, W) is constant: it ranks no pixel above another."""
    flat = maps.flatten(1)
    return (flat == flat[:, :1]).all(1)


def rank_correlations(
    a: torch.Tensor, b: torch.Tensor, absolute: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Spearman's ρ between |a[i]| and |b[i]| (or, with ``absolute=False``, between the
    signed a[i] and b[i]) for each pair of maps (N, H, W) (Adebayo et al. 2018).

    Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018, compare maps by the
    rank correlation of their absolute values and of their signed values, and report
    both. A constant map has no ranking, so ρ is undefined there: it is returned as 0,
    and the second array says where (count these: a flat map "passes" a test that asks
    for ρ ≈ 0 without explaining anything).

    Returns:
        rhos (N,) and flat (N,), True where either map is constant.
    """
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(
            "Expected two stacks of maps of the same shape (N, H, W), got "
            f"{tuple(a.shape)} and {tuple(b.shape)}."
        )
    if absolute:
        a, b = a.abs(), b.abs()
    flat = (is_flat(a) | is_flat(b)).numpy()
    rhos = np.array(
        [
            0.0 if f else spearmanr(x.flatten(), y.flatten())[0]
            for x, y, f in zip(a, b, flat)
        ]
    )
    return rhos, flat


def max_sensitivity(
    method: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor],
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor,
    radius: float = 0.02,
    n_perturb: int = 10,
    seed: int = 0,
) -> np.ndarray:
    """(N,) relative max-sensitivity of an attribution method, lower is more robust.

    Yeh, Hsieh, Suggala, Inouye, Ravikumar, "On the (In)fidelity and Sensitivity of
    Explanations", NeurIPS 2019, define max-sensitivity as the largest ‖Φ(x + δ) − Φ(x)‖
    over perturbations δ within a radius. Captum's ``sensitivity_max`` divides it by
    ‖Φ(x)‖, so that maps of different scales compare; this function does the same
    (Frobenius norm of the (H, W) map, ``n_perturb`` perturbations drawn uniformly from
    [−radius, radius] per pixel, Captum's default). A map near 0 makes it explode.

    Args:
        method: (model, images (N, C, H, W), targets (N,)) → maps (N, H, W), as in
            :mod:`utils.attribution`.
    """
    generator = torch.Generator().manual_seed(seed)
    original = method(model, images, targets).flatten(1)
    norm = original.norm(dim=1).clamp(min=1e-12)
    worst = torch.zeros(len(images))
    for _ in range(n_perturb):
        noise = (torch.rand(images.shape, generator=generator) * 2 - 1) * radius
        moved = method(model, images + noise, targets).flatten(1)
        worst = torch.maximum(worst, (moved - original).norm(dim=1) / norm)
    return worst.numpy()
