"""The course's presets, each defined once: the data, training and explanation settings
that several notebooks (and the benchmarks) share. Change a notebook's settings here,
not in a copy.

A recipe may use every other module; no other module imports this one. Settings that
depend on the mode are given as ``by_mode(quick=..., full=...)`` at call time, so
``XAI_QUICK`` is read when a notebook runs, not when this module is imported.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import attribution, config, data, models, training
from .config import DEVICE, by_mode, seed_everything


# --- CIFAR-10 ConvNet: notebooks 01 and 07, benchmarks/explainers_speed.py ------------
@dataclass(frozen=True)
class CifarConvNetSetup:
    """What notebooks 01 and 07 train and explain; they share the cached model while
    this is one object.

    Attributes:
        n_train, n_val: training / validation images (``None``: all 50,000 / 10,000).
        epochs, lr, batch_size: the Paperspace article's Adam training (15 epochs, 1e-3,
            batches of 64).
        n_background: the images whose mean output is SHAP's base value
            (the article uses 200).
    """

    n_train: int | None
    n_val: int | None
    epochs: int
    lr: float = 1e-3
    batch_size: int = 64
    n_background: int = 200


def cifar_convnet_setup() -> CifarConvNetSetup:
    """The setup for the current mode: QUICK trains 4 epochs on 5,000 images
    (500 per class)."""
    return CifarConvNetSetup(
        n_train=by_mode(quick=5_000, full=None),
        n_val=by_mode(quick=2_000, full=None),
        epochs=by_mode(quick=4, full=15),
        n_background=by_mode(quick=50, full=200),
    )


def cifar_convnet_data(
    setup: CifarConvNetSetup,
) -> tuple[data.LabelledImages, data.LabelledImages]:
    """(training, validation) images of ``setup``: all of CIFAR-10's training and test
    sets in file order, or (QUICK) balanced seeded subsets, read from only as many batch
    files as they need."""

    def part(train: bool, n: int | None) -> data.LabelledImages:
        return data.load_cifar10(train=train, per_class=None if n is None else n // 10)

    return part(True, setup.n_train), part(False, setup.n_val)


def cifar_background(
    val_set: data.LabelledImages, setup: CifarConvNetSetup
) -> torch.Tensor:
    """(n_background, 3, 32, 32): the first validation images, SHAP's background
    ("mask")."""
    return val_set.x[: setup.n_background]


def cifar_explained_images(val_set: data.LabelledImages, n: int) -> torch.Tensor:
    """(n, 3, 32, 32): images to explain, taken from the last 200 validation images
    (never background)."""
    return val_set.x[-200:][:n]


def train_cifar_convnet(
    train_set: data.LabelledImages,
    val_set: data.LabelledImages,
    setup: CifarConvNetSetup,
    variant: str = "",
    seed: int | None = None,
) -> tuple[models.CifarConvNet, training.History]:
    """The SHAP article's CIFAR-10 ConvNet trained with the article's recipe, or loaded
    from the cache.

    As the article: Xavier initialisation (in the model), Adam (lr 1e-3), batches of 64,
    ``CrossEntropyLoss`` applied to the network's softmax output (the article's double
    softmax, kept on purpose), validated on the test set after every epoch. Unlike the
    article: the batches are shuffled (seeded), and every epoch trains in train mode
    (the article's accuracy pass leaves the network in eval mode from the second epoch
    on). The last history row holds the training's wall time in seconds
    (``train_seconds``).

    ``variant`` names training images other than CIFAR-10's own (notebook 07's ROAR
    retrains on images with pixels removed): it goes into the cache's file name, and a
    fingerprint of those images into the key, which otherwise does not see the data
    (changing which pixels are removed retrains). ``seed`` (default: the run's,
    :func:`utils.config.run_seed`) sets the initial weights and the batch order.
    """
    seed = config.run_seed() if seed is None else seed
    hparams = {
        "lr": setup.lr,
        "batch_size": setup.batch_size,
        "epochs": setup.epochs,
        "n_train": len(train_set),
        "n_val": len(val_set),
        "seed": seed,
        "block": models.CifarConvNet.block.__doc__,
    }
    if variant:
        hparams["images"] = hashlib.sha256(train_set.x.numpy().tobytes()).hexdigest()[
            :16
        ]
    seed_everything(seed)
    model = models.CifarConvNet().to(DEVICE)
    trainer = training.Trainer(
        model,
        torch.optim.Adam(model.parameters(), lr=setup.lr),
        nn.CrossEntropyLoss(),
        num_classes=10,
    )

    def fit() -> training.History:
        start = time.perf_counter()
        history = trainer.fit(
            train_set.loader(setup.batch_size, shuffle=True, seed=seed),
            val_set.loader(500),
            setup.epochs,
        )
        history[-1]["train_seconds"] = time.perf_counter() - start
        return history

    name = "cifar10_convnet" + (f"_{variant}" if variant else "")
    history = training.train_or_load(name, model, hparams, fit, trainer=trainer)
    return model, history


def train_cifar_convnet_on_random_labels(
    train_set: data.LabelledImages,
    val_set: data.LabelledImages,
    setup: CifarConvNetSetup,
    seed: int | None = None,
) -> tuple[models.CifarConvNet, training.History]:
    """The ConvNet of :func:`train_cifar_convnet` trained on ``train_set``'s images with
    their labels permuted at random (seeded), or loaded from the cache: the data
    randomisation test of Adebayo et al., "Sanity Checks for Saliency Maps",
    NeurIPS 2018, §5. The network can only memorise; its test accuracy is chance.

    The permutation's fingerprint goes into the cache's variant name (the key of
    :func:`train_cifar_convnet` sees the images, not the labels); ``seed`` (default:
    the run's) sets the permutation, the initial weights and the batch order.
    """
    seed = config.run_seed() if seed is None else seed
    order = torch.randperm(
        len(train_set), generator=torch.Generator().manual_seed(seed)
    )
    shuffled = data.LabelledImages(train_set.x, train_set.y[order], train_set.classes)
    labels = hashlib.sha256(shuffled.y.numpy().tobytes()).hexdigest()[:8]
    return train_cifar_convnet(
        shuffled, val_set, setup, variant=f"random_labels_{labels}", seed=seed
    )


class PixelsToProbabilities(nn.Module):
    """A CIFAR-10 network that expects normalised inputs and returns logits
    (the pretrained ResNet20), wrapped to take (N, 3, 32, 32) pixels in [0, 1] and
    return probabilities, like the course's ConvNet.

    Then every attribution method, removal baseline (black is pixel 0) and curve of
    notebook 07 treats both networks alike.
    """

    def __init__(
        self, network: nn.Module, mean: tuple[float, ...], std: tuple[float, ...]
    ) -> None:
        super().__init__()
        self.network = network
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.network((x - self.mean) / self.std), dim=1)


def cifar_resnet20_on_pixels() -> PixelsToProbabilities:
    """The pretrained CIFAR-10 ResNet20 (91.7 % test accuracy) on [0, 1] pixels, giving
    probabilities."""
    resnet = models.load_cifar_resnet20()
    return (
        PixelsToProbabilities(resnet, models.IMAGENET_MEAN, models.IMAGENET_STD)
        .to(config.device_of(resnet))
        .eval()
    )


def _cifar_module(model: nn.Module, convnet: str, resnet: str) -> nn.Module:
    """The submodule named ``convnet`` of a CifarConvNet or ``resnet`` of a CifarResNet,
    found inside any wrapper."""
    for module in model.modules():
        if isinstance(module, models.CifarConvNet):
            return getattr(module, convnet)
        if isinstance(module, models.CifarResNet):
            return getattr(module, resnet)
    raise ValueError(
        f"No CifarConvNet or CifarResNet inside {type(model).__name__}: pass one of "
        "the course's CIFAR-10 networks, or call attribution.grad_cam_maps with your "
        "own layers."
    )


def cifar_last_feature_map(model: nn.Module) -> nn.Module:
    """The module whose output is the last 8×8 feature map of a CIFAR-10 network
    (Grad-CAM's layer): ``relu6`` of the ConvNet (before its last max-pool), ``layer3``
    of a CIFAR ResNet, found inside any wrapper."""
    return _cifar_module(model, "relu6", "layer3")


def cifar_logits_layer(model: nn.Module) -> nn.Module:
    """The module whose output holds the class scores before the softmax (Grad-CAM's
    y^c): ``pool7`` of the ConvNet (N, 10, 1, 1), ``linear`` of a CIFAR ResNet, found
    inside any wrapper."""
    return _cifar_module(model, "pool7", "linear")


def cifar_attribution_methods(
    model: nn.Module, background: torch.Tensor
) -> dict[str, attribution.Method]:
    """The maps notebook 07 compares on a CIFAR-10 network, at its settings (by mode).

    Grad-CAM uses the last 8×8 feature map (:func:`cifar_last_feature_map`) and
    explains the logit (:func:`cifar_logits_layer`), as Selvaraju et al. do; the other
    methods explain the probability the network returns. Occlusion hides 4×4 windows
    (stride 2), once with a blurred copy of the image (the removal of the blur deletion
    metric) and once with black (that of the black one). Deep SHAP only where
    DeepExplainer is exact, networks whose every nonlinearity is a module: the
    ConvNet, not the ResNet (``torch.relu`` in its blocks). Gradient SHAP's samples and
    the random maps are seeded with the run's seed.
    """
    seed = config.run_seed()  # Gradient SHAP's samples and the random maps
    methods = {
        "Deep SHAP": attribution.deep_shap_maps(background),
        "Gradient SHAP": attribution.gradient_shap_maps(
            background, nsamples=by_mode(quick=32, full=200), seed=seed
        ),
        "Integrated Gradients": attribution.integrated_gradients,
        "Saliency": attribution.saliency,
        "Occlusion (blur)": attribution.occlusion_maps(window=4, stride=2, blur=True),
        "Occlusion (black)": attribution.occlusion_maps(window=4, stride=2, blur=False),
        "Grad-CAM": attribution.grad_cam_maps(
            cifar_last_feature_map, cifar_logits_layer
        ),
        "Random": attribution.random_maps(seed),
    }
    if not any(isinstance(m, models.CifarConvNet) for m in model.modules()):
        del methods["Deep SHAP"]
    return methods


# --- CryptoPunks earring classifier: notebook 03, benchmarks/occlusion_speed.py -------
PUNK_CLASSES = ["no earring", "earring"]


def earring_split(n_punks: int = 10_000) -> tuple[torch.Tensor, torch.Tensor]:
    """(training, test) punk ids: a seeded permutation split exactly 75/25 (the
    walkthrough draws an unseeded ``np.random.uniform(size=n) < 0.75``, about 75/25)."""
    order = torch.randperm(n_punks, generator=torch.Generator().manual_seed(0))
    n_train = int(0.75 * n_punks)
    return order[:n_train], order[n_train:]


def earring_data() -> tuple[data.LabelledImages, data.LabelledImages]:
    """(training, test) punks with "has an earring" labels, split by
    :func:`earring_split`."""
    punks, attributes = data.load_cryptopunks()
    earring = torch.tensor(
        attributes[" accessories"].str.contains("Earring").to_numpy()
    ).long()
    train_idx, test_idx = earring_split(len(punks))
    return (
        data.LabelledImages(punks[train_idx], earring[train_idx], PUNK_CLASSES),
        data.LabelledImages(punks[test_idx], earring[test_idx], PUNK_CLASSES),
    )


def earring_pixels(
    images: torch.Tensor,
    labels: torch.Tensor,
    min_ratio: float = 20,
    min_count: int = 5,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function marking the earring pixels of punks (N, 3, 24, 24) → (N, 24, 24) bool,
    learned from the (position, colour) pairs that punks with an earring have.

    A pair counts when it is ``min_ratio`` times more frequent among the punks of
    ``images`` with an earring (``labels`` 1) than among those without, and seen at
    least ``min_count`` times: exact ground truth for where an earring is drawn
    (notebook 03 finds it, notebook 07 scores attribution maps against it).
    """

    def keys(x: torch.Tensor) -> torch.Tensor:  # one integer per (position, colour)
        rgb = (x * 255).round().long()
        colour = rgb[:, 0] << 16 | rgb[:, 1] << 8 | rgb[:, 2]
        positions = torch.arange(x[0, 0].numel()).reshape(x.shape[2:])
        return colour * x[0, 0].numel() + positions

    has = labels.bool()
    pairs, index = torch.unique(keys(images), return_inverse=True)
    n_with = torch.bincount(index[has].flatten(), minlength=len(pairs)).float()
    n_without = torch.bincount(index[~has].flatten(), minlength=len(pairs)).float()
    ratio = (n_with / has.sum()) / ((n_without + 1) / (~has).sum())
    marked = pairs[(ratio > min_ratio) & (n_with >= min_count)]
    return lambda x: torch.isin(keys(x), marked)


def punk_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the sigmoid output (N, 1) against 0/1 labels (N,)."""
    return F.binary_cross_entropy(out[:, 0], y.float())


# the walkthrough's SGD learning rate: leaves the "always no" plateau late or never
PUNK_SOURCE_LR = 0.001
# the course's one change to the walkthrough's training (notebook 03 measures both over
# seeds)
PUNK_LR = 0.01


def train_punk_net(
    train_set: data.LabelledImages,
    test_set: data.LabelledImages,
    epochs: int = 100,
    lr: float = PUNK_LR,
    seed: int | None = None,
) -> tuple[models.PunkNet, training.History]:
    """The walkthrough's earring classifier, trained as it does except for the learning
    rate, or loaded from the cache: SGD (momentum 0.9), batches of 100
    (shuffled, seeded), binary cross-entropy, 100 epochs, validated on the test punks.
    ``lr=PUNK_SOURCE_LR`` is the walkthrough's own recipe; ``seed`` defaults to the
    run's (:func:`utils.config.run_seed`).
    """
    seed = config.run_seed() if seed is None else seed
    hparams = {
        "lr": lr,
        "momentum": 0.9,
        "batch_size": 100,
        "epochs": epochs,
        "n_train": len(train_set),
        "seed": seed,
    }
    seed_everything(seed)
    model = models.PunkNet().to(DEVICE)
    trainer = training.Trainer(
        model,
        torch.optim.SGD(model.parameters(), lr=lr, momentum=hparams["momentum"]),
        punk_loss,
        num_classes=2,
        to_labels=training.threshold_labels,
    )
    history = training.train_or_load(
        "punk_net",
        model,
        hparams,
        lambda: trainer.fit(
            train_set.loader(hparams["batch_size"], shuffle=True, seed=seed),
            test_set.loader(1000),
            epochs,
        ),
        trainer=trainer,
    )
    return model, history
