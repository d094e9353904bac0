"""ImageNet-pretrained networks: torchvision's own weights online, an offline stand-in
otherwise."""

from __future__ import annotations

import contextlib
import io
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch
import torchvision
from torch import nn
from torchvision import transforms

from .config import DATA_ENV, DEVICE, data_root, display_path, use_stand_in
from .download import DamagedFileError, load_torch_file, verify_file
from .models import IMAGENET_MEAN, IMAGENET_STD

STAND_IN_FILE = "weights/mobilenet_v2_imagenet/mobilenet_v2_imagenet_coral.pth"


@dataclass
class PretrainedNet:
    """A pretrained classifier and the parts the explainers need, whatever the
    architecture.

    Attributes:
        name: the network that really runs (``"mobilenet_v2"`` when the stand-in
            replaced another).
        model: the whole network in eval mode, (N, 3, 224, 224) normalised → (N, 1000)
            logits.
        backbone: the convolutional trunk, image → the feature map (N, C, 7, 7) that is
            pooled.
        feature_layer: the module inside ``model`` whose output is that feature map.
        fc: the linear classifier applied to the average-pooled features, or ``None``
            (VGG's head is a three-layer MLP, so it has no class activation map).
        last_conv: the last convolution, before its BatchNorm and activation.
    """

    name: str
    model: nn.Module
    backbone: nn.Module
    feature_layer: nn.Module
    fc: nn.Linear | None
    last_conv: nn.Module


def _parts(name: str, model: nn.Module) -> PretrainedNet:
    # created on the course's device; frozen backbones keep their BatchNorm statistics
    model = model.to(DEVICE).eval()
    if name == "resnet18":
        trunk = nn.Sequential(*list(model.children())[:-2])
        return PretrainedNet(
            name, model, trunk, model.layer4, model.fc, model.layer4[-1].conv2
        )
    if name == "vgg16":
        return PretrainedNet(
            name, model, model.features, model.features, None, model.features[-3]
        )
    if name == "mobilenet_v2":
        return PretrainedNet(
            name,
            model,
            model.features,
            model.features,
            model.classifier[-1],
            model.features[-1][0],
        )
    raise ValueError(
        f"No pretrained network {name!r}: choose resnet18, vgg16 or mobilenet_v2."
    )


def load_stand_in() -> PretrainedNet:
    """The offline ImageNet stand-in: torchvision's MobileNetV2 with weights converted
    from Google's quantised TFLite model (see the README beside the weights file)."""
    path = data_root() / STAND_IN_FILE
    if not path.exists():
        raise FileNotFoundError(
            "No ImageNet weights: torchvision could not download them and the offline "
            f"stand-in {display_path(path)} is missing. Connect to the internet, or "
            f"set {DATA_ENV} to a folder holding {STAND_IN_FILE}."
        )
    model = torchvision.models.mobilenet_v2()
    model.load_state_dict(
        load_torch_file(
            path, fix=f"Copy {STAND_IN_FILE} again from a complete copy of the data."
        )
    )
    return _parts("mobilenet_v2", model)


def _weights_url(name: str) -> str:
    """The download address of torchvision's default ImageNet weights for ``name``."""
    return torchvision.models.get_model_weights(name).DEFAULT.url


def _home_relative(path: Path) -> str:
    """``path`` with the home folder written as ``~``: a message that names a cache file
    without printing this machine's absolute paths."""
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except ValueError:
        return display_path(path)


def _torchvision_weights(name: str) -> dict:
    """The state dict of torchvision's ImageNet weights for ``name``, from torch hub's
    cache (sha256-checked against the hash prefix in the file's name, which torch hub
    itself checks only on download) or downloaded quietly and checked.

    Raises :class:`WeightsUnavailableError` saying why, in words for a student.
    """
    url = _weights_url(name)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(url).path).name
    prefix = torch.hub.HASH_REGEX.search(cached.name).group(1)
    if cached.exists():
        try:
            verify_file(cached, prefix)
        except DamagedFileError:
            raise WeightsUnavailableError(
                f"the cached file {_home_relative(cached)} is damaged (its sha256 does "
                "not start with the hash in its name); delete it to download it again"
            ) from None
    try:  # torch hub announces a download on stdout, with this machine's cache path
        with contextlib.redirect_stdout(io.StringIO()):
            return torch.hub.load_state_dict_from_url(
                url, progress=False, check_hash=True, map_location="cpu"
            )
    except urllib.error.HTTPError as err:
        raise WeightsUnavailableError(
            f"the download server answered HTTP {err.code} {err.reason}"
        ) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
        raise WeightsUnavailableError(
            "they are not in torch hub's cache and there is no internet connection"
        ) from err
    except (OSError, RuntimeError) as err:  # a failed write, a download's bad hash
        raise WeightsUnavailableError(
            f"they could not be downloaded and stored ({type(err).__name__})"
        ) from err


class WeightsUnavailableError(RuntimeError):
    """torchvision's ImageNet weights can be neither read from the cache nor
    downloaded; the message says why."""


def load_imagenet_model(name: str) -> PretrainedNet:
    """torchvision's ``name`` (``"resnet18"``, ``"vgg16"``) with its ImageNet weights.

    The weights come from torch hub's cache, verified against the hash in their file
    name, or are downloaded. When neither works (no internet, a damaged cache file), or
    with ``XAI_STAND_IN=1``, one line says why and the offline stand-in is returned.
    Prints which network really runs; never an exception's text or a cache path of
    this machine (notebook outputs are published).
    """
    if not use_stand_in():
        try:
            model = torchvision.models.get_model(name, weights=None)
            model.load_state_dict(_torchvision_weights(name))
            print(f"using {name} with torchvision's ImageNet weights")
            return _parts(name, model)
        except WeightsUnavailableError as err:
            print(f"{name}: torchvision's ImageNet weights are unavailable: {err}.")
    net = load_stand_in()
    print(f"using {net.name}, the offline ImageNet stand-in for {name}")
    return net


def imagenet_transform(size: int = 224) -> transforms.Compose:
    """Resize the shorter side to ``size``, centre-crop ``size``×``size``,
    ImageNet-normalise."""
    return transforms.Compose(
        [
            transforms.Resize(size),
            transforms.CenterCrop(size),
            transforms.ToTensor(),
            transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


def denormalize(x: torch.Tensor) -> torch.Tensor:
    """Undo the ImageNet normalisation: (…, 3, H, W) back to [0, 1] pixels for
    display."""
    mean = torch.tensor(IMAGENET_MEAN, device=x.device)[:, None, None]
    std = torch.tensor(IMAGENET_STD, device=x.device)[:, None, None]
    return (x * std + mean).clamp(0, 1)
