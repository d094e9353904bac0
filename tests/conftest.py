"""Shared fixtures: every test gets its own data root and output folder, and the mode it asks for."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the data root and the outputs at fresh temp folders."""
    monkeypatch.setenv("XAI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XAI_OUTPUT_DIR", str(tmp_path / "outputs"))
    monkeypatch.delenv("XAI_QUICK", raising=False)
    return tmp_path
