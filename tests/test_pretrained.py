import urllib.error
from pathlib import Path

import pytest
import torch
import torchvision

from utils import config, download, pretrained


def write_stand_in() -> None:
    path = config.data_root() / pretrained.STAND_IN_FILE
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.mobilenet_v2().state_dict(), path)


def offline(*args, **kwargs):
    raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))


@pytest.fixture(autouse=True)
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub cache of the test's own, in a home folder of its own."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    return tmp_path / "hub" / "checkpoints"


def plant_weights(checkpoints: Path, name: str, content: bytes | None = None) -> Path:
    """Random ``name`` weights (or ``content``) under torchvision's cache file name."""
    url = torchvision.models.get_model_weights(name).DEFAULT.url
    path = checkpoints / url.rsplit("/", 1)[-1]
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.get_model(name).state_dict(), path)
    if content is not None:
        path.write_bytes(content)
    return path


def assert_one_clean_line_then_the_stand_in(out: str, net, name: str) -> None:
    lines = out.strip().splitlines()
    assert len(lines) == 2, out
    assert lines[1] == f"using mobilenet_v2, the offline ImageNet stand-in for {name}"
    assert net.name == "mobilenet_v2"
    for raw in ("Error", "Traceback", "errno", "/tmp/", "/root/", "Downloading"):
        assert raw not in out, f"{raw!r} printed: {out}"


def test_falls_back_to_the_stand_in_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    write_stand_in()
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    net = pretrained.load_imagenet_model("resnet18")
    out = capsys.readouterr().out
    assert_one_clean_line_then_the_stand_in(out, net, "resnet18")
    assert "no internet connection" in out
    assert not net.model.training and net.fc.out_features == 1000
    with torch.no_grad():
        features = net.backbone(torch.rand(1, 3, 224, 224))
    assert features.shape == (1, 1280, 7, 7)


def test_env_var_forces_the_stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    write_stand_in()
    monkeypatch.setenv(config.STAND_IN_ENV, "1")
    monkeypatch.setattr(
        torchvision.models,
        "get_model",
        lambda *a, **k: pytest.fail("must not download"),
    )
    assert pretrained.load_imagenet_model("vgg16").name == "mobilenet_v2"


@pytest.mark.parametrize("damage", ["truncated", "other weights"])
def test_a_damaged_cached_weights_file_falls_back_to_the_stand_in(
    monkeypatch: pytest.MonkeyPatch, torch_home: Path, capsys, damage: str
) -> None:
    """torch hub checks the hash only when it downloads; a cached file is trusted."""
    write_stand_in()
    path = plant_weights(torch_home, "resnet18")  # random weights: another sha256
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    net = pretrained.load_imagenet_model("resnet18")
    out = capsys.readouterr().out
    assert_one_clean_line_then_the_stand_in(out, net, "resnet18")
    assert f"~/{path.relative_to(Path.home())}" in out
    assert "damaged" in out and "delete it" in out


def test_verified_cached_weights_are_used_without_the_network(
    monkeypatch: pytest.MonkeyPatch, torch_home: Path, capsys
) -> None:
    planted = plant_weights(torch_home, "resnet18")
    prefix = download.file_digest(planted)[:8]
    named = planted.with_name(f"resnet18-{prefix}.pth")  # the hash its name claims
    planted.rename(named)
    monkeypatch.setattr(
        pretrained, "_weights_url", lambda name: f"https://example.org/{named.name}"
    )
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    net = pretrained.load_imagenet_model("resnet18")
    assert net.name == "resnet18"
    assert (
        capsys.readouterr().out
        == "using resnet18 with torchvision's ImageNet weights\n"
    )
    torch.manual_seed(0)
    expected = torchvision.models.get_model("resnet18").state_dict()["fc.weight"]
    torch.testing.assert_close(net.fc.weight.cpu(), expected)


def test_neither_weights_nor_stand_in_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(FileNotFoundError, match="XAI_DATA_DIR"):
        pretrained.load_imagenet_model("resnet18")


@pytest.mark.parametrize("name", ["resnet18", "vgg16"])
def test_parts_of_the_real_architectures(name: str) -> None:
    net = pretrained._parts(name, torchvision.models.get_model(name, weights=None))
    with torch.no_grad():
        assert net.backbone(torch.rand(1, 3, 224, 224)).shape[-2:] == (7, 7)
    assert (net.fc is None) == (name == "vgg16")


def test_unknown_architecture() -> None:
    with pytest.raises(ValueError, match="choose resnet18"):
        pretrained._parts("alexnet", torch.nn.Identity())


def test_denormalize_inverts_the_transform() -> None:
    pixels = torch.rand(3, 8, 8)
    normalised = (
        pixels - torch.tensor(pretrained.IMAGENET_MEAN)[:, None, None]
    ) / torch.tensor(pretrained.IMAGENET_STD)[:, None, None]
    torch.testing.assert_close(pretrained.denormalize(normalised), pixels)


def test_an_unclear_stand_in_switch_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(config.STAND_IN_ENV, "maybe")
    with pytest.raises(ValueError, match="XAI_STAND_IN='maybe' is not understood"):
        pretrained.load_imagenet_model("resnet18")
