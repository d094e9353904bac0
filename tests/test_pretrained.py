import urllib.error

import pytest
import torch
import torchvision

from utils import config, pretrained


def write_stand_in() -> None:
    path = config.data_root() / pretrained.STAND_IN_FILE
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.mobilenet_v2().state_dict(), path)


def offline(*args, **kwargs):
    raise urllib.error.URLError("no network")


def test_falls_back_to_the_stand_in_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    write_stand_in()
    monkeypatch.setattr(torchvision.models, "get_model", offline)
    net = pretrained.load_imagenet_model("resnet18")
    out = capsys.readouterr().out
    assert (
        net.name == "mobilenet_v2"
        and "unavailable" in out
        and "stand-in for resnet18" in out
    )
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


def test_neither_weights_nor_stand_in_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(torchvision.models, "get_model", offline)
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
