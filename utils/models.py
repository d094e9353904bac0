"""The sources' architectures that more than one notebook uses, and the pretrained
CIFAR-10 ResNet20."""

from __future__ import annotations

import torch
from torch import nn

from .config import DEVICE, data_root
from .download import ensure_file, load_torch_file

# ImageNet's channel statistics: torchvision's ImageNet networks and the CIFAR ResNets
# below expect them.
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
XAVIER_BIAS = 0.01  # the SHAP article initialises every conv bias to 0.01


class CifarConvNet(nn.Module):
    """The CIFAR-10 ConvNet of the Paperspace SHAP article, written for SHAP's
    DeepExplainer.

    Six 3×3 convolutions (padding 1), 3→8→8→32→32→128→128, each followed, in the
    article's order, by ReLU, then (after layers 2, 4 and 6) a 2×2 max-pool, then
    BatchNorm; a 1×1 convolution to 10 channels and AvgPool2d(3) give the logits, a
    softmax the probabilities. The article calls ``F.relu``/``F.softmax`` in
    ``forward``; here every nonlinearity is its own module (one ``nn.ReLU`` per use)
    because DeepExplainer only sees modules. Parameter names match the article's, so the
    same weights load into both. Weights are Xavier-uniform, biases 0.01, as the article
    initialises them.

    Input (N, 3, 32, 32) in [0, 1]; output (N, 10) class probabilities.
    """

    input_shape = (3, 32, 32)  # what the explainers check images against

    def __init__(self) -> None:
        super().__init__()
        widths = [3, 8, 8, 32, 32, 128, 128]
        for i, (c_in, c_out) in enumerate(zip(widths, widths[1:]), start=1):
            setattr(self, f"conv{i}", nn.Conv2d(c_in, c_out, 3, padding=1))
            setattr(self, f"relu{i}", nn.ReLU())
            setattr(self, f"batchnorm{i}", nn.BatchNorm2d(c_out))
        self.pool2, self.pool4, self.pool6 = (
            nn.MaxPool2d(2),
            nn.MaxPool2d(2),
            nn.MaxPool2d(2),
        )
        self.conv7 = nn.Conv2d(128, 10, 1)
        self.pool7 = nn.AvgPool2d(3)
        self.softmax = nn.Softmax(dim=1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight)
                nn.init.constant_(m.bias, XAVIER_BIAS)

    def block(self, i: int, x: torch.Tensor) -> torch.Tensor:
        """Layer ``i`` as the article runs it: conv → ReLU →
        (max-pool after layers 2, 4, 6) → BatchNorm."""
        x = getattr(self, f"relu{i}")(getattr(self, f"conv{i}")(x))
        if i % 2 == 0:
            x = getattr(self, f"pool{i}")(x)
        return getattr(self, f"batchnorm{i}")(x)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The pre-softmax scores (N, 10)."""
        for i in range(1, 7):
            x = self.block(i, x)
        return self.pool7(self.conv7(x)).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.softmax(self.logits(x))


class PunkNet(nn.Module):
    """The CryptoPunks "has an earring" classifier of the occlusion walkthrough
    (LeNet-style).

    conv 3→6 (5×5), max-pool 2, conv 6→16 (5×5), max-pool 2, fully connected 144→64→32→1
    with ReLUs, and a sigmoid. Input (N, 3, 24, 24) in [0, 1]; output (N, 1), the
    probability of an earring.
    """

    input_shape = (3, 24, 24)

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(3, 6, 5), nn.Conv2d(6, 16, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1, self.fc2, self.fc3 = (
            nn.Linear(16 * 3 * 3, 64),
            nn.Linear(64, 32),
            nn.Linear(32, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = torch.relu(self.fc1(x.flatten(1)))
        x = torch.relu(self.fc2(x))
        return torch.sigmoid(self.fc3(x))


class _ShortcutA(nn.Module):
    """Option-A shortcut of He et al.'s CIFAR ResNets: subsample by 2 and zero-pad the
    new channels."""

    def __init__(self, extra_channels: int) -> None:
        super().__init__()
        self.pad = extra_channels // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))


class _BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = (
            _ShortcutA(c_out - c_in) if stride != 1 or c_in != c_out else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class CifarResNet(nn.Module):
    """He et al. 2016's CIFAR-10 ResNet (6n+2 layers, 16/32/64 channels, option-A
    shortcuts), with the parameter names of akamaster/pytorch_resnet_cifar10 so its
    pretrained weights load.

    Input (N, 3, 32, 32) normalised with ImageNet's mean and std; output (N, 10) logits.
    """

    input_shape = (3, 32, 32)

    def __init__(self, depth: int = 20, num_classes: int = 10) -> None:
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(
                f"A CIFAR ResNet has 6n+2 layers (20, 32, 44, 56, ...), not {depth}."
            )
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        widths = [16, 16, 32, 64]
        for i in range(1, 4):
            blocks = [
                _BasicBlock(
                    widths[i - 1] if b == 0 else widths[i],
                    widths[i],
                    2 if b == 0 and i > 1 else 1,
                )
                for b in range(n)
            ]
            setattr(self, f"layer{i}", nn.Sequential(*blocks))
        self.linear = nn.Linear(64, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate features (N, 64): the average-pooled output of the last
        block."""
        x = torch.relu(self.bn1(self.conv1(x)))
        return self.layer3(self.layer2(self.layer1(x))).mean((2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.features(x))


# akamaster/pytorch_resnet_cifar10 (BSD-2): CIFAR-10 ResNet20, 91.7 % test accuracy.
CIFAR_RESNET20 = (
    "weights/resnet_cifar10/resnet20-12fca82f.th",
    "https://raw.githubusercontent.com/akamaster/pytorch_resnet_cifar10/"
    "66514ca38d5679354766dee91e912d8766bdd227/pretrained_models/resnet20-12fca82f.th",
    "12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8",
)


def load_cifar_resnet20() -> CifarResNet:
    """The pretrained CIFAR-10 ResNet20 from the data root (downloaded, sha256-checked,
    if missing).

    The file holds ``{"state_dict": ..., "best_prec1": ...}`` with every key prefixed
    ``module.``; it predates BatchNorm's ``num_batches_tracked`` buffers, the only keys
    allowed to be missing.
    """
    relative, url, sha256 = CIFAR_RESNET20
    saved = load_torch_file(ensure_file(data_root() / relative, url, checksum=sha256))
    model = CifarResNet(depth=20)
    state = {k.removeprefix("module."): v for k, v in saved["state_dict"].items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(not k.endswith("num_batches_tracked") for k in missing):
        raise ValueError(
            f"{relative} does not fit CifarResNet(20): missing {missing}, unexpected "
            f"{unexpected}."
        )
    return model.to(DEVICE).eval()  # created on the course's device
