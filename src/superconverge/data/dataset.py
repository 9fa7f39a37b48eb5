"""``Dataset``: a small, frozen bundle of train/validation tensors and what a model must know.

Every loader in ``superconverge.data`` (built-in or user files) returns this one type, so the
rest of the library never cares where the data came from.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from superconverge.schedules._validate import non_negative

__all__ = ["Dataset"]


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """Train/validation tensors for a classification task, held in memory.

    Attributes:
        x_train, x_val: float32 inputs of shape ``(N, *input_shape)`` — ``(N, C, H, W)`` for
            images, ``(N, C, L)`` for 1-D signals, ``(N, F)`` for tabular features.
        y_train, y_val: int64 class labels in ``[0, num_classes)``, shape ``(N,)``.
        name: short name used in logs, reports and file names.
        num_classes: number of classes (the model's output width).
        input_shape: shape of one example, without the batch dimension.
        class_names: one readable name per class; ``("0", "1", ...)`` when none are known.

    Models that need a flat vector (``MLP``) flatten their input themselves, so one dataset
    serves every model; there is no separate "flat view".
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    name: str
    num_classes: int
    input_shape: tuple[int, ...]
    class_names: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        shape = self.input_shape
        if isinstance(shape, str) or not isinstance(shape, Sequence):
            raise TypeError(f"input_shape must be a sequence of ints, got {shape!r}")
        object.__setattr__(self, "input_shape", tuple(int(d) for d in shape))
        if isinstance(self.num_classes, bool) or not isinstance(self.num_classes, numbers.Integral):
            raise TypeError(f"num_classes must be an int, got {self.num_classes!r}")
        object.__setattr__(self, "num_classes", int(self.num_classes))
        if self.num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {self.num_classes}")
        for split in ("train", "val"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
                raise TypeError(
                    f"x_{split} and y_{split} must be torch.Tensor, got "
                    f"{type(x).__name__} and {type(y).__name__}"
                )
            if x.dtype != torch.float32:
                raise TypeError(f"x_{split} must be float32, got {x.dtype}")
            if y.dtype != torch.int64:
                raise TypeError(f"y_{split} must be int64 labels, got {y.dtype}")
            if y.ndim != 1 or x.shape[0] != y.shape[0]:
                raise ValueError(
                    f"x_{split} and y_{split} must hold the same number of examples, got "
                    f"x_{split}.shape={tuple(x.shape)} and y_{split}.shape={tuple(y.shape)}"
                )
            if tuple(x.shape[1:]) != self.input_shape:
                raise ValueError(
                    f"x_{split} examples have shape {tuple(x.shape[1:])}, "
                    f"expected input_shape={self.input_shape}"
                )
            if y.numel() and (int(y.min()) < 0 or int(y.max()) >= self.num_classes):
                raise ValueError(
                    f"y_{split} labels must lie in [0, {self.num_classes}), "
                    f"got range [{int(y.min())}, {int(y.max())}]"
                )
        if self.x_train.shape[0] == 0:
            raise ValueError("x_train must hold at least one example, got 0")
        if not self.class_names:
            object.__setattr__(self, "class_names", tuple(str(i) for i in range(self.num_classes)))
        elif len(self.class_names) != self.num_classes:
            raise ValueError(
                f"class_names must have num_classes={self.num_classes} entries, "
                f"got {len(self.class_names)}"
            )
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))

    def __repr__(self) -> str:
        # The sizes, not the tensors: a dataclass's repr printed every number of them.
        classes = ", ".join(self.class_names[:5]) + (", ..." if self.num_classes > 5 else "")
        return (f"Dataset({self.name!r}: {self.num_train} train + {self.num_val} val examples "
                f"of shape {self.input_shape}, {self.num_classes} classes ({classes}))")

    @property
    def num_train(self) -> int:
        """Number of training examples."""
        return int(self.x_train.shape[0])

    @property
    def num_val(self) -> int:
        """Number of validation examples."""
        return int(self.x_val.shape[0])

    def describe(self) -> dict[str, Any]:
        """JSON-friendly summary (no tensors) for logs, reports and provenance."""
        return {
            "name": self.name,
            "num_classes": self.num_classes,
            "input_shape": list(self.input_shape),
            "num_train": self.num_train,
            "num_val": self.num_val,
            "class_names": list(self.class_names),
        }

    def standardized(self, eps: float = 0.0) -> Dataset:
        """A copy whose inputs have zero mean and unit variance, using training statistics only.

        Statistics are per channel (dimension 1) for images and signals, per feature for flat
        tabular data; validation inputs reuse the training mean and std so nothing leaks.
        Useful for CSV/.npz data whose columns have very different scales. A feature that is
        constant in the training split (spread over no more than the rounding of its values:
        4 times float32's epsilon times the largest; or a std at most ``eps``, where given) is
        only centred, as scikit-learn's ``StandardScaler`` does: dividing by the rounding
        noise of its std would blow up the validation inputs where it is not constant. A
        column that varies little beside a large mean (timestamps an hour apart,
        around 1.7e9) is not constant, and is scaled; nor is one of small values that vary
        (capacitances in farads, a std of 1e-9 around 3e-9).
        Needs at least 2 training examples (``ValueError``).
        """
        eps = non_negative("eps", eps)
        x = self.x_train
        if x.shape[0] < 2:
            raise ValueError(
                f"standardized() needs at least 2 training examples for a std, got {x.shape[0]} "
                f"({self.name})"
            )
        dims = [0] if x.ndim == 2 else [0, *range(2, x.ndim)]
        # Statistics of the values less their minimum: a float32 mean of 400 timestamps around
        # 1.7e9 is off by 128 (their spacing), which centring would leave in every value; less
        # the minimum (exact, for values within a factor 2 of it) they are small and exact.
        low, high = x.amin(dim=dims, keepdim=True), x.amax(dim=dims, keepdim=True)
        span = high - low  # (inf where a column spans past float32's range)
        if not torch.isfinite(span).all():
            x = x.double()  # a column spanning past float32's range: computed in float64
        shifted = x - low
        mean = shifted.mean(dim=dims, keepdim=True)
        std = shifted.std(dim=dims, keepdim=True)
        # Constant: spread over no more than the rounding of its values, 4 units in the last
        # place of the largest (the data's epsilon times it): a float32 1000.0 beside its next
        # float up, divided by that std, made a validation 1001 into 163840, and a float32
        # mean of copies spread over 2 units did so at any level (reviews: 1.5e5 at 0.3 and
        # at 1234); or a std under eps, where one is given. Not a std under a share of the
        # mean: timestamps an hour apart around 1.7e9 have a std under 1e-6 of it, and vary
        # (18 units; 20 minutes of them, 6 units, were centred alone at 8, a review); nor
        # under a fixed size by default (1e-8 left capacitances in farads, a std of 1e-9,
        # unscaled, and a model learned nothing from them: a bug bash). Distinct values 4
        # units apart or less (whole numbers 4 apart at 2**25) are told from rounding by
        # nothing float32 keeps: centred alone, they stay within 4 units of 0.
        rounding = torch.finfo(self.x_train.dtype).eps * torch.maximum(low.abs(), high.abs())
        constant = (span <= 4 * rounding) | (std <= eps)
        std = torch.where(constant, torch.ones_like(std), std)
        return Dataset(
            x_train=((shifted - mean) / std).to(self.x_train.dtype),
            y_train=self.y_train,
            x_val=((self.x_val.to(x.dtype) - low - mean) / std).to(self.x_val.dtype),
            y_val=self.y_val,
            name=self.name,
            num_classes=self.num_classes,
            input_shape=self.input_shape,
            class_names=self.class_names,
        )
