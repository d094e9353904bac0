"""One loader per data set. The same code reads the offline copy and downloads for an
online user."""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import struct
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch.utils.data import DataLoader, TensorDataset
from torchvision import datasets

from .config import data_root, display_path
from .download import (
    DamagedFileError,
    DataUnavailableError,
    download,
    ensure_extracted,
    ensure_file,
    verify_file,
)

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"  # published on the CIFAR-10 page


# Single files under the data root: relative path -> (pinned download URL, sha256).
FILES = {
    # the sha256 is the image hash stored in the CryptoPunks contract
    "cryptopunks/punks.png": (
        "https://raw.githubusercontent.com/larvalabs/cryptopunks/fddf7c827befebd8fe6f23835aa66b780a249fc3/punks.png",
        "ac39af4793119ee46bbff351d8cb6b5f23da60222126add4268e261199a2921b",
    ),
    # the dog-and-cat photo of the Grad-CAM examples (jacobgil/pytorch-grad-cam, MIT)
    "images/both.png": (
        "https://raw.githubusercontent.com/jacobgil/pytorch-grad-cam/"
        "5cc686337b628aa2c8d6b76284546c967d500e4d/examples/both.png",
        "8d30785a513e22a2f574c839c7e1751db943d0b5399347e7bb37736f6c5a95c2",
    ),
    # Keras' ImageNet index: {"0": ["n01440764", "tench"], ...}
    "images/imagenet_class_index.json": (
        "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json",
        "a1e7a966a1f601d39e4b43e119b3e7dd4a2ad3ea08cf69847cbaf021013767bc",
    ),
    # WordNet ids of the CIFAR-10 classes (alvinwan/neural-backed-decision-trees, MIT)
    "nbdt/wnids/CIFAR10.txt": (
        "https://raw.githubusercontent.com/alvinwan/neural-backed-decision-trees/"
        "10c972fd3e9c97e3c344c2d0c3b17a190d428d3b/nbdt/wnids/CIFAR10.txt",
        "e6d40c2306f2b03fc6729de2e342b4d71581e09e36b7b9c42923d72092f1d5e6",
    ),
    "nbdt/hierarchies/CIFAR10/graph-wordnet.json": (
        "https://raw.githubusercontent.com/alvinwan/neural-backed-decision-trees/"
        "6bcff6dc5474f44be2d86dc1625740cb648b78c5/nbdt/hierarchies/CIFAR10/graph-wordnet.json",
        "746e93348060068dbcbb803d9a74ae20a0cf847e5e93ca2165b5a03b75156ac0",
    ),
    "nbdt/hierarchies/CIFAR10/graph-induced-ResNet18.json": (
        "https://raw.githubusercontent.com/alvinwan/neural-backed-decision-trees/"
        "e3032b809b922cd63129911a5c7202edd11af241/nbdt/hierarchies/CIFAR10/graph-induced-ResNet18.json",
        "3149aca429c499ff83016756d4671d524f915de328c8f625f3dfc2b63731d782",
    ),
    "nbdt/hierarchies/CIFAR10/graph-induced-wrn28_10_cifar10.json": (
        "https://raw.githubusercontent.com/alvinwan/neural-backed-decision-trees/"
        "b4e030edbe89fae35eed7f5f33a94de7591b7e50/nbdt/hierarchies/CIFAR10/graph-induced-wrn28_10_cifar10.json",
        "4744199fe5d4a4ae7f8a1ee65bceea4ff1cf40adcaf3cdb5ecdb7d78bbc00ea4",
    ),
    "images/catdog.jpg": (  # the photo of the DigitalOcean CAM/NBDT tutorial (MIT)
        "https://raw.githubusercontent.com/alvinwan/visualizing-neural-networks/"
        "af3e6abea10c286647133d4516b5cbd5c3349c8d/assets/catdog.jpg",
        "34c862bf60abbf900ebf19597ba0a73ded635e4feb38ca89c07206cbc1cbba5e",
    ),
}


