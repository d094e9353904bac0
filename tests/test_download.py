import http.client
import io
import os
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch

from utils import config, download


def test_download_rejects_a_wrong_checksum(tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(b"not what was promised")
    with pytest.raises(ValueError, match="expected"):
        download.download(source.as_uri(), tmp_path / "dest.bin", checksum="0" * 64)
    assert not (tmp_path / "dest.bin").exists()


def test_download_verifies_and_keeps_a_good_file(tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(b"payload")
    digest = download.file_digest(source)
    dest = download.ensure_file(
        tmp_path / "sub" / "dest.bin", source.as_uri(), checksum=digest
    )
    assert dest.read_bytes() == b"payload"


@pytest.mark.parametrize(
    ("code", "words"), [(404, "no longer has it"), (403, "refuses to serve it")]
)
def test_an_http_error_is_not_called_a_missing_internet(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, code: int, words: str
) -> None:
    def answer(url, *args, **kwargs):
        raise urllib.error.HTTPError(url, code, "Nope", {}, io.BytesIO())

    monkeypatch.setattr(urllib.request, "urlopen", answer)
    with pytest.raises(download.DataUnavailableError) as err:
        download.download(
            "https://example.org/f.bin", tmp_path / "f.bin", checksum=None
        )
    message = str(err.value)
    assert (
        f"HTTP {code}" in message
        and words in message
        and "not a network problem" in message
    )
    assert "Connect to the internet" not in message
    assert not list(tmp_path.glob("*.part"))


def test_no_connection_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(
        download.DataUnavailableError,
        match="no connection[\\s\\S]*Connect to the internet",
    ):
        download.download(
            "https://example.org/f.bin", tmp_path / "f.bin", checksum=None
        )


def test_a_broken_connection_and_an_unwritable_folder_say_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def broken(*args, **kwargs):
        raise http.client.IncompleteRead(b"half")

    monkeypatch.setattr(urllib.request, "urlopen", broken)
    with pytest.raises(
        download.DataUnavailableError,
        match="no connection, or it broke: IncompleteRead",
    ):
        download.download(
            "https://example.org/f.bin", tmp_path / "f.bin", checksum=None
        )
    (tmp_path / "a_file").write_text("not a folder")
    with pytest.raises(
        download.DataUnavailableError,
        match=f"cannot be written[\\s\\S]*{config.DATA_ENV}",
    ):
        download.download(
            "https://example.org/f.bin", tmp_path / "a_file" / "f.bin", checksum=None
        )


def test_verification_is_done_once_and_cached_in_the_outputs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data_dir = config.data_root()
    path = data_dir / "file.bin"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"x" * 1000)
    digest = download.file_digest(path)
    assert download.verify_file(path, digest) == path
    cache = config.output_dir("cache") / download.VERIFIED_CACHE
    assert cache.exists() and [p.name for p in data_dir.iterdir()] == [
        "file.bin"
    ]  # nothing written beside the data

    def no_hashing(*args, **kwargs):
        raise AssertionError("hashed again")

    monkeypatch.setattr(download, "file_digest", no_hashing)
    assert download.verify_file(path, digest) == path  # from the cache
    path.write_bytes(
        b"y" * 1000
    )  # same size, new content and modification time: must hash again
    with pytest.raises(AssertionError, match="hashed again"):
        download.verify_file(path, digest)


def test_a_damaged_file_is_named_with_the_fix() -> None:
    path = config.data_root() / "images" / "both.png"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"half a pict")  # an interrupted copy
    url, sha256 = (
        "https://example.org/both.png",
        "8d30785a513e22a2f574c839c7e1751db943d0b5399347e7bb37736f6c5a95c2",
    )
    with pytest.raises(download.DamagedFileError) as err:
        download.ensure_file(path, url, checksum=sha256)
    message = str(err.value)
    assert (
        message.startswith("Damaged: ") and "both.png" in message and sha256 in message
    )
    assert "Delete it and re-run" in message and "copy it again" in message
    assert isinstance(err.value, ValueError) and err.value.path == path


def test_verification_works_without_a_writable_outputs_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def read_only(*parts: str) -> Path:
        raise PermissionError("read-only file system")

    monkeypatch.setattr(download, "output_dir", read_only)
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    assert download.verify_file(path, download.file_digest(path)) == path
    with pytest.raises(download.DamagedFileError):
        download.verify_file(path, "0" * 64)


def test_a_damaged_cache_file_is_ignored(tmp_path: Path) -> None:
    cache = config.output_dir("cache") / download.VERIFIED_CACHE
    cache.write_text("{half")
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    assert download.verify_file(path, download.file_digest(path)) == path
    assert str(path.resolve()) in cache.read_text()


