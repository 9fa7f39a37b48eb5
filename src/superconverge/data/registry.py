"""``load_dataset(name)``: every built-in dataset by name, for the CLI and ``auto``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from superconverge.data.dataset import Dataset
from superconverge.data.digits import load_digits
from superconverge.data.mnist1d import load_mnist1d
from superconverge.data.synthetic import load_synthetic
from superconverge.data.synthetic_images import load_synthetic_images

__all__ = ["dataset_names", "load_dataset"]

_LOADERS: dict[str, Callable[..., Dataset]] = {
    "digits": load_digits,
    "mnist1d": load_mnist1d,
    "synthetic": load_synthetic,
    "synthetic_images": load_synthetic_images,
}


#: Built-in datasets whose loader's default seed reproduces a published dataset (MNIST-1D's
#: 42): a recipe's run seed varies the model and the batches, not which examples they hold.
PUBLISHED: frozenset[str] = frozenset({"mnist1d"})


def dataset_names() -> tuple[str, ...]:
    """Names accepted by :func:`load_dataset`."""
    return tuple(_LOADERS)


def load_dataset(name: str, seed: int | None = None, **kwargs: Any) -> Dataset:
    """A built-in dataset by name, generated or read offline.

    Args:
        name: ``"digits"`` (sklearn 8x8 digits, ``(1, 8, 8)``), ``"mnist1d"`` (MNIST-1D,
            ``(1, 40)``), ``"synthetic"`` (Gaussian blobs, ``(20,)``) or
            ``"synthetic_images"`` (procedural RGB, ``(3, 32, 32)``).
        seed: the dataset's seed; ``None`` uses the loader's default (0, except MNIST-1D's
            42, which reproduces the published dataset).
        **kwargs: passed to the loader (``load_digits``, ``load_mnist1d``, ...), e.g.
            ``num_samples=1000`` for ``mnist1d`` or ``num_train=500`` for the synthetic sets.

    Raises:
        ValueError: unknown name (the message lists the known ones) or a bad option value.
        TypeError: an option the loader does not accept.
    """
    if name not in _LOADERS:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(_LOADERS)}")
    if seed is not None:
        kwargs["seed"] = seed
    return _LOADERS[name](**kwargs)
