"""Small convolutional networks: ``SmallCNN`` for 2-D images, ``CNN1d`` for 1-D signals."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from superconverge.schedules._validate import boolean, integer, sequence

__all__ = ["CNN1d", "SmallCNN", "cnn1d_output_length"]


class SmallCNN(nn.Module):
    """A few ``conv3x3 -> BatchNorm -> ReLU`` stages, 2x2 max-pool between them, global
    average pool, linear classifier. Works for 8x8 digits and 32x32 images alike.

    Args:
        in_channels: channels of the input images (1 grey, 3 RGB).
        num_classes: output width (logits).
        widths: output channels of each stage; images must be at least
            ``2 ** (len(widths) - 1)`` pixels on each side (one pooling between stages).
        batch_norm: use BatchNorm after each convolution (convolutions then have no bias).
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        widths: Sequence[int] = (32, 64, 128),
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        in_channels = integer("in_channels", in_channels, minimum=1)
        num_classes = integer("num_classes", num_classes, minimum=1)
        chans = [integer(f"widths[{i}]", w, minimum=1)
                 for i, w in enumerate(sequence("widths", widths, "stage widths"))]
        batch_norm = boolean("batch_norm", batch_norm)
        if not chans:
            raise ValueError("widths must name at least one stage, got an empty sequence")
        layers: list[nn.Module] = []
        width = in_channels
        for i, c in enumerate(chans):
            if i > 0:
                layers.append(nn.MaxPool2d(2))
            layers.append(nn.Conv2d(width, c, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(c))
            layers.append(nn.ReLU(inplace=True))
            width = c
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(width, num_classes)
        self.min_size = 2 ** (len(chans) - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, num_classes)`` for images ``(N, C, H, W)``."""
        return self.classifier(self.pool(self.features(x)).flatten(1))


def cnn1d_output_length(length: int) -> int:
    """Signal length after ``CNN1d``'s three stride-2 convolutions (40 -> 19 -> 10 -> 5)."""
    for kernel in (5, 3, 3):
        length = (length + 2 - kernel) // 2 + 1
    return length


class CNN1d(nn.Module):
    """The MNIST-1D paper's CNN (Greydanus 2020, ``ConvBase``): about 94% on MNIST-1D.

    ``Conv1d(k=5, s=2, p=1) -> ReLU -> 2 x [Conv1d(k=3, s=2, p=1) -> ReLU] -> Linear`` on the
    flattened features; 25 channels give 5,210 parameters for length-40 signals.

    Args:
        length: signal length L (>= 3); inputs are ``(N, in_channels, L)``, or ``(N, L)`` when
            ``in_channels`` is 1.
        num_classes: output width (logits).
        in_channels: channels of the input signal.
        channels: channels of every convolution.
        batch_norm: add ``BatchNorm1d`` after each convolution (not in the paper; it lets the
            net train at the larger learning rates a 1cycle policy reaches).
    """

    def __init__(
        self,
        length: int,
        num_classes: int,
        in_channels: int = 1,
        channels: int = 25,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        length = integer("length", length, minimum=3)
        num_classes = integer("num_classes", num_classes, minimum=1)
        self.in_channels = integer("in_channels", in_channels, minimum=1)
        channels = integer("channels", channels, minimum=1)
        batch_norm = boolean("batch_norm", batch_norm)
        layers: list[nn.Module] = []
        width = self.in_channels
        for kernel in (5, 3, 3):
            layers.append(nn.Conv1d(width, channels, kernel, stride=2, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm1d(channels))
            layers.append(nn.ReLU(inplace=True))
            width = channels
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(channels * cnn1d_output_length(length), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, num_classes)`` for signals ``(N, C, L)`` (or ``(N, L)`` if C is 1)."""
        if x.ndim == 2 and self.in_channels == 1:
            x = x.unsqueeze(1)
        return self.classifier(self.features(x).flatten(1))
