"""One loader per data set. The same code reads the offline copy and downloads for an online user."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, TensorDataset

from .config import data_root, display_path
from .download import ensure_extracted, ensure_file

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"  # published on the CIFAR-10 page


# Single files under the data root: relative path -> (pinned download URL, sha256).
FILES = {
    "images/catdog.jpg": (  # the photo of the DigitalOcean CAM/NBDT tutorial (MIT)
        "https://raw.githubusercontent.com/alvinwan/visualizing-neural-networks/"
        "af3e6abea10c286647133d4516b5cbd5c3349c8d/assets/catdog.jpg",
        "34c862bf60abbf900ebf19597ba0a73ded635e4feb38ca89c07206cbc1cbba5e"),
}


def data_file(relative: str) -> Path:
    """The file ``relative`` under the data root, downloaded (pinned URL, sha256-checked) if missing."""
    if relative not in FILES:
        raise KeyError(f"{relative!r} is not a known data file; known: {', '.join(sorted(FILES))}.")
    url, sha256 = FILES[relative]
    return ensure_file(data_root() / relative, url, checksum=sha256)


@dataclass
class LabelledImages:
    """Images ``x`` (N, C, H, W) float32 in [0, 1], labels ``y`` (N,) int64 and the class names."""

    x: torch.Tensor
    y: torch.Tensor
    classes: list[str]

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, n: int | None, seed: int = 0) -> LabelledImages:
        """A seeded random subset of ``n`` examples (all of them when ``n`` is None or too large)."""
        if n is None or n >= len(self):
            return self
        idx = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:n]
        return LabelledImages(self.x[idx], self.y[idx], self.classes)

    def loader(self, batch_size: int, shuffle: bool = False, seed: int = 0) -> DataLoader:
        """A DataLoader over (x, y); shuffling is seeded so that training is reproducible."""
        generator = torch.Generator().manual_seed(seed) if shuffle else None
        return DataLoader(TensorDataset(self.x, self.y), batch_size=batch_size, shuffle=shuffle,
                          generator=generator)


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as f:
        return pickle.load(f, encoding="bytes")


def load_cifar10(train: bool = True, root: Path | None = None) -> LabelledImages:
    """CIFAR-10 (Krizhevsky 2009) from the official python-pickle batches under ``root``.

    Reads whichever ``data_batch_*`` files exist (``test_batch`` for ``train=False``), so a subset
    in the official layout works too; downloads and md5-checks the official archive when the
    ``cifar-10-batches-py`` folder is absent. Returns images (N, 3, 32, 32) in [0, 1].
    """
    folder = ensure_extracted((root or data_root()) / "cifar-10-batches-py", CIFAR10_URL,
                              checksum=CIFAR10_MD5, algorithm="md5")
    files = sorted(folder.glob("data_batch_*")) if train else [folder / "test_batch"]
    if not files or not all(f.exists() for f in files):
        raise FileNotFoundError(f"{folder} has no {'data_batch_*' if train else 'test_batch'} file: "
                                "delete the folder to download it again.")
    batches = [_unpickle(f) for f in files]
    pixels = np.concatenate([b[b"data"] for b in batches]).reshape(-1, 3, 32, 32)
    labels = np.concatenate([b[b"labels"] for b in batches])
    classes = [name.decode() for name in _unpickle(folder / "batches.meta")[b"label_names"]]
    return LabelledImages(torch.from_numpy(pixels).float() / 255, torch.from_numpy(labels).long(), classes)


def load_image(path: Path | str, size: int | tuple[int, int] | None = None) -> torch.Tensor:
    """An image file as a (3, H, W) float tensor in [0, 1], resized to ``size`` if given.

    Grayscale, palette and RGBA images are converted to RGB (alpha is dropped), as the SHAP
    article's ``plot_shap_util`` does with ``convert('RGB')``. ``size`` is an int for a square or
    ``(height, width)``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No image at {display_path(path)}: check the path "
                                f"(relative paths start at {Path.cwd()}).")
    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
    except UnidentifiedImageError:
        raise ValueError(f"{display_path(path)} is not an image file that Pillow can read: "
                         "pass a PNG or JPEG.") from None
    if size is not None:
        height, width = (size, size) if isinstance(size, int) else size
        img = img.resize((width, height), Image.Resampling.BILINEAR)
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255).permute(2, 0, 1).contiguous()


def check_image_batch(x: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """``x`` as a batch (N, C, H, W) of the given (C, H, W) shape; a single (C, H, W) image gets N = 1."""
    if x.ndim == 3:
        x = x.unsqueeze(0)
    if x.ndim != 4 or tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(f"Expected images of shape (N, {', '.join(map(str, shape))}), got {tuple(x.shape)}: "
                         f"load files with utils.data.load_image(path, size={shape[1]}).")
    return x
