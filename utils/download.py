"""Fetch a missing file from its official source, verify its checksum, or say clearly why not."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from .config import DATA_ENV, data_root, display_path

TIMEOUT_S = 20


class DataUnavailableError(FileNotFoundError):
    """A file the course needs is neither under the data root nor downloadable right now."""

    def __init__(self, path: Path, url: str, reason: str):
        super().__init__(
            f"Missing: {display_path(path)}\n"
            f"It could not be downloaded from {url} ({reason}).\n"
            f"Connect to the internet and re-run, or set {DATA_ENV} to a folder that already holds it "
            f"(now {display_path(data_root())})."
        )


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, dest: Path, *, checksum: str | None, algorithm: str = "sha256") -> Path:
    """Download ``url`` to ``dest`` (atomically, via a ``.part`` file) and verify its checksum.

    ``checksum=None`` only where the caller verifies what it derives from the file. Raises
    :class:`DataUnavailableError` when the network cannot be reached, and ``ValueError`` when the
    downloaded bytes do not match ``checksum``.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name) as bar:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError) as err:
        part.unlink(missing_ok=True)
        raise DataUnavailableError(dest, url, f"{type(err).__name__}: {getattr(err, 'reason', err)}") from None
    actual = file_digest(part, algorithm)
    if checksum is not None and actual != checksum:
        part.unlink()
        raise ValueError(f"{url} downloaded with {algorithm} {actual}, expected {checksum}: "
                         "the file changed upstream or the transfer broke; try again.")
    shutil.move(part, dest)
    return dest


def ensure_file(path: Path, url: str, *, checksum: str, algorithm: str = "sha256") -> Path:
    """``path`` if it exists, else download it from ``url`` (checksum-verified) into that place."""
    return path if path.exists() else download(url, path, checksum=checksum, algorithm=algorithm)


def ensure_extracted(folder: Path, url: str, *, checksum: str, algorithm: str = "sha256") -> Path:
    """``folder`` if it exists, else download the tar archive at ``url`` and unpack it beside ``folder``."""
    if folder.exists():
        return folder
    archive = download(url, folder.parent / url.rsplit("/", 1)[-1], checksum=checksum, algorithm=algorithm)
    with tarfile.open(archive) as tar:
        tar.extractall(folder.parent, filter="data")
    archive.unlink()
    if not folder.exists():
        raise ValueError(f"{archive.name} unpacked without {folder.name}/: the archive's layout changed.")
    return folder
