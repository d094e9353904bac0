"""One loader per data set. The same code reads the offline copy and downloads for an online user."""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, TensorDataset
from torchvision import datasets

from .config import data_root, display_path
from .download import DataUnavailableError, download, ensure_extracted, ensure_file

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"  # published on the CIFAR-10 page


# Single files under the data root: relative path -> (pinned download URL, sha256).
FILES = {
    "cryptopunks/punks.png": (  # the sha256 is the image hash stored in the CryptoPunks contract
        "https://raw.githubusercontent.com/larvalabs/cryptopunks/master/punks.png",
        "ac39af4793119ee46bbff351d8cb6b5f23da60222126add4268e261199a2921b"),
    "images/both.png": (  # the dog-and-cat photo of the Grad-CAM examples (jacobgil/pytorch-grad-cam, MIT)
        "https://raw.githubusercontent.com/jacobgil/pytorch-grad-cam/master/examples/both.png",
        "8d30785a513e22a2f574c839c7e1751db943d0b5399347e7bb37736f6c5a95c2"),
    "images/imagenet_class_index.json": (  # Keras' ImageNet index: {"0": ["n01440764", "tench"], ...}
        "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json",
        "a1e7a966a1f601d39e4b43e119b3e7dd4a2ad3ea08cf69847cbaf021013767bc"),
    "nbdt/wnids/CIFAR10.txt": (  # WordNet ids of the CIFAR-10 classes (alvinwan/neural-backed-decision-trees, MIT)
        "https://raw.githubusercontent.com/alvinwan/neural-backed-decision-trees/master/nbdt/wnids/CIFAR10.txt",
        "e6d40c2306f2b03fc6729de2e342b4d71581e09e36b7b9c42923d72092f1d5e6"),
    "nbdt/hierarchies/CIFAR10/graph-wordnet.json": (
        "https://raw.githubusercontent.com/alvinwan/neural-backed-decision-trees/"
        "6bcff6dc5474f44be2d86dc1625740cb648b78c5/nbdt/hierarchies/CIFAR10/graph-wordnet.json",
        "746e93348060068dbcbb803d9a74ae20a0cf847e5e93ca2165b5a03b75156ac0"),
    "nbdt/hierarchies/CIFAR10/graph-induced-ResNet18.json": (
        "https://raw.githubusercontent.com/alvinwan/neural-backed-decision-trees/"
        "e3032b809b922cd63129911a5c7202edd11af241/nbdt/hierarchies/CIFAR10/graph-induced-ResNet18.json",
        "3149aca429c499ff83016756d4671d524f915de328c8f625f3dfc2b63731d782"),
    "nbdt/hierarchies/CIFAR10/graph-induced-wrn28_10_cifar10.json": (
        "https://raw.githubusercontent.com/alvinwan/neural-backed-decision-trees/"
        "b4e030edbe89fae35eed7f5f33a94de7591b7e50/nbdt/hierarchies/CIFAR10/graph-induced-wrn28_10_cifar10.json",
        "4744199fe5d4a4ae7f8a1ee65bceea4ff1cf40adcaf3cdb5ecdb7d78bbc00ea4"),
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


def imagenet_classes() -> list[str]:
    """The 1000 ImageNet class names in the standard order (``"tabby"``, ``"Persian_cat"``, ...)."""
    index = json.loads(data_file("images/imagenet_class_index.json").read_text())
    return [index[str(i)][1] for i in range(len(index))]


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


def load_mnist(train: bool = True, root: Path | None = None) -> LabelledImages:
    """MNIST (LeCun et al. 1998) through ``torchvision.datasets.MNIST`` under the data root.

    torchvision downloads and checks the raw files when ``MNIST/raw`` lacks them. Returns images
    (N, 1, 28, 28) in [0, 1], as ``transforms.ToTensor()`` gives them.
    """
    root = root or data_root()
    try:
        mnist = datasets.MNIST(root, train=train, download=True)
    except RuntimeError as err:  # torchvision's "Error downloading ..." after trying every mirror
        raise DataUnavailableError(root / "MNIST" / "raw", datasets.MNIST.mirrors[0], str(err)) from None
    return LabelledImages(mnist.data.unsqueeze(1).float() / 255, mnist.targets.long(), [str(d) for d in range(10)])


PUNK_SIZE = 24  # pixels per side of one punk in the 100 x 100 sprite sheet
# The walkthrough's per-range attribute files (original/0-999.csv ...) are gone upstream; this pinned
# commit's combined file holds the same rows. It is split into the walkthrough's files, and each part
# is checked against the sha256 of the original file.
PUNK_CSV_URL = ("https://raw.githubusercontent.com/cryptopunksnotdead/punks.attributes/"
                "a354a542cf19badcb1dbc1652af6428cf2f371c2/original/cryptopunks.csv")
PUNK_CSV_SHA256 = {
    "0-999.csv": "3127ca09e2596fecfe0e21d995fe836ef4859c794be5cbe583ac1e958532f6bb",
    "1000-1999.csv": "80d9bd979feff8d00f24718391d4499c2d229c95debc7d7105ebc96ec815e28f",
    "2000-2999.csv": "e484ab3396f87368bcfac05b078e5b85d72c8f3c798ffaa264ae1382084d4db6",
    "3000-3999.csv": "06fcfca8d2495caa6ec0f0e2c9bb208250d5f892c85af81e7161133ccca52718",
    "4000-4999.csv": "07fd2cad0c4f2dcf1ed77ae975abd44dedae181692347bc316f9a4fc4f2c5b4e",
    "5000-5999.csv": "00c88e7af2081e9f81f13889fd2f55278aded4062ba815e59dc9adae451599df",
    "6000-6999.csv": "453c3819fcedf763d6e9768682ffd7392ce49e68df553436e7ec5872f72a7f75",
    "7000-7999.csv": "aa644e7308a2f6c236da9fad45396306a72642a7bd76d557c06a85847244c73c",
    "8000-8999.csv": "9bc1705dcbdfc4c579240cb88c01414299fb1bb7ecdcf29c0663ecefc88f8f6c",
    "9000-9999.csv": "2b70122d7c7838331e896751b8719f73f6c40512055db89482196dc41e42df90",
}


def _punk_attribute_files(folder: Path) -> list[Path]:
    """The ten ``original/<from>-<to>.csv`` files, split from the pinned combined file if missing."""
    parts = [folder / name for name in PUNK_CSV_SHA256]
    if all(p.exists() for p in parts):
        return parts
    combined = download(PUNK_CSV_URL, folder / "cryptopunks.csv", checksum=None)  # verified per part below
    header, *rows = combined.read_text().splitlines()
    for i, part in enumerate(parts):
        text = "\n".join([header, *rows[1000 * i:1000 * (i + 1)]]) + "\n"
        if hashlib.sha256(text.encode()).hexdigest() != PUNK_CSV_SHA256[part.name]:
            raise ValueError(f"{PUNK_CSV_URL} no longer splits into the original {part.name}: "
                             "copy the original/*.csv files into the data root by hand.")
        part.write_text(text)
    combined.unlink()
    return parts


def load_cryptopunks() -> tuple[torch.Tensor, pd.DataFrame]:
    """The 10,000 CryptoPunks as images (10000, 3, 24, 24) in [0, 1] and their attribute table.

    Images come from the 2400×2400 sprite sheet ``cryptopunks/punks.png`` (punk id = 100·row + col);
    the transparent background becomes black (alpha is dropped). The table has the walkthrough's
    columns, with their leading spaces (``' accessories'``), sorted by ``id``.
    """
    with Image.open(data_file("cryptopunks/punks.png")) as sheet:
        rgb = np.asarray(sheet.convert("RGBA"))[..., :3]
    n = rgb.shape[0] // PUNK_SIZE
    punks = rgb.reshape(n, PUNK_SIZE, n, PUNK_SIZE, 3).transpose(0, 2, 4, 1, 3).reshape(n * n, 3, PUNK_SIZE, PUNK_SIZE)
    files = _punk_attribute_files(data_root() / "cryptopunks" / "original")
    table = pd.concat([pd.read_csv(f) for f in files]).sort_values("id").reset_index(drop=True)
    return torch.from_numpy(punks.copy()).float() / 255, table


MONKEYS_DIR = "10-monkey-species"
MONKEYS_HOWTO = ("Download the Kaggle data set 'slothkong/10-monkey-species' (a free Kaggle account is needed: "
                 "kaggle datasets download -d slothkong/10-monkey-species) and unzip it so that {folder} holds "
                 "training/, validation/ and monkey_labels.txt.")


def load_monkeys(split: str, transform: Callable | None = None) -> datasets.ImageFolder:
    """Kaggle's "10 Monkey Species" (``split`` = ``"training"`` or ``"validation"``) as an ``ImageFolder``.

    Classes are the folders ``n0`` … ``n9``; ``.classes`` is replaced by the common names from
    ``monkey_labels.txt``. Kaggle needs an account, so nothing is downloaded: a missing folder raises
    an error that says how to get it.
    """
    folder = data_root() / MONKEYS_DIR
    if not (folder / split).is_dir() or not (folder / "monkey_labels.txt").exists():
        raise FileNotFoundError(f"Missing: {display_path(folder / split)}. " + MONKEYS_HOWTO.format(
            folder=display_path(folder)))
    images = datasets.ImageFolder(folder / split, transform=transform)
    labels = pd.read_csv(folder / "monkey_labels.txt", skipinitialspace=True)
    names = dict(zip(labels.iloc[:, 0].str.strip(), labels.iloc[:, 2].str.strip()))
    images.classes = [names[c] for c in images.classes]
    return images


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
