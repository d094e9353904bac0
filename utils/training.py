"""A small training loop with per-epoch metrics, early stopping, and a checkpoint cache.

Generic mechanisms only: the course's training recipes live in :mod:`utils.recipes`.
Everything here computes on the device of the model it is given.
"""

from __future__ import annotations

import copy
import errno
import hashlib
import inspect
import json
import os
import pickle
import tempfile
import textwrap
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from .config import OUTPUT_ENV, device_of, display_path, is_quick, output_root

History = list[dict[str, float]]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def argmax_labels(outputs: torch.Tensor) -> torch.Tensor:
    """Predicted class of a multi-class output (N, K)."""
    return outputs.argmax(dim=1)


def threshold_labels(outputs: torch.Tensor) -> torch.Tensor:
    """Predicted class of a single sigmoid output (N, 1) or (N,): 1 where p > 0.5."""
    return (outputs.reshape(-1) > 0.5).long()


def classification_metrics(
    pred: torch.Tensor, target: torch.Tensor, num_classes: int
) -> dict[str, float]:
    """Accuracy and macro-averaged precision and recall (classes never predicted count
    as 0 precision)."""
    confusion = torch.bincount(
        target * num_classes + pred, minlength=num_classes**2
    ).reshape(num_classes, -1)
    hits = confusion.diag().float()
    precision = hits / confusion.sum(0).clamp(min=1)
    recall = hits / confusion.sum(1).clamp(min=1)
    return {
        "acc": (hits.sum() / confusion.sum()).item(),
        "precision": precision.mean().item(),
        "recall": recall.mean().item(),
    }


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Model outputs for ``x`` (N, ...), computed in eval mode in batches on the model's
    device; on the CPU."""
    model.eval()
    device = device_of(model)
    return torch.cat(
        [
            model(x[i : i + batch_size].to(device)).cpu()
            for i in range(0, len(x), batch_size)
        ]
    )


@torch.no_grad()
def extract_features(
    backbone: nn.Module, loader: DataLoader
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run a frozen ``backbone`` once over ``loader``: features (N, ...) and labels
    (N,), on the CPU.

    Training a new head on these is exact as long as the images are not augmented (each
    epoch would otherwise see other pixels) and the backbone stays frozen and in eval
    mode.
    """
    backbone.eval()
    device = device_of(backbone)
    features, labels = [], []
    for x, y in tqdm(loader, desc="backbone features"):
        features.append(backbone(x.to(device)).cpu())
        labels.append(y)
    return torch.cat(features), torch.cat(labels)


@dataclass
class Trainer:
    """Trains ``model`` with ``optimizer`` on ``loss_fn``, logging loss, accuracy,
    precision and recall.

    Args:
        to_labels: turns a batch of outputs into predicted labels (``argmax_labels`` or
            ``threshold_labels``).
        patience: stop when the validation loss has not improved for this many epochs
            and restore the best weights (early stopping); ``None`` trains every epoch.
    """

    model: nn.Module
    optimizer: torch.optim.Optimizer
    loss_fn: LossFn
    num_classes: int
    to_labels: Callable[[torch.Tensor], torch.Tensor] = argmax_labels
    patience: int | None = None
    history: History = field(default_factory=list)

    def run_epoch(
        self, loader: DataLoader, train: bool, progress: tqdm | None = None
    ) -> dict[str, float]:
        """One pass over ``loader``; updates the weights only when ``train``, and
        ``progress`` by one step per batch."""
        self.model.train(train)
        device = device_of(self.model)
        total_loss, preds, targets = 0.0, [], []
        with torch.set_grad_enabled(train):
            for x, y in loader:
                if progress is not None:
                    progress.update()
                x, y = x.to(device), y.to(device)
                out = self.model(x)
                loss = self.loss_fn(out, y)
                if train:
                    self.optimizer.zero_grad()
                    loss.backward()
                    self.optimizer.step()
                total_loss += loss.item() * len(y)
                preds.append(self.to_labels(out.detach()).cpu())
                targets.append(y.long().reshape(-1).cpu())
        metrics = classification_metrics(
            torch.cat(preds), torch.cat(targets), self.num_classes
        )
        return {"loss": total_loss / len(loader.dataset), **metrics}

    def fit(
        self, train_loader: DataLoader, val_loader: DataLoader, epochs: int
    ) -> History:
        """Train for up to ``epochs`` epochs; returns one dict of ``train_*``/``val_*``
        metrics per epoch. One progress bar counts the training batches of all epochs
        (a bar per epoch would print hundreds of bars in a notebook)."""
        best_loss, best_state, waited = float("inf"), None, 0
        bar = tqdm(total=epochs * len(train_loader), desc="training", unit="batch")
        for epoch in range(1, epochs + 1):
            row = {"epoch": epoch}
            row.update(
                {
                    f"train_{k}": v
                    for k, v in self.run_epoch(train_loader, True, bar).items()
                }
            )
            row.update(
                {
                    f"val_{k}": v
                    for k, v in self.run_epoch(val_loader, train=False).items()
                }
            )
            self.history.append(row)
            bar.set_postfix(
                epoch=epoch,
                loss=f"{row['train_loss']:.3f}",
                val_acc=f"{row['val_acc']:.3f}",
            )
            if self.patience is None:
                continue
            if row["val_loss"] < best_loss:
                best_loss, best_state, waited = (
                    row["val_loss"],
                    copy.deepcopy(self.model.state_dict()),
                    0,
                )
            else:
                waited += 1
                if waited >= self.patience:
                    print(
                        f"early stop after epoch {epoch}: no better validation loss "
                        f"for {waited} epochs"
                    )
                    break
        bar.close()
        if best_state is not None:
            self.model.load_state_dict(best_state)
        self.model.eval()
        return self.history

    def describe(self) -> dict[str, str]:
        """What of this trainer determines the weights, for the checkpoint key: the
        optimiser with its hyper-parameters, the loss, the label rule, early stopping,
        and this class's own code."""
        return {
            "optimizer": f"{type(self.optimizer).__name__}{self.optimizer.defaults}",
            "loss": _describe_callable(self.loss_fn),
            "to_labels": _describe_callable(self.to_labels),
            "patience": str(self.patience),
            "trainer_code": _source_hash(Trainer),
        }


