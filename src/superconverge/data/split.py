"""Stratified train/validation split by seed: every class keeps its share in both parts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from superconverge.schedules._validate import fraction, integer

__all__ = ["train_val_split"]

DEFAULT_VAL_FRACTION = 0.2
"""The fraction of each class held out for validation when not told (the split here, and the
file loaders' where the data has no split of its own)."""


def _missing(label: object) -> bool:
    """Whether one label (of a list or an object array) is a missing value: None, or a value
    unequal to itself (a NaN of any float type, Decimal's, a NaT)."""
    if label is None:
        return True
    try:
        return bool(label != label)
    except (TypeError, ValueError):  # (an array-like label: not one missing value)
        return False


def train_val_split(
    y: np.ndarray | Sequence[Any], val_fraction: float = DEFAULT_VAL_FRACTION, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train_idx, val_idx)`` splitting labels ``y`` by class, reproducible by ``seed``.

    Each class sends ``round(n_c * val_fraction)`` of its ``n_c`` examples to validation, but
    always keeps at least one in training. ``val_fraction=0`` holds nothing out: every example
    trains and ``val_idx`` is empty. Both index arrays come back shuffled.

    Raises:
        ValueError: ``val_fraction`` outside [0, 1), no examples, a missing label (NaN, NaT),
            or too few examples for any validation set.
    """
    val_fraction = fraction("val_fraction", val_fraction)
    seed = integer("seed", seed, minimum=0)
    given = y
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array of labels, got shape {y.shape}")
    if len(y) == 0:
        raise ValueError("no examples to split: y is empty")
    # (a list of strings with a float NaN among them becomes strings, "nan" one of them: the
    # list's own items are looked at)
    items = (y if y.dtype.kind == "O" else given if y.dtype.kind in "US"
             and not isinstance(given, np.ndarray) else None)
    missing = (np.isnan(y) if y.dtype.kind in "fc" else np.isnat(y) if y.dtype.kind in "mM"
               else np.array([_missing(v) for v in items]) if items is not None else None)
    if missing is not None and missing.any():
        # (no class: in a float array y == nan matches nothing, and such examples were left
        # out of both parts, silently; in an object array they were a class; reviews)
        raise ValueError(f"y holds {int(missing.sum())} missing label(s) (NaN, NaT or None), the "
                         f"first at index {int(np.argmax(missing))}: drop those examples or "
                         "give them a class")
    rng = np.random.default_rng(seed)
    if val_fraction == 0:
        return rng.permutation(len(y)), np.empty(0, dtype=np.int64)
    train_parts, val_parts = [], []
    # Each class's indices in increasing order, as np.flatnonzero(y == label) gives them, by
    # one stable sort: that, once a class, scanned all N labels K times (a review: 9 s for
    # 400k labels of 40k classes).
    order = np.argsort(y, kind="stable")
    _, starts = np.unique(y[order], return_index=True)
    for members in np.split(order, starts[1:]):
        idx = rng.permutation(members)
        n_val = min(round(len(idx) * val_fraction), len(idx) - 1)
        val_parts.append(idx[:n_val])
        train_parts.append(idx[n_val:])
    train_idx = np.concatenate(train_parts) if train_parts else np.empty(0, dtype=np.int64)
    val_idx = np.concatenate(val_parts) if val_parts else np.empty(0, dtype=np.int64)
    if len(val_idx) == 0 and len(train_parts) == len(y):
        raise ValueError(
            f"each of the {len(y)} examples is a class of its own: every class keeps one "
            "example in training, so no val_fraction leaves validation examples; give "
            "validation data of your own, or more examples a class"
        )
    if len(val_idx) == 0:
        # (every class rounds its share down to none: "0.2 of 200 examples" read as 40 to a
        # user of 100 classes of 2; a user's bug bash)
        largest = max(len(m) for m in train_parts)
        raise ValueError(
            f"val_fraction={val_fraction} of {len(y)} examples leaves no validation examples: "
            f"each class sends round(n * val_fraction) of its n examples to validation, and "
            f"the largest of these {len(train_parts)} classes has {largest}, round({largest} * "
            f"{val_fraction}) = 0; use a val_fraction above 0.5 / {largest} = "
            f"{0.5 / largest:.3g}, or more examples a class"
        )
    return rng.permutation(train_idx), rng.permutation(val_idx)
