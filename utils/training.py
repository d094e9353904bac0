"""A small training loop with per-epoch metrics, early stopping, and a checkpoint cache."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from .config import DEVICE, is_quick, output_dir, seed_everything
from .data import LabelledImages
from .models import CifarConvNet

History = list[dict[str, float]]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def argmax_labels(outputs: torch.Tensor) -> torch.Tensor:
    """Predicted class of a multi-class output (N, K)."""
    return outputs.argmax(dim=1)


def threshold_labels(outputs: torch.Tensor) -> torch.Tensor:
    """Predicted class of a single sigmoid output (N, 1) or (N,): 1 where p > 0.5."""
    return (outputs.reshape(-1) > 0.5).long()


def classification_metrics(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> dict[str, float]:
    """Accuracy and macro-averaged precision and recall (classes never predicted count as 0 precision)."""
    confusion = torch.bincount(target * num_classes + pred, minlength=num_classes**2).reshape(num_classes, -1)
    hits = confusion.diag().float()
    precision = hits / confusion.sum(0).clamp(min=1)
    recall = hits / confusion.sum(1).clamp(min=1)
    return {"acc": (hits.sum() / confusion.sum()).item(),
            "precision": precision.mean().item(), "recall": recall.mean().item()}


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Model outputs for ``x`` (N, ...), computed in eval mode in batches on ``DEVICE``; returned on the CPU."""
    model.eval()
    return torch.cat([model(x[i:i + batch_size].to(DEVICE)).cpu() for i in range(0, len(x), batch_size)])


@torch.no_grad()
def extract_features(backbone: nn.Module, loader: DataLoader) -> tuple[torch.Tensor, torch.Tensor]:
    """Run a frozen ``backbone`` once over ``loader``: features (N, ...) and labels (N,), on the CPU.

    Training a new head on these is exact as long as the images are not augmented (each epoch would
    otherwise see other pixels) and the backbone stays frozen and in eval mode.
    """
    backbone.eval()
    features, labels = [], []
    for x, y in tqdm(loader, desc="backbone features"):
        features.append(backbone(x.to(DEVICE)).cpu())
        labels.append(y)
    return torch.cat(features), torch.cat(labels)


@dataclass
class Trainer:
    """Trains ``model`` with ``optimizer`` on ``loss_fn``, logging loss, accuracy, precision and recall.

    Args:
        to_labels: turns a batch of outputs into predicted labels (``argmax_labels`` or
            ``threshold_labels``).
        patience: stop when the validation loss has not improved for this many epochs and restore the
            best weights (early stopping); ``None`` trains every epoch.
    """

    model: nn.Module
    optimizer: torch.optim.Optimizer
    loss_fn: LossFn
    num_classes: int
    to_labels: Callable[[torch.Tensor], torch.Tensor] = argmax_labels
    patience: int | None = None
    history: History = field(default_factory=list)

    def run_epoch(self, loader: DataLoader, train: bool) -> dict[str, float]:
        """One pass over ``loader``; updates the weights only when ``train``."""
        self.model.train(train)
        total_loss, preds, targets = 0.0, [], []
        with torch.set_grad_enabled(train):
            for x, y in tqdm(loader, desc="train" if train else "validate", leave=False):
                x, y = x.to(DEVICE), y.to(DEVICE)
                out = self.model(x)
                loss = self.loss_fn(out, y)
                if train:
                    self.optimizer.zero_grad()
                    loss.backward()
                    self.optimizer.step()
                total_loss += loss.item() * len(y)
                preds.append(self.to_labels(out.detach()).cpu())
                targets.append(y.long().reshape(-1).cpu())
        metrics = classification_metrics(torch.cat(preds), torch.cat(targets), self.num_classes)
        return {"loss": total_loss / len(loader.dataset), **metrics}

    def fit(self, train_loader: DataLoader, val_loader: DataLoader, epochs: int) -> History:
        """Train for up to ``epochs`` epochs; returns one dict of ``train_*``/``val_*`` metrics per epoch."""
        self.model.to(DEVICE)
        best_loss, best_state, waited = float("inf"), None, 0
        bar = tqdm(range(1, epochs + 1), desc="epochs")
        for epoch in bar:
            row = {"epoch": epoch}
            row.update({f"train_{k}": v for k, v in self.run_epoch(train_loader, train=True).items()})
            row.update({f"val_{k}": v for k, v in self.run_epoch(val_loader, train=False).items()})
            self.history.append(row)
            bar.set_postfix(loss=f"{row['train_loss']:.3f}", val_acc=f"{row['val_acc']:.3f}")
            if self.patience is None:
                continue
            if row["val_loss"] < best_loss:
                best_loss, best_state, waited = row["val_loss"], copy.deepcopy(self.model.state_dict()), 0
            else:
                waited += 1
                if waited >= self.patience:
                    print(f"early stop after epoch {epoch}: no better validation loss for {waited} epochs")
                    break
        if best_state is not None:
            self.model.load_state_dict(best_state)
        self.model.eval()
        return self.history


def checkpoint_key(model: nn.Module, config: dict) -> str:
    """A short hash of the architecture, the hyper-parameters and the mode: any change retrains."""
    blob = json.dumps({"model": repr(model), "config": config, "quick": is_quick()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def train_or_load(name: str, model: nn.Module, config: dict, train: Callable[[], History]) -> History:
    """Load ``model``'s weights and history from the checkpoint cache, or call ``train()`` and cache them.

    The cache file is ``outputs/checkpoints/<name>-<key>.pt``, keyed by :func:`checkpoint_key`, so a
    re-run of a notebook reuses the trained model while a new architecture, config or mode retrains.
    """
    path = output_dir("checkpoints") / f"{name}-{checkpoint_key(model, config)}.pt"
    if path.exists():
        saved = torch.load(path, map_location=DEVICE, weights_only=True)
        model.load_state_dict(saved["state_dict"])
        print(f"loaded the trained model from the cache: {path.name} (delete it to retrain)")
        history = saved["history"]
    else:
        history = train()
        torch.save({"state_dict": model.state_dict(), "history": history, "config": config}, path)
        print(f"trained and cached: {path.name}")
    model.to(DEVICE).eval()
    return history


def train_cifar_convnet(train_set: LabelledImages, val_set: LabelledImages, epochs: int, lr: float = 1e-3,
                        batch_size: int = 64) -> tuple[CifarConvNet, History]:
    """The SHAP article's CIFAR-10 ConvNet trained as the article does, or loaded from the cache.

    Adam, batches of 64, ``CrossEntropyLoss`` applied to the network's softmax output (the article's
    double softmax, kept on purpose), seeded. Notebooks 01 and 07 share the cached model.
    """
    hparams = {"lr": lr, "batch_size": batch_size, "epochs": epochs, "n_train": len(train_set)}
    seed_everything(0)
    model = CifarConvNet().to(DEVICE)
    trainer = Trainer(model, torch.optim.Adam(model.parameters(), lr=lr), nn.CrossEntropyLoss(), num_classes=10)
    history = train_or_load("cifar10_convnet", model, hparams, lambda: trainer.fit(
        train_set.loader(batch_size, shuffle=True), val_set.loader(500), epochs))
    return model, history