def make_tar(
    path: Path, members: dict[str, bytes], link: tuple[str, str] | None = None
) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        if link is not None:
            info = tarfile.TarInfo(link[0])
            info.type, info.linkname = tarfile.SYMTYPE, link[1]
            tar.addfile(info)
    return path


@pytest.mark.parametrize("has_data_filter", [True, False])
def test_safe_extract_unpacks_a_normal_archive(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, has_data_filter: bool
) -> None:
    if not has_data_filter:  # Python before 3.10.12 / 3.11.4 has no tarfile.data_filter
        monkeypatch.delattr(tarfile, "data_filter")
    archive = make_tar(
        tmp_path / "a.tar.gz", {"folder/x.txt": b"x", "folder/sub/y.txt": b"y"}
    )
    download.safe_extract(archive, tmp_path / "out")
    assert (tmp_path / "out" / "folder" / "sub" / "y.txt").read_bytes() == b"y"


@pytest.mark.parametrize("has_data_filter", [True, False])
@pytest.mark.parametrize("evil", ["path", "link"])
def test_safe_extract_refuses_members_outside_the_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, has_data_filter: bool, evil: str
) -> None:
    if not has_data_filter:
        monkeypatch.delattr(tarfile, "data_filter")
    members = {"folder/x.txt": b"x"} | (
        {"../escaped.txt": b"!"} if evil == "path" else {}
    )
    archive = make_tar(
        tmp_path / "a.tar.gz",
        members,
        ("folder/link", "/etc/passwd") if evil == "link" else None,
    )
    with pytest.raises((ValueError, tarfile.TarError)):
        download.safe_extract(archive, tmp_path / "out")
    assert (
        not (tmp_path / "escaped.txt").exists()
        and not (tmp_path / "out" / "folder" / "link").exists()
    )


def test_load_torch_file_reads_a_good_file_on_the_cpu(tmp_path: Path) -> None:
    path = tmp_path / "w.pt"
    torch.save({"weight": torch.arange(6.0).reshape(2, 3)}, path)
    loaded = download.load_torch_file(path, checksum=download.file_digest(path))
    assert (
        torch.equal(loaded["weight"], torch.arange(6.0).reshape(2, 3))
        and loaded["weight"].device.type == "cpu"
    )


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_load_torch_file_reports_a_damaged_file(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "w.pt"
    torch.save({"weight": torch.rand(100, 100)}, path)
    content = path.read_bytes()
    path.write_bytes(
        {
            "truncated": content[: len(content) // 2],
            "garbage": b"\x80\x04 not a checkpoint" * 10,
            "empty": b"",
        }[damage]
    )
    with pytest.raises(
        download.DamagedFileError, match=r"Damaged: .*w\.pt: torch\.load cannot read it"
    ) as err:
        download.load_torch_file(path)
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_load_torch_file_checks_a_pinned_checksum_and_a_missing_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "w.pt"
    torch.save({"weight": torch.zeros(2)}, path)
    with pytest.raises(download.DamagedFileError, match="not the pinned"):
        download.load_torch_file(path, checksum="0" * 64)
    with pytest.raises(FileNotFoundError):
        download.load_torch_file(tmp_path / "absent.pt")


@pytest.mark.parametrize("content", ["[1, 2]", '"text"', "null", '{"k": 3}'])
def test_a_cache_file_that_is_json_but_not_an_object_is_ignored(
    tmp_path: Path, content: str
) -> None:
    cache = config.output_dir("cache") / download.VERIFIED_CACHE
    cache.write_text(content)
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    assert download.verify_file(path, download.file_digest(path)) == path
    assert str(path.resolve()) in cache.read_text()


def test_an_edit_that_restores_size_and_modification_time_is_caught(
    tmp_path: Path,
) -> None:
    path = tmp_path / "weights.bin"
    path.write_bytes(b"x" * 1000)
    digest = download.file_digest(path)
    assert download.verify_file(path, digest) == path
    before = path.stat()
    time.sleep(0.05)  # the kernel stamps files with a clock of a few ms resolution
    path.write_bytes(b"y" * 1000)  # same size ...
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # ... same mtime
    assert path.stat().st_size == before.st_size
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    with pytest.raises(download.DamagedFileError):
        download.verify_file(path, digest)


def test_a_checksum_prefix_as_torchvision_names_its_files(tmp_path: Path) -> None:
    path = tmp_path / "weights.bin"
    path.write_bytes(b"abc")
    digest = download.file_digest(path)
    assert download.verify_file(path, digest[:8]) == path
    with pytest.raises(download.DamagedFileError):
        download.verify_file(path, "0" * 8)
    with pytest.raises(ValueError, match="too short"):
        download.verify_file(path, digest[:3])
