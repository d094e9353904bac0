"""Shared fixtures: every test gets its own data root and output folder, and the mode it
asks for."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the data root and the outputs at fresh temp folders."""
    monkeypatch.setenv("XAI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XAI_OUTPUT_DIR", str(tmp_path / "outputs"))
    monkeypatch.delenv("XAI_QUICK", raising=False)
    monkeypatch.delenv("XAI_SEED", raising=False)
    return tmp_path


class TinyNet(nn.Module):
    """conv → ReLU → BatchNorm → pool → linear → softmax: small, but every method
    applies."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv, self.relu, self.bn = (
            nn.Conv2d(3, 4, 3, padding=1),
            nn.ReLU(),
            nn.BatchNorm2d(4),
        )
        self.pool, self.fc, self.softmax = (
            nn.AvgPool2d(2),
            nn.Linear(4 * 4 * 4, 3),
            nn.Softmax(dim=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.softmax(
            self.fc(self.pool(self.bn(self.relu(self.conv(x)))).flatten(1))
        )


@pytest.fixture
def setup() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A TinyNet in eval mode, three random 8×8 images and its predicted classes."""
    model = TinyNet().eval()
    x = torch.rand(3, 3, 8, 8)
    return model, x, model(x).argmax(1).detach()
