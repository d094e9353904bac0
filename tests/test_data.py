import hashlib
import pickle
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from utils import config, data, download


def write_cifar_batches(folder: Path, n_per_batch: int = 4, n_batches: int = 2) -> None:
    """A tiny CIFAR-10 folder in the official pickle layout; pixel value = label * 10 +
    index."""
    folder.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, n_batches + 1)] + ["test_batch"]
    for b, name in enumerate(names):
        labels = [(b + i) % 10 for i in range(n_per_batch)]
        pixels = np.stack(
            [np.full(3072, label * 10 + i, np.uint8) for i, label in enumerate(labels)]
        )
        with open(folder / name, "wb") as f:
            pickle.dump(
                {b"data": pixels, b"labels": labels, b"batch_label": name.encode()}, f
            )
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [f"class{k}".encode() for k in range(10)]}, f)


def test_cifar_reader_uses_every_batch_file_it_finds() -> None:
    write_cifar_batches(
        config.data_root() / "cifar-10-batches-py", n_per_batch=4, n_batches=2
    )
    train, test = data.load_cifar10(train=True), data.load_cifar10(train=False)
    assert train.x.shape == (8, 3, 32, 32) and test.x.shape == (4, 3, 32, 32)
    assert train.x.dtype == torch.float32 and train.y.dtype == torch.int64
    assert train.classes == [f"class{k}" for k in range(10)]
    # pixels are scaled to [0, 1] and stay paired with their labels
    assert torch.allclose(
        train.x[:, 0, 0, 0] * 255,
        (train.y * 10 + torch.tensor([0, 1, 2, 3] * 2)).float(),
    )


def test_missing_data_offline_names_path_url_and_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(download.DataUnavailableError) as err:
        data.load_cifar10()
    message = str(err.value)
    assert (
        "cifar-10" in message
        and data.CIFAR10_URL in message
        and "XAI_DATA_DIR" in message
    )
    assert (
        err.value.__cause__ is None and err.value.__suppress_context__
    )  # no chained traceback
    assert not list(
        config.data_root().rglob("*.part")
    )  # no half-written download left behind


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
    assert data.check_image_batch(torch.rand(3, 32, 32), (3, 32, 32)).shape == (
        1,
        3,
        32,
        32,
    )
    with pytest.raises(ValueError, match=r"Expected images of shape \(N, 3, 32, 32\)"):
        data.check_image_batch(torch.rand(2, 1, 32, 32), (3, 32, 32))


def test_unknown_data_file_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="images/catdog.jpg"):
        data.data_file("images/nope.jpg")


def test_punk_attributes_are_split_from_the_combined_file_and_verified(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    header, rows = (
        "id, type, accessories",
        [f"{i}, Human, Earring" for i in range(10_000)],
    )
    combined = tmp_path / "combined.csv"
    combined.write_text(
        "\r\n".join([header, *rows]) + "\r\n"
    )  # line endings as a server may send them
    expected = {
        f"{i}-{i + 999}.csv": "\n".join([header, *rows[i : i + 1000]]) + "\n"
        for i in range(0, 10_000, 1000)
    }
    monkeypatch.setattr(data, "PUNK_CSV_URL", combined.as_uri())
    monkeypatch.setattr(
        data,
        "PUNK_CSV_SHA256",
        {
            name: hashlib.sha256(text.encode()).hexdigest()
            for name, text in expected.items()
        },
    )
    parts = data._punk_attribute_files(tmp_path / "original")
    assert [p.read_text() for p in parts] == list(expected.values())
    assert not (tmp_path / "original" / "cryptopunks.csv").exists()


def test_punk_attributes_that_do_not_match_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    combined = tmp_path / "combined.csv"
    combined.write_text("id\n" + "\n".join(map(str, range(10_000))) + "\n")
    monkeypatch.setattr(data, "PUNK_CSV_URL", combined.as_uri())
    with pytest.raises(ValueError, match="no longer splits"):
        data._punk_attribute_files(tmp_path / "original")


def test_mnist_offline_names_the_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(
        data.datasets,
        "MNIST",
        type("MNIST", (), {"__new__": offline, "mirrors": ["https://m/"]}),
    )
    with pytest.raises(
        download.DataUnavailableError, match=r"MNIST.raw[\s\S]*https://m/"
    ):
        data.load_mnist()


def test_missing_monkeys_without_kagglehub_say_how_to_get_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "kagglehub", None)  # not installed
    with pytest.raises(FileNotFoundError, match=r"pip install kagglehub[\s\S]*by hand"):
        data.load_monkeys("training")


