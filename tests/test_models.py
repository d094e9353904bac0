import pytest
import torch

from utils import config, download, models


def pin_written_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin the sha256 of the weights file the test just wrote (the real file's sha256 is
    pinned in models)."""
    relative, url, _ = models.CIFAR_RESNET20
    monkeypatch.setattr(
        models,
        "CIFAR_RESNET20",
        (relative, url, download.file_digest(config.data_root() / relative)),
    )


def test_cifar_resnet_loads_the_upstream_format(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    torch.manual_seed(0)
    state = {
        f"module.{k}": v
        for k, v in models.CifarResNet(20).state_dict().items()
        if not k.endswith("num_batches_tracked")
    }
    path = config.data_root() / models.CIFAR_RESNET20[0]
    path.parent.mkdir(parents=True)
    torch.save({"state_dict": state, "best_prec1": 91.7}, path)
    with pytest.raises(
        download.DamagedFileError, match="not the pinned"
    ):  # the real file's sha256 is pinned
        models.load_cifar_resnet20()
    pin_written_weights(monkeypatch)
    model = models.load_cifar_resnet20()
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="6n\\+2"):
        models.CifarResNet(21)


def test_cifar_resnet_refuses_weights_of_another_architecture(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = {f"module.{k}": v for k, v in models.CifarResNet(32).state_dict().items()}
    path = config.data_root() / models.CIFAR_RESNET20[0]
    path.parent.mkdir(parents=True)
    torch.save({"state_dict": state}, path)
    pin_written_weights(monkeypatch)
    with pytest.raises(ValueError, match="does not fit CifarResNet"):
        models.load_cifar_resnet20()


def test_convnet_and_punknet_shapes_and_outputs() -> None:
    torch.manual_seed(0)
    probs = models.CifarConvNet().eval()(torch.rand(2, 3, 32, 32))
    assert probs.shape == (2, 10)
    torch.testing.assert_close(probs.sum(1), torch.ones(2))
    p = models.PunkNet()(torch.rand(5, 3, 24, 24))
    assert p.shape == (5, 1) and ((p > 0) & (p < 1)).all()


def test_convnet_blocks_run_in_the_article_order() -> None:
    """conv → ReLU → max-pool → BatchNorm, as the article's forward: with a negative
    BatchNorm scale, pooling before or after BatchNorm gives different numbers, so the
    order is observable."""
    torch.manual_seed(0)
    model = models.CifarConvNet().eval()
    with torch.no_grad():
        model.batchnorm2.weight.uniform_(-2, -0.5)
        model.batchnorm2.running_mean.uniform_(-1, 1)
    x = torch.rand(2, 8, 32, 32)
    article = model.batchnorm2(model.pool2(torch.relu(model.conv2(x))))
    torch.testing.assert_close(model.block(2, x), article)
    assert not torch.allclose(
        model.pool2(model.batchnorm2(torch.relu(model.conv2(x)))), article
    )
