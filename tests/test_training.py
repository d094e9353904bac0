from pathlib import Path

import pytest
import torch
from torch import nn

from utils import config, data, training


def separable_data(n: int = 64) -> data.LabelledImages:
    """Two classes told apart by the sign of the first pixel."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, 2, 2, generator=g) - 0.5
    return data.LabelledImages(x, (x[:, 0, 0, 0] > 0).long(), ["neg", "pos"])


def make_trainer(patience=None) -> training.Trainer:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    return training.Trainer(
        model,
        torch.optim.SGD(model.parameters(), lr=0.5),
        nn.CrossEntropyLoss(),
        2,
        patience=patience,
    )


def test_classification_metrics_known_values() -> None:
    pred, target = torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 1, 1])
    m = training.classification_metrics(pred, target, num_classes=2)
    assert m["acc"] == pytest.approx(0.75)
    assert m["precision"] == pytest.approx((1 / 2 + 2 / 2) / 2)
    assert m["recall"] == pytest.approx((1 / 1 + 2 / 3) / 2)


def test_trainer_learns_and_logs_every_epoch() -> None:
    ds = separable_data()
    trainer = make_trainer()
    history = trainer.fit(ds.loader(16, shuffle=True), ds.loader(64), epochs=5)
    assert [row["epoch"] for row in history] == [1, 2, 3, 4, 5]
    assert {"train_loss", "val_acc", "val_precision", "val_recall"} <= set(history[0])
    assert history[-1]["val_acc"] > 0.9 and not trainer.model.training


def test_early_stopping_restores_the_best_weights() -> None:
    ds = separable_data()
    noise = data.LabelledImages(
        ds.x, 1 - ds.y, ds.classes
    )  # validation labels flipped: val loss rises
    trainer = make_trainer(patience=2)
    history = trainer.fit(ds.loader(16, shuffle=True), noise.loader(64), epochs=30)
    assert len(history) < 30
    best = min(history, key=lambda row: row["val_loss"])
    restored = trainer.run_epoch(noise.loader(64), train=False)
    assert restored["loss"] == pytest.approx(best["val_loss"], rel=1e-5)


def test_checkpoint_cache_hits_and_misses(monkeypatch: pytest.MonkeyPatch) -> None:
    ds, calls = separable_data(), []

    def run(config_: dict) -> tuple[nn.Module, training.History]:
        trainer = make_trainer()

        def train():
            calls.append(config_)
            return trainer.fit(ds.loader(16), ds.loader(64), epochs=1)

        return trainer.model, training.train_or_load(
            "toy", trainer.model, config_, train
        )

    first_model, first = run({"lr": 0.5})
    again_model, again = run({"lr": 0.5})
    assert len(calls) == 1 and again == first  # hit: loaded, not retrained
    for a, b in zip(first_model.parameters(), again_model.parameters()):
        assert torch.equal(a, b)
    run({"lr": 0.1})
    assert len(calls) == 2  # changed hyper-parameters retrain
    monkeypatch.setenv("XAI_QUICK", "1")
    run({"lr": 0.5})
    assert len(calls) == 3  # a changed mode retrains
    assert len(list(config.output_dir("checkpoints").glob("toy-*.pt"))) == 3


def test_predict_batches_in_eval_mode() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.9), nn.Linear(4, 2)).train()
    x = torch.rand(10, 1, 2, 2)
    out = training.predict(model, x, batch_size=3)
    assert out.shape == (10, 2)
    # Dropout off: the same outputs whatever the batch size. Only up to rounding: BLAS
    # may sum in another order for another batch size (a last-bit difference, seen with
    # torch 2.14), while dropout at p = 0.9 would change them by tenths.
    torch.testing.assert_close(out, training.predict(model, x), rtol=1e-5, atol=1e-6)
    assert not model.training


def test_the_key_covers_optimiser_and_loss_and_is_stable_for_lambdas() -> None:
    def key(lr: float, loss) -> str:
        trainer = make_trainer()
        trainer.optimizer = torch.optim.SGD(trainer.model.parameters(), lr=lr)
        trainer.loss_fn = loss
        return training.checkpoint_key(trainer.model, {"epochs": 1}, trainer)

    mse = lambda out, y: ((out[:, 1] - y.float()) ** 2).mean()  # noqa: E731
    assert key(0.5, nn.CrossEntropyLoss()) == key(0.5, nn.CrossEntropyLoss())
    assert key(0.5, nn.CrossEntropyLoss()) != key(0.1, nn.CrossEntropyLoss())
    assert key(0.5, nn.CrossEntropyLoss()) != key(
        0.5, nn.CrossEntropyLoss(label_smoothing=0.1)
    )
    assert key(0.5, mse) == key(0.5, mse) != key(0.5, nn.CrossEntropyLoss())


def test_a_damaged_checkpoint_is_reported_and_retrained(capsys) -> None:
    ds, calls = separable_data(), []

    def cached(trainer: training.Trainer) -> training.History:
        def train():
            calls.append(1)
            return trainer.fit(ds.loader(16), ds.loader(64), epochs=1)

        return training.train_or_load("toy", trainer.model, {}, train, trainer=trainer)

    cached(make_trainer())
    (path,) = config.output_dir("checkpoints").glob("toy-*.pt")
    path.write_bytes(path.read_bytes()[:100])  # what an interrupted copy leaves
    history = cached(make_trainer())
    assert len(calls) == 2 and len(history) == 1
    assert "is damaged" in capsys.readouterr().out
    assert not list(
        path.parent.glob("*.part")
    )  # saved atomically: no temporary file left
    assert (
        cached(make_trainer()) == history and len(calls) == 2
    )  # the retrained checkpoint is whole again


def cached_toy(trainer: training.Trainer, calls: list) -> training.History:
    """The toy model trained once for one epoch through the checkpoint cache."""
    ds = separable_data()

    def train():
        calls.append(1)
        return trainer.fit(ds.loader(16), ds.loader(64), epochs=1)

    return training.train_or_load("toy", trainer.model, {}, train, trainer=trainer)


def test_bytes_changed_on_disk_are_caught_by_the_checksum(capsys) -> None:
    calls: list = []
    trained = make_trainer()
    cached_toy(trained, calls)
    (path,) = config.output_dir("checkpoints").glob("toy-*.pt")
    weight = trained.model[1].weight.detach().numpy().tobytes()
    content = path.read_bytes()
    at = content.index(weight)  # the weights are stored uncompressed in the zip
    flipped = content[:at] + bytes([content[at] ^ 0xFF]) + content[at + 1 :]
    path.write_bytes(flipped)  # same size, one weight's byte changed
    assert len(flipped) == len(content)
    cached_toy(make_trainer(), calls)
    assert len(calls) == 2, "a changed checkpoint must not load silently"
    assert "does not match its checksum" in capsys.readouterr().out


def test_a_failed_save_keeps_the_trained_model_and_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    def disk_full(obj, file) -> None:
        Path(file).write_bytes(b"PK\x03\x04 half a checkpoint")
        raise RuntimeError(
            "[enforce fail at inline_container.cc:778] . PytorchStreamWriter failed "
            "writing file data/0: file write failed"
        )

    monkeypatch.setattr(training.torch, "save", disk_full)
    trainer, calls = make_trainer(), []
    history = cached_toy(trainer, calls)
    out = capsys.readouterr().out
    assert "not cached" in out and "the disk is full" in out and "XAI_OUTPUT_DIR" in out
    folder = config.output_root() / "checkpoints"
    assert config.display_path(folder) in out
    assert not list(folder.iterdir()), "no checkpoint and no temporary file left"
    untrained = make_trainer().model
    assert not torch.equal(trainer.model[1].weight, untrained[1].weight), "trained"
    assert not trainer.model.training
    again = trainer.run_epoch(separable_data().loader(64), train=False)
    assert again["acc"] == history[-1]["val_acc"]  # the trained model, still usable


def test_an_unwritable_output_folder_keeps_the_trained_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XAI_OUTPUT_DIR", str(blocker / "outputs"))
    history = cached_toy(make_trainer(), [])
    assert len(history) == 1
    assert "trained, but not cached" in capsys.readouterr().out


def test_two_kernels_saving_one_checkpoint_both_succeed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second kernel finishes its save while the first is still writing."""
    real_save, other = torch.save, make_trainer()
    state = {"state_dict": other.model.state_dict(), "history": [], "config": {}}

    def save_while_another_kernel_saves(obj, file) -> None:
        real_save(obj, file)
        monkeypatch.setattr(training.torch, "save", real_save)
        training._save_atomically(state, path)  # the other kernel, same checkpoint

    monkeypatch.setattr(training.torch, "save", save_while_another_kernel_saves)
    path = config.output_dir("checkpoints") / "toy-same.pt"
    training._save_atomically(state, path)  # must not raise FileNotFoundError
    assert training._load_checkpoint(path, make_trainer().model) == []
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_the_key_sees_the_weights_a_head_depends_on() -> None:
    backbone, head = nn.Linear(4, 4), nn.Linear(4, 2)

    def key() -> str:
        return training.checkpoint_key(head, {"epochs": 1}, depends_on=[backbone])

    before = key()
    assert key() == before
    with torch.no_grad():
        backbone.weight[0, 0] += 1e-3
    assert key() != before, "another backbone must not load the old head"
    assert training.checkpoint_key(head, {"epochs": 1}) != before