def data_file(relative: str) -> Path:
    """The file ``relative`` under the data root, downloaded (pinned URL,
    sha256-checked) if missing."""
    if relative not in FILES:
        raise KeyError(
            f"{relative!r} is not a known data file; known: {', '.join(sorted(FILES))}."
        )
    url, sha256 = FILES[relative]
    return ensure_file(data_root() / relative, url, checksum=sha256)


def imagenet_classes() -> list[str]:
    """The 1000 ImageNet class names in the standard order (``"tabby"``,
    ``"Persian_cat"``, ...)."""
    index = json.loads(data_file("images/imagenet_class_index.json").read_text())
    return [index[str(i)][1] for i in range(len(index))]


@dataclass
class LabelledImages:
    """Images ``x`` (N, C, H, W) float32 in [0, 1], labels ``y`` (N,) int64 and the
    class names."""

    x: torch.Tensor
    y: torch.Tensor
    classes: list[str]

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, n: int | None, seed: int = 0) -> LabelledImages:
        """A seeded random subset of ``n`` examples (all of them when ``n`` is None or
        too large)."""
        if n is None or n >= len(self):
            return self
        idx = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[
            :n
        ]
        return LabelledImages(self.x[idx], self.y[idx], self.classes)

    def loader(
        self, batch_size: int, shuffle: bool = False, seed: int = 0
    ) -> DataLoader:
        """A DataLoader over (x, y); shuffling is seeded so that training is
        reproducible."""
        generator = torch.Generator().manual_seed(seed) if shuffle else None
        return DataLoader(
            TensorDataset(self.x, self.y),
            batch_size=batch_size,
            shuffle=shuffle,
            generator=generator,
        )


CIFAR10_FIX = (
    "Delete the folder {folder} and re-run to download CIFAR-10 again (about 170 MB), "
    "or copy the folder again from a complete copy of the data."
)


