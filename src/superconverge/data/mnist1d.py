"""MNIST-1D (Greydanus 2020): procedural 1-D digit signals, generated offline and cached.

``mnist1d.data.make_dataset`` builds the dataset from ten templates in about a second; it never
touches the network (unlike ``mnist1d.get_dataset``, which downloads and is never called here).
The generated arrays are cached under :func:`default_cache_dir`, keyed by every generation
argument and the ``mnist1d`` package version.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import random
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch

from superconverge.data.cache import default_cache_dir, load_cached_arrays, save_cached_arrays
from superconverge.data.dataset import Dataset
from superconverge.schedules._validate import boolean, fraction, integer

__all__ = ["MNIST1D_SEED", "load_mnist1d"]

log = logging.getLogger(__name__)

#: The generator seed of the published MNIST-1D dataset (4000 train / 1000 test signals).
MNIST1D_SEED = 42
_CACHE_FORMAT = 1


def load_mnist1d(
    seed: int = MNIST1D_SEED,
    num_samples: int = 5000,
    train_fraction: float = 0.8,
    *,
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Dataset:
    """MNIST-1D signals of length 40 as a ``Dataset`` of shape ``(N, 1, 40)``, 10 classes.

    Args:
        seed: generator seed; the default 42 reproduces the published dataset, another seed
            draws a statistically identical but different one.
        num_samples: total signals, train plus validation (default 5000: 4000 train / 1000 val,
            the published split), rounded down to a multiple of 10 (one share per class).
        train_fraction: fraction of the signals used for training; the rest is validation.
        cache: read and write the generated arrays in the cache directory.
        cache_dir: where to cache; default :func:`default_cache_dir`.

    The MNIST-1D paper's CNN (``build_model("cnn1d", ...)``) reaches about 94% on the
    published validation (test) split.
    """
    seed = integer("seed", seed, minimum=0)
    if seed >= 2**32:  # (mnist1d seeds numpy's global RNG, which failed, naming no argument)
        raise ValueError(f"seed must be < 2**32 (mnist1d seeds numpy's global generator with "
                         f"it), got {seed}")
    num_samples = integer("num_samples", num_samples, minimum=20)
    train_fraction = fraction("train_fraction", train_fraction, low_open=True)
    cache = boolean("cache", cache)  # (the string "no" was true)
    if cache_dir is not None and not isinstance(cache_dir, (str, os.PathLike)):
        raise TypeError(f"cache_dir must be a path (str or os.PathLike), got "
                        f"{type(cache_dir).__name__} {cache_dir!r}")
    total = num_samples // 10 * 10  # the generator makes num_samples // 10 signals per class
    n_train = int(total * train_fraction)
    if not 0 < n_train < total:
        raise ValueError(
            f"train_fraction={train_fraction} of num_samples={num_samples} leaves "
            f"{n_train} training and {total - n_train} validation signals; both must be >= 1"
        )
    args = _generation_args(seed, num_samples, train_fraction)

    # ("~/cache" made a folder named "~" where it ran, a review)
    try:
        # (none made where nothing is cached: a folder of its own was, with no home, a review)
        path = (Path(cache_dir).expanduser() if cache_dir is not None
                else default_cache_dir() if cache else Path("."))
    except RuntimeError as err:  # "~/cache" with no home folder: no cache, as an unwritable one
        log.warning("not caching MNIST-1D: cache_dir %s: %s", cache_dir, err)
        cache = False
        path = Path(".")
    path = path / f"mnist1d-{_cache_key(args)}.npz"
    arrays = load_cached_arrays(path) if cache else None
    if arrays is not None and not _holds(arrays, n_train, total - n_train):
        log.warning("%s does not hold the MNIST-1D split asked for (%d training and %d "
                    "validation signals of one length, labels 0-9); making it again",
                    path, n_train, total - n_train)
        arrays = None
    if arrays is None:
        arrays = _generate(args)
        if cache:
            save_cached_arrays(path, arrays)
    else:
        log.debug("loaded MNIST-1D from cache %s", path)

    missing = sorted(set(range(10)) - set(np.asarray(arrays["y"]).tolist()))
    if missing:
        # (the mnist1d package shuffles before it splits, by class or not: a bug bash's 16
        # training signals of num_samples=20 held no 9, which validation did)
        raise ValueError(
            f"num_samples={num_samples} with train_fraction={train_fraction} gives "
            f"{n_train} training signals, which hold no example of class(es) {missing} "
            "(the mnist1d package splits at random, not by class); use more num_samples "
            "(the default, 5000, holds every class)")

    def signals(key: str) -> torch.Tensor:
        x = np.asarray(arrays[key], dtype=np.float32)
        return torch.from_numpy(x.reshape(len(x), 1, -1))

    x_train, x_val = signals("x"), signals("x_test")
    return Dataset(
        x_train=x_train,
        y_train=torch.from_numpy(np.asarray(arrays["y"], dtype=np.int64)),
        x_val=x_val,
        y_val=torch.from_numpy(np.asarray(arrays["y_test"], dtype=np.int64)),
        name="mnist1d",
        num_classes=10,
        input_shape=tuple(x_train.shape[1:]),
    )


def _holds(arrays: dict[str, np.ndarray], n_train: int, n_val: int) -> bool:
    """Whether a cache entry is the dataset asked for: a file changed by hand (cut, mixed
    with another) is made again, not trusted."""
    if not {"x", "y", "x_test", "y_test"} <= arrays.keys():
        return False
    x, y, x_val, y_val = (np.asarray(arrays[k]) for k in ("x", "y", "x_test", "y_test"))
    return (x.ndim == x_val.ndim == 2 and x.shape[1] == x_val.shape[1] > 0
            and (len(x), len(y), len(x_val), len(y_val)) == (n_train, n_train, n_val, n_val)
            and y.ndim == y_val.ndim == 1
            and all(np.issubdtype(t.dtype, np.integer) and t.size and 0 <= t.min()
                    and t.max() < 10 for t in (y, y_val))
            and all(np.issubdtype(t.dtype, np.number) and np.isfinite(t).all()
                    for t in (x, x_val)))


def _generation_args(seed: int, num_samples: int, train_fraction: float) -> dict[str, Any]:
    # Only these three are exposed; everything else is the package's own default (see
    # ``mnist1d.data.get_dataset_args``), pinned in the cache key by the package version.
    return {"num_samples": num_samples, "train_split": train_fraction, "seed": seed}


def _cache_key(args: dict[str, Any]) -> str:
    try:
        version = importlib.metadata.version("mnist1d")
    except importlib.metadata.PackageNotFoundError:
        version = "missing"
    blob = json.dumps({"args": args, "mnist1d": version, "format": _CACHE_FORMAT}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _generate(args: dict[str, Any]) -> dict[str, np.ndarray]:
    """Run ``mnist1d.data.make_dataset`` without leaking its global RNG seeding."""
    try:
        from mnist1d.data import get_dataset_args, make_dataset
        from mnist1d.utils import ObjectView
    except ImportError as err:
        if importlib.util.find_spec("mnist1d") is None:
            raise ImportError(
                "the 'mnist1d' dataset needs the mnist1d package: pip install mnist1d"
            ) from err
        raise ImportError(  # installed, but something it imports is not
            f"the mnist1d package is installed but cannot be imported: {err}"
        ) from err
    log.info("generating MNIST-1D (%d signals, seed %d)", args["num_samples"], args["seed"])

    def make() -> dict[str, np.ndarray]:
        # make_dataset seeds Python's and NumPy's global RNGs; put the caller's state back.
        py_state, np_state = random.getstate(), np.random.get_state()
        try:
            full_args = get_dataset_args(as_dict=True)
            full_args.update(args)
            data = make_dataset(ObjectView(full_args))
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
        return {key: np.asarray(data[key]) for key in ("x", "y", "x_test", "y_test")}

    # Those RNGs are the process's: another thread that draws from them or seeds them (a
    # second generation, a range test's seed) meanwhile made other data, which was cached for
    # good (a user's bug bash: two find_lr threads on an empty cache, 3 of 3 trials). One
    # generation at a time, and with other threads running, two that must agree.
    with _GENERATING:
        for _ in range(3):
            # (counted before: a thread that drew and ended during the generation had made it
            # other data, a review; alone at its start, none can start meanwhile)
            alone = threading.active_count() == 1
            data = make()
            if alone:
                return data
            again = make()
            if all(np.array_equal(data[k], again[k]) for k in data):
                return data
    raise RuntimeError(
        "MNIST-1D came out different in each of three pairs of generations: another thread "
        "kept drawing from or seeding numpy's or Python's global RNG, which the mnist1d "
        "package's make_dataset seeds and draws from; generate it before starting threads "
        "(load_dataset('mnist1d') caches it)")


_GENERATING = threading.Lock()
"""One MNIST-1D generation at a time in this process (see :func:`_generate`)."""