# --- damaged data under the data root -------------------------------------------------


def cifar_folder() -> Path:
    folder = config.data_root() / "cifar-10-batches-py"
    write_cifar_batches(folder, n_per_batch=4, n_batches=2)
    return folder


def test_a_truncated_cifar_batch_is_named_with_the_fix() -> None:
    batch = cifar_folder() / "data_batch_1"
    batch.write_bytes(batch.read_bytes()[:5000])  # an interrupted copy
    with pytest.raises(download.DamagedFileError) as err:
        data.load_cifar10()
    message = str(err.value)
    assert (
        message.startswith("Damaged: ")
        and "data_batch_1" in message
        and "does not unpickle" in message
    )
    assert (
        "Delete the folder" in message
        and "cifar-10-batches-py" in message
        and err.value.__cause__ is None
    )


@pytest.mark.parametrize(
    "content",
    [
        {
            b"data": np.zeros((4, 3000), np.uint8),
            b"labels": [0, 1, 2, 3],
        },  # wrong image size
        {
            b"data": np.zeros((4, 3072), np.float64),
            b"labels": [0, 1, 2, 3],
        },  # wrong pixel type
        {
            b"data": np.zeros((4, 3072), np.uint8),
            b"labels": [0, 1, 2],
        },  # labels missing
        {
            b"data": np.zeros((4, 3072), np.uint8),
            b"labels": [0, 1, 2, 12],
        },  # a label that is no class
        {b"labels": [0, 1, 2, 3]},  # no pixels
        ["not", "a", "batch"],
    ],
)
def test_an_altered_cifar_batch_is_refused(content: object) -> None:
    with open(cifar_folder() / "test_batch", "wb") as f:
        pickle.dump(content, f)
    with pytest.raises(download.DamagedFileError, match=r"Damaged: .*test_batch"):
        data.load_cifar10(train=False)


def test_a_damaged_cifar_class_list_is_refused() -> None:
    with open(cifar_folder() / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [b"cat"]}, f)
    with pytest.raises(
        download.DamagedFileError, match=r"batches\.meta.*ten class names"
    ):
        data.load_cifar10()