def _source_hash(obj: object) -> str:
    return hashlib.sha256(inspect.getsource(obj).encode()).hexdigest()[:12]


def _describe_callable(fn: Callable) -> str:
    """A description of a loss or label function that is stable across runs: a module's
    repr, else the function's source (a lambda's repr holds a memory address)."""
    if isinstance(fn, nn.Module):
        # a loss module's repr omits settings such as label_smoothing
        settings = {
            k: v
            for k, v in vars(fn).items()
            if not k.startswith("_") and k != "training"
        }
        return f"{fn!r} {settings}"
    try:
        return inspect.getsource(fn).strip()
    except (OSError, TypeError):
        return getattr(fn, "__qualname__", type(fn).__name__)


def state_fingerprint(module: nn.Module) -> str:
    """A short sha256 of ``module``'s parameters and buffers (names, dtypes, shapes and
    values): it changes with any weight, so a key holding it sees other weights."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(f"{name} {tensor.dtype} {tuple(tensor.shape)}".encode())
        digest.update(
            tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy()
        )
    return digest.hexdigest()[:16]


def checkpoint_key(
    model: nn.Module,
    config: dict,
    trainer: Trainer | None = None,
    depends_on: Sequence[nn.Module] = (),
) -> str:
    """A short hash of what determines the trained weights, as far as the cache can see
    it.

    Covered: the architecture (``repr(model)``), ``config`` (the caller names there the
    data size, epochs, batch size, seed and whatever else its ``train`` uses), the mode
    (QUICK or full), when ``trainer`` is given its optimiser, loss, label rule, early
    stopping and the ``Trainer`` code, and the weights of the modules in ``depends_on``
    (a frozen backbone whose features a head is trained on). Not covered: the data's
    content, library versions, and code inside ``train`` other than the trainer: after
    changing those, delete the checkpoint (``outputs/checkpoints/<name>-*.pt``).
    """
    described = {
        "model": repr(model),
        "config": config,
        "quick": is_quick(),
        "trainer": trainer.describe() if trainer is not None else None,
    }
    if depends_on:
        described["depends_on"] = [state_fingerprint(m) for m in depends_on]
    blob = json.dumps(described, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _content_digest(state_dict: dict, history: History) -> str:
    """sha256 of what a checkpoint holds: every tensor's bytes and the history."""
    digest = hashlib.sha256(json.dumps(history, sort_keys=True).encode())
    for name, tensor in sorted(state_dict.items()):
        digest.update(f"{name} {tensor.dtype} {tuple(tensor.shape)}".encode())
        digest.update(
            tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy()
        )
    return digest.hexdigest()


