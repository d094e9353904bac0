"""Leave a model exactly as it was, whatever an explainer does to it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn

_HOOK_DICTS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")


@contextmanager
def restored_hooks(model: nn.Module) -> Iterator[nn.Module]:
    """Remove, on leaving the block (also after an error), every hook and attribute added inside it.

    SHAP's explainers register hooks on every layer and store tensors on the modules; when a call
    fails half-way they stay there and silently change later results. Inside this block they may;
    afterwards the model is as before.
    """
    before = {id(m): ({name: set(getattr(m, name)) for name in _HOOK_DICTS}, set(vars(m)))
              for m in model.modules()}
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
