"""Multi-layer perceptron that flattens its input, so it takes any dataset's examples."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from superconverge.schedules._validate import boolean, fraction, integer, sequence

__all__ = ["MLP"]


class MLP(nn.Module):
    """``Flatten -> [Linear -> (BatchNorm) -> ReLU -> (Dropout)] * len(hidden) -> Linear``.

    Args:
        in_features: length of one flattened example (product of the input shape).
        num_classes: output width (logits).
        hidden: width of each hidden layer; the default (100, 100) is the MNIST-1D paper's MLP.
        batch_norm: add ``BatchNorm1d`` after each hidden linear layer (which then has no bias).
        dropout: dropout probability after each hidden activation, in [0, 1).
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        hidden: Sequence[int] = (100, 100),
        batch_norm: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        in_features = integer("in_features", in_features, minimum=1)
        num_classes = integer("num_classes", num_classes, minimum=1)
        widths = [integer(f"hidden[{i}]", h, minimum=1)
                  for i, h in enumerate(sequence("hidden", hidden, "layer widths"))]
        dropout = fraction("dropout", dropout)
        batch_norm = boolean("batch_norm", batch_norm)  # "no" from a config is no True
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for h in widths:
            layers.append(nn.Linear(width, h, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm1d(h))
            layers.append(nn.ReLU(inplace=True))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(N, num_classes)`` for inputs of shape ``(N, ...)``."""
        return self.layers(x)