def _unpickle(path: Path) -> dict:
    """A CIFAR-10 pickle as a dict; a file that does not unpickle to one is a
    :class:`DamagedFileError`."""
    try:
        with open(path, "rb") as f:
            content = pickle.load(f, encoding="bytes")
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        ImportError,
        IndexError,
        MemoryError,
    ) as err:
        raise DamagedFileError(
            path,
            f"it does not unpickle ({type(err).__name__}: {err})",
            CIFAR10_FIX.format(folder=display_path(path.parent)),
        ) from None
    if not isinstance(content, dict):
        raise DamagedFileError(
            path,
            f"it unpickles to a {type(content).__name__}, not a dict",
            CIFAR10_FIX.format(folder=display_path(path.parent)),
        )
    return content


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (N, 3, 32, 32) uint8 and labels (N,) of one CIFAR-10 batch file, checked.

    The offline copy's batches are not the official files (see its PROVENANCE.md), so no
    checksum is pinned for them: a batch counts as damaged when it does not unpickle,
    lacks ``data``/``labels``, or holds anything but (N, 3072) uint8 pixels with N
    labels in 0 … 9.
    """
    batch = _unpickle(path)
    pixels, labels = batch.get(b"data"), np.asarray(batch.get(b"labels", []))
    ok = (
        isinstance(pixels, np.ndarray)
        and pixels.dtype == np.uint8
        and pixels.ndim == 2
        and pixels.shape[1] == 3 * 32 * 32
        and len(labels) == len(pixels) > 0
        and labels.dtype.kind in "iu"
        and labels.min() >= 0
        and labels.max() <= 9
    )
    if not ok:
        found = (
            f"data {getattr(pixels, 'dtype', type(pixels).__name__)} "
            f"{getattr(pixels, 'shape', '')}, {len(labels)} labels"
        )
        raise DamagedFileError(
            path,
            f"it holds {found}; a CIFAR-10 batch holds (N, 3072) uint8 pixels and N "
            "labels in 0 … 9",
            CIFAR10_FIX.format(folder=display_path(path.parent)),
        )
    return pixels.reshape(-1, 3, 32, 32), labels


def _cifar_classes(folder: Path) -> list[str]:
    """The ten class names from ``batches.meta``, checked."""
    names = _unpickle(folder / "batches.meta").get(b"label_names")
    if (
        not isinstance(names, list)
        or len(names) != 10
        or not all(isinstance(n, bytes) for n in names)
    ):
        raise DamagedFileError(
            folder / "batches.meta",
            "it does not list ten class names under label_names",
            CIFAR10_FIX.format(folder=display_path(folder)),
        )
    return [name.decode() for name in names]


def load_cifar10(
    train: bool = True,
    root: Path | None = None,
    per_class: int | None = None,
    seed: int = 0,
) -> LabelledImages:
    """CIFAR-10 (Krizhevsky 2009) from the official python-pickle batches under
    ``root``.

    Reads whichever ``data_batch_*`` files exist (``test_batch`` for ``train=False``),
    so a subset in the official layout works too; downloads and md5-checks the official
    archive when the ``cifar-10-batches-py`` folder is absent. Returns images
    (N, 3, 32, 32) in [0, 1].

    Args:
        per_class: a balanced subset, ``per_class`` images of each class drawn with
            ``seed``; the batch files are read in order only until every class has that
            many (QUICK mode reads one file, not five), and only the chosen images are
            converted to floats.
    """
    folder = ensure_extracted(
        (root or data_root()) / "cifar-10-batches-py",
        CIFAR10_URL,
        checksum=CIFAR10_MD5,
        algorithm="md5",
    )
    files = sorted(folder.glob("data_batch_*")) if train else [folder / "test_batch"]
    if not files or not all(f.exists() for f in files):
        raise FileNotFoundError(
            f"{folder} has no {'data_batch_*' if train else 'test_batch'} file: "
            "delete the folder to download it again."
        )
    batches = []
    for f in files:
        batches.append(_read_cifar_batch(f))
        fewest = np.bincount(
            np.concatenate([b[1] for b in batches]), minlength=10
        ).min()
        if per_class is not None and fewest >= per_class:
            break
    pixels = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    if per_class is not None:
        if fewest < per_class:
            raise ValueError(
                f"per_class={per_class}: a class has only {fewest} images in "
                f"{display_path(folder)}; ask for fewer."
            )
        rng = np.random.default_rng(seed)
        keep = np.concatenate(
            [
                rng.choice(np.flatnonzero(labels == k), per_class, replace=False)
                for k in range(10)
            ]
        )
        keep = rng.permutation(keep)
        pixels, labels = pixels[keep], labels[keep]
    classes = _cifar_classes(folder)
    return LabelledImages(
        torch.from_numpy(pixels).float() / 255, torch.from_numpy(labels).long(), classes
    )


# sha256 of the uncompressed IDX files that torchvision unpacks into MNIST/raw/
# (the published files).
MNIST_SHA256 = {
    "train-images-idx3-ubyte": (
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
    ),
    "train-labels-idx1-ubyte": (
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
    ),
    "t10k-images-idx3-ubyte": (
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
    ),
    "t10k-labels-idx1-ubyte": (
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
    ),
}
MNIST_FIX = (
    "Delete it and re-run: torchvision downloads it again (with its .gz beside it, "
    "delete that too), or copy it again from a complete copy of the data."
)


def load_mnist(train: bool = True, root: Path | None = None) -> LabelledImages:
    """MNIST (LeCun et al. 1998) through ``torchvision.datasets.MNIST`` under the data
    root.

    torchvision downloads and checks the raw files when ``MNIST/raw`` lacks them; files
    already there are checked against the published sha256 sums on first use. Returns
    images (N, 1, 28, 28) in [0, 1], as ``transforms.ToTensor()`` gives them.
    """
    root = root or data_root()
    raw = root / "MNIST" / "raw"
    for name, sha256 in MNIST_SHA256.items():
        if name.startswith("train" if train else "t10k") and (raw / name).exists():
            verify_file(raw / name, sha256, fix=MNIST_FIX)
    try:
        mnist = datasets.MNIST(root, train=train, download=True)
    except RuntimeError as err:
        # torchvision's "Error downloading ..." after trying every mirror
        if "download" not in str(err).lower():
            # torchvision could not parse a file it found
            raise DamagedFileError(
                raw, f"torchvision cannot read it ({err})", MNIST_FIX
            ) from None
        raise DataUnavailableError(raw, datasets.MNIST.mirrors[0], str(err)) from None
    except (AssertionError, ValueError, EOFError, struct.error) as err:
        # a truncated or altered IDX file
        raise DamagedFileError(
            raw,
            f"torchvision cannot read its files ({type(err).__name__}: {err})",
            MNIST_FIX,
        ) from None
    return LabelledImages(
        mnist.data.unsqueeze(1).float() / 255,
        mnist.targets.long(),
        [str(d) for d in range(10)],
    )


PUNK_SIZE = 24  # pixels per side of one punk in the 100 x 100 sprite sheet
# The walkthrough's per-range attribute files (original/0-999.csv ...) are gone
# upstream; this pinned commit's combined file holds the same rows. It is split into the
# walkthrough's files, and each part is checked against the sha256 of the original file.
PUNK_CSV_URL = (
    "https://raw.githubusercontent.com/cryptopunksnotdead/punks.attributes/"
    "a354a542cf19badcb1dbc1652af6428cf2f371c2/original/cryptopunks.csv"
)
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
    """The ten ``original/<from>-<to>.csv`` files (each checked against the original's
    sha256 on first use), split from the pinned combined file if any is missing."""
    parts = [folder / name for name in PUNK_CSV_SHA256]
    if all(p.exists() for p in parts):
        return [verify_file(p, PUNK_CSV_SHA256[p.name]) for p in parts]
    # verified per part below
    combined = download(PUNK_CSV_URL, folder / "cryptopunks.csv", checksum=None)
    header, *rows = combined.read_text().splitlines()
    for i, part in enumerate(parts):
        text = "\n".join([header, *rows[1000 * i : 1000 * (i + 1)]]) + "\n"
        if hashlib.sha256(text.encode()).hexdigest() != PUNK_CSV_SHA256[part.name]:
            raise ValueError(
                f"{PUNK_CSV_URL} no longer splits into the original {part.name}: "
                "copy the original/*.csv files into the data root by hand."
            )
        part.write_text(text)
    combined.unlink()
    return parts


def load_cryptopunks() -> tuple[torch.Tensor, pd.DataFrame]:
    """The 10,000 CryptoPunks as images (10000, 3, 24, 24) in [0, 1] and their attribute
    table.

    Images come from the 2400×2400 sprite sheet ``cryptopunks/punks.png``
    (punk id = 100·row + col); the transparent background becomes black
    (alpha is dropped). The table has the walkthrough's columns, with their leading
    spaces (``' accessories'``), sorted by ``id``.
    """
    with Image.open(data_file("cryptopunks/punks.png")) as sheet:
        rgb = np.asarray(sheet.convert("RGBA"))[..., :3]
    n = rgb.shape[0] // PUNK_SIZE
    punks = (
        rgb.reshape(n, PUNK_SIZE, n, PUNK_SIZE, 3)
        .transpose(0, 2, 4, 1, 3)
        .reshape(n * n, 3, PUNK_SIZE, PUNK_SIZE)
    )
    files = _punk_attribute_files(data_root() / "cryptopunks" / "original")
    table = (
        pd.concat([pd.read_csv(f) for f in files])
        .sort_values("id")
        .reset_index(drop=True)
    )
    return torch.from_numpy(punks.copy()).float() / 255, table


MONKEYS_DIR = "10-monkey-species"
MONKEYS_SPLITS = ("training", "validation")
MONKEYS_KAGGLE = "slothkong/10-monkey-species"  # public, CC0
MONKEYS_URL = f"https://www.kaggle.com/datasets/{MONKEYS_KAGGLE}"
MONKEYS_HOWTO = (
    "Install kagglehub (pip install kagglehub; Colab has it) and re-run: it downloads "
    f"the public data set without an account. Or download {MONKEYS_URL} by hand and "
    "unzip it into {folder}, so that it holds monkey_labels.txt and training/, "
    "validation/ (as the archive unpacks, training/training/n0 … and "
    "validation/validation/n0 …, or flat, training/n0 …)."
)


def _monkeys_split_folder(folder: Path, split: str) -> Path | None:
    """The folder holding ``split``'s class folders ``n0`` … ``n9``: Kaggle's archive
    nests each split in a folder of the same name (``training/training/n0``); a flat
    copy has ``training/n0``. None if neither."""
    for candidate in (folder / split / split, folder / split):
        if candidate.is_dir() and any(
            p.is_dir() and re.fullmatch(r"n\d+", p.name) for p in candidate.iterdir()
        ):
            return candidate
    return None


def _monkey_names(labels_file: Path) -> dict[str, str]:
    """{``"n0"``: ``"mantled_howler"``, ...} from Kaggle's ``monkey_labels.txt`` (label,
    latin, common name, ...)."""
    fix = (
        "Copy monkey_labels.txt again from the Kaggle download into "
        f"{display_path(labels_file.parent)}."
    )
    try:
        labels = pd.read_csv(labels_file, skipinitialspace=True)
        names = dict(
            zip(
                labels.iloc[:, 0].astype(str).str.strip(),
                labels.iloc[:, 2].astype(str).str.strip(),
            )
        )
    except (ValueError, IndexError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise DamagedFileError(
            labels_file, f"it is not the label table ({type(err).__name__}: {err})", fix
        ) from None
    if not any(re.fullmatch(r"n\d+", label) for label in names):
        raise DamagedFileError(
            labels_file, "its first column holds no class folder name n0 … n9", fix
        )
    return names


def _download_monkeys(folder: Path) -> Path:
    """Kaggle's "10 Monkey Species" through ``kagglehub`` (public data sets need no
    account) into ``folder``; the folder holding the data set (kagglehub's own cache
    when it is too old to download elsewhere). :class:`DataUnavailableError` when
    kagglehub is missing or the download fails."""
    try:
        import kagglehub
    except ImportError:
        raise DataUnavailableError(
            folder,
            MONKEYS_URL,
            "kagglehub is not installed",
            MONKEYS_HOWTO.format(folder=display_path(folder)),
        ) from None
    print(f"downloading {MONKEYS_KAGGLE} from Kaggle with kagglehub")
    try:
        try:
            return Path(
                kagglehub.dataset_download(MONKEYS_KAGGLE, output_dir=str(folder))
            )
        except TypeError:  # kagglehub < 0.3.11 has no output_dir: use its cache
            return Path(kagglehub.dataset_download(MONKEYS_KAGGLE))
    except Exception as err:  # kagglehub and requests raise many error types
        raise DataUnavailableError(
            folder,
            MONKEYS_URL,
            f"kagglehub failed: {type(err).__name__}",
            MONKEYS_HOWTO.format(folder=display_path(folder)),
        ) from None


def load_monkeys(split: str, transform: Callable | None = None) -> datasets.ImageFolder:
    """Kaggle's "10 Monkey Species" (``split`` = ``"training"`` or ``"validation"``) as
    an ``ImageFolder``.

    Classes are the folders ``n0`` … ``n9``, found in Kaggle's nested layout
    (``training/training/n0``) or a flat one (``training/n0``); ``.classes`` is replaced
    by the common names from ``monkey_labels.txt``. When the data root lacks the data
    set, it is downloaded into it with ``kagglehub`` (public data sets need no Kaggle
    account); without kagglehub or network the error says how to get it by hand.
    """
    if split not in MONKEYS_SPLITS:
        raise ValueError(f"split={split!r}: choose one of {', '.join(MONKEYS_SPLITS)}.")
    folder = data_root() / MONKEYS_DIR
    if _monkeys_split_folder(folder, split) is None:
        folder = _download_monkeys(folder)
    images_folder = _monkeys_split_folder(folder, split)
    labels_file = folder / "monkey_labels.txt"
    if images_folder is None or not labels_file.exists():
        missing = labels_file if images_folder is not None else folder / split / "n0"
        raise FileNotFoundError(
            f"Missing: {display_path(missing)}. "
            + MONKEYS_HOWTO.format(folder=display_path(folder))
        )
    images = datasets.ImageFolder(images_folder, transform=transform)
    names = _monkey_names(labels_file)
    unknown = [c for c in images.classes if c not in names]
    if unknown:
        raise DamagedFileError(
            labels_file,
            f"it has no name for the class folder(s) {', '.join(unknown)} "
            f"of {display_path(images_folder)}",
            "Copy monkey_labels.txt and the image folders again from the same Kaggle "
            "download.",
        )
    images.classes = [names[c] for c in images.classes]
    return images


class ImageLoadError(ValueError):
    """An image file that cannot be turned into correct RGB pixels: says which file,
    what is wrong, what to do."""

    def __init__(self, path: Path, problem: str, fix: str):
        self.path = path
        super().__init__(f"Cannot load {display_path(path)}: {problem}. {fix}")


# Modes whose 8-bit channels Pillow converts exactly; alpha is dropped after an RGBA
# conversion, so a palette entry or a premultiplied pixel keeps its own colour.
_PIL_RGB_MODES = {"1", "L", "P", "RGB", "RGBX", "YCbCr"}
_PIL_RGBA_MODES = {"LA", "La", "PA", "RGBA", "RGBa"}
_UINT16_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}
_UINT16_MAX, _INT32_MIN, _INT32_SPAN = 65535, -(2**31), 2**32 - 1


def _high_depth_pixels(img: Image.Image, path: Path) -> np.ndarray:
    """(H, W) float64 in [0, 1] from a 16-bit, 32-bit integer or float grayscale image.

    16-bit: divided by 65535. 32-bit integers (mode ``I``): a 16-bit file in Pillow's
    32-bit mode (values 0 … 65535) is divided by 65535; any other range is mapped from
    the full int32 range (−2³¹ … 2³¹−1 → 0 … 1) and a warning says so. Float
    (mode ``F``): values in [0, 1] are kept; other finite values are rescaled from their
    own minimum and maximum, and a warning says so.
    """
    values = np.asarray(img).astype(np.float64)
    if img.mode in _UINT16_MODES:
        return values / _UINT16_MAX
    if not np.isfinite(values).all():
        raise ImageLoadError(
            path,
            f"its {img.mode!r} pixels include NaN or infinite values",
            "Replace them (e.g. np.nan_to_num) and save the image again.",
        )
    low, high = values.min(), values.max()
    if img.mode == "I":
        if low >= 0 and high <= _UINT16_MAX:
            return values / _UINT16_MAX
        warnings.warn(
            f"{display_path(path)}: 32-bit integer pixels from {low:.0f} to "
            f"{high:.0f}, beyond 16 bits; scaled by the full int32 range "
            "(-2**31 … 2**31-1 -> 0 … 1).",
            stacklevel=3,
        )
        return (values - _INT32_MIN) / _INT32_SPAN
    if low >= 0 and high <= 1:
        return values
    if high == low:
        warnings.warn(
            f"{display_path(path)}: every float pixel is {low:g}, outside [0, 1]; "
            f"clipped to {min(max(low, 0.0), 1.0):g}.",
            stacklevel=3,
        )
        return np.clip(values, 0, 1)
    warnings.warn(
        f"{display_path(path)}: float pixels from {low:g} to {high:g}, outside [0, 1]; "
        "rescaled linearly so that the minimum is 0 and the maximum 1.",
        stacklevel=3,
    )
    return (values - low) / (high - low)


def _rgb_pixels(img: Image.Image, path: Path) -> Image.Image | np.ndarray:
    """8-bit images as a Pillow RGB image; CMYK and higher bit depths as (H, W, 3)
    float64 in [0, 1]."""
    if img.mode in _PIL_RGB_MODES:
        return img.convert("RGB")
    if img.mode in _PIL_RGBA_MODES:
        return img.convert("RGBA").convert("RGB")
    if img.mode == "CMYK":  # R = (1 - C)(1 - K), and likewise G from M and B from Y
        cmyk = np.asarray(img).astype(np.float64) / 255
        return (1 - cmyk[..., :3]) * (1 - cmyk[..., 3:])
    if img.mode in _UINT16_MODES | {"I", "F"}:
        return np.repeat(_high_depth_pixels(img, path)[..., None], 3, axis=-1)
    raise ImageLoadError(
        path,
        f"its colour mode {img.mode!r} has no conversion to RGB here",
        "Convert it to RGB in an image editor (or with Pillow and ImageCms) and save "
        "it as PNG.",
    )


def _resized(
    pixels: Image.Image | np.ndarray, size: int | tuple[int, int] | None
) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1], bilinearly resized (Pillow's filter, per channel for
    float pixels)."""
    if size is not None:
        height, width = (size, size) if isinstance(size, int) else size
        if isinstance(pixels, Image.Image):
            pixels = pixels.resize((width, height), Image.Resampling.BILINEAR)
        else:
            pixels = np.stack(
                [
                    np.asarray(
                        Image.fromarray(
                            pixels[..., c].astype(np.float32), mode="F"
                        ).resize((width, height), Image.Resampling.BILINEAR)
                    )
                    for c in range(3)
                ],
                axis=-1,
            )
    if isinstance(pixels, Image.Image):
        return np.asarray(pixels, dtype=np.float32) / 255
    return np.clip(pixels, 0, 1).astype(np.float32)


