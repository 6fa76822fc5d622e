"""Models: normalisation as the first layer, GroupNorm instead of BatchNorm (DESIGN 3.1, 3.2).

With no BatchNorm and no dropout the architecture is the same with and without DP-SGD, so the runs
that the analysis compares differ only in how they were trained.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from explorer_core.config import resolve_model

__all__ = ["Normalize", "CNN4", "ResNet20", "TinyNet", "build_model", "resolve_model", "DEFAULT_LR"]

#: Peak one-cycle learning rates (CONF: 0.005 for the MNIST CNN; 0.1 for ResNet20).
DEFAULT_LR = {"cnn4": 0.005, "resnet20": 0.1, "tiny": 0.05}


def _norm(channels: int) -> nn.GroupNorm:
    # gcd(32, C) groups: what Opacus's ModuleValidator.fix puts in place of BatchNorm.
    return nn.GroupNorm(math.gcd(32, channels), channels)


class Normalize(nn.Module):
    """Per-channel standardisation of [0, 1] pixels, so every attack and mark works in pixel units."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std  # type: ignore[operator]  # buffers, typed Tensor | Module


class CNN4(nn.Module):
    """The paper's MNIST/FMNIST network (CONF ``MNIST_CNN``): two conv blocks and two dense layers."""

    def __init__(self, in_channels: int, size: tuple[int, int], num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 5, padding=2), nn.MaxPool2d(2), nn.ReLU(), _norm(32),
            nn.Conv2d(32, 64, 5, padding=2), nn.MaxPool2d(2), nn.ReLU(), _norm(64),
            nn.Flatten(),
        )
        flat = 64 * (size[0] // 4) * (size[1] // 4)
        self.penultimate = nn.Sequential(nn.Linear(flat, 512), _norm(512), nn.ReLU())
        self.head = nn.Linear(512, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.penultimate(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


class _Block(nn.Module):
    """A basic residual block with the parameter-free "option A" shortcut (He et al., CVPR 2016)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.norm1 = _norm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.norm2 = _norm(cout)
        self.pad = cout - cin
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.norm2(self.conv2(F.relu(self.norm1(self.conv1(x)))))
        shortcut = x
        if self.stride != 1 or self.pad:
            pad = (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2)
            shortcut = F.pad(x[:, :, ::self.stride, ::self.stride], pad)
        return F.relu(out + shortcut)


class ResNet20(nn.Module):
    """CIFAR ResNet-20 (He et al. 2016; the akamaster version CONF uses), GroupNorm in place of BatchNorm."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 16, 3, padding=1, bias=False), _norm(16), nn.ReLU())
        blocks: list[nn.Module] = []
        cin = 16
        for cout, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(3):
                blocks.append(_Block(cin, cout, stride if i == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(64, num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


class TinyNet(nn.Module):
    """A few thousand parameters, for tests."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(in_channels, 8, 3, padding=1), _norm(8), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(128, 32), nn.ReLU())
        self.head = nn.Linear(32, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


class Classifier(nn.Module):
    """``Normalize`` then a network; ``embed`` gives penultimate features (radioactive data uses them)."""

    def __init__(self, normalize: Normalize, net: nn.Module) -> None:
        super().__init__()
        self.normalize = normalize
        self.net = net

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.embed(self.normalize(x))  # type: ignore[operator]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.normalize(x))


def build_model(name: str, shape: tuple[int, int, int], num_classes: int,
                mean: tuple[float, ...], std: tuple[float, ...]) -> Classifier:
    """Build a named model for images of ``shape`` (C, H, W); the global torch RNG initialises it."""
    c, h, w = shape
    if name == "cnn4":
        if min(h, w) < 4:
            raise ValueError(f"model: cnn4 needs images of at least 4x4, got {h}x{w}")
        net: nn.Module = CNN4(c, (h, w), num_classes)
    elif name == "resnet20":
        net = ResNet20(c, num_classes)
    elif name == "tiny":
        net = TinyNet(c, num_classes)
    else:
        raise ValueError(f"model: got {name!r}, expected cnn4, resnet20 or tiny")
    return Classifier(Normalize(mean, std), net)