def write_idx(path: Path, array: np.ndarray) -> None:
    """An MNIST IDX file: magic (0, 0, 0x08 = unsigned byte, number of dims), big-endian
    sizes, bytes."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def fake_mnist(monkeypatch: pytest.MonkeyPatch) -> Path:
    raw = config.data_root() / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split in ("train", "t10k"):
        write_idx(raw / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (3, 28, 28)))
        write_idx(raw / f"{split}-labels-idx1-ubyte", np.array([1, 2, 3]))
    monkeypatch.setattr(
        data, "MNIST_SHA256", {p.name: download.file_digest(p) for p in raw.iterdir()}
    )
    return raw


def test_mnist_files_are_checked_against_the_pinned_sums(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    raw = fake_mnist(monkeypatch)
    images = data.load_mnist()
    assert images.x.shape == (3, 1, 28, 28) and images.y.tolist() == [1, 2, 3]
    pixels = bytearray((raw / "train-images-idx3-ubyte").read_bytes())
    pixels[500] ^= 0xFF  # one altered byte, same size
    (raw / "train-images-idx3-ubyte").write_bytes(bytes(pixels))
    with pytest.raises(
        download.DamagedFileError,
        match=r"train-images-idx3-ubyte: its sha256 .* not the pinned",
    ):
        data.load_mnist()
    data.load_mnist(train=False)  # the test split is intact


def test_an_unreadable_mnist_file_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = fake_mnist(monkeypatch)
    labels = raw / "t10k-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:-1])  # truncated
    monkeypatch.setitem(
        data.MNIST_SHA256, labels.name, download.file_digest(labels)
    )  # even if the sum matched
    with pytest.raises(
        download.DamagedFileError, match=r"MNIST.raw: torchvision cannot read"
    ):
        data.load_mnist(train=False)


def test_a_damaged_punk_sheet_is_named() -> None:
    sheet = config.data_root() / "cryptopunks" / "punks.png"
    sheet.parent.mkdir(parents=True)
    sheet.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)  # a cut-off copy
    with pytest.raises(download.DamagedFileError, match=r"punks\.png: its sha256"):
        data.load_cryptopunks()


def test_an_altered_punk_attribute_file_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = config.data_root() / "cryptopunks" / "original"
    folder.mkdir(parents=True)
    texts = {
        name: f"id, type\n{i}, Human\n" for i, name in enumerate(data.PUNK_CSV_SHA256)
    }
    for name, text in texts.items():
        (folder / name).write_text(text)
    monkeypatch.setattr(
        data,
        "PUNK_CSV_SHA256",
        {n: hashlib.sha256(t.encode()).hexdigest() for n, t in texts.items()},
    )
    assert len(data._punk_attribute_files(folder)) == 10
    (folder / "3000-3999.csv").write_text("id, type\n3, Alien\n")
    with pytest.raises(
        download.DamagedFileError, match=r"3000-3999\.csv: its sha256[\s\S]*Delete it"
    ):
        data._punk_attribute_files(folder)


# --- 10 Monkey Species: Kaggle's nested layout and the flat one -----------------------

MONKEY_LABELS = (
    "Label,  Latin Name           , Common Name                   , "
    "Train Images , Validation Images\n"
    "n0   , alouatta_palliata\t , mantled_howler                , 131          , 26\n"
    "n1   , erythrocebus_patas\t , patas_monkey                  , 139          , 28\n"
)


@pytest.mark.parametrize("nested", [True, False])
def test_monkeys_in_kaggles_nested_layout_and_flat(nested: bool) -> None:
    folder = config.data_root() / data.MONKEYS_DIR
    for split in ("training", "validation"):
        for k in range(2):
            images = folder / split / (split if nested else "") / f"n{k}"
            images.mkdir(parents=True)
            Image.new("RGB", (8, 8), (40 * k, 0, 0)).save(images / f"n{k}01.jpg")
    (folder / "monkey_labels.txt").write_text(MONKEY_LABELS)
    for split in ("training", "validation"):
        monkeys = data.load_monkeys(split)
        assert (
            monkeys.classes == ["mantled_howler", "patas_monkey"] and len(monkeys) == 2
        )
        assert [label for _, label in monkeys.samples] == [0, 1]


def test_monkeys_with_a_damaged_label_file_or_a_wrong_split() -> None:
    folder = config.data_root() / data.MONKEYS_DIR
    (folder / "training" / "n0").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(folder / "training" / "n0" / "a.jpg")
    (folder / "monkey_labels.txt").write_text(
        "Label\nn0\n"
    )  # cut short: no name column
    with pytest.raises(
        download.DamagedFileError,
        match=r"monkey_labels\.txt[\s\S]*Copy monkey_labels\.txt again",
    ):
        data.load_monkeys("training")
    (folder / "monkey_labels.txt").write_text(MONKEY_LABELS.replace("n0   ,", "n7   ,"))
    with pytest.raises(
        download.DamagedFileError, match="no name for the class folder.s. n0"
    ):
        data.load_monkeys("training")
    with pytest.raises(ValueError, match="choose one of training, validation"):
        data.load_monkeys("train")


# --- load_image: every mode and bit depth against a NumPy reference of the raw array --

H, W = 6, 7


def gray(values: np.ndarray) -> np.ndarray:
    return np.repeat(values[..., None].astype(np.float64), 3, axis=-1)


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    """JPEG's full-range YCbCr (ITU-T T.871) to RGB in [0, 1]."""
    y, cb, cr = (ycc[..., i].astype(np.float64) for i in range(3))
    rgb = np.stack(
        [
            y + 1.402 * (cr - 128),
            y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128),
            y + 1.772 * (cb - 128),
        ],
        axis=-1,
    )
    return np.clip(rgb, 0, 255) / 255