def load_image(
    path: Path | str, size: int | tuple[int, int] | None = None
) -> torch.Tensor:
    """An image file as a (3, H, W) float tensor in [0, 1], resized (bilinear) to
    ``size`` if given.

    Every colour mode Pillow opens becomes RGB with the right values: bilevel, grayscale
    and palette files are expanded, alpha is dropped (as the SHAP article's
    ``convert('RGB')`` does; a transparent pixel keeps its stored colour), CMYK is
    converted with R = (1 − C)(1 − K), 16-bit images are divided by 65535, 32-bit
    integer and float images are scaled as :func:`_high_depth_pixels` says (with a
    warning whenever that is not a plain division). Of an animation or a multi-page file
    the first frame is used, with a warning. Anything else — not an image, a truncated
    or damaged file, a mode with no RGB conversion (CIELAB) — raises
    :class:`ImageLoadError` naming the file, the problem and the fix. An EXIF
    orientation tag (a phone's portrait photo, stored landscape) is applied first, so
    the image is upright as a viewer shows it. ``size`` is an int for a square or
    ``(height, width)``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No image at {display_path(path)}: check the path "
            f"(relative paths start at {Path.cwd()})."
        )
    try:
        with Image.open(path) as img:
            frames = getattr(img, "n_frames", 1)
            img.load()
            # a phone stores a portrait photo landscape with an EXIF orientation tag
            pixels = _rgb_pixels(ImageOps.exif_transpose(img), path)
    except UnidentifiedImageError:
        raise ImageLoadError(
            path,
            "it is not an image file that Pillow can read",
            "Pass a PNG or JPEG (check the file's extension and content).",
        ) from None
    except Image.DecompressionBombError as err:
        raise ImageLoadError(
            path,
            f"it is too large to open safely ({err})",
            "Make a smaller copy of it, "
            "or raise PIL.Image.MAX_IMAGE_PIXELS if you trust the file.",
        ) from None
    except (
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        IndexError,
        struct.error,
        zlib.error,
    ) as err:
        if isinstance(err, ImageLoadError):
            raise
        raise ImageLoadError(
            path,
            f"the file is truncated or damaged (Pillow: {type(err).__name__}: {err})",
            "Download or copy it again, or open and re-save it in an image editor.",
        ) from None
    if frames > 1:
        warnings.warn(
            f"{display_path(path)} holds {frames} frames (an animation or a multi-page "
            "file); using the first.",
            stacklevel=2,
        )
    return torch.from_numpy(_resized(pixels, size)).permute(2, 0, 1).contiguous()


def check_image_batch(x: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """``x`` as a batch (N, C, H, W) of the given (C, H, W) shape; a single (C, H, W)
    image gets N = 1."""
    if x.ndim == 3:
        x = x.unsqueeze(0)
    if x.ndim != 4 or tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(
            f"Expected images of shape (N, {', '.join(map(str, shape))}), got "
            f"{tuple(x.shape)}: load files with "
            f"utils.data.load_image(path, size={shape[1]})."
        )
    return x
