"""Fetch a missing file from its official source, verify its checksum, or say clearly
why not.

Every file with a pinned checksum is verified on first use, downloaded or copied by
hand; the verification is remembered (keyed by path, inode, size, modification and
status-change time, see :func:`verify_file`) in a small JSON file under the outputs
folder, so a read-only data root works and 180 MB are not re-hashed on every load.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import pickle
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from .config import DATA_ENV, data_root, display_path, output_dir

TIMEOUT_S = 20
# under outputs/cache/: {"<path>|<size>|<mtime_ns>": "<algorithm>:<digest>"}
MIN_CHECKSUM_HEX = 8  # the shortest checksum (prefix) accepted, in hex digits
VERIFIED_CACHE = "verified-files.json"


class DataUnavailableError(FileNotFoundError):
    """A file the course needs is neither under the data root nor downloadable right
    now."""

    def __init__(self, path: Path, url: str, reason: str, fix: str | None = None):
        fix = fix or (
            f"Connect to the internet and re-run, or set {DATA_ENV} to a folder that "
            f"already holds it (now {display_path(data_root())})."
        )
        super().__init__(
            f"Missing: {display_path(path)}\n"
            f"It could not be downloaded from {url} ({reason}).\n"
            f"{fix}"
        )


class DamagedFileError(ValueError):
    """A file under the data root exists but is damaged (an interrupted download or
    copy, or an edit)."""

    def __init__(self, path: Path, problem: str, fix: str | None = None):
        fix = fix or (
            "Delete it and re-run to download it again, or copy it again from a "
            f"complete copy of the data (data root: {display_path(data_root())}, set "
            f"by {DATA_ENV})."
        )
        self.path = path
        super().__init__(
            f"Damaged: {display_path(path)}: {problem}.\n"
            "It was probably cut short by an interrupted download or copy, or edited.\n"
            f"{fix}"
        )


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _cache_file() -> Path | None:
    try:
        return output_dir("cache") / VERIFIED_CACHE
    except OSError:  # no writable outputs folder: verify every time instead
        return None


def _read_cache(cache: Path | None) -> dict[str, str]:
    """The remembered verifications; absent, unreadable or damaged (not a JSON object
    of strings): none, and the files are hashed afresh."""
    try:
        entries = json.loads(cache.read_text()) if cache is not None else {}
    except (OSError, ValueError):
        return {}
    if not isinstance(entries, dict):
        return {}
    return {k: v for k, v in entries.items() if isinstance(v, str)}


def _write_cache(cache: Path | None, entries: dict[str, str]) -> None:
    if cache is None:
        return
    tmp = None
    try:  # write then rename, so an interrupted write never leaves half a file
        fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=cache.name, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(entries, f, indent=0, sort_keys=True)
        os.replace(tmp, cache)
    except OSError:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def verify_file(
    path: Path, checksum: str, algorithm: str = "sha256", *, fix: str | None = None
) -> Path:
    """``path`` after checking that its ``algorithm`` digest is ``checksum`` (or starts
    with it: torchvision names its weight files by the first 8 hex digits of their
    sha256), else :class:`DamagedFileError`.

    A success is remembered for this file as it is now: its path, inode, size,
    modification time and status-change time (ctime). The next call costs a ``stat``
    instead of reading the file. Any write to the file changes its ctime, which no
    program can set back (unlike the modification time), so an edited file hashes
    again even when its size and modification time were restored.
    """
    if len(checksum) < MIN_CHECKSUM_HEX:
        raise ValueError(f"checksum {checksum!r} is too short to verify anything.")
    stat = path.stat()
    key = (
        f"{path.resolve()}|{stat.st_ino}|{stat.st_size}|{stat.st_mtime_ns}|"
        f"{stat.st_ctime_ns}"
    )
    cache = _cache_file()
    entries = _read_cache(cache)
    if entries.get(key) == f"{algorithm}:{checksum}":
        return path
    actual = file_digest(path, algorithm)
    if not actual.startswith(checksum):
        raise DamagedFileError(
            path,
            f"its {algorithm} is {actual}, not the pinned {checksum} "
            f"({stat.st_size:,} bytes)",
            fix,
        )
    entries[key] = f"{algorithm}:{checksum}"
    _write_cache(cache, entries)
    return path


def _http_advice(err: urllib.error.HTTPError, dest: Path) -> str:
    what = {
        403: "refuses to serve it (403 Forbidden)",
        404: "no longer has it (404 Not Found)",
        429: "is rate-limiting this machine (429 Too Many Requests)",
    }.get(err.code, f"answered HTTP {err.code} {err.reason}")
    return (
        f"The internet is reachable, but the server {what}; this is not a network "
        "problem on your side. Try again later; if it persists, get the file elsewhere "
        f"and copy it to {display_path(dest)} (or set {DATA_ENV} to a folder that "
        "holds it), and tell the course's maintainers."
    )


def download(
    url: str, dest: Path, *, checksum: str | None, algorithm: str = "sha256"
) -> Path:
    """Download ``url`` to ``dest`` (atomically, via a ``.part`` file) and verify its
    checksum.

    ``checksum=None`` only where the caller verifies what it derives from the file.
    Raises :class:`DataUnavailableError` when the network cannot be reached, the
    connection breaks, the server answers with an HTTP error, or ``dest`` cannot be
    written (the message says which), and ``ValueError`` when the downloaded bytes do
    not match ``checksum``.
    """
    part = dest.with_name(dest.name + ".part")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        part.write_bytes(b"")
    except OSError as err:  # e.g. a read-only data root
        raise DataUnavailableError(
            dest,
            url,
            f"the folder cannot be written: {type(err).__name__}: {err}",
            f"Set {DATA_ENV} to a writable folder, or copy the file to "
            f"{display_path(dest)} by hand.",
        ) from None
    try:
        with (
            urllib.request.urlopen(url, timeout=TIMEOUT_S) as response,
            open(part, "wb") as out,
        ):
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name) as bar:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as err:
        # a subclass of URLError: the server answered, with an error
        part.unlink(missing_ok=True)
        raise DataUnavailableError(
            dest, url, f"HTTP {err.code} {err.reason}", _http_advice(err, dest)
        ) from None
    except (
        urllib.error.URLError,
        TimeoutError,
        ConnectionError,
        http.client.HTTPException,
    ) as err:
        part.unlink(missing_ok=True)
        raise DataUnavailableError(
            dest,
            url,
            f"no connection, or it broke: {type(err).__name__}: "
            f"{getattr(err, 'reason', err)}",
        ) from None
    except OSError as err:
        # writing failed: a full disk, a folder that became read-only
        part.unlink(missing_ok=True)
        raise DataUnavailableError(
            dest,
            url,
            f"writing {part.name} failed: {type(err).__name__}: {err}",
            f"Free disk space or set {DATA_ENV} to a writable folder, then re-run.",
        ) from None
    actual = file_digest(part, algorithm)
    if checksum is not None and actual != checksum:
        part.unlink()
        raise ValueError(
            f"{url} downloaded with {algorithm} {actual}, expected {checksum}: "
            "the file changed upstream or the transfer broke; try again."
        )
    shutil.move(part, dest)
    return dest


def ensure_file(
    path: Path, url: str, *, checksum: str, algorithm: str = "sha256"
) -> Path:
    """``path``, verified against ``checksum`` (once; see :func:`verify_file`), or
    downloaded from ``url`` into that place if missing."""
    if path.exists():
        return verify_file(path, checksum, algorithm)
    return download(url, path, checksum=checksum, algorithm=algorithm)


def safe_extract(archive: Path, dest: Path) -> None:
    """Unpack the tar ``archive`` into ``dest``, refusing members that would land
    outside it.

    Uses tarfile's ``"data"`` filter where Python has it (3.10.12+, 3.11.4+, 3.12+); on
    older patch releases checks the members itself: only regular files and folders,
    every path inside ``dest``.
    """
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
            return
        root = dest.resolve()
        for member in tar.getmembers():
            target = (root / member.name).resolve()
            if not (member.isfile() or member.isdir()) or not target.is_relative_to(
                root
            ):
                raise ValueError(
                    f"{archive.name} holds {member.name!r}, a link, device or path "
                    f"outside {display_path(dest)}: refusing to unpack it. Delete the "
                    "archive and try again."
                )
        tar.extractall(dest)  # members checked above


def ensure_extracted(
    folder: Path, url: str, *, checksum: str, algorithm: str = "sha256"
) -> Path:
    """``folder`` if it exists, else download the tar archive at ``url`` and unpack it
    beside ``folder``."""
    if folder.exists():
        return folder
    archive = download(
        url,
        folder.parent / url.rsplit("/", 1)[-1],
        checksum=checksum,
        algorithm=algorithm,
    )
    safe_extract(archive, folder.parent)
    archive.unlink()
    if not folder.exists():
        raise ValueError(
            f"{archive.name} unpacked without {folder.name}/: the archive's layout "
            "changed."
        )
    return folder


def load_torch_file(
    path: Path, *, checksum: str | None = None, fix: str | None = None
) -> Any:
    """``torch.load(path)`` on the CPU with ``weights_only=True``; a damaged file is a
    :class:`DamagedFileError`.

    ``checksum`` (sha256), when pinned, is verified first (once, see
    :func:`verify_file`). A missing file stays a ``FileNotFoundError``.
    """
    if checksum is not None:
        verify_file(path, checksum, fix=fix)
    elif not path.exists():
        raise FileNotFoundError(f"No weights file at {display_path(path)}.")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (FileNotFoundError, PermissionError):
        raise
    except (
        OSError,
        RuntimeError,
        pickle.UnpicklingError,
        EOFError,
        zipfile.BadZipFile,
        ValueError,
        KeyError,
    ) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise DamagedFileError(
            path,
            f"torch.load cannot read it ({type(err).__name__}: {first_line[:200]})",
            fix,
        ) from None
