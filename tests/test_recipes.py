import pickle
import unittest.mock
from pathlib import Path

import numpy as np
import pytest
import torch

from utils import config, data, hooks, models, recipes


def test_the_cifar_setup_follows_the_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    full = recipes.cifar_convnet_setup()
    assert (full.n_train, full.epochs, full.n_background) == (
        None,
        15,
        200,
    )  # the article's settings
    monkeypatch.setenv("XAI_QUICK", "1")
    quick = recipes.cifar_convnet_setup()
    assert (
        quick.n_train == 5_000
        and quick.epochs < full.epochs
        and quick.n_background < full.n_background
    )


def tiny_cifar(n: int) -> data.LabelledImages:
    g = torch.Generator().manual_seed(n)
    return data.LabelledImages(
        torch.rand(n, 3, 32, 32, generator=g),
        torch.randint(0, 10, (n,), generator=g),
        [str(k) for k in range(10)],
    )


def test_train_cifar_convnet_trains_once_then_loads(capsys) -> None:
    setup = recipes.CifarConvNetSetup(
        n_train=None, n_val=None, epochs=1, n_background=4
    )
    train_set, val_set = tiny_cifar(32), tiny_cifar(16)
    model, history = recipes.train_cifar_convnet(train_set, val_set, setup)
    again, history_again = recipes.train_cifar_convnet(train_set, val_set, setup)
    assert (
        isinstance(model, models.CifarConvNet)
        and len(history) == 1
        and history_again == history
    )
    assert "loaded the trained model from the cache" in capsys.readouterr().out
    for a, b in zip(model.parameters(), again.parameters()):
        assert torch.equal(a, b)


def test_a_variant_or_another_seed_trains_its_own_model(capsys) -> None:
    """ROAR retrains on degraded images of the same size: the variant must keep it from
    loading the model trained on the originals (the checkpoint key does not see the
    data), and seeds must differ."""
    setup = recipes.CifarConvNetSetup(
        n_train=None, n_val=None, epochs=1, n_background=4
    )
    train_set, val_set = tiny_cifar(32), tiny_cifar(16)
    original, _ = recipes.train_cifar_convnet(train_set, val_set, setup)
    for variant, seed in [("roar_test", 0), ("", 1)]:
        other, _ = recipes.train_cifar_convnet(
            train_set, val_set, setup, variant=variant, seed=seed
        )
        assert "loaded the trained model" not in capsys.readouterr().out
        assert torch.equal(other.conv1.weight, original.conv1.weight) == (
            seed == 0
        )  # seeded, deterministic
    recipes.train_cifar_convnet(train_set, val_set, setup, variant="roar_test")
    assert (
        "loaded the trained model from the cache (delete the file to retrain):\n"
        "  cifar10_convnet_roar_test-" in capsys.readouterr().out
    )
    other_pixels = data.LabelledImages(
        train_set.x.flip(-1), train_set.y, train_set.classes
    )
    recipes.train_cifar_convnet(
        other_pixels, val_set, setup, variant="roar_test"
    )  # same variant, other images
    assert "loaded the trained model" not in capsys.readouterr().out


def test_notebook_07s_methods_all_apply_to_the_cifar_convnet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XAI_QUICK", "1")
    torch.manual_seed(0)
    model, val = models.CifarConvNet().eval(), tiny_cifar(10)
    setup = recipes.CifarConvNetSetup(
        n_train=None, n_val=None, epochs=1, n_background=4
    )
    images, background = (
        recipes.cifar_explained_images(val, 2),
        recipes.cifar_background(val, setup),
    )
    assert background.shape == (4, 3, 32, 32) and torch.equal(images, val.x[-200:][:2])
    targets = model(images).argmax(1)
    for name, method in recipes.cifar_attribution_methods(model, background).items():
        maps = method(model, images, targets)
        assert maps.shape == (2, 32, 32) and torch.isfinite(maps).all(), name


def write_balanced_batches(folder: Path, per_class: int, n_batches: int) -> None:
    """A CIFAR-10 folder whose every batch holds ``per_class`` images of each class; the
    first pixel of an image encodes its batch (tens) and its class (units)."""
    folder.mkdir(parents=True)
    for b in range(n_batches + 1):
        name = f"data_batch_{b + 1}" if b < n_batches else "test_batch"
        labels = [k for k in range(10) for _ in range(per_class)]
        pixels = np.stack([np.full(3072, 10 * b + k, np.uint8) for k in labels])
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": pixels, b"labels": labels}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [f"class{k}".encode() for k in range(10)]}, f)


