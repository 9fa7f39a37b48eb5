"""Gaussian-blob classification (tabular features): the fastest built-in dataset, for tests."""

from __future__ import annotations

import numpy as np
import torch

from superconverge.data.dataset import Dataset
from superconverge.schedules._validate import integer, positive

__all__ = ["load_synthetic"]


def load_synthetic(
    seed: int = 0,
    num_train: int = 1000,
    num_val: int = 250,
    num_features: int = 20,
    num_classes: int = 4,
    class_sep: float = 1.0,
) -> Dataset:
    """Isotropic Gaussian blobs, one per class, with balanced labels.

    Class centres are drawn from ``N(0, (2 * class_sep)^2 / num_features)`` per feature, so two
    centres lie about ``2.8 * class_sep`` noise standard deviations apart whatever the
    dimension: with the default ``class_sep=1`` the classes overlap and the best accuracy is
    well below 100%, so a learning rate can be too low or too high in a visible way.

    Args:
        seed: seed of the centres, the noise and the label order.
        num_train, num_val: examples in each split (labels cycle through the classes, so
            every class has ``n // num_classes`` or one more).
        num_features: input width; inputs have shape ``(N, num_features)``.
        num_classes: number of blobs (>= 2).
        class_sep: distance scale between centres, in units of the unit noise std.
    """
    seed = integer("seed", seed, minimum=0)
    num_train = integer("num_train", num_train, minimum=1)
    num_val = integer("num_val", num_val, minimum=1)
    num_features = integer("num_features", num_features, minimum=1)
    num_classes = integer("num_classes", num_classes, minimum=2)
    if num_train < num_classes:
        raise ValueError(f"num_train={num_train} leaves {num_classes - num_train} of the "
                         f"{num_classes} classes without a training example; num_train must "
                         f"be >= num_classes")
    class_sep = positive("class_sep", class_sep)

    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(num_classes, num_features)) * (2.0 * class_sep / num_features**0.5)

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = rng.permutation(np.arange(n) % num_classes)
        x = centres[y] + rng.normal(size=(n, num_features))
        return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.int64))

    x_train, y_train = draw(num_train)
    x_val, y_val = draw(num_val)
    return Dataset(
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        name="synthetic",
        num_classes=num_classes,
        input_shape=(num_features,),
    )
