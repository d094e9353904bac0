"""Class activation maps: CAM (Zhou et al. 2016) and Grad-CAM (Selvaraju et al. 2017).

Zhou, Khosla, Lapedriza, Oliva, Torralba, "Learning Deep Features for Discriminative
Localization", CVPR 2016. Selvaraju et al., "Grad-CAM: Visual Explanations from Deep
Networks via Gradient-based Localization", ICCV 2017. Both weight the channels of a
feature map (N, C, h, w) and sum them; they differ only in where the channel weights
come from, so each is a small subclass of ``BaseCAM``.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext

import torch
import torch.nn.functional as F
from torch import nn

from .config import device_of
from .hooks import captured
from .inputs import fits_model, image_batch, targets_in_range


class BaseCAM:
    """Hooks ``feature_layer``, runs ``model`` and returns Σ_k weight_k · feature_k per
    image.

    Subclasses override :meth:`channel_weights`. Calling with images (N, C, H, W) and
    one target class per image returns (N, h, w) maps at the feature map's resolution,
    computed on the model's device and returned on the CPU; :func:`upsample` brings them
    to the image's.

    Args:
        score_layer: the module whose output (N, K, ...) holds the class scores to
            explain, for a model that ends in a softmax or sigmoid: its logits layer.
            ``None`` explains the model's own output (right for a model that returns
            logits).
    """

    needs_gradient = False

    def __init__(
        self,
        model: nn.Module,
        feature_layer: nn.Module,
        score_layer: nn.Module | None = None,
    ) -> None:
        self.model, self.feature_layer = model.eval(), feature_layer
        self.score_layer = score_layer

    def channel_weights(
        self,
        features: torch.Tensor,
        gradients: torch.Tensor | None,
        targets: torch.Tensor,
    ) -> torch.Tensor:
        """(N, C) weights of the feature channels for each image's target class."""
        raise NotImplementedError

    def __call__(
        self, x: torch.Tensor, targets: Sequence[int] | torch.Tensor
    ) -> torch.Tensor:
        x = fits_model(self.model, image_batch(x)).to(device_of(self.model))
        if self.needs_gradient:
            # gradients must reach the features even through a frozen backbone
            x = x.detach().requires_grad_()
        scored = (
            nullcontext() if self.score_layer is None else captured(self.score_layer)
        )
        with (
            torch.set_grad_enabled(self.needs_gradient),
            captured(self.feature_layer, self.needs_gradient) as rec,
            scored as score_rec,
        ):
            outputs = self.model(x)
            scores = outputs if score_rec is None else score_rec.output.flatten(1)
            targets = targets_in_range(targets, scores.shape[1], batch=len(x)).to(
                x.device
            )
            if self.needs_gradient:
                self.model.zero_grad()
                scores.gather(1, targets[:, None]).sum().backward()
        weights = self.channel_weights(rec.output.detach(), rec.gradient, targets)
        return self.post_process(
            (weights[:, :, None, None] * rec.output.detach()).sum(1)
        ).cpu()

    def post_process(self, maps: torch.Tensor) -> torch.Tensor:
        return maps


class CAM(BaseCAM):
    """Class Activation Mapping: the channel weights are the target's row of the linear
    classifier on the globally average-pooled features, so ``map.mean() + bias`` is
    exactly the target's logit."""

    def __init__(
        self, model: nn.Module, feature_layer: nn.Module, fc: nn.Linear
    ) -> None:
        super().__init__(model, feature_layer)
        self.fc = fc

    def channel_weights(self, features, gradients, targets):
        return self.fc.weight.detach()[targets]


class GradCAM(BaseCAM):
    """Grad-CAM: the channel weights are the spatially averaged gradients of the
    target's score, α_k = mean_ij ∂y^c/∂A^k_ij, and the map ReLU(Σ_k α_k A^k) keeps
    only positive evidence. Selvaraju et al. differentiate the score y^c *before* the
    softmax: for a model that returns probabilities, pass its logits layer as
    ``score_layer``."""

    needs_gradient = True

    def channel_weights(self, features, gradients, targets):
        return gradients.mean((2, 3))

    def post_process(self, maps):
        return maps.clamp(min=0)


def upsample(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N, h, w) maps → (N, H, W), bilinear, as drawn over the image."""
    return F.interpolate(
        maps[:, None], size=size, mode="bilinear", align_corners=False
    )[:, 0]


def normalize01(maps: torch.Tensor) -> torch.Tensor:
    """Min-max normalise each (h, w) map to [0, 1] (a constant map becomes 0)."""
    low = maps.amin((-2, -1), keepdim=True)
    span = maps.amax((-2, -1), keepdim=True) - low
    return (maps - low) / span.clamp(min=1e-12)