class DamagedCheckpointError(ValueError):
    """A cached checkpoint that cannot be trusted: unreadable, or not what was saved."""


def _load_checkpoint(path: Path, model: nn.Module) -> History:
    """The history saved with the weights at ``path``, loaded into ``model`` after
    checking the checksum stored with them; :class:`DamagedCheckpointError` (and
    ``model`` unchanged) when the file is unreadable or its content is not what was
    saved (bytes changed on disk, or a file from an older version without checksum)."""
    try:
        saved = torch.load(path, map_location=device_of(model), weights_only=True)
        state, history = saved["state_dict"], saved["history"]
        checksum = saved.get("sha256")
    except (
        RuntimeError,
        EOFError,
        KeyError,
        TypeError,
        AttributeError,
        pickle.UnpicklingError,
        zipfile.BadZipFile,
    ) as err:
        raise DamagedCheckpointError(f"unreadable ({type(err).__name__})") from None
    if checksum is None:
        raise DamagedCheckpointError("saved without a checksum by an older version")
    if _content_digest(state, history) != checksum:
        raise DamagedCheckpointError("its content does not match its checksum")
    initial = copy.deepcopy(model.state_dict())
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        model.load_state_dict(initial)  # a half-loaded state must not seed training
        raise DamagedCheckpointError(
            f"its weights do not fit the model ({str(err).splitlines()[0]})"
        ) from None
    return history


def _save_atomically(checkpoint: dict, path: Path) -> None:
    """``torch.save`` ``checkpoint`` plus the sha256 of its content to a temporary file
    with a name of its own beside ``path``, then rename it to ``path``: an interrupted
    save never leaves half a checkpoint under the real name, and two kernels saving the
    same checkpoint at once never write to the same temporary file. The temporary file
    is removed whatever happens."""
    checksum = _content_digest(checkpoint["state_dict"], checkpoint["history"])
    handle, part = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".part"
    )
    os.close(handle)
    try:
        torch.save({**checkpoint, "sha256": checksum}, part)
        os.replace(part, path)
    finally:
        Path(part).unlink(missing_ok=True)


def _why_not_saved(err: Exception) -> str:
    """What a failed save means for the student, from OSError or PyTorch's writer
    (a RuntimeError "... file write failed" when the disk fills up)."""
    code = getattr(err, "errno", None)
    if code == errno.ENOSPC or "write failed" in str(err):
        return "the disk is full"
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "the folder is not writable"
    first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {first_line[:120]}"


def _cache(checkpoint: dict, path: Path) -> None:
    """Save ``checkpoint`` to ``path``, or say in one line where and why it could not be
    saved (a full disk, a read-only folder): the trained model is used all the same."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _save_atomically(checkpoint, path)
    except (OSError, RuntimeError) as err:  # PyTorch's writer raises RuntimeError
        message = (
            f"trained, but not cached: {display_path(path.parent)} cannot hold the "
            f"checkpoint ({_why_not_saved(err)}). The trained model is used in this "
            f"session; free disk space or set {OUTPUT_ENV} to a writable folder to "
            "keep it for the next run."
        )
        print(
            textwrap.fill(message, 88, break_long_words=False, break_on_hyphens=False)
        )
        return
    print(f"trained and cached: {path.name}")


def train_or_load(
    name: str,
    model: nn.Module,
    config: dict,
    train: Callable[[], History],
    trainer: Trainer | None = None,
    depends_on: Sequence[nn.Module] = (),
) -> History:
    """Load ``model``'s weights and history from the checkpoint cache, or call
    ``train()`` and cache them.

    The cache file is ``outputs/checkpoints/<name>-<key>.pt``, keyed by
    :func:`checkpoint_key` (which says what a change to retrains on), so a re-run of a
    notebook reuses the trained model. A damaged file is reported in one line and
    retrained; a checkpoint that cannot be saved is reported in one line and the
    trained model kept. The model stays on its device, in eval mode.
    """
    key = checkpoint_key(model, config, trainer, depends_on)
    path = output_root() / "checkpoints" / f"{name}-{key}.pt"
    history = None
    if path.exists():
        try:
            history = _load_checkpoint(path, model)
            print(
                "loaded the trained model from the cache (delete the file to "
                f"retrain):\n  {path.name}"
            )
        except DamagedCheckpointError as err:
            print(f"checkpoint {path.name} is damaged ({err}):\n  training again")
    if history is None:
        history = train()
        _cache(
            {"state_dict": model.state_dict(), "history": history, "config": config},
            path,
        )
    model.eval()
    return history
