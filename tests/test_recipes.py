import pytest
import torch

from utils import data, models, recipes


def test_the_cifar_setup_follows_the_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    full = recipes.cifar_convnet_setup()
    assert (full.n_train, full.epochs, full.n_background) == (None, 15, 200)  # the article's settings
    monkeypatch.setenv("XAI_QUICK", "1")
    quick = recipes.cifar_convnet_setup()
    assert quick.n_train == 5_000 and quick.epochs < full.epochs and quick.n_background < full.n_background


def tiny_cifar(n: int) -> data.LabelledImages:
    g = torch.Generator().manual_seed(n)
    return data.LabelledImages(torch.rand(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g),
                               [str(k) for k in range(10)])


def test_train_cifar_convnet_trains_once_then_loads(capsys) -> None:
    setup = recipes.CifarConvNetSetup(n_train=None, n_val=None, epochs=1, n_background=4)
    train_set, val_set = tiny_cifar(32), tiny_cifar(16)
    model, history = recipes.train_cifar_convnet(train_set, val_set, setup)
    again, history_again = recipes.train_cifar_convnet(train_set, val_set, setup)
    assert isinstance(model, models.CifarConvNet) and len(history) == 1 and history_again == history
    assert "loaded the trained model from the cache" in capsys.readouterr().out
    for a, b in zip(model.parameters(), again.parameters()):
        assert torch.equal(a, b)


def test_notebook_07s_methods_all_apply_to_the_cifar_convnet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XAI_QUICK", "1")
    torch.manual_seed(0)
    model, val = models.CifarConvNet().eval(), tiny_cifar(10)
    setup = recipes.CifarConvNetSetup(n_train=None, n_val=None, epochs=1, n_background=4)
    images, background = recipes.cifar_explained_images(val, 2), recipes.cifar_background(val, setup)
    assert background.shape == (4, 3, 32, 32) and torch.equal(images, val.x[-200:][:2])
    targets = model(images).argmax(1)
    for name, method in recipes.cifar_attribution_methods(background).items():
        maps = method(model, images, targets)
        assert maps.shape == (2, 32, 32) and torch.isfinite(maps).all(), name
