"""sklearn's bundled handwritten digits (8x8 grey images, 10 classes) — offline, no download."""

from __future__ import annotations

import numpy as np
import torch

from superconverge.data.dataset import Dataset
from superconverge.data.split import train_val_split

__all__ = ["load_digits"]


def load_digits(seed: int = 0, val_fraction: float = 0.2) -> Dataset:
    """The 1,797 8x8 digit images of ``sklearn.datasets.load_digits``, split by class.

    Args:
        seed: seed of the stratified train/validation split.
        val_fraction: fraction of each class held out for validation (default 0.2: 1437/360).

    Returns:
        ``Dataset`` with inputs of shape ``(N, 1, 8, 8)`` scaled from 0..16 to [0, 1].
    """
    from sklearn.datasets import load_digits as sk_load_digits  # imported late: sklearn is slow

    bunch = sk_load_digits()
    x = (np.asarray(bunch.data, dtype=np.float32) / 16.0).reshape(-1, 1, 8, 8)
    y = np.asarray(bunch.target, dtype=np.int64)
    train_idx, val_idx = train_val_split(y, val_fraction, seed)
    return Dataset(
        x_train=torch.from_numpy(x[train_idx]),
        y_train=torch.from_numpy(y[train_idx]),
        x_val=torch.from_numpy(x[val_idx]),
        y_val=torch.from_numpy(y[val_idx]),
        name="digits",
        num_classes=10,
        input_shape=(1, 8, 8),
    )