def test_balanced_subset_reads_only_the_batches_it_needs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_balanced_batches(
        config.data_root() / "cifar-10-batches-py", per_class=6, n_batches=3
    )
    read = []
    original = data._read_cifar_batch
    monkeypatch.setattr(
        data, "_read_cifar_batch", lambda path: read.append(path.name) or original(path)
    )
    subset = data.load_cifar10(per_class=4, seed=1)
    assert read == ["data_batch_1"], (
        "six per class in the first file: the others must stay unread"
    )
    assert subset.y.bincount().tolist() == [4] * 10
    assert torch.equal((subset.x[:, 0, 0, 0] * 255).round().long() % 10, subset.y), (
        "pixels stay with labels"
    )
    again = data.load_cifar10(per_class=4, seed=1)
    assert torch.equal(again.x, subset.x), "the subset is seeded"
    read.clear()
    assert data.load_cifar10(per_class=10).y.bincount().tolist() == [10] * 10
    assert read == ["data_batch_1", "data_batch_2"]
    with pytest.raises(ValueError, match="ask for fewer"):
        data.load_cifar10(per_class=100)


def test_quick_cifar_setup_is_balanced(monkeypatch: pytest.MonkeyPatch) -> None:
    write_balanced_batches(
        config.data_root() / "cifar-10-batches-py", per_class=600, n_batches=1
    )
    monkeypatch.setenv("XAI_QUICK", "1")
    setup = recipes.cifar_convnet_setup()
    train_set, val_set = recipes.cifar_convnet_data(setup)
    assert train_set.y.bincount().tolist() == [setup.n_train // 10] * 10
    assert val_set.y.bincount().tolist() == [setup.n_val // 10] * 10


def test_earring_split_is_seeded_and_exactly_three_to_one() -> None:
    train_idx, test_idx = recipes.earring_split()
    assert (len(train_idx), len(test_idx)) == (7_500, 2_500)
    assert torch.equal(
        torch.sort(torch.cat([train_idx, test_idx])).values, torch.arange(10_000)
    )
    assert torch.equal(recipes.earring_split()[0], train_idx)


def test_the_logits_layer_gives_the_scores_before_the_softmax() -> None:
    torch.manual_seed(0)
    convnet, x = models.CifarConvNet().eval(), torch.rand(2, 3, 32, 32)
    layer = recipes.cifar_logits_layer(convnet)
    with hooks.captured(layer) as record:
        probabilities = convnet(x)
    torch.testing.assert_close(record.output.flatten(1), convnet.logits(x))
    torch.testing.assert_close(record.output.flatten(1).softmax(1), probabilities)
    resnet = models.CifarResNet(depth=8)
    wrapped = recipes.PixelsToProbabilities(resnet, (0.5,) * 3, (0.25,) * 3)
    assert recipes.cifar_logits_layer(wrapped) is resnet.linear
    with pytest.raises(ValueError, match="No CifarConvNet or CifarResNet"):
        recipes.cifar_logits_layer(torch.nn.Linear(2, 2))


def test_random_labels_permute_the_labels_and_key_the_cache_by_them(capsys) -> None:
    setup = recipes.CifarConvNetSetup(
        n_train=None, n_val=None, epochs=1, n_background=4
    )
    train_set, val_set = tiny_cifar(32), tiny_cifar(16)
    seen = []
    original = recipes.train_cifar_convnet

    def spy(train, val, setup, variant="", seed=None):
        seen.append((train.y.clone(), variant))
        return original(train, val, setup, variant=variant, seed=seed)

    with unittest.mock.patch.object(recipes, "train_cifar_convnet", spy):
        recipes.train_cifar_convnet_on_random_labels(train_set, val_set, setup, seed=0)
        recipes.train_cifar_convnet_on_random_labels(train_set, val_set, setup, seed=0)
        recipes.train_cifar_convnet_on_random_labels(train_set, val_set, setup, seed=1)
    (labels0, variant0), (again, _), (labels1, variant1) = seen
    assert torch.equal(labels0.sort().values, train_set.y.sort().values), (
        "a permutation"
    )
    assert not torch.equal(labels0, train_set.y) and torch.equal(labels0, again)
    assert variant0.startswith("random_labels_") and variant0 != variant1
    out = capsys.readouterr().out
    assert out.count("loaded the trained model from the cache") == 1, "seed 0 twice"
