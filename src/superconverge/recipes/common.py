"""Pieces every recipe needs: data by name or path, and optimizers by name."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from superconverge._names import OPTIMIZERS
from superconverge._stack import outside
from superconverge._warning import SuperconvergeWarning
from superconverge.atomic import not_a_file
from superconverge.data import Dataset, load_csv, load_dataset, load_image_folder, load_npz
from superconverge.data.registry import PUBLISHED
from superconverge.schedules import _validate as v

FUSED_OPTIMIZERS = ("sgd", "adam", "adamw")
"""The ``OPTIMIZERS`` torch has a fused (one kernel per step) implementation of."""


FILE_OPTIONS = {
    "npz": ("val_fraction",),
    "csv": ("val_fraction", "target", "header", "delimiter"),
    "images": ("val_fraction", "size", "grayscale", "max_train", "max_val"),
}
"""The loader options :func:`load_data` takes for each kind of data (see :func:`data_kind`)."""

KIND_NAMES = {"npz": "a .npz file", "csv": "a table", "images": "an image folder"}
"""How messages name each kind of data (see :func:`data_kind`)."""


TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".data", ".dat")
"""The suffixes of text tables, read by :func:`~superconverge.data.load_csv` (delimiter by the
suffix: comma, tab, or detected from the first line; UCI's tables are ``.data``, as
``wine.data``, which ``load_csv`` read and ``find-lr --data`` refused, a review)."""


def data_kind(data: str | os.PathLike[str]) -> str:
    """``"images"`` for a folder, ``"npz"`` or ``"csv"`` (a text table: ``.csv``, ``.tsv``,
    ``.txt``, ``.data``, ``.dat``) by the file's suffix; a path that does not exist is a
    ``FileNotFoundError``, another suffix a ``ValueError``."""
    path = Path(data)
    if path.is_dir():
        return "images"
    if not path.exists():
        if path.is_symlink():  # (a loop of links, a dangling one: said so, not "no such file")
            raise not_a_file(path, "a file or folder")
        raise FileNotFoundError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return "npz"
    if suffix in TABLE_SUFFIXES:
        return "csv"
    raise ValueError(
        f"data={str(path)!r}: unknown format; expected a .npz file (arrays x, y), a table "
        "(.csv, .tsv, .txt, .data or .dat; label in the last column: a table of another "
        "suffix reads once renamed to .txt, whose delimiter is detected) or a folder of class "
        "sub-folders of images"
    )

RAW_SCALE = 10.0
"""Inputs whose mean is beyond this many units from 0, or whose std is this many times above
or below 1, are "raw": :func:`load_data` warns that the LRs found on them depend on their
units."""


def load_data(
    dataset: str | None = "digits",
    data: str | os.PathLike[str] | None = None,
    seed: int = 0,
    *,
    standardize: bool = False,
    progress: bool = False,
    **options: Any,
) -> Dataset:
    """A built-in dataset by name, or the user's data from ``data``: an ``.npz`` (arrays ``x``,
    ``y``), a table (``.csv``, ``.tsv``, ``.txt``, ``.data``, ``.dat``; label in the last
    column) or a folder of class sub-folders of images. With ``data``, leave ``dataset`` at its
    default (or ``None``): another name beside it is a ``ValueError``, not a choice made in
    silence.

    ``seed``: the seed of the train/validation split, and of a generated dataset's examples;
    the built-in ``mnist1d`` stays the published MNIST-1D whatever the seed (see
    :data:`~superconverge.data.registry.PUBLISHED`).

    ``options`` go to the file's loader: ``val_fraction`` (any file), ``target``, ``header``,
    ``delimiter`` (tables), ``size``, ``grayscale``, ``max_train``, ``max_val`` (images); one the
    format does not take is a ``ValueError``. ``progress``: a bar while an image folder is
    decoded (the other formats load in one read). ``standardize``: zero mean, unit variance
    from the training split (:meth:`Dataset.standardized`). User data far from that scale (see
    :data:`RAW_SCALE`) and not standardized gets a warning, since the range test's LRs depend
    on the input units.
    """
    if not isinstance(standardize, bool):
        raise TypeError(f"standardize must be True or False, got {standardize!r}")
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True or False, got {progress!r}")
    options = {k: x for k, x in options.items() if x is not None}
    if data is not None and dataset not in (None, "digits"):  # (digits: the default, unsaid)
        raise ValueError(f"give a built-in dataset or a data file, not both: dataset="
                         f"{dataset!r} and data={str(data)!r}")
    if data is None:
        if dataset is None:
            raise ValueError("give a built-in dataset name or a data path")
        if options:
            raise ValueError(f"{', '.join(sorted(options))}: options of a data file, not of a "
                             f"built-in dataset ({dataset})")
        # MNIST-1D stays the published dataset: the run's seed is not its generator's.
        ds = load_dataset(dataset, seed=None if dataset in PUBLISHED else seed)
        return ds.standardized() if standardize else ds
    path = Path(data)
    kind = data_kind(path)
    loader = {"images": load_image_folder, "npz": load_npz, "csv": load_csv}[kind]
    wrong = sorted(set(options) - set(FILE_OPTIONS[kind]))
    if wrong:
        what = KIND_NAMES[kind]
        raise ValueError(f"{', '.join(wrong)}: not an option of {what} ({path}); it takes "
                         f"{', '.join(FILE_OPTIONS[kind])}")
    if kind == "images":
        options["progress"] = progress
    ds = loader(path, seed=seed, **options)  # type: ignore[operator]
    if standardize:
        return ds.standardized()
    mean, std = float(ds.x_train.mean()), float(ds.x_train.std())
    if abs(mean) > RAW_SCALE or not 1 / RAW_SCALE <= std <= RAW_SCALE:
        warnings.warn(
            f"{path}: the inputs have mean {mean:.3g} and std {std:.3g}; the learning rates a "
            "range test finds depend on the input scale, and a network trains best near mean "
            "0 and std 1: standardize them (standardize=True) unless your "
            "training does the same scaling",
            SuperconvergeWarning,
            stacklevel=outside(__name__, "superconverge.recipes.find_lr"),  # (find_lr's caller)
        )
    return ds


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``device``, checked to exist here; ``None`` means ``cuda`` when available, else ``cpu``."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a device torch knows: {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r}, but this torch sees no CUDA device; use cpu")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r}, but only {torch.cuda.device_count()} CUDA devices are visible"
        )
    if dev.type == "meta":
        raise ValueError("device='meta' holds no data, so nothing can train there; use cpu "
                         "or cuda")
    if dev.type not in ("cpu", "cuda"):  # mps, xpu, ...: try it
        try:
            torch.empty(1, device=dev)
        except Exception as exc:  # torch raises RuntimeError, AssertionError, ... here
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0].split(". ")[0]
            raise ValueError(f"device={device!r} is not usable here: {first}") from None
    return dev


def make_optimizer(
    name: str,
    params: Iterable[torch.nn.Parameter] | Iterable[dict[str, Any]],
    lr: float,
    *,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    fused: bool = False,
) -> torch.optim.Optimizer:
    """``sgd`` (heavy-ball ``momentum``), ``adam``/``adamw`` (``betas=(momentum, 0.999)``) or
    ``rmsprop`` (``momentum``), with ``weight_decay`` (decoupled for ``adamw``).

    ``fused``: torch's fused implementation (``FUSED_OPTIMIZERS`` only). It takes a GradScaler
    into its own step, so an fp16 range test or training loop never waits for the GPU.
    """
    name = v.choice("optimizer", name, OPTIMIZERS)
    lr = v.positive("lr", lr)
    momentum = v.momentum("momentum", momentum)  # (a Python float: betas takes no int 0)
    weight_decay = v.non_negative("weight_decay", weight_decay)
    if not isinstance(fused, bool):
        raise TypeError(f"fused must be True or False, got {fused!r}")
    if fused and name not in FUSED_OPTIMIZERS:
        raise ValueError(f"fused=True: torch has no fused {name}; fused optimizers: "
                         f"{', '.join(FUSED_OPTIMIZERS)}")
    kw: dict[str, Any] = {"fused": True} if fused else {}
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, **kw)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(momentum, 0.999), weight_decay=weight_decay,
                                **kw)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=(momentum, 0.999),
                                 weight_decay=weight_decay, **kw)
    return torch.optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
