"""Leave a model exactly as it was, whatever an explainer does to it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

_HOOK_DICTS = (
    "_forward_hooks",
    "_forward_pre_hooks",
    "_backward_hooks",
    "_backward_pre_hooks",
)


@contextmanager
def restored_hooks(model: nn.Module) -> Iterator[nn.Module]:
    """Remove, on leaving the block (also after an error), every hook and attribute
    added inside it.

    SHAP's explainers register hooks on every layer and store tensors on the modules;
    when a call fails half-way they stay there and silently change later results. Inside
    this block they may; afterwards the model is as before.
    """
    before = {
        id(m): ({name: set(getattr(m, name)) for name in _HOOK_DICTS}, set(vars(m)))
        for m in model.modules()
    }
    try:
        yield model
    finally:
        for m in model.modules():
            hooks, attributes = before.get(id(m), ({}, set()))
            for name in _HOOK_DICTS:
                registered = getattr(m, name)
                for key in set(registered) - hooks.get(name, set()):
                    del registered[key]
            for attribute in set(vars(m)) - attributes:
                delattr(m, attribute)


@dataclass
class Captured:
    """What :func:`captured` recorded: the layer's last output (N, ...) and, if asked,
    its gradient."""

    output: torch.Tensor | None = None
    gradient: torch.Tensor | None = None


@contextmanager
def captured(layer: nn.Module, gradient: bool = False) -> Iterator[Captured]:
    """Record ``layer``'s forward output (and the gradient flowing into it) inside the
    block.

    The hook is removed on leaving the block, also after an error.
    """
    record = Captured()

    def keep(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        record.output = output
        if gradient:
            output.register_hook(lambda grad: setattr(record, "gradient", grad))

    handle = layer.register_forward_hook(keep)
    try:
        yield record
    finally:
        handle.remove()