def image_case(mode: str, tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A random ``mode`` image written to disk, and its RGB pixels computed from the raw
    array."""
    rng = np.random.default_rng(sum(map(ord, mode)))
    u8 = rng.integers(0, 256, (H, W, 4), dtype=np.uint8)
    u16 = rng.integers(0, 65536, (H, W), dtype=np.uint16)
    if mode == "1":
        bits = u8[..., 0] > 127
        img, ref = Image.fromarray(bits), gray(bits)
    elif mode in ("L", "LA", "RGB", "RGBA"):
        arr = {"L": u8[..., 0], "LA": u8[..., :2], "RGB": u8[..., :3], "RGBA": u8}[mode]
        img = Image.frombytes(mode, (W, H), arr.tobytes())
        ref = (
            gray(u8[..., 0]) / 255 if mode[0] == "L" else u8[..., :3] / 255
        )  # alpha dropped, colour kept
    elif mode in ("P", "P-transparent", "P-gif"):
        palette = rng.integers(0, 256, (256, 3), dtype=np.uint8)
        img = Image.frombytes("P", (W, H), u8[..., 0].tobytes())
        img.putpalette(palette.tobytes())
        ref = palette[u8[..., 0]] / 255
    elif mode == "CMYK":
        img = Image.frombytes("CMYK", (W, H), u8.tobytes())
        cmyk = u8 / 255
        ref = (1 - cmyk[..., :3]) * (1 - cmyk[..., 3:])
    elif mode == "YCbCr":
        img = Image.frombytes("YCbCr", (W, H), u8[..., :3].tobytes())
        ref = ycbcr_to_rgb(u8[..., :3])
    elif mode in ("I;16", "I;16B"):
        img = Image.frombytes(
            mode, (W, H), u16.astype("<u2" if mode == "I;16" else ">u2").tobytes()
        )
        ref = gray(u16 / 65535)
    elif mode == "I-16bit":  # 16-bit values in Pillow's 32-bit integer mode
        img, ref = Image.fromarray(u16.astype(np.int32)), gray(u16 / 65535)
    elif mode == "I-32bit":
        big = rng.integers(-(2**31), 2**31, (H, W), dtype=np.int64).astype(np.int32)
        img, ref = (
            Image.fromarray(big),
            gray((big.astype(np.float64) + 2**31) / (2**32 - 1)),
        )
    elif mode == "F-unit":
        values = rng.random((H, W)).astype(np.float32)
        img, ref = Image.fromarray(values), gray(values)
    elif mode == "F-wide":
        values = (rng.random((H, W)) * 300 - 100).astype(np.float32)
        img, ref = (
            Image.fromarray(values),
            gray((values - values.min()) / (values.max() - values.min())),
        )
    else:
        raise AssertionError(mode)
    suffix = {
        "P-gif": ".gif",
        "I;16": ".png",
        "1": ".png",
        "L": ".png",
        "LA": ".png",
        "RGB": ".png",
        "RGBA": ".png",
        "P": ".png",
        "P-transparent": ".png",
    }.get(mode, ".tif")
    path = tmp_path / f"image-{mode.replace(';', '')}{suffix}"
    img.save(path, **({"transparency": 0} if mode == "P-transparent" else {}))
    return path, ref


EXACT_MODES = [
    "1",
    "L",
    "LA",
    "P",
    "P-transparent",
    "P-gif",
    "RGB",
    "RGBA",
    "CMYK",
    "I;16",
    "I;16B",
    "I-16bit",
    "F-unit",
]


@pytest.mark.parametrize("mode", [*EXACT_MODES, "YCbCr"])
def test_load_image_gives_the_right_rgb_values_for_every_mode(
    mode: str, tmp_path: Path
) -> None:
    path, reference = image_case(mode, tmp_path)
    try:
        with Image.open(path) as img:
            img.load()
    # Pillow 11.3 cannot read back the YCbCr TIFF it writes: the course's error, then
    except OSError:
        with pytest.raises(data.ImageLoadError, match="truncated or damaged"):
            data.load_image(path)
        return
    image = data.load_image(path)
    assert image.shape == (3, H, W) and image.dtype == torch.float32
    tolerance = (
        1.5 / 255 if mode == "YCbCr" else 1e-6
    )  # Pillow converts YCbCr in fixed point
    np.testing.assert_allclose(
        image.permute(1, 2, 0).numpy(), reference, atol=tolerance, rtol=0
    )
    assert image.std() > 0  # never the silent constant image of a bad conversion


@pytest.mark.parametrize(
    ("mode", "said"), [("I-32bit", "full int32 range"), ("F-wide", "rescaled linearly")]
)
def test_load_image_says_when_it_scales_wide_ranges(
    mode: str, said: str, tmp_path: Path
) -> None:
    path, reference = image_case(mode, tmp_path)
    with pytest.warns(UserWarning, match=said):
        image = data.load_image(path)
    np.testing.assert_allclose(
        image.permute(1, 2, 0).numpy(), reference, atol=1e-6, rtol=0
    )


def test_a_16_bit_image_resizes_like_its_8_bit_version(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 65535, 40), (30, 1)).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    Image.fromarray((ramp // 257).astype(np.uint8)).save(tmp_path / "flat.png")
    deep, flat = (
        data.load_image(tmp_path / "deep.png", size=(12, 16)),
        data.load_image(tmp_path / "flat.png", size=(12, 16)),
    )
    assert deep.shape == flat.shape == (3, 12, 16)
    assert (deep - flat).abs().max() < 2 / 255 and deep.min() >= 0 and deep.max() <= 1


@pytest.mark.parametrize("suffix", [".gif", ".tif"])
def test_a_multi_frame_file_gives_its_first_frame_and_says_so(
    suffix: str, tmp_path: Path
) -> None:
    first = np.tile(np.arange(0, 250, 50, dtype=np.uint8), (4, 1))
    frames = [Image.fromarray(first), Image.fromarray(255 - first)]
    path = tmp_path / f"animation{suffix}"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    with pytest.warns(UserWarning, match="holds 2 frames"):
        image = data.load_image(path)
    np.testing.assert_allclose(
        image.permute(1, 2, 0).numpy(), gray(first) / 255, atol=1e-6
    )


def damaged_copy(path: Path, how: str) -> Path:
    content = bytearray(path.read_bytes())
    if how == "truncated":
        content = content[: len(content) // 2]
    else:  # bytes altered in the middle of the compressed pixels
        content[len(content) // 2 : len(content) // 2 + 16] = b"\xff" * 16
    damaged = path.with_name(f"{how}-{path.name}")
    damaged.write_bytes(bytes(content))
    return damaged


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
@pytest.mark.parametrize("how", ["truncated", "altered"])
def test_a_damaged_image_gives_the_course_error(
    suffix: str, how: str, tmp_path: Path
) -> None:
    path = tmp_path / f"photo{suffix}"
    Image.fromarray(
        np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    ).save(path)
    damaged = damaged_copy(path, how)
    if (
        how == "altered" and suffix == ".jpg"
    ):  # JPEG decoders survive many altered bytes: then the pixels move
        try:
            assert not torch.equal(data.load_image(damaged), data.load_image(path))
        except data.ImageLoadError as err:
            assert "truncated or damaged" in str(err)
        return
    with pytest.raises(data.ImageLoadError) as err:
        data.load_image(damaged)
    message = str(err.value)
    assert (
        damaged.name in message
        and "truncated or damaged" in message
        and "copy it again" in message
    )
    assert err.value.__cause__ is None and isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda: Image.new("LAB", (4, 4), (50, 10, 20)), "colour mode 'LAB'"),
        (
            lambda: Image.fromarray(np.array([[0.5, np.nan]], dtype=np.float32)),
            "NaN or infinite",
        ),
    ],
)
def test_images_with_no_rgb_meaning_are_refused(
    make, said: str, tmp_path: Path
) -> None:
    path = tmp_path / "odd.tif"
    make().save(path)
    with pytest.raises(data.ImageLoadError, match=f"odd.tif: .*{said}"):
        data.load_image(path)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_an_exif_orientation_is_applied(tmp_path: Path, suffix: str) -> None:
    """A phone's portrait photo: stored 4 wide and 2 high, tagged "rotate 90° clockwise
    to display" (EXIF orientation 6); it must load 2 wide and 4 high, upright."""
    stored = np.zeros((2, 4, 3), np.uint8)
    stored[0, 0] = [255, 255, 255]  # white at the stored top left
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    path = tmp_path / f"portrait{suffix}"
    Image.fromarray(stored).save(path, exif=exif, quality=100)
    pixels = data.load_image(path)
    assert pixels.shape == (3, 4, 2), "loaded sideways"
    upright = np.rot90(stored, k=-1)  # rotated 90° clockwise, as a viewer shows it
    brightest = np.unravel_index(pixels.sum(0).argmax().item(), (4, 2))
    assert brightest == np.unravel_index(upright.sum(2).argmax(), (4, 2)) == (0, 1)


class FakeKagglehub:
    """kagglehub's dataset_download, writing a tiny copy in Kaggle's nested layout."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.fail, self.calls = fail, []

    def dataset_download(self, handle: str, output_dir: str | None = None) -> str:
        self.calls.append(handle)
        if self.fail is not None:
            raise self.fail
        folder = Path(output_dir)
        for split in ("training", "validation"):
            for label in ("n0", "n1"):
                images = folder / split / split / label
                images.mkdir(parents=True)
                Image.new("RGB", (8, 8)).save(images / "a.jpg")
        (folder / "monkey_labels.txt").write_text(MONKEY_LABELS_TWO)
        return str(folder)


MONKEY_LABELS_TWO = (
    "Label,  Latin Name, Common Name, Train Images, Validation Images\n"
    "n0, alouatta_palliata, mantled_howler, 131, 26\n"
    "n1, erythrocebus_patas, patas_monkey, 139, 28\n"
)


def test_missing_monkeys_are_downloaded_with_kagglehub(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeKagglehub()
    monkeypatch.setitem(sys.modules, "kagglehub", fake)
    images = data.load_monkeys("validation")
    assert fake.calls == ["slothkong/10-monkey-species"]
    assert images.classes == ["mantled_howler", "patas_monkey"] and len(images) == 2
    data.load_monkeys("training")
    assert len(fake.calls) == 1, "downloaded once, then read from the data root"


def test_a_failed_kagglehub_download_says_how_to_get_the_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(
        sys.modules, "kagglehub", FakeKagglehub(ConnectionError("no network"))
    )
    with pytest.raises(
        download.DataUnavailableError, match=r"kaggle\.com[\s\S]*by hand"
    ):
        data.load_monkeys("training")
