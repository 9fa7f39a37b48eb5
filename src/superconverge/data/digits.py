"""sklearn's bundled handwritten digits (8x8 grey images, 10 classes) — offline, no download."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch

from superconverge.data.dataset import Dataset
from superconverge.data.split import train_val_split

__all__ = ["load_digits"]

_SHAPE = (1797, 65)  # 64 pixels and the label per row


def _digits_file() -> Path | None:
    """scikit-learn's own copy of the digits (``sklearn/datasets/data/digits.csv.gz``), found
    without importing scikit-learn, or ``None``."""
    spec = importlib.util.find_spec("sklearn")  # finds the package; runs none of it
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            return path
    return None


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The pixels ``(1797, 64)`` and labels of ``sklearn.datasets.load_digits()``.

    Read straight from scikit-learn's data file: importing ``sklearn.datasets`` takes over a
    second, a fifth of the README's first command. Where the file is not where scikit-learn
    has kept it, or not as expected, scikit-learn's loader reads it.
    """
    path = _digits_file()
    if path is not None:
        try:
            table = np.loadtxt(path, delimiter=",")
        except (OSError, ValueError, EOFError):
            table = None
        if table is not None and table.shape == _SHAPE:
            return table[:, :-1], table[:, -1].astype(np.int64)
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError as exc:  # a --no-deps install, a broken environment
        raise ImportError(f"the 'digits' dataset needs scikit-learn: pip install scikit-learn "
                          f"({exc})") from exc

    bunch = sk_load_digits()
    return bunch.data, bunch.target


def load_digits(seed: int = 0, val_fraction: float = 0.2) -> Dataset:
    """The 1,797 8x8 digit images of ``sklearn.datasets.load_digits``, split by class.

    Args:
        seed: seed of the stratified train/validation split.
        val_fraction: fraction of each class held out for validation (default 0.2: 1438/359).

    Returns:
        ``Dataset`` with inputs of shape ``(N, 1, 8, 8)`` scaled from 0..16 to [0, 1].
    """
    pixels, labels = _digits_arrays()
    x = (np.asarray(pixels, dtype=np.float32) / 16.0).reshape(-1, 1, 8, 8)
    y = np.asarray(labels, dtype=np.int64)
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
