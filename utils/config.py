"""Where data and outputs live, which mode runs (QUICK or full), which device computes,
seeding."""

from __future__ import annotations

import itertools
import os
import random
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from torch import nn

REPO_ROOT = Path(__file__).resolve().parent.parent
# GitHub "owner/name" of this course: the Colab badges and the Colab setup cells use it
# (tests/test_notebooks_meta.py checks that every notebook agrees with it).
REPO_SLUG = "xai-course/explaining-image-classifiers"

DATA_ENV = "XAI_DATA_DIR"
OUTPUT_ENV = "XAI_OUTPUT_DIR"
QUICK_ENV = "XAI_QUICK"
# 1: skip the ImageNet download and use the offline stand-in
STAND_IN_ENV = "XAI_STAND_IN"
# the run's base seed: every model's initial weights, batch order and sampling derive
# from it, so that the checks can be tested on other trained models
SEED_ENV = "XAI_SEED"
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}

# Where notebooks *create* their models: the GPU when there is one. Helpers never read
# it: they compute on the device of the model they are given (see ``device_of``).
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")

T = TypeVar("T")


def data_root() -> Path:
    """The one folder every loader reads from and downloads into: ``$XAI_DATA_DIR`` or
    ``<repo>/data``."""
    return Path(os.environ.get(DATA_ENV) or REPO_ROOT / "data").expanduser().resolve()


def output_root() -> Path:
    """Where checkpoints and figures go: ``$XAI_OUTPUT_DIR`` or ``<repo>/outputs``."""
    return (
        Path(os.environ.get(OUTPUT_ENV) or REPO_ROOT / "outputs").expanduser().resolve()
    )


def output_dir(*parts: str) -> Path:
    """A (created) folder under :func:`output_root` for checkpoints and figures."""
    path = output_root().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def env_flag(name: str, meaning: str) -> bool:
    """The on/off switch ``$name``: 1/true/yes/on or 0/false/no/off/unset; anything else
    is an error that says what to set (``meaning`` says what 1 does)."""
    value = os.environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(
        f"{name}={value!r} is not understood: set it to 1 ({meaning}) or 0 (off), "
        "or unset it."
    )


def is_quick() -> bool:
    """True when ``XAI_QUICK`` asks for the QUICK mode (small subsets, few epochs)."""
    return env_flag(QUICK_ENV, "QUICK mode: small subsets, few epochs")


def use_stand_in() -> bool:
    """True when ``XAI_STAND_IN`` asks for the offline ImageNet stand-in instead of a
    download."""
    return env_flag(STAND_IN_ENV, "use the offline ImageNet stand-in")


def device_of(model: nn.Module) -> torch.device:
    """The device of ``model``'s first parameter or buffer (the CPU for a model with
    neither).

    The course's one device rule: a helper given a model computes where that model
    lives, moves its inputs there, and returns results on the CPU.
    """
    first = next(itertools.chain(model.parameters(), model.buffers()), None)
    return first.device if first is not None else torch.device("cpu")


def by_mode(quick: T, full: T) -> T:
    """``quick`` in QUICK mode, else ``full``: the one place a notebook's settings
    depend on the mode."""
    return quick if is_quick() else full


def run_seed() -> int:
    """The run's base seed, ``$XAI_SEED`` (default 0): the seed of every model a
    notebook trains and every sample it draws is this number, or it plus a constant."""
    value = os.environ.get(SEED_ENV, "").strip() or "0"
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f"{SEED_ENV}={value!r} is not a whole number: set it to 0, 1, 2, ... "
            "or unset it (0)."
        ) from None


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) so that a re-run gives the same
    numbers."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def display_path(path: Path) -> str:
    """``path`` relative to the current folder, for messages and printouts that travel
    between machines."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def describe_setup() -> str:
    """One line per setting a reader of a notebook's output should know."""
    mode = (
        "QUICK (small subsets, few epochs)"
        if is_quick()
        else "full (reproduces the source)"
    )
    return "\n".join(
        [
            f"mode:      {mode}   [{QUICK_ENV}]",
            (
                f"ImageNet:  {'offline stand-in' if use_stand_in() else 'download'}   "
                f"[{STAND_IN_ENV}]"
            ),
            f"seed:      {run_seed()}   [{SEED_ENV}]",
            f"device:    {DEVICE}",
            f"data root: {display_path(data_root())}   [{DATA_ENV}]",
            f"outputs:   {display_path(output_dir())}   [{OUTPUT_ENV}]",
            f"torch {torch.__version__}",
        ]
    )
