"""CIFAR ResNets (He et al. 2016, section 4.2): ResNet-20/32/44/56/110 for 32x32 images.

A 3x3 stem of 16 channels, three stages of ``n`` basic blocks with 16, 32 and 64 channels
(stride 2 at the start of stages 2 and 3), global average pooling and a linear classifier:
depth ``6n + 2``. Shortcuts are **option A** as in the paper's CIFAR experiments: identity,
or — where a stage halves the resolution and doubles the width — subsampling by 2 and
zero-padding the new channels, so shortcuts add no parameters. That gives the paper's sizes:
0.27M parameters for ResNet-20, 0.85M for ResNet-56. Convolutions use He (Kaiming) normal init.
Written here rather than taken from torchvision, which has only the ImageNet variants.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from superconverge.schedules._validate import boolean, integer

__all__ = ["BasicBlock", "CifarResNet", "resnet20", "resnet56"]


class _ZeroPadShortcut(nn.Module):
    """Option-A shortcut: keep every ``stride``-th pixel, append zero channels."""

    def __init__(self, extra_channels: int, stride: int) -> None:
        super().__init__()
        self.extra_channels = extra_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))


class BasicBlock(nn.Module):
    """``conv3x3 -> BN -> ReLU -> conv3x3 -> BN``, plus the shortcut, then ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        if out_channels < in_channels:
            # The option-A shortcut pads the input with zero channels; fewer would drop some.
            raise ValueError(f"BasicBlock: out_channels ({out_channels}) must be >= in_channels "
                             f"({in_channels}): the shortcut appends zero channels, and cannot "
                             "drop any")
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = (
            _ZeroPadShortcut(out_channels - in_channels, stride)
            if stride != 1 or in_channels != out_channels
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x), inplace=True)


class CifarResNet(nn.Module):
    """ResNet of depth ``6n + 2`` for small images (CIFAR variant, option-A shortcuts).

    Args:
        depth: 20, 32, 44, 56, 110, ... (any ``6n + 2`` with ``n >= 1``).
        num_classes: output width (logits).
        in_channels: channels of the input images (3 for RGB).
        width: channels of the first stage; stages use ``width``, ``2 * width``, ``4 * width``
            (16 in the paper).
        zero_init_residual: start each block's last BatchNorm scale at 0 so blocks begin as
            identities (Goyal et al. 2017); off by default, as in the paper.
    """

    def __init__(
        self,
        depth: int,
        num_classes: int = 10,
        in_channels: int = 3,
        width: int = 16,
        zero_init_residual: bool = False,
    ) -> None:
        super().__init__()
        depth = integer("depth", depth, minimum=8)
        if (depth - 2) % 6:
            raise ValueError(f"depth must be 6n + 2 (20, 32, 44, 56, 110, ...), got {depth}")
        num_classes = integer("num_classes", num_classes, minimum=1)
        in_channels = integer("in_channels", in_channels, minimum=1)
        width = integer("width", width, minimum=1)
        blocks_per_stage = (depth - 2) // 6

        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        )
        blocks: list[nn.Module] = []
        channels = width
        for stage in range(3):
            out_channels = width * 2**stage
            for i in range(blocks_per_stage):
                stride = 2 if stage > 0 and i == 0 else 1
                blocks.append(BasicBlock(channels, out_channels, stride))
                channels = out_channels
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if boolean("zero_init_residual", zero_init_residual):
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, num_classes)`` for images ``(N, C, H, W)``."""
        return self.fc(self.pool(self.blocks(self.stem(x))).flatten(1))


def resnet20(num_classes: int = 10, in_channels: int = 3, **kwargs: object) -> CifarResNet:
    """ResNet-20 (n=3, 0.27M parameters with 10 classes)."""
    return CifarResNet(20, num_classes, in_channels, **kwargs)  # type: ignore[arg-type]


def resnet56(num_classes: int = 10, in_channels: int = 3, **kwargs: object) -> CifarResNet:
    """ResNet-56 (n=9, 0.85M parameters with 10 classes)."""
    return CifarResNet(56, num_classes, in_channels, **kwargs)  # type: ignore[arg-type]
