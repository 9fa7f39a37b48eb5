"""Reproducible ``DataLoader``s over in-memory tensors; the shuffle order follows a seed."""

from __future__ import annotations

import logging
import sys

import torch
from torch.utils.data import DataLoader, TensorDataset

from superconverge.data.dataset import Dataset
from superconverge.schedules._validate import boolean, integer

__all__ = ["make_loader", "train_val_loaders"]

log = logging.getLogger(__name__)


def make_loader(
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    *,
    drop_last: bool = False,
    num_workers: int = 0,
    pin_memory: bool = False,
) -> DataLoader[tuple[torch.Tensor, ...]]:
    """A ``DataLoader`` of ``(x, y)`` mini-batches of ``batch_size`` examples.

    The loader owns a ``torch.Generator`` seeded with ``seed``, so the sequence of shuffled
    epochs is the same on every run and independent of the global torch RNG; each new
    iteration over the loader draws the next epoch's order from that generator.

    Args:
        x, y: inputs and labels with the same first dimension.
        batch_size: examples per mini-batch (>= 1; larger than ``len(x)`` gives one batch;
            with ``drop_last=True`` that would be none, a ``ValueError``).
        shuffle: reshuffle every epoch (training); ``False`` keeps the order (evaluation).
        seed: seed of the shuffle order (and of worker seeds when ``num_workers > 0``).
        drop_last: drop the last, smaller batch.
        num_workers: worker processes; 0 (default) loads in the main process, which is the
            fastest choice for in-memory tensors.
        pin_memory: page-lock batches for faster copies to a CUDA device.
    """
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(
            f"x and y must be torch.Tensor, got {type(x).__name__} and {type(y).__name__}"
        )
    if x.ndim == 0 or y.ndim == 0 or x.shape[0] != y.shape[0]:
        raise ValueError(
            "x and y must have the same number of examples (first dimension), got "
            f"x.shape={tuple(x.shape)} and y.shape={tuple(y.shape)}"
        )
    if x.shape[0] == 0:
        raise ValueError("x and y must hold at least one example, got 0")
    batch_size = integer("batch_size", batch_size, minimum=1)
    seed = integer("seed", seed, minimum=0)
    if seed >= 2**64:  # (torch's Generator failed, "Overflow when unpacking long long", a bug
        # bash: load_synthetic and load_digits take such a seed)
        raise ValueError(f"seed must be < 2**64 (torch's generators take no larger), got {seed}")
    num_workers = integer("num_workers", num_workers, minimum=0)
    shuffle = boolean("shuffle", shuffle)
    drop_last = boolean("drop_last", drop_last)
    pin_memory = boolean("pin_memory", pin_memory)
    if drop_last and batch_size > x.shape[0]:
        raise ValueError(
            f"batch_size={batch_size} with drop_last=True over {x.shape[0]} examples gives no "
            "batch at all; lower batch_size or pass drop_last=False"
        )
    if shuffle and not drop_last and x.shape[0] % batch_size == 1 and x.shape[0] > 1:
        log.warning(
            "the last mini-batch holds a single example (%d examples, batch_size %d); "
            "BatchNorm cannot train on it; choose another batch size (or make_loader(..., "
            "drop_last=True))",
            x.shape[0],
            batch_size,
        )
    return DataLoader(
        TensorDataset(x, y),
        # (torch's sampler refuses a batch_size past sys.maxsize: one of all the examples is
        # the same batches; a smaller one stays as given, loader.batch_size reads it back)
        batch_size=batch_size if batch_size <= sys.maxsize else x.shape[0],
        shuffle=shuffle,
        drop_last=drop_last,
        num_workers=num_workers,
        pin_memory=pin_memory,
        generator=torch.Generator().manual_seed(seed),
    )


def train_val_loaders(
    dataset: Dataset,
    batch_size: int,
    seed: int = 0,
    *,
    val_batch_size: int | None = None,
    drop_last: bool = False,
    num_workers: int = 0,
    pin_memory: bool = False,
) -> tuple[DataLoader[tuple[torch.Tensor, ...]],
           DataLoader[tuple[torch.Tensor, ...]]]:
    """``(train_loader, val_loader)`` for ``dataset``: training shuffled by ``seed``, validation
    in a fixed order with ``val_batch_size`` examples per batch (default ``batch_size``).

    ``drop_last`` applies to the training loader only; validation always sees every example.
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a superconverge Dataset, got {type(dataset).__name__}")
    if val_batch_size is not None:
        val_batch_size = integer("val_batch_size", val_batch_size, minimum=1)
    if dataset.num_val == 0:
        raise ValueError(
            f"dataset {dataset.name!r} has no validation examples (num_val=0), so there is no "
            "validation loader to make; for the training loader alone use "
            "make_loader(dataset.x_train, dataset.y_train, batch_size, shuffle=True)"
        )
    train = make_loader(
        dataset.x_train, dataset.y_train, batch_size, True, seed, drop_last=drop_last,
        num_workers=num_workers, pin_memory=pin_memory,
    )
    val = make_loader(
        dataset.x_val,
        dataset.y_val,
        batch_size if val_batch_size is None else val_batch_size,
        False,
        seed,
        num_workers=num_workers,
        pin_memory=pin_memory,
    )
    return train, val
