"""Where data and outputs live, which mode runs (QUICK or full), which device computes, seeding."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
# GitHub "owner/name" of this course: the Colab badges and the Colab setup cells use it
# (tests/test_notebooks_meta.py checks that every notebook agrees with it).
REPO_SLUG = "xai-course/explaining-image-classifiers"

DATA_ENV = "XAI_DATA_DIR"
OUTPUT_ENV = "XAI_OUTPUT_DIR"
QUICK_ENV = "XAI_QUICK"
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}

# Chosen once for the whole course: the GPU when there is one.
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")

T = TypeVar("T")


def data_root() -> Path:
    """The one folder every loader reads from and downloads into: ``$XAI_DATA_DIR`` or ``<repo>/data``."""
    return Path(os.environ.get(DATA_ENV) or REPO_ROOT / "data").expanduser().resolve()


def output_dir(*parts: str) -> Path:
    """A (created) folder under ``$XAI_OUTPUT_DIR`` or ``<repo>/outputs`` for checkpoints and figures."""
    root = Path(os.environ.get(OUTPUT_ENV) or REPO_ROOT / "outputs").expanduser().resolve()
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def is_quick() -> bool:
    """True when ``XAI_QUICK`` asks for the QUICK mode (small subsets, few epochs)."""
    value = os.environ.get(QUICK_ENV, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{QUICK_ENV}={value!r} is not understood: set it to 1 (QUICK mode) or 0 (full mode).")


def by_mode(quick: T, full: T) -> T:
    """``quick`` in QUICK mode, else ``full``: the one place a notebook's settings depend on the mode."""
    return quick if is_quick() else full


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) so that a re-run gives the same numbers."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def display_path(path: Path) -> str:
    """``path`` relative to the current folder, for messages and printouts that travel between machines."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def describe_setup() -> str:
    """One line per setting a reader of a notebook's output should know."""
    mode = "QUICK (small subsets, few epochs)" if is_quick() else "full (reproduces the source)"
    return "\n".join([
        f"mode:      {mode}   [{QUICK_ENV}]",
        f"device:    {DEVICE}",
        f"data root: {display_path(data_root())}   [{DATA_ENV}]",
        f"outputs:   {display_path(output_dir())}   [{OUTPUT_ENV}]",
        f"torch {torch.__version__}",
    ])
