import hashlib
import pickle
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from utils import config, data, download


def write_cifar_batches(folder: Path, n_per_batch: int = 4, n_batches: int = 2) -> None:
    """A tiny CIFAR-10 folder in the official pickle layout; pixel value = label * 10 + index."""
    folder.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, n_batches + 1)] + ["test_batch"]
    for b, name in enumerate(names):
        labels = [(b + i) % 10 for i in range(n_per_batch)]
        pixels = np.stack([np.full(3072, label * 10 + i, np.uint8) for i, label in enumerate(labels)])
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": pixels, b"labels": labels, b"batch_label": name.encode()}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [f"class{k}".encode() for k in range(10)]}, f)


def test_cifar_reader_uses_every_batch_file_it_finds() -> None:
    write_cifar_batches(config.data_root() / "cifar-10-batches-py", n_per_batch=4, n_batches=2)
    train, test = data.load_cifar10(train=True), data.load_cifar10(train=False)
    assert train.x.shape == (8, 3, 32, 32) and test.x.shape == (4, 3, 32, 32)
    assert train.x.dtype == torch.float32 and train.y.dtype == torch.int64
    assert train.classes == [f"class{k}" for k in range(10)]
    # pixels are scaled to [0, 1] and stay paired with their labels
    assert torch.allclose(train.x[:, 0, 0, 0] * 255, (train.y * 10 + torch.tensor([0, 1, 2, 3] * 2)).float())


def test_missing_data_offline_names_path_url_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(download.DataUnavailableError) as err:
        data.load_cifar10()
    message = str(err.value)
    assert "cifar-10" in message and data.CIFAR10_URL in message and "XAI_DATA_DIR" in message
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no chained traceback
    assert not list(config.data_root().rglob("*.part"))  # no half-written download left behind


def test_download_rejects_a_wrong_checksum(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(b"not what was promised")
    with pytest.raises(ValueError, match="expected"):
        download.download(source.as_uri(), tmp_path / "dest.bin", checksum="0" * 64)
    assert not (tmp_path / "dest.bin").exists()


def test_download_verifies_and_keeps_a_good_file(tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(b"payload")
    digest = download.file_digest(source)
    dest = download.ensure_file(tmp_path / "sub" / "dest.bin", source.as_uri(), checksum=digest)
    assert dest.read_bytes() == b"payload"


def test_subset_is_seeded_and_bounded() -> None:
    images = data.LabelledImages(torch.rand(10, 3, 4, 4), torch.arange(10), ["a"])
    assert torch.equal(images.subset(4, seed=1).y, images.subset(4, seed=1).y)
    assert len(images.subset(None)) == 10 and len(images.subset(99)) == 10


@pytest.mark.parametrize("mode", ["L", "RGBA", "P"])
def test_load_image_converts_to_rgb_and_resizes(mode: str, tmp_path: Path) -> None:
    path = tmp_path / f"img_{mode}.png"
    Image.new(mode, (40, 20)).save(path)
    image = data.load_image(path, size=32)
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32
    assert data.load_image(path, size=(10, 12)).shape == (3, 10, 12)


def test_load_image_rejects_a_file_that_is_no_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("text")
    with pytest.raises(ValueError, match="not an image file"):
        data.load_image(path)
    with pytest.raises(FileNotFoundError, match="No image at"):
        data.load_image(tmp_path / "absent.png")


def test_check_image_batch() -> None:
    assert data.check_image_batch(torch.rand(3, 32, 32), (3, 32, 32)).shape == (1, 3, 32, 32)
    with pytest.raises(ValueError, match=r"Expected images of shape \(N, 3, 32, 32\)"):
        data.check_image_batch(torch.rand(2, 1, 32, 32), (3, 32, 32))


def test_unknown_data_file_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="images/catdog.jpg"):
        data.data_file("images/nope.jpg")


def test_punk_attributes_are_split_from_the_combined_file_and_verified(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    header, rows = "id, type, accessories", [f"{i}, Human, Earring" for i in range(10_000)]
    combined = tmp_path / "combined.csv"
    combined.write_text("\r\n".join([header, *rows]) + "\r\n")  # line endings as a server may send them
    expected = {f"{i}-{i + 999}.csv": "\n".join([header, *rows[i:i + 1000]]) + "\n" for i in range(0, 10_000, 1000)}
    monkeypatch.setattr(data, "PUNK_CSV_URL", combined.as_uri())
    monkeypatch.setattr(data, "PUNK_CSV_SHA256", {name: hashlib.sha256(text.encode()).hexdigest()
                                                  for name, text in expected.items()})
    parts = data._punk_attribute_files(tmp_path / "original")
    assert [p.read_text() for p in parts] == list(expected.values())
    assert not (tmp_path / "original" / "cryptopunks.csv").exists()


def test_punk_attributes_that_do_not_match_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    combined = tmp_path / "combined.csv"
    combined.write_text("id\n" + "\n".join(map(str, range(10_000))) + "\n")
    monkeypatch.setattr(data, "PUNK_CSV_URL", combined.as_uri())
    with pytest.raises(ValueError, match="no longer splits"):
        data._punk_attribute_files(tmp_path / "original")


def test_mnist_offline_names_the_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(data.datasets, "MNIST", type("MNIST", (), {"__new__": offline, "mirrors": ["https://m/"]}))
    with pytest.raises(download.DataUnavailableError, match=r"MNIST.raw[\s\S]*https://m/"):
        data.load_mnist()


def test_missing_monkeys_say_how_to_get_them() -> None:
    with pytest.raises(FileNotFoundError, match="Kaggle"):
        data.load_monkeys("training")
