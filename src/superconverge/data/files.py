"""Your own data: ``.npz`` arrays, a CSV table, or a folder of images, as a ``Dataset``.

Each loader checks what it reads and raises ``ValueError`` naming the file and what was
expected (a missing array, mismatched lengths, a non-numeric cell, an unreadable image), so a
bad file fails at load time with a message, not mid-training with a shape error.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import itertools
import logging
import math
import numbers
import os
import re
import time
import unicodedata
import warnings
import zipfile
from collections.abc import Hashable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import torch

from superconverge._names import MAX_IMAGE_SIZE
from superconverge._progress import progress_bar
from superconverge._stack import outside
from superconverge._warning import SuperconvergeWarning
from superconverge.atomic import not_a_file
from superconverge.data.dataset import Dataset
from superconverge.data.split import DEFAULT_VAL_FRACTION, train_val_split
from superconverge.schedules._validate import boolean, fraction, integer

__all__ = ["IMAGE_EXTENSIONS", "image_shape", "load_csv", "load_image_folder", "load_npz"]

log = logging.getLogger(__name__)

_OURS = (__name__, "superconverge.data.loaders", "superconverge.recipes.common",
         "superconverge.recipes.find_lr")
"""Where the loaders' warnings look past for the caller's line: the recipes read files for
their caller (a bug bash: a table's warnings pointed into load_data, or into this module at
another depth)."""

#: File suffixes ``load_image_folder`` reads (case-insensitive); other files are skipped.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".jfif", ".jpe", ".bmp", ".gif", ".webp", ".tif",
                    ".tiff", ".ppm", ".pgm", ".pbm", ".pnm", ".tga")


# --------------------------------------------------------------------------------------- npz

#: The suffixes of an .npz archive's own validation split, ``x_<s>`` and ``y_<s>``, in order of
#: preference (an image folder's ``val/`` ... ``testing/``, VAL_FOLDERS, in the same order).
VAL_SPLITS = ("val", "valid", "validation", "test", "testing")
TEST_SPLITS = ("test", "testing")
"""Of :data:`VAL_SPLITS`, a test set's: taken for validation only where no ``val_fraction``
asks for ``x`` and ``y`` to be split instead."""


def _check_name(name: object) -> None:
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a str or None, got {name!r} ({type(name).__name__})")


def load_npz(
    path: str | os.PathLike[str],
    *,
    val_fraction: float | None = None,
    seed: int = 0,
    name: str | None = None,
) -> Dataset:
    """A ``Dataset`` from a NumPy ``.npz`` archive (``np.savez(path, x=..., y=...)``).

    The archive holds ``x`` (inputs, ``(N, ...)``: ``(N, C, H, W)`` images, ``(N, C, L)``
    signals or ``(N, F)`` features; a 1-D ``x`` is read as one feature) and ``y`` (``N``
    integer labels >= 0, or strings or UTF-8 bytes naming the classes; integer labels other
    than ``0..K-1`` are numbered in sorted order, ``class_names`` keeping the originals). With
    ``x_val`` and ``y_val`` too, those are the validation split (every class in ``y_val``
    must occur in ``y``), and a ``val_fraction`` given too is refused (it would be ignored);
    so are ``x_valid``/``y_valid``, ``x_validation``/``y_validation``, ``x_test``/``y_test``
    or ``x_testing``/``y_testing`` (the first whole pair of these, in this order, as for an
    image folder's ``val/`` or ``test/``: the mnist1d package's archives hold ``x_test``), but
    a test pair only without ``val_fraction``, which splits ``x`` and ``y`` and leaves the test
    arrays out (an ``x_test`` without ``y_test``, unlabelled, is left out too); otherwise
    ``val_fraction`` (default 0.2) of each class is held out (stratified, reproducible by
    ``seed``). Inputs become float32 unchanged — call
    ``Dataset.standardized()`` to rescale them.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: not an .npz archive, a missing or empty array (no examples, or no
            values per example such as shape ``(N, 0)``), mismatched lengths, non-numeric or
            non-finite inputs, labels that are not class indices or names (negative, not
            whole, or beyond int64), or a ``y_val`` class that ``y`` never has.
    """
    _check_name(name)
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a folder, expected an .npz archive with x and y "
                                "(load_image_folder reads a folder of images)")
    if not path.is_file():
        raise not_a_file(path, "an .npz archive with x and y")
    seed = integer("seed", seed, minimum=0)  # (unused when the archive holds its split)
    with path.open("rb") as f:
        magic = f.read(6)
    if magic == b"\x93NUMPY":
        raise ValueError(
            f"{path}: holds a single array (an .npy file), expected an .npz archive with "
            "arrays 'x' and 'y' (write it with np.savez(path, x=x, y=y))"
        )
    if not zipfile.is_zipfile(path):
        if magic[:4] == b"PK\x03\x04":
            # a zip's table of contents is at its end: a copy cut short has none
            raise ValueError(
                f"{path}: a damaged or truncated .npz archive (it begins as one, but its end, "
                "the archive's table of contents, is missing or corrupt): copy or write it "
                "again")
        raise ValueError(
            f"{path}: not an .npz archive (not a zip file); expected one written by "
            "np.savez(path, x=x, y=y)"
        )
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as err:  # numpy raises many types for damaged archives
        raise ValueError(f"{path}: not a readable .npz archive: {err}") from err
    with archive:
        keys = set(archive.files)
        for key in ("x", "y"):
            if key not in keys:
                raise ValueError(
                    f"{path}: missing array {key!r}; found {sorted(keys)}, expected 'x' and "
                    "'y' (optionally 'x_val' and 'y_val', or 'x_test' and 'y_test')"
                )
        if ("x_val" in keys) != ("y_val" in keys):
            raise ValueError(f"{path}: has one of 'x_val'/'y_val' without the other; give both")
        # The first whole pair (an x_test alone is an unlabelled test set, left out); a test
        # split only where val_fraction does not ask for x and y to be split instead (a review
        # of the first version, which refused both files).
        split = next((s for s in VAL_SPLITS if f"x_{s}" in keys and f"y_{s}" in keys
                      and not (s in TEST_SPLITS and val_fraction is not None)), None)
        if split is None and any(f"x_{s}" in keys and f"y_{s}" in keys for s in TEST_SPLITS):
            log.info("%s: its test arrays are left out; %s", path,
                     "every example of x and y trains (val_fraction=0)" if val_fraction == 0
                     else f"x and y are split by val_fraction={val_fraction}")
        wanted = {"x": "x", "y": "y"}
        if split is not None:
            wanted.update(x_val=f"x_{split}", y_val=f"y_{split}")
        try:
            arrays = {key: archive[member] for key, member in wanted.items()}
        except Exception as err:  # damaged members, object arrays (pickles are refused)
            hint = ("; an array of Python objects (pandas' .values of text?) is saved as "
                    "text with y.astype(str)" if "Object arrays" in str(err) else "")
            raise ValueError(
                f"{path}: cannot read its arrays ({err}); expected numeric or text arrays "
                f"written by np.savez{hint}"
            ) from err
    for key, value in arrays.items():
        if not isinstance(value, np.ndarray):  # numpy returns raw bytes for non-.npy members
            raise ValueError(
                f"{path}: member {key!r} is not a NumPy array; expected arrays written by np.savez"
            )

    x = _inputs(arrays["x"], path, "x")
    y = _label_column(arrays["y"], path, "y", len(x))
    if "x_val" in arrays:
        _no_fraction(val_fraction, path, f"the file holds its own validation split (x_{split}, "
                     f"y_{split})")
        unfit = _unfit_test(arrays["x_val"], arrays["y_val"], x, split) if (
            split in TEST_SPLITS) else None
        if unfit is None:
            way_out = ("; or pass val_fraction to split x and y and leave the test arrays out"
                       if split in TEST_SPLITS else "")
            try:
                x_val = _inputs(arrays["x_val"], path, f"x_{split}")
                y_val = _label_column(arrays["y_val"], path, f"y_{split}", len(x_val))
                if x_val.shape[1:] != x.shape[1:]:
                    raise ValueError(
                        f"{path}: x_{split} examples have shape {x_val.shape[1:]}, but x "
                        f"examples have shape {x.shape[1:]}; they must match"
                    )
            except ValueError as err:
                # A labelled test set with a mistake in it: said as its own, with the way out
                if not way_out:
                    raise
                raise ValueError(f"{err} (in x_{split}/y_{split}){way_out}") from err
            try:
                return _build(name or path.stem, x, y, x_val, y_val, path,
                              val_key=f"y_{split}")
            except ValueError as err:
                if way_out and f"y_{split} has label(s) " in str(err):  # (a class y lacks)
                    raise ValueError(f"{err}{way_out}") from err
                if not way_out or _labels_error(y, path) is not None:
                    raise  # (y's own mistake, or the two together: no way out of it)
                own = _labels_error(y_val, path)  # (a test label NaN, 0.5, "")
                if own is None:
                    raise
                raise ValueError(f"{own} (in y_{split}){way_out}") from err
        # A test set that is no validation split for x and y: left out, x and y split, as
        # before these names were read (a review: refused where it had loaded)
        warnings.warn(f"{path}: x_{split} and y_{split} are left out ({unfit}); "
                      f"{DEFAULT_VAL_FRACTION} of x and y is held out for validation instead "
                      f"(val_fraction={DEFAULT_VAL_FRACTION}, the default)", SuperconvergeWarning,
                      stacklevel=outside(*_OURS))
    return _split_and_build(name or path.stem, x, y, val_fraction, seed, path)


def _labels_error(labels: np.ndarray, path: Path) -> str | None:
    """What is wrong with ``labels`` read on their own (NaN, 0.5, ""), or ``None``."""
    try:
        _encode_labels(labels, path)
    except ValueError as err:
        return str(err)
    return None


def _unfit_test(x_test: np.ndarray, y_test: np.ndarray, x: np.ndarray, split: str) -> str | None:
    """Why an archive's test pair is no validation split for ``x`` (Kaggle's unlabelled test
    sets hold labels of -1; a test set of other inputs), or ``None``: a labelled one, whose
    mistakes are errors."""
    if x_test.dtype.kind not in "biuf":
        return f"x_{split} holds no numbers"
    if x_test.ndim == 0:
        return f"x_{split} is a single number"
    shape = x_test.shape[1:] if x_test.ndim > 1 else (1,)  # (one feature: as _inputs reads it)
    if shape != x.shape[1:]:
        return f"x_{split} examples have shape {shape}, x examples {x.shape[1:]}"
    if y_test.dtype.kind in "biuf" and y_test.size and bool((y_test < 0).any()):
        return f"y_{split} holds negative labels: unlabelled"
    return None


def _inputs(x: np.ndarray, path: Path, key: str) -> np.ndarray:
    if x.dtype.kind not in "biuf":
        raise ValueError(
            f"{path}: array {key!r} has dtype {x.dtype}, expected numbers (bool, int or float)"
        )
    if x.ndim == 0:
        raise ValueError(f"{path}: array {key!r} is a scalar, expected shape (N, ...)")
    if len(x) == 0:
        raise ValueError(f"{path}: array {key!r} has no examples (shape {x.shape})")
    if x.size == 0:  # (N, 0) features, (N, 0, L) channels, ...: nothing to learn from
        raise ValueError(
            f"{path}: array {key!r} has shape {x.shape}, no input values per example; "
            "expected (N, ...) with every dimension after N at least 1"
        )
    raw = x
    with np.errstate(over="ignore"):  # a value beyond float32 becomes inf, refused below
        x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        raise ValueError(f"{path}: array {key!r} contains NaN or infinite values "
                         f"{_where_not_finite(x, raw)}")
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    return x


def _label_column(y: np.ndarray, path: Path, key: str, n: int) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:  # a column vector, as Keras and sklearn often keep it
        y = y[:, 0]
    if y.ndim != 1 or len(y) != n:
        hint = ""
        if (y.ndim == 2 and len(y) == n and y.shape[1] > 1 and y.dtype.kind in "biuf"
                and np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all()):
            hint = (f"; it looks one-hot ({y.shape[1]} columns of 0/1, one 1 a row): store "
                    f"the class indices, y.argmax(axis=1)")
        raise ValueError(
            f"{path}: {key!r} must hold one label per example, shape ({n},) to match the "
            f"inputs, got shape {y.shape}{hint}"
        )
    return y


def _first_not_finite(x: np.ndarray) -> tuple[tuple[int, ...], int]:
    """The index of ``x``'s first NaN or infinite value, and how many it has (at least one)."""
    bad = ~np.isfinite(x)
    first = np.unravel_index(int(np.argmax(bad)), x.shape)
    return tuple(int(i) for i in first), int(bad.sum())


def _where_not_finite(x: np.ndarray, raw: np.ndarray) -> str:
    """``"(3 values; the first: example 17, position (2,), nan)"`` for the float32 ``x`` made
    from ``raw`` (same shape), which has non-finite values."""
    first, count = _first_not_finite(x)
    where = f"example {first[0]}" + (f", position {first[1:]}" if x.ndim > 1 else "")
    value = raw[first].item()
    what = (f"{value!r}, beyond float32's range" if isinstance(value, float)
            and math.isfinite(value) else repr(value))
    return f"({count} value{'s' if count > 1 else ''}; the first: {where}, {what})"


def _not_finite_cell(
    path: Path, x: np.ndarray, delimiter: str, header: bool, t: int, names: list[str],
    encoding: str, row_names: bool = False,
) -> str:
    """Where the first non-finite feature of a table's ``x`` is: the file is read again up to
    its row (an error path: rows carry no line numbers); ``row_names``: its rows' first cells
    are their names, left out."""
    (r, j), count = _first_not_finite(x)
    column = [i for i in range(len(names)) if i != t][j]
    with path.open(newline="", encoding=encoding) as f:
        rows = _without_comments(_table_rows(f, delimiter), delimiter, header)
        if header:
            next(rows)
        for _ in range(r):
            next(rows)
        line, cells = next(rows)
    cell = cells[column + row_names].strip()
    try:  # 1e39 is a finite number, beyond float32's range (the inf it became)
        beyond = math.isfinite(float(cell))
    except ValueError:  # pragma: no cover - the cell was read as a float once already
        beyond = False
    s = "s" if count > 1 else ""
    if beyond:
        return (f"line {line}, column {names[column]!r}: {cell!r} is beyond float32's range "
                f"(about 3.4e38; {count} cell{s} not finite as float32); rescale that column, "
                "or drop or fill those rows")
    return (f"line {line}, column {names[column]!r}: {cell!r} is not a finite number "
            f"({count} such cell{s}); drop or fill those rows")


# --------------------------------------------------------------------------------------- csv


def load_csv(
    path: str | os.PathLike[str],
    target: str | int = -1,
    *,
    header: bool | None = None,
    delimiter: str | None = None,
    val_fraction: float | None = None,
    seed: int = 0,
    name: str | None = None,
) -> Dataset:
    """A ``Dataset`` from a CSV table: one example per row, numeric feature columns, one label.

    Args:
        path: the CSV file: UTF-8, or UTF-16 or UTF-32 with a byte-order mark (as Excel's
            "Unicode Text" writes: tab-separated, which a ``.txt`` suffix sniffs).
        target: the label column, by header name or by index (default -1: the last column).
            Labels are integers >= 0 or class names (any text); integers other than
            ``0..K-1`` are numbered in sorted order, ``class_names`` keeping the originals.
            A column of numbers is read as exact integers and must fit in int64.
        header: whether the first row names the columns (a first row that starts with ``#``
            and a space, or with ``#`` and names, as ``np.savetxt(..., header=...)`` writes it,
            does, its ``#`` dropped; with ``header=False`` every row is data); ``None``
            detects it: the first row
            is a header when it has text where the second row has numbers (not a text label
            that occurs again below: a class of a column mixing both), or when the label
            column holds text and the first row's label never occurs below it (numeric
            column names such as ``2019,2020,label``), or when it holds a number beyond the
            numeric labels below it by more than one (``2019,2020,2021`` over labels 0..2).
            A ``str`` target implies a header, and so does an ``int`` that is no column's
            index but a first-row name (``2019``) where that row holds text too; in a first
            row of numbers alone it is out of range unless ``header=True``. A header one name
            short of the rows below it (R's ``write.table``, which writes the rows' names
            first and does not name them) names the columns after the first: the rows' names
            are left out, with a warning. Only where the header has no empty name and the row
            below holds a number after its first cell and ends with a value (not Excel's
            ``sep=`` line, a title above a header, or a trailing separator); and, unless
            ``header=True``, where the header is not all numbers and the row below begins
            with ``1`` (R's first name) or text (not one more column at the rows' end).
        delimiter: the field separator, one character; ``" "`` splits on runs of spaces and
            tabs (a table ``np.savetxt`` writes), a cell that begins with a double quote
            running to its closing quote (R's ``write.table``: ``"New York"``). Default, by
            the file's suffix: ``","`` for
            ``.csv`` (a file separated by ``;`` or tabs fails with a hint), a tab for
            ``.tsv``, and for any other (``.txt``) the first of tab, ``,`` and ``;`` that the
            first line holds, else whitespace.
        val_fraction, seed: stratified validation split (default 0.2), reproducible by seed.
        name: dataset name; default the file's stem.

    Inputs have shape ``(N, F)`` float32, unscaled: call ``Dataset.standardized()`` when the
    columns have different units.

    A clean table is parsed by numpy's C reader; a table it could read differently (or not at
    all) by a parser of our own, a block of rows at a time, which names the line and column of
    what is wrong. Both give the same result wherever both read the table.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: empty file, unknown target column, rows of different lengths, a
            non-numeric or empty feature cell (the message names the line and column), or
            numeric labels that are negative, not whole, or beyond int64 (naming the label).
    """
    _check_name(name)
    seed = integer("seed", seed, minimum=0)
    if header is not None:
        header = boolean("header", header)
    path = Path(path)
    if isinstance(target, numbers.Integral) and not isinstance(target, bool):
        target = int(target)  # a numpy integer (a column index from np.argmax, say)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a folder, expected a CSV table "
                                "(load_image_folder reads a folder of images)")
    if not path.is_file():
        raise not_a_file(path, "a CSV table")
    with path.open("rb") as raw:
        head = raw.read(4096)
    encoding = _encoding(head)
    binary = _not_text(head, encoding)
    if binary:
        raise ValueError(f"{path}: not a text table: {binary}")
    try:
        if delimiter is None:
            delimiter = _suffix_delimiter(path, encoding)
        elif not isinstance(delimiter, str):
            raise TypeError(f"delimiter must be a one-character string, got {delimiter!r}")
        elif len(delimiter) != 1 or delimiter in "\r\n\"":
            raise ValueError(f"delimiter must be one character other than a quote or a line "
                             f"break, got {delimiter!r}")
        with path.open(newline="", encoding=encoding) as f:
            # (line number, cells) so errors can point at the line; blank lines are skipped.
            rows = _without_comments(_table_rows(f, delimiter, str(path)), delimiter, header)
            first = next(rows, None)
            if first is not None and header is not False and _savetxt_header(first[1], header):
                # np.savetxt(..., header=...) writes "# a b label": the names, "#" dropped
                header = True
                as_written = first[1][0].strip()
                first = (first[0], _after_hash(first[1], delimiter))
                if (isinstance(target, str) and target.strip() == as_written
                        and target not in first[1]):
                    # the first column's name as the file shows it, "#label" (a review: "no
                    # column named '#label'; columns are ['label', ...]")
                    target = first[1][0]
            if first is None:
                raise ValueError(
                    f"{path}: empty CSV file, expected rows of numbers and a label column"
                )
            second = next(rows, None)
            trimmed = (delimiter != " " and second is not None and len(first[1]) >= 3
                       and len(second[1]) == len(first[1])
                       and not first[1][-1].strip() and not second[1][-1].strip())
            if trimmed:
                # The first two lines end with the separator (a spreadsheet's empty last
                # column, a writer that prints "value," in a loop): that column is no column.
                # Each line whose last cell is empty loses it (a review: a header "a,b,label,"
                # over such rows could not be read at all, and the advice to choose the label
                # led to "a missing value" in every row). A line with a value there is
                # refused, saying so.
                assert second is not None
                said = (f"{path}: lines {first[0]} and {second[0]} end with {delimiter!r}, an "
                        "empty last column")
                first, second = (first[0], first[1][:-1]), (second[0], second[1][:-1])
                rows = _without_last(rows, len(first[1]) + 1, said)
                warnings.warn(f"{said}: read without it, on every line where it is empty",
                              SuperconvergeWarning, stacklevel=outside(*_OURS))
            # R's write.table writes the rows' names first, with no name for them in the header
            # (with any sep: spaces by default, tabs for a .tsv): a header one name short of the
            # rows below it, which R's read.table reads as the row names, and so does this (a
            # review: refused, "is line 1 a title above it"). Only where the first row's names
            # are all there, and the row below holds a number after its first cell and ends
            # with a value; and, unless header=True says the first row names the columns, where
            # those names are not all numbers and the row below begins with a name, R's first
            # ("1") or text. Not a title above a header, Excel's "sep=," line, a trailing
            # separator on the rows, or one more column at their end. (R's write.csv names its
            # row names "", which is read below as pandas' index is.)
            row_names = (second is not None and len(first[1]) >= 2
                         and len(second[1]) == len(first[1]) + 1 and header is not False
                         and all(c.strip() for c in first[1])
                         and any(map(_is_number, second[1][1:])) and second[1][-1].strip() != ""
                         and (header is True or (
                             not all(map(_is_number, first[1]))
                             and (second[1][0].strip() == "1" or not _is_number(second[1][0])))))
            if row_names:
                assert second is not None
                warnings.warn(
                    f"{path}: line {first[0]} names {len(first[1])} columns and line "
                    f"{second[0]} holds {len(second[1])}: the first column is read as the "
                    "rows' names (R's write.table writes them so) and left out",
                    SuperconvergeWarning, stacklevel=outside(*_OURS))
                header = True
                second = (second[0], second[1][1:])
                rows = _without_first(rows)
            width = len(first[1])
            if width < 2:
                hint = _delimiter_hint(first[1], delimiter)
                # A title above the table: the next line has columns. (Unless both lines hold
                # another separator, "a;b;label" over "1,5;2,5;0": that one's hint, then.)
                after = second
                sep = _other_separator(first[1], delimiter)
                if after is not None and len(after[1]) > 1 and (
                        sep is None or sep not in delimiter.join(after[1])):
                    raise ValueError(
                        f"{path}: line {first[0]} has 1 column and line {after[0]} has "
                        f"{len(after[1])}{_preamble_hint(first[0])}")
                if not hint and delimiter != " " and len(first[1][0].split()) > 1:
                    # np.savetxt's default separator (under a header row "a b label" too)
                    hint = ("; the line holds spaces: if they separate the columns, pass "
                            "delimiter=' '")
                raise ValueError(
                    f"{path}: found 1 column, expected at least one feature and one label column"
                    + hint
                )
            heads = [c.strip() for c in first[1]]
            # An int that is no column's index, and the first row holds it: a column's name
            # (2019), where that row has text too or header=True says it is one. A first row
            # of numbers alone is as likely a headerless table's first example (reviews: one
            # that held a 10 was taken for a header by --target 10, a feature read as the
            # labels and the label column as a feature, silently; no rule on the rows below
            # told the two apart, an outlier in a feature column passed for a name).
            if (isinstance(target, int) and not isinstance(target, bool)
                    and not -width <= target < width and header is not False
                    and str(target) in heads):
                if header is None and all(map(_is_number, heads)):
                    raise ValueError(
                        f"target={target} is out of range for {path} with {width} columns "
                        f"(its first row holds a {target}, but a number in a first row of "
                        "numbers alone names a column only with header=True: pass it if that "
                        "row names the columns)")
                target = str(target)
            if header is None and isinstance(target, str):
                header = True
            t = _target_index(target, heads if header else None, width, path)
            body = None
            # the table starts on the file's first line, and its first row ends there (a quoted
            # field may hold a line break); the fast path reads the file as it is
            if (first[0] == 1 and second is not None and not row_names
                    and not any("\n" in c or "\r" in c for c in first[1])):
                body = _read_body_fast(path, delimiter, width, t, second[1], encoding, trimmed)
            if body is None:
                body = _read_rows(itertools.chain([second] if second else [], rows), width, t,
                                  path, first[0], first[1])
    except _QuoteError as err:
        raise ValueError(f"{path}: {err}") from err
    except (UnicodeDecodeError, csv.Error) as err:
        hint = ("; save it as UTF-8 (Excel: 'CSV UTF-8')"
                if isinstance(err, UnicodeDecodeError) else "")
        raise ValueError(f"{path}: not a readable {_ENCODING_NAMES[encoding]} CSV file: "
                         f"{err}{hint}") from err

    if header is None:
        header = _looks_like_header(first[1], body.second, body.label_set(), target)
    names = heads if header else [str(i) for i in range(width)]
    # With the default target (the last column), a column elsewhere named as labels are
    # ("class,a,b,count"): most likely the label, read as a feature.
    lowered = [n.lower() for n in names]
    label_names = _LABEL_NAMES | ({"y"} if "x" not in lowered else set())
    named = next((i for i, n in enumerate(lowered) if i != t and n in label_names),
                 None) if header and target == -1 and lowered[t] not in label_names else None
    ask = "" if named is None else f"is column {names[named]!r} the label?"
    choose = (f"; {ask} The last column, {names[t]!r}, was read as the label (target=-1): "
              f"choose it with target={names[named]!r}" if named is not None else "")
    parts = [body] if header else [_read_rows(iter([first]), width, t, path), body]
    for part in parts:  # in file order: the first row, when it is an example, first
        if part.bad_cell is not None:
            hint = choose if part.bad_cell[1] == named else ""
            if not hint and target == -1:
                hint = _measured_label_hint(parts, *part.bad_cell, names, t)
            _raise_not_a_number(path, *part.bad_cell, names, delimiter, hint)
    x = np.concatenate([part.x for part in parts])
    labels = np.concatenate([part.labels for part in parts])
    empty_label = next((p.empty_label for p in parts if p.empty_label is not None), None)
    missing = next((p.missing_label for p in parts if p.missing_label is not None), None)
    if len(x) == 0:  # (a stray quote in the header swallows the rows below it)
        raise ValueError(f"{path}: no examples, only a header row"
                         + _quote_hint(first[1], first[0]))
    if len(x) < 2:
        raise ValueError(f"{path}: found {len(x)} data row(s), expected at least 2"
                         + _quote_hint(first[1], first[0]))
    if not np.isfinite(x).all():
        raise ValueError(
            f"{path}: "
            f"{_not_finite_cell(path, x, delimiter, header, t, names, encoding, row_names)}")
    if empty_label is not None:
        trailing = t == width - 1 and not first[1][-1].strip()
        raise ValueError(
            f"{path}: line {empty_label}, column {names[t]!r}: the label is empty"
            + (f"; does every line end with {delimiter!r}? Remove the trailing separator, or "
               "choose the label column with target=NAME (or its index)" if trailing else ""))
    if missing is not None and all(
            _is_number(v) for v in np.unique(labels).tolist() if v.lower() not in _MISSING):
        raise ValueError(
            f"{path}: line {missing[0]}, column {names[t]!r}: the label is missing "
            f"({missing[1]!r} among numeric labels); drop the rows without a label")
    # The first columns named as an index is ("", and "Unnamed: 0" or "id", read as features
    # before, a bug bash), each that numbers the rows: a frame read back with its index and
    # written again with it has two, ",Unnamed: 0,a,b" (a review).
    k = 0
    while (header and t != k and heads[k].strip().lower() in _INDEX_NAMES and x.shape[1] > 1
           and _is_row_index(x[:, 0])):
        in_order = np.array_equal(x[:, 0], np.arange(len(x), dtype=np.float32))
        what = (f"counts the rows 0..{len(x) - 1}" if in_order else
                "numbers the rows, each a different whole number (a shuffled or filtered "
                "frame's)")
        which = (f"the {('first', 'second', 'third')[k]} column" if k < 3
                 else f"column {k + 1}")
        named_as = f"is named {heads[k]!r}" if heads[k] else "has no name"
        warnings.warn(
            f"{path}: {which} {named_as} and {what}: the index pandas writes "
            "(to_csv without index=False), or R's row names (write.csv without "
            "row.names=FALSE); it is not used as a feature",
            SuperconvergeWarning, stacklevel=outside(*_OURS))
        x = x[:, 1:]
        k += 1
    if named is not None:
        warnings.warn(f"{path}: the labels were read from the last column, {names[t]!r}, and "
                      f"column {names[named]!r} is a feature; {ask} Choose it with "
                      f"target={names[named]!r}", SuperconvergeWarning, stacklevel=outside(*_OURS))
    which = f"column {names[t]!r}" + (" (the last)" if t == width - 1 else "")
    _, counts = np.unique(labels, return_counts=True)
    singles = int((counts == 1).sum())
    if (target == -1 and len(counts) >= 20 and len(labels) < 3 * len(counts)
            and 3 * singles >= len(counts)):  # (a column the user named is theirs to know)
        # A measurement column read as the label (UCI's wine.data has its class first, and the
        # last column, whole numbers, made 121 classes of 178 rows).
        warnings.warn(
            f"{path}: the labels, read from {which}, make {len(counts)} classes of "
            f"{len(labels)} rows, {singles} of them with a single row: is that the label "
            "column? Choose it with target=NAME (or its index)", SuperconvergeWarning,
            stacklevel=outside(*_OURS))
    try:
        return _split_and_build(name or path.stem, x, labels, val_fraction, seed, path)
    except ValueError as err:
        said = str(err).removeprefix(f"{path}: ")  # the path may hold "label" or "class" too
        if ("label" not in said and "class" not in said) or "leaves no validation" in said:
            raise  # (too few a class for val_fraction: the column is warned of above)
        # Wrong labels are often the wrong column: say which one was read (and, where it was
        # the default, how to choose another; a column the user named needs no such advice).
        advice = (": choose the label column with target=NAME (or its index)"
                  if target == -1 else f", which target={target!r} names")
        raise ValueError(f"{err}; the labels were read from {which}{advice}") from None


#: How tables write a missing value: a label column of numbers that holds one of these (in any
#: case) has missing labels, not a class of that name.
_MISSING = frozenset({"na", "n/a", "nan", "?", "none", "null", "-"})

#: Rows parsed into one float32 block at a time: the table is never held as Python strings.
_CSV_BLOCK_ROWS = 1 << 14


@dataclass
class _Rows:
    """The parsed data rows of a CSV: features, labels, and what went wrong where."""

    x: np.ndarray  # (N, F) float32
    labels: np.ndarray  # (N,) str, stripped
    second: list[str] | None  # the cells of the first row read (the header test needs it)
    bad_cell: tuple[int, int, str] | None  # (line, column, cell) of the first non-number
    empty_label: int | None  # the line of the first empty label
    missing_label: tuple[int, str] | None  # (line, cell) of the first "NA", "?", "nan", ...

    def label_set(self) -> set[str]:
        return set(np.unique(self.labels).tolist())


def _read_rows(
    rows: Iterator[tuple[int, list[str]]], width: int, t: int, path: Path,
    first_line: int | None = None, first: Sequence[str] = (),
) -> _Rows:
    """Parse ``(line, cells)`` rows into features (every column but ``t``) and labels, block by
    block; a cell that is not a number is recorded (the first one) and read as NaN. A row of
    another width than ``width`` raises at once; where it is the row after ``first_line``, the
    line ``width`` was read from (its cells ``first``), that error names both (a title line
    above a table), or the separator that one of the two ends with."""
    features = [i for i in range(width) if i != t]
    blocks: list[np.ndarray] = []
    label_blocks: list[np.ndarray] = []
    block = np.empty((_CSV_BLOCK_ROWS, len(features)), dtype=np.float32)
    labels: list[str] = []
    second = bad_cell = empty_label = missing_label = None
    for line, row in rows:
        if second is None:
            second = row
        if len(row) != width:
            # One more column, empty, on one side: a separator at the end of the data lines
            # (or of the first line alone), not a title (a review: that advice removed the
            # header).
            trailing = (line if len(row) == width + 1 and not row[-1].strip() else first_line
                        if len(row) + 1 == width and first and not first[-1].strip() else None)
            if first_line is not None and second is row and trailing is not None:
                raise ValueError(
                    f"{path}: line {first_line} has {width} columns and line {line} has "
                    f"{len(row)}: line {trailing} ends with a separator (an empty last column)"
                    + (", and so may every line below it: remove the trailing separators"
                       if trailing == line else ": remove it"))
            # A first line narrower than the next: a title or 'sep=,' above the table (a
            # narrower next row is a short row, named as such).
            if first_line is not None and second is row and len(row) > width:
                raise ValueError(
                    f"{path}: line {first_line} has {width} columns and line {line} has "
                    f"{len(row)}{_preamble_hint(first_line)}")
            raise ValueError(f"{path}: line {line} has {len(row)} columns, expected {width}"
                             + _quote_hint(row))
        k = len(labels)
        for j, c in enumerate(features):
            try:
                block[k, j] = float(row[c])
            except ValueError:
                # Read on: the header test needs every label, and a row of another width
                # below is the error to report first.
                if bad_cell is None:
                    bad_cell = (line, c, row[c])
                block[k, j] = math.nan
        label = row[t].strip()
        if not label and empty_label is None:
            empty_label = line
        if missing_label is None and label.lower() in _MISSING:
            missing_label = (line, label)
        labels.append(label)
        if len(labels) == _CSV_BLOCK_ROWS:
            blocks.append(block)
            label_blocks.append(np.array(labels))
            block = np.empty_like(block)
            labels = []
    blocks.append(block[: len(labels)])
    label_blocks.append(np.array(labels, dtype=str))
    return _Rows(np.concatenate(blocks), np.concatenate(label_blocks), second, bad_cell,
                 empty_label, missing_label)


def _not_for_numpy(path: Path, encoding: str) -> bool:
    """Whether the text at ``path`` holds a NUL character or a blank line (spaces alone, too),
    which numpy's reader warns of ("Input line 22 contained no data": a review, where the
    file went to the own parser, quietly, under a warnings filter now gone); read in blocks of
    1 Mi, UTF-8 as bytes, where a byte 0 is a NUL and nothing else."""
    if encoding == "utf-8-sig":
        with path.open("rb") as raw:
            return _nul_or_blank(iter(functools.partial(raw.read, 1 << 20), b""),
                                 _BLANK_BYTES, (b"\0", b"\n", b"\r"))
    # (newline="": "\r" kept, as numpy reads it, a line break of its own)
    with path.open(encoding=encoding, errors="replace", newline="") as text:
        return _nul_or_blank(iter(functools.partial(text.read, 1 << 20), ""), _BLANK_TEXT,
                             ("\0", "\n", "\r"))


# A line break ("\r\n", "\r" or "\n": numpy's), spaces alone (Unicode's too, which numpy splits
# a whitespace table on; UTF-8's bytes of those it reads as such), and a line break; a "\r" is
# no break of its own where "\n" follows (a review: CR-only files, Excel's "CSV (Macintosh)").
# Two patterns, each from a literal, which re finds fast (one with the break's alternatives
# tried at every character took 0.5 s over 84 MB).
_SPACES_TEXT = r"[^\S\r\n]*"
_SPACES_BYTES = (rb"(?:[ \t\f\v\x1c-\x1f]|\xc2[\x85\xa0]|\xe1\x9a\x80"
                 rb"|\xe2\x80[\x80-\x8a\xa8\xa9\xaf]|\xe2\x81\x9f|\xe3\x80\x80)*")
_BLANK_TEXT = (re.compile(r"\n" + _SPACES_TEXT + r"[\r\n]"),
               re.compile(r"\r(?!\n)" + _SPACES_TEXT + r"[\r\n]"))
_BLANK_BYTES = (re.compile(rb"\n" + _SPACES_BYTES + rb"[\r\n]"),
                re.compile(rb"\r(?!\n)" + _SPACES_BYTES + rb"[\r\n]"))


def _nul_or_blank(blocks: Iterable[Any], blank: tuple[re.Pattern[Any], ...],
                  chars: tuple[Any, Any, Any]) -> bool:
    """:func:`_not_for_numpy` over ``blocks`` of text or bytes; a line across two blocks is
    looked at whole (from the previous block's last line break, "\r" or "\n"), and the last
    line, after the last line break, is blank if it holds spaces alone (one that holds nothing
    is the end of the file)."""
    nul, lf, cr = chars
    tail = None
    for block in blocks:
        if nul in block:
            return True
        text = block if tail is None else tail + block
        if any(pattern.search(text) for pattern in blank):
            return True
        cut = max(text.rfind(lf), text.rfind(cr))
        tail = text[cut:] if cut >= 0 else text
    if tail is None or tail[:1] not in (lf, cr):
        return False
    rest = tail[1:].lstrip(lf)  # (after "\r\n" split by the rfinds: none)
    if isinstance(rest, bytes):
        rest = rest.decode("utf-8", "replace")  # (Unicode's spaces, as numpy reads them)
    return len(rest) > 0 and not rest.strip()


def _read_body_fast(
    path: Path, delimiter: str, width: int, t: int, second: list[str], encoding: str,
    trailing: bool = False,
) -> _Rows | None:
    """The rows after the first, parsed by numpy's C reader (``np.loadtxt``), about 2.5x
    faster than :func:`_read_rows`; ``None`` wherever the two could differ, for
    :func:`_read_rows` to read the file (and word its errors) instead.

    numpy reads a number from a cell only where Python's ``float`` does too, and refuses a row
    of another width; its quoting is the csv module's (``"a,b"``, ``""`` for a quote), and with
    ``delimiter=" "`` it splits on runs of whitespace as ``str.split`` does, quotes and all (a
    cell that begins with a quote, which the own parser reads to its closing one, is then a
    feature numpy refuses, a row too wide, or a label that begins with a quote, given up on
    below). Given up on any
    error (a text feature cell, a ragged or blank-celled row, a number Python reads but numpy
    does not, such as ``1_000``) and on an empty or missing label, whose line number only the
    slow path knows. ``trailing``: every line ends with the delimiter, one more column that
    must be empty on each (a line with anything there, a space too, is the slow path's to say;
    it read every such file before: 1.85x the plain table's time, 200,000 rows of 51).
    """
    if _not_for_numpy(path, encoding):
        # A NUL is dropped by the own parser (numpy dropped a label's last NULs only); a blank
        # line, which numpy warns of, skipped by it
        return None
    whitespace = delimiter == " "  # runs of spaces and tabs, quotes kept: str.split()
    options: dict[str, Any] = {"delimiter": None if whitespace else delimiter, "comments": None,
                               "quotechar": None if whitespace else '"', "skiprows": 1,
                               "encoding": encoding, "ndmin": 1}
    # (no warnings filter of "error" around it, for "input contained no data": the filters are
    # the process's, so for the parse's time every other thread's warning was raised, and a
    # catch_warnings of another thread's could keep "error" for good, a bug bash; the caller
    # read a second row, so no data is a file cut meanwhile, which the row counts give away)
    try:
        # Two passes: the labels, to learn their longest, then every column at once, which
        # makes numpy check each row's width.
        labels = np.loadtxt(path, dtype=str, usecols=[t], **options)
        fields = [("a", np.float32, (t,)), ("label", labels.dtype),
                  ("b", np.float32, (width - 1 - t,))] + [("end", "U1")] * trailing
        table = np.loadtxt(path, dtype=np.dtype(fields), **options)
    except Exception:  # whatever it is, the own parser reads the file again and says it
        return None
    if len(table) != len(labels) or len(table) == 0:
        # Rows added (or taken) between the two passes, by a writer still at it: their labels
        # were cut to the first pass's longest ("10" read as "1", a bug bash); the own
        # parser reads the file once
        return None
    if trailing and table.size and bool(np.char.str_len(table["end"]).any()):
        return None  # a cell past the last column: the own parser names its line
    labels = np.char.strip(table["label"])
    if labels.size and bool(np.char.startswith(labels, '"').any()):
        return None  # quoted after a space (", " tables, R's whitespace ones): numpy keeps them
    if labels.size and (np.char.str_len(labels).min() == 0 or bool(
            np.isin(np.char.lower(labels), list(_MISSING)).any())):
        return None  # an empty or missing label: the slow path names its line
    x = np.concatenate([table["a"], table["b"]], axis=1)
    return _Rows(x, labels, second, None, None, None)


def _raise_not_a_number(
    path: Path, line: int, column: int, cell: str, names: list[str], delimiter: str,
    label_hint: str = "",
) -> None:
    if cell.strip().lower() in _MISSING | {""}:
        raise ValueError(
            f"{path}: line {line}, column {names[column]!r}: a missing value ({cell!r}); "
            "features must all be numbers: drop or fill the rows with gaps first"
        )
    hint = label_hint or _cell_hint(cell, delimiter)
    # (a number written with a comma is no category to encode)
    written = _comma_number(cell)
    raise ValueError(
        f"{path}: line {line}, column {names[column]!r}: {cell!r} is not a number"
        + ("" if written and not label_hint else
           " (feature columns must be numeric; encode categories as numbers first)")
        + hint
    )


# Header names that say "the label": one of them on a column other than the target's is told.
_LABEL_NAMES = frozenset({"label", "labels", "class", "classes", "target"})
# (not "category": a category of its own is a feature; "y" only where no column is "x", whose
# coordinate it would be: the name .npz files give the labels, read as a feature, a bug bash)

_INDEX_NAMES = frozenset({"", "unnamed: 0", "index", "id"})
"""The names of a first column that holds a row index, where it numbers the rows."""


def _measured_label_hint(parts: Sequence[_Rows], line: int, column: int, cell: str,
                         names: list[str], t: int) -> str:
    """With the default target: a text feature column where the last column, read as the
    label, holds numbers that are not whole (a measurement): a text column is likely the
    label ("species,a,b" was told "encode categories", nothing of target, an audit)."""
    if _comma_number(cell):
        return ""
    values = sorted(set().union(*(p.label_set() for p in parts)))
    try:
        numbers = [float(v) for v in values]
    except ValueError:
        return ""
    part = next((v for v, n in zip(values, numbers, strict=True)
                 if math.isfinite(n) and n != round(n)), None)
    if part is None:
        return ""
    # (which text column, this one or another, is not told: an ID column of names is text
    # too, a review)
    return (f"; the last column, {names[t]!r}, read as the label (target=-1), holds numbers "
            f"that are not whole ({part.strip()!r}), no classes: if a text column is the label, "
            "choose it with target=NAME (or its index)")


def _comma_number(cell: str) -> bool:
    """A number written with a comma: a decimal comma (``0,13``) or thousands separators
    (``1,234,567``)."""
    cell = cell.strip()
    return "," in cell and (_is_number(cell.replace(",", ".", 1))
                            or _is_number(cell.replace(",", "")))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _is_row_index(column: np.ndarray) -> bool:
    """Whether a column holds a different whole number >= 0 on every row: a pandas index,
    counting the rows or shuffled (``df.sample(frac=1)``) or filtered (a split) before
    ``to_csv``."""
    return bool(np.all(column >= 0) and np.all(column == np.round(column))
                and len(np.unique(column)) == len(column))


def _looks_like_header(
    first: list[str], second: list[str] | None, below: set[str], target: str | int
) -> bool:
    """Whether the first row (``first``) names the columns, from it, the row after it
    (``second``) and the labels of every row below it (``below``)."""
    if second is None:  # a lone row of text names columns (and the file has no examples)
        return not any(_is_number(c) for c in first)
    width = len(first)
    # The label column's index: None where target names a column or is out of range.
    t = (target % width if isinstance(target, int) and not isinstance(target, bool)
         and -width <= target < width else None)
    if (t is not None and first[t].strip().lower() in _MISSING and below
            and all(_is_number(v) for v in below)
            and all(_is_number(c) for i, c in enumerate(first) if i != t)):
        # "1.5,2,NA" over numeric labels: an example whose label is missing (refused as
        # such), not a header whose label column is named "NA".
        return False
    # The header pandas writes for a frame with its index and unnamed columns (df.to_csv(path)):
    # an empty name over the index, then the column numbers.
    if not first[0].strip() and [c.strip() for c in first[1:]] == [
            str(i) for i in range(len(first) - 1)] and second[0].strip().isdigit():
        return True  # (and an index below it, from 0 or shuffled: load_csv then drops it)
    # A name above a number. An empty or missing-value cell ("1.5,,0", "1.5,NA,0") names
    # nothing: such a row is an example with a gap (refused as such, naming line 1). Nor does
    # a text label that occurs again below, above a numeric one: a label column that mixes
    # both ("unknown" among 0 and 1) holds a class there.
    if any(not _is_number(a) and a.strip().lower() not in _MISSING | {""} and _is_number(b)
           and not (i == t and a.strip() in below)
           for i, (a, b) in enumerate(zip(first, second, strict=False))):
        return True
    if [c.strip() for c in first] == [str(i) for i in range(len(first))]:
        # The column numbers 0, 1, 2, ...: the header pandas writes for a frame without
        # column names (pd.DataFrame(np.c_[x, y]).to_csv(index=False)).
        warnings.warn(
            f"first row taken as a header: it numbers the columns 0..{len(first) - 1}, as "
            "pandas does; pass header=False if it is an example",
            SuperconvergeWarning, stacklevel=outside(*_OURS))
        return True
    # Numeric-looking column names ("2019,2020,label") over text labels: a first-row label
    # that never occurs again in a text label column names the column. (It could also be a
    # class with a single example; header=False says so.)
    if t is None:
        return False
    label = first[t].strip()
    if below and not any(_is_number(v) for v in below) and label not in below:
        warnings.warn(
            f"first row taken as a header: its label {label!r} never occurs below it; pass "
            "header=False if it is an example (a class of one)",
            SuperconvergeWarning, stacklevel=outside(*_OURS))
        return True
    # ... and over numeric labels ("2019,2020,2021" over 0..2): a first-row label beyond the
    # labels below by more than one class. (Next to them, it could be a class of one example.)
    if below and _is_number(label) and all(_is_number(v) for v in below):
        values = [_label_number(v) for v in below]
        low, high = min(values), max(values)
        if not low - 1 <= _label_number(label) <= high + 1:
            warnings.warn(
                f"first row taken as a header: its label {label!r} lies outside the labels "
                f"below it ({_g(low)}..{_g(high)}); pass header=False "
                "if it is an example", SuperconvergeWarning, stacklevel=outside(*_OURS))
            return True
    return False


def _savetxt_header(cells: Sequence[str], header: bool | None) -> bool:
    """Whether a first row is the header ``np.savetxt(..., header=...)`` writes: it starts
    with ``#``, then a space (``"# a b label"``, numpy's default) or, unless ``header=True``
    says so already, names where numbers would be (``"#a,b,label"``). A row of data whose first
    cell is a label such as ``#0`` is none."""
    if not cells[0].lstrip().startswith("#"):
        return False
    return (_comment(cells) or header is True
            or not all(_is_number(c) for c in cells[1:]))


def _label_number(text: str) -> int | float:
    """Numeric label text as a Python int when it is one (exact: float64 rounds IDs past
    2**53 onto their neighbours), else as a float; ints and floats compare exactly."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def _g(value: int | float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

#: The delimiter a table file's suffix implies (:func:`load_csv`); other suffixes are sniffed.
SUFFIX_DELIMITERS = {".csv": ",", ".tsv": "\t"}


def _suffix_delimiter(path: Path, encoding: str = "utf-8-sig") -> str:
    """The delimiter of ``path`` by its suffix, or sniffed from its first non-blank line that
    is no comment (:func:`_comment`; where all are, the first): the first of tab, comma and
    semicolon it holds, else ``" "`` (runs of whitespace)."""
    known = SUFFIX_DELIMITERS.get(path.suffix.lower())
    if known is not None:
        return known
    with path.open(encoding=encoding, errors="replace") as f:  # (read up to that line only)
        lines = (ln for ln in f if ln.strip())
        first = line = next(lines, "")
        while line and _comment([line]):
            line = next(lines, "")
    line = line or first
    return next((d for d in ("\t", ",", ";") if d in line), " ")


def _without_nul(lines: Iterator[str], said: str | None) -> Iterator[str]:
    """``lines`` with their NUL characters dropped; ``said`` (the file) is warned of the first
    line that held one. (Python 3.10's :mod:`csv` refused a stray NUL, "line contains NUL",
    where 3.11 kept it in the cell: ``a\\0`` was a class of its own, or made its row a header.)"""
    for number, line in enumerate(lines, 1):
        if "\0" in line:
            if said is not None:
                warnings.warn(f"{said}: line {number} holds a NUL character (a byte 0): read "
                              "with every NUL dropped", SuperconvergeWarning,
                              stacklevel=outside(*_OURS))
                said = None
            line = line.replace("\0", "")
        yield line


#: A cell of a whitespace-separated line: one that begins with a double quote, to its closing
#: quote (``\"`` or ``""`` a quote inside) and what follows that up to the next space; or any
#: other run of non-spaces.
_WHITESPACE_CELL = re.compile(r'"((?:\\"|""|[^"])*)"(\S*)|(\S+)')


def _split_whitespace(line: str) -> list[str]:
    """The cells of a line whose columns runs of whitespace separate, as ``str.split`` reads
    them, except that a cell that begins with a double quote runs to the quote that closes it,
    spaces and all, its quotes dropped (R's ``write.table`` quotes text: ``"New York"``; a
    quote inside is ``\\"`` there, ``""`` in a CSV). A quote elsewhere in a cell (``5"``), or
    one that never closes, is a character of its cell."""
    cells = []
    for m in _WHITESPACE_CELL.finditer(line):
        quoted, after, plain = m.groups()
        cells.append(plain if plain is not None
                     else quoted.replace('\\"', '"').replace('""', '"') + after)
    return cells


def _table_rows(lines: Iterator[str], delimiter: str, said: str | None = None
                ) -> Iterator[tuple[int, list[str]]]:
    """``(line number, cells)`` of each non-blank line; ``delimiter=" "`` splits on runs of
    whitespace (a cell that begins with a double quote runs to its closing quote:
    :func:`_split_whitespace`), any other goes through :mod:`csv`. NUL characters are dropped
    (``said``, the file, is warned of the first: :func:`_without_nul`)."""
    lines = _without_nul(lines, said)
    if delimiter == " ":
        for number, line in enumerate(lines, 1):
            cells = _split_whitespace(line) if '"' in line else line.split()
            if cells:
                yield number, cells
        return
    # skipinitialspace: a quote after "delimiter + space" opens a quoted field (", " tables:
    # '0, 1, "cat"' kept the quotes in the class name, and '"Smith, J"' split in two, a review)
    reader = csv.reader(lines, delimiter=delimiter, skipinitialspace=True)
    start = 1  # the line a row begins on (reader.line_num is where it ends: a quoted field
    # may hold line breaks, and a stray quote runs on to the end of the file)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            if "field larger than field limit" not in str(err):
                raise
            raise _QuoteError(f"line {start}: a field runs on past {csv.field_size_limit()} "
                              "characters: an unbalanced double quote (\") there?") from err
        if any(c.strip() for c in row):
            yield start, row
        start = reader.line_num + 1


#: Byte-order marks, and the codec that reads the text after them (Excel's "Unicode Text"
#: is UTF-16, little-endian, with its mark); UTF-32's come first: one begins with UTF-16's.
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_ENCODING_NAMES = {"utf-8-sig": "UTF-8", "utf-16": "UTF-16", "utf-32": "UTF-32"}


def _encoding(head: bytes) -> str:
    """The codec of a text table that begins with ``head``: UTF-16 or UTF-32 after their
    byte-order mark (once refused: "'utf-8' codec can't decode byte 0xff", and UTF-32
    big-endian was called binary), else UTF-8, a byte-order mark (Notepad's) read past."""
    return next((codec for bom, codec in _BOMS if head.startswith(bom)), "utf-8-sig")


def _not_text(head: bytes, encoding: str) -> str | None:
    """What a file that begins with ``head`` (its codec: ``encoding``, :func:`_encoding`'s) is,
    where it is no text table (a review: an .xlsx, an .npz and np.tofile's bytes were told to be
    saved as UTF-8, or read as one column of garbage); ``None`` for text, UTF-16 and UTF-32
    after their byte-order mark too."""
    if head.startswith(b"PK\x03\x04"):
        return ("a zip archive: an Excel workbook (.xlsx: save it as 'CSV UTF-8') or an .npz "
                "(load_npz reads it)")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "an Excel 97-2003 workbook (.xls): save it as 'CSV UTF-8'"
    if head.startswith(b"\x93NUMPY"):
        return "a NumPy .npy array: save x and y with np.savez(path, x=x, y=y) and load the .npz"
    if encoding != "utf-8-sig":  # (NULs in every character: text, read as such)
        decoded = head.decode(encoding, errors="ignore")  # (a character cut at the 4 KB mark)
        if sum(c.isascii() for c in decoded) < 0.3 * len(decoded):  # (numbers, separators)
            return (f"a {_ENCODING_NAMES[encoding]} byte-order mark, then no table: "
                    f"{len(decoded)} characters, most of them not ASCII (binary data?)")
        return None
    if 0 not in head:
        return None

    def text(half: bytes) -> bool:  # (printable ASCII and Latin-1, tabs, line breaks)
        return sum(32 <= b < 127 or b >= 0xA0 or b in (9, 10, 13) for b in half) > 0.9 * len(
            half)

    try:
        head.decode("utf-8")
        utf8 = True
    except UnicodeDecodeError as cut:  # (a character cut at the 4 KB mark is no fault)
        utf8 = cut.start >= len(head) - 3
    if head.count(0) <= 0.01 * len(head) and (utf8 or text(head)):
        # a stray NUL in a UTF-8 or Latin-1 table: the parser's (or the decoder's) to name
        return None

    for zeros, chars in ((head[1::2], head[0::2]), (head[0::2], head[1::2])):
        if len(head) >= 4 and zeros.count(0) > 0.9 * len(zeros) and text(chars):
            return "UTF-16 text without a byte-order mark (every other byte 0): save it as UTF-8"
    return ("binary data (NUL bytes), not text: arrays written with np.tofile or np.save? "
            "Write them with np.savez(path, x=x, y=y) and load the .npz")


def _without_last(rows: Iterator[tuple[int, list[str]]], n: int, said: str
                  ) -> Iterator[tuple[int, list[str]]]:
    """``rows`` without the last of their ``n`` cells, empty on every line (``said`` what the
    first lines showed); a line that holds a value there is refused, naming it (a review:
    "line 3 has 3 columns, expected 2" where every line had 3)."""
    for line, cells in rows:
        if len(cells) == n:
            if cells[-1].strip():
                raise ValueError(
                    f"{said}, read as no column, but line {line} holds {cells[-1].strip()!r} "
                    "there: if that column holds values, those lines have gaps in it (fill them "
                    "in or drop those lines); if not, remove the separators at the ends of the "
                    "lines")
            cells = cells[:-1]
        yield line, cells


def _after_hash(cells: Sequence[str], delimiter: str) -> list[str]:
    """A row that begins with ``#`` without it: the names of a header ``np.savetxt`` writes
    (``"# a b label"``; the lone ``"#"`` a whitespace table splits off is no name)."""
    names = [cells[0].lstrip()[1:].lstrip(), *cells[1:]]
    return names[1:] if delimiter == " " and not names[0] else names


def _comment(cells: Sequence[str]) -> bool:
    """Whether a row is one of the comment lines ``np.savetxt`` writes (``header=``,
    ``footer=``; ``comments="# "``): its first cell is ``#`` alone or ``#`` and a space. A
    label such as ``#0`` is none, nor is a first column named ``#label``."""
    first = cells[0].lstrip()
    return first.startswith("#") and (len(first) == 1 or first[1].isspace())


def _without_comments(rows: Iterator[tuple[int, list[str]]], delimiter: str,
                      header: bool | None) -> Iterator[tuple[int, list[str]]]:
    """``rows`` without ``np.savetxt``'s comment lines (:func:`_comment`), as ``np.loadtxt``
    reads them (a user's bug bash: a ``footer=`` line was "line 101 has 4 columns, expected
    6", a note above the table "is line 1 a title above it?"). Of the comment lines before the
    first row of data, the last is kept where it names as many columns as that row holds and
    ``header`` is not False: the header ``np.savetxt(..., header="a b label")`` writes
    (:func:`_savetxt_header`), under a note (``header="my data\na b label"``) too."""
    leading = []
    for row in rows:
        if not _comment(row[1]):
            break
        leading.append(row)
    else:  # comments alone: no table
        return
    if (leading and header is not False
            and len(_after_hash(leading[-1][1], delimiter)) == len(row[1])):
        yield leading[-1]
    yield row
    yield from (row for row in rows if not _comment(row[1]))


def _without_first(rows: Iterator[tuple[int, list[str]]]
                   ) -> Iterator[tuple[int, list[str]]]:
    """``rows`` without their first cell (the rows' names: :func:`load_csv`)."""
    for line, cells in rows:
        yield line, cells[1:]


class _QuoteError(csv.Error):
    """A quoted field past csv's size limit: a stray quote, not an encoding's fault."""


def _quote_hint(row: Sequence[str], line: int | None = None) -> str:
    """Where a row's quoted field spans lines: the stray quote that began it, likely (on the
    line named before, or on ``line``)."""
    where = "there" if line is None else f"line {line}"
    on = "that line" if line is None else "it"
    return (f"; a quoted field runs on from {where} over the lines after it: an unbalanced "
            f"double quote (\") on {on}?" if any("\n" in c for c in row) else "")


def _preamble_hint(line: int) -> str:
    """What to do where the table's first line and the next differ in width."""
    return (f"; one of them is not a row of the table: is line {line} a title above it, or "
            "Excel's 'sep=' line? Remove it")


def _other_separator(cells: Sequence[str], delimiter: str) -> str | None:
    """The first common separator other than ``delimiter`` that the line holds, if any."""
    text = delimiter.join(cells)
    return next((sep for sep in _DELIMITERS if sep != delimiter and sep in text), None)


def _delimiter_hint(cells: Sequence[str], delimiter: str) -> str:
    """``"; ... pass delimiter=';'"`` when the text holds another common separator, else ``""``."""
    sep = _other_separator(cells, delimiter)
    if sep is None:
        return ""
    return (f"; the line contains {_DELIMITERS[sep]}s ({sep!r}): if they separate the columns, "
            f"pass delimiter={sep!r}")


def _cell_hint(cell: str, delimiter: str) -> str:
    if delimiter != "," and _is_number(cell.strip().replace(",", ".")):
        return "; it looks like a decimal comma: write numbers with a decimal point"
    if _comma_number(cell):
        # a quoted "0,13" in a comma-separated file (a decimal-comma locale's spreadsheet), or
        # "1,000"; which of the two, the cell cannot tell
        return ("; a comma inside a number (a decimal comma, or a thousands separator): write "
                "numbers plainly, with a decimal point")
    return _delimiter_hint([cell], delimiter)


def _target_index(target: str | int, columns: list[str] | None, width: int, path: Path) -> int:
    if isinstance(target, str):
        if columns is None:
            raise ValueError(f"{path}: target={target!r} names a column, but header=False: the "
                             "file has no column names; give the label column by index")
        if target not in columns:
            hint = ("; that first row is all numbers, so the file may have no header row: "
                    "give the label column by index" if all(map(_is_number, columns)) else "")
            raise ValueError(f"{path}: no column named {target!r}; columns are {columns}{hint}")
        same = [i for i, c in enumerate(columns) if c == target]
        if len(same) > 1:
            raise ValueError(f"{path}: {len(same)} columns are named {target!r} (indices "
                             f"{', '.join(map(str, same))}); give the label column by index")
        return same[0]
    if isinstance(target, bool) or not isinstance(target, int):
        raise TypeError(f"target must be a column name or index, got {target!r}")
    if not -width <= target < width:
        raise ValueError(f"target={target} is out of range for {path} with {width} columns")
    return target % width


# ------------------------------------------------------------------------------ image folder


def image_shape(size: int = 32, grayscale: bool = False) -> tuple[int, int, int]:
    """The input shape of one example from ``load_image_folder(root, size, grayscale=...)``,
    known before any image is read (the defaults are the loader's).

    Raises:
        ValueError, TypeError: ``size`` is not an integer from 1 to ``MAX_IMAGE_SIZE``.
    """
    size = _image_size(size)
    return (1 if boolean("grayscale", grayscale) else 3, size, size)


def _image_size(size: object) -> int:
    out = integer("size", size, minimum=1)
    if out > MAX_IMAGE_SIZE:
        raise ValueError(f"size must be <= {MAX_IMAGE_SIZE} pixels, got {out}")
    return out


def _available_memory() -> int | None:
    """Bytes of memory this machine can give now (Linux: MemAvailable; elsewhere the free
    physical pages), or ``None`` where the system does not say."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # Windows
        return None


def _check_memory(root: Path, count: int, size: int, grayscale: bool) -> None:
    """Refuse, before any image is opened, to decode ``count`` images at ``size`` when their
    float32 arrays (held twice while they are stacked) and one resized image's Pillow copy would
    not fit in the memory available: a typo in the size would otherwise take the machine's
    memory (the operating system kills the process, or another)."""
    channels = 1 if grayscale else 3
    need = 2 * count * channels * size * size * 4 + 4 * size * size
    have = _available_memory()
    if have is not None and need > have:
        raise ValueError(
            f"{root}: {count} images at size={size} ({channels} x {size} x {size} float32 "
            f"each) need about {need / 2**30:.3g} GiB of memory, and {have / 2**30:.3g} GiB "
            "is available; use a smaller size, or fewer images")


def load_image_folder(
    root: str | os.PathLike[str],
    size: int = 32,
    *,
    grayscale: bool = False,
    val_fraction: float | None = None,
    seed: int = 0,
    name: str | None = None,
    max_train: int | None = None,
    max_val: int | None = None,
    progress: bool = False,
) -> Dataset:
    """A ``Dataset`` from a folder with one sub-folder of images per class.

    Layouts (class names are the sub-folder names, sorted; hidden folders and files, those
    whose names start with ``.`` such as macOS ``._*`` files, are skipped)::

        root/cat/001.png, root/dog/002.jpg, ...            -> split val_fraction by class
        root/train/cat/..., root/val/cat/... (or test/)    -> the given split

    ``val_fraction`` defaults to 0.2; given for a folder split already, it is refused (it
    would be ignored).

    The split folders' names are matched in any case: ``train`` or ``training``, beside
    ``val``, ``valid``, ``validation``, ``test`` or ``testing`` (the first of these present).

    Every image (``IMAGE_EXTENSIONS``, other files are skipped) is converted to RGB (or grey),
    resized to ``size x size`` pixels (aspect ratio not kept) and scaled to [0, 1] by its
    type's range (255 for 8-bit, 65535 for 16-bit greyscale): inputs are
    ``(N, 3, size, size)`` float32, or ``(N, 1, size, size)`` with ``grayscale``.

    ``max_train`` / ``max_val``: read at most this many training / validation images, a
    random sample by ``seed`` (the split is made on the file names first, so the sample never
    changes which images are validation ones). Only the sampled images are opened, so a large
    folder costs the memory and time of the sample: an LR range test, which sees at most its
    steps x batch size examples, need not decode the rest. ``None`` (default) reads them all.
    ``progress``: a tqdm bar while the images are decoded (on stderr, when it is a terminal or
    a notebook's output).

    Raises:
        FileNotFoundError: ``root`` does not exist.
        NotADirectoryError: ``root`` is a file.
        ValueError: no class sub-folders, a ``train`` folder of class folders without a
            ``val`` or ``test`` beside it, fewer than two classes, a class without images, an
            image Pillow cannot read or refuses as too large (a decompression bomb), or one
            with 32-bit integer or floating-point pixels, which have no range to scale by
            (the message names the file).
    """
    root = Path(root)
    size = _image_size(size)
    grayscale = boolean("grayscale", grayscale)
    _check_name(name)
    seed = integer("seed", seed, minimum=0)  # (a split layout uses it only to sample)
    if max_train is not None:
        max_train = integer("max_train", max_train, minimum=1)
    if max_val is not None:
        max_val = integer("max_val", max_val, minimum=0)
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"{root}: is a file, expected a folder of class folders, "
                                 "root/<class_name>/<image> (load_npz and load_csv read files)")
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder (expected root/<class_name>/<image>)")
    passed = _PassedOver()  # links that lead nowhere, files of other formats: not read
    try:
        # (a split folder that is such a link: no split, whatever the error says below)
        _image_entries(root, _PassedOver(dangling=passed.dangling, other=None))
        return _load_image_folder(root, size, val_fraction, seed, name, max_train, max_val,
                                  grayscale, progress, passed)
    except BaseException:
        # Also where the listing failed for them: "no images found" in a class folder of
        # links to content not fetched (a review). A warning made an error (-W error) does not
        # take the place of this one.
        with contextlib.suppress(Exception):
            passed.warn()
        raise


def _load_image_folder(root: Path, size: int, val_fraction: float | None, seed: int,
                       name: str | None, max_train: int | None, max_val: int | None,
                       grayscale: bool, progress: bool, passed: _PassedOver) -> Dataset:
    """:func:`load_image_folder`'s work, its arguments checked; ``passed`` gathers what the
    listing leaves out that the user is told of."""
    shared: list[tuple[Path, Path, str, Hashable]] = []  # files read again through links
    subdirs = {d.name for d in _subfolders(root)}
    train_name, val_name = _split_names(root)
    if (layout := _split_layout(root, train_name, val_name)) is not None:
        train_name, val_name = layout
        _no_fraction(val_fraction, root, f"the folder holds its own split ({train_name}/, "
                     f"{val_name}/)")
        for split in (train_name, val_name):
            _warn_loose(root / split, "a split's images go in its class folders")
        _warn_loose(root, f"a split's images go in {train_name}/ and {val_name}/")
        classes = [d.name for d in _subfolders(root / train_name)]
        read: dict[Path, tuple[str, Path, Path]] = {}  # both splits': a link between them
        images: dict[Hashable, tuple[str, Path, Path]] = {}
        files, y = _list_split(root / train_name, classes, read=read, images=images,
                               shared=shared, passed=passed)
        files_val, y_val = _list_split(root / val_name, classes, allow_missing=True, read=read,
                                       images=images, shared=shared, passed=passed)
        if len(files_val) == 0:
            raise ValueError(f"{root / val_name}: no images in any class folder")
    else:
        splits = [d for d in (train_name, val_name) if d is not None and _holds_classes(root / d)]
        if splits:  # half of a split layout, not classes (a class folder holds images)
            first = splits[0]
            other = val_name if first == train_name else train_name
            missing = (f"{other!r} beside it has no class folders" if other is not None
                       else "there is no 'val' or 'test' folder beside it"
                       if first == train_name else "there is no 'train' folder beside it")
            raise ValueError(
                f"{root}: found folders {sorted(subdirs)}: {first!r} holds class folders, but "
                f"{missing}. Accepted layouts: "
                f"{root}/<class>/<image> (split by val_fraction), or {root}/train/<class>/"
                f"<image> with {root}/val/<class>/<image> (or test/); to split the "
                f"{'training ' if first == train_name else ''}images by val_fraction, pass "
                f"{root / first}"
            )
        classes = sorted(subdirs)
        files, y = _list_split(root, classes, pooled=True, shared=shared, passed=passed)
        _warn_loose(root, f"an image goes in its class's folder, {root}/<class>/<image>")
        train_idx, val_idx = _split(y, val_fraction, seed, root)
        files, y, files_val, y_val = files[train_idx], y[train_idx], files[val_idx], y[val_idx]
    _warn_shared(shared)
    passed.warn()  # (before the decoding, which may take a while)
    rng = np.random.default_rng(seed)
    train = _sample(len(files), max_train, rng)
    val = _sample(len(files_val), max_val, rng)
    for what, kept, total in (("training", train, files), ("validation", val, files_val)):
        if len(kept) < len(total):
            log.info("%s: reading %d of %d %s images", root, len(kept), len(total), what)
    _check_memory(root, len(train) + len(val), size, grayscale)
    # (absolute: "." and ".." name no folder; not resolved: a link's own name is the one given)
    folder_name = Path(os.path.abspath(root)).name
    bar = progress_bar(len(train) + len(val), f"reading {folder_name or root}", progress,
                       unit="img")
    try:  # one pass over both, so that one probe decides on threads for both
        x_all = _decode(np.concatenate([files[train], files_val[val]]), size, grayscale, bar)
    finally:
        bar.close()
    x, x_val = x_all[: len(train)], x_all[len(train):]
    return _build(name or folder_name, x, y[train], x_val, y_val[val], root,
                  class_names=classes)


#: The names (in any case) of an image folder's training split, and of its validation split,
#: each list in order of preference: ``train/`` with ``val/``, ``valid/``, ``validation/`` or
#: ``test/`` (Kaggle and Roboflow exports use ``train``, ``valid`` and ``test``).
TRAIN_FOLDERS = ("train", "training")
VAL_FOLDERS = ("val", "valid", "validation", "test", "testing")


def _subfolders(folder: Path) -> list[Path]:
    """``folder``'s sub-folders but hidden ones (``.git``) and the ``__MACOSX`` folder a zip
    made on a Mac unpacks, which hold no classes."""
    return sorted(p for p in folder.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and p.name != "__MACOSX")


def _split_names(root: Path, extra: tuple[str, ...] = ()) -> tuple[str | None, str | None]:
    """The folders of ``root`` that :func:`load_image_folder` would take for its train and
    val splits, by their own names (any case), where there are such folders. ``extra``: the
    parts of a folder below ``root``, to be made and given an image, counted as there."""
    named: dict[str, str] = {}  # a split's name in lower case -> the folder's own name
    made = [extra[0]] if extra and not (root / extra[0]).is_dir() else []
    for d in sorted([d.name for d in _subfolders(root)] + made):
        named.setdefault(d.lower(), d)

    def empty(name: str) -> bool:
        return not (extra and extra[0] == name) and _empty(root / name)

    train_name = next((named[n] for n in TRAIN_FOLDERS if n in named), None)
    # (a val/ without folders or images beside a labelled test/ is passed over; one of
    # unlabelled images is not)
    val_name = next((named[n] for n in VAL_FOLDERS if n in named
                     and not empty(named[n])), None) or next(
        (named[n] for n in VAL_FOLDERS if n in named), None)
    return train_name, val_name


def _split_layout(root: Path, train_name: str | None, val_name: str | None,
                  extra: tuple[str, ...] = ()) -> tuple[str, str] | None:
    """``(train_name, val_name)`` where both split folders have sub-folders: a split layout
    (two classes named "train" and "val" would not both be folders of folders; loose images
    beside their class folders, a preview.png, are left out with a warning); else ``None``.
    ``extra`` as for :func:`_split_names`."""
    def has_subfolders(name: str) -> bool:
        return ((len(extra) > 1 and extra[0] == name)
                or ((root / name).is_dir() and bool(_subfolders(root / name))))

    if (train_name is not None and val_name is not None
            and has_subfolders(train_name) and has_subfolders(val_name)):
        return train_name, val_name
    return None


def _parts_below(root: Path, path: Path) -> list[tuple[str, ...]]:
    """Each way the loader may reach ``path`` from ``root``, as parts below it: where it lies
    (resolved: links followed in order, as the write into it will), and through every folder
    of ``root``, at any depth, that links to it or above it (reviews: an out folder in a
    linked class folder, in the folder it links to, or in a hidden folder of ``root`` that a
    class links to, was not seen); empty where none does."""
    base, real = Path(root).resolve(), Path(path).resolve()
    found = [real.relative_to(base).parts] if base in real.parents else []
    if not base.is_dir():
        return found
    # Each folder once, as _class_images walks them (a link back up would loop), by scandir
    # (a review: a stat of every image file made this 0.8 s on 100k images); a link whose
    # folder is missing counts too, since making the out folder would bring it to life.
    # Only links are resolved: a plain folder's real path is its real parent's and its name.
    seen: set[Path] = {base}
    stack: list[tuple[Path, tuple[str, ...]]] = [(base, ())]  # (real folder, names from root)
    while stack:
        folder, names = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = [e for e in it if not e.name.startswith(".") and e.name != "__MACOSX"]
        except OSError:
            continue
        for entry in entries:
            link, is_dir = entry.is_symlink(), entry.is_dir()
            if not (is_dir or (link and not os.path.exists(entry.path))):
                continue
            target = Path(entry.path).resolve() if link else folder / entry.name
            if link and (target == real or target in real.parents):
                found.append((*names, entry.name, *real.relative_to(target).parts))
            if target in seen:
                continue
            seen.add(target)
            if is_dir:
                stack.append((target, (*names, entry.name)))
    return found


def _image_class_at(root: str | os.PathLike[str], path: str | os.PathLike[str]) -> str | None:
    """The class :func:`load_image_folder` would read an image written into folder ``path``
    (inside image folder ``root``) as; ``None`` where it would read none there: ``root``
    itself or a split folder's own level (loose images, left out with a warning), a hidden
    folder, ``__MACOSX``, or a path outside ``root``."""
    base = Path(root).resolve()
    return next((c for parts in _parts_below(base, Path(path))
                 if (c := _class_by_parts(base, parts)) is not None), None)


def _class_by_parts(base: Path, parts: tuple[str, ...]) -> str | None:
    """:func:`_image_class_at` for the folder at ``parts`` below ``base``."""
    # (the loader walks no hidden folder and no __MACOSX, at any depth)
    if not parts or any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return None
    # A split layout, chosen as the loader will choose it once the plot is there (a folder
    # made for it can be the val/ that it picks over an empty one, a review): only its two
    # split folders are read, their classes one level down.
    split = _split_layout(base, *_split_names(base, parts), parts)
    if split is not None:
        if parts[0] not in split:
            return None
        return None if len(parts) == 1 else parts[1]
    return parts[0]


def _holds_classes(folder: Path) -> bool:
    """Whether ``folder`` looks like a split (``train/<class>/<image>``), not a class: it has
    sub-folders and no images of its own."""
    return bool(_subfolders(folder)) and not _image_files(folder)


def _warn_loose(folder: Path, where: str) -> None:
    """Warn of images lying in ``folder`` beside its folders, which are not read."""
    loose = _image_files(folder)
    if loose:
        warnings.warn(
            f"{folder}: {len(loose)} image(s) of its own left out "
            f"({', '.join(p.name for p in loose[:3])}{', ...' if len(loose) > 3 else ''}): "
            f"{where}", SuperconvergeWarning, stacklevel=outside(*_OURS))


def _warn_shared(shared: Sequence[tuple[Path, Path, str, Hashable]]) -> None:
    """Warn of image files read more than once through links, which are read as they are:
    under two classes, in both splits, or twice in images split by ``val_fraction``. Each
    item of ``shared`` is one more read: the first path, this one, how, and the file."""
    if not shared:
        return
    first, second, _, _ = shared[0]
    counts = {how: sum(h == how for _, _, h, _ in shared) for how in ("classes", "splits",
                                                                      "pooled")}
    said = ", ".join(f"{n} {what}" for n, what in (
        (counts["classes"], "under another class (one image, two labels)"),
        (counts["splits"], "in the other split (validated on as trained on)"),
        (counts["pooled"], "again among the images split by val_fraction (the copies may "
                           "land apart)")) if n)
    files = len({key for _, _, _, key in shared})
    warnings.warn(
        f"{files} image file(s) are read more than once, through links or hard links (a "
        f"user's, or a content store's, which keeps one copy of identical images: git-annex, "
        f"DVC, the Hugging Face cache), {len(shared)} read(s) more: {said}; e.g. {first} and "
        f"{second}. They are read as they are: remove the duplicates for a clean split",
        SuperconvergeWarning, stacklevel=outside(*_OURS))


@dataclass
class _PassedOver:
    """What a listing of an image folder leaves out that its user would want to be told of (a
    review: a dataset whose store had fetched 12 of 30 images, and no class folder of one
    class, loaded those 12 of 3 classes without a word; so did a folder of PNG and PGM files
    its PNGs alone)."""

    dangling: list[Path] = field(default_factory=list)
    """Links that lead nowhere, among the images and class folders (no suffix)."""
    other: list[Path] | None = field(default_factory=list)
    """Files in class folders of a format Pillow knows that is not one of IMAGE_EXTENSIONS
    (None: not looked for, in a folder of class folders)."""

    def warn(self) -> None:
        """Warn of what was gathered, once: the lists are emptied."""
        lists = [list(self.dangling), None if self.other is None else list(self.other)]
        self.dangling.clear()  # (before warning: a warning made an error is not said again)
        if self.other is not None:
            self.other.clear()
        for paths, what in (
            (lists[0], "link(s) among the images and class folders lead nowhere and are "
             "left out ({shown}): content a store has not fetched (`git annex get`, `dvc "
             "pull`), links to a disk that is not mounted, or a loop of links"),
            (lists[1], "file(s) in the class folders are of a format Pillow may read but "
             "that is not read here ({suffixes}; e.g. {shown}): they are left out; "
             "superconverge.data.IMAGE_EXTENSIONS lists the suffixes read, so convert them "
             "to PNG"),
        ):
            if paths:
                shown = ", ".join(str(p) for p in paths[:3]) + (", ..." if len(paths) > 3
                                                                 else "")
                suffixes = ", ".join(sorted({p.suffix.lower() for p in paths}))
                warnings.warn(f"{len(paths)} " + what.format(shown=shown, suffixes=suffixes),
                              SuperconvergeWarning, stacklevel=outside(*_OURS))


@functools.cache
def _other_formats() -> frozenset[str]:
    """The file suffixes of images Pillow here opens (its plugins') that :data:`IMAGE_EXTENSIONS`
    does not hold (AVIF, ICO, PSD, JPEG 2000), and of photos it may not (HEIC, raw camera
    files): files a user may have meant as images. Not the formats Pillow only writes (PDF) or
    only names (HDF5, GRIB, BUFR, MPEG: stubs), which are no images to it (a review: a
    features.h5 beside the images was "a format Pillow may read")."""
    from PIL import Image, ImageFile

    Image.init()

    def opens(fmt: str) -> bool:
        factory = Image.OPEN.get(fmt, (None,))[0]
        # (MPEG identifies its files only; a stub, WMF off Windows, decodes nothing)
        return (factory is not None and fmt != "MPEG"
                and not (isinstance(factory, type)
                         and issubclass(factory, ImageFile.StubImageFile)))

    # (and phone and camera photos Pillow cannot open here: left out unsaid, a bug bash)
    photos = {".heic", ".heif", ".avif", ".jxl", ".dng", ".cr2", ".nef", ".arw"}
    return frozenset({ext for ext, fmt in Image.registered_extensions().items()
                      if opens(fmt)} | photos) - set(IMAGE_EXTENSIONS)


_NOT_IMAGES = frozenset((
    ".md", ".rst", ".txt", ".log", ".csv", ".tsv", ".json", ".jsonl", ".yaml", ".yml", ".toml",
    ".ini", ".cfg", ".xml", ".html", ".py", ".ipynb", ".pdf", ".npz", ".npy", ".h5", ".hdf5",
    ".pt", ".pth", ".ckpt", ".pkl", ".zip", ".tar", ".gz", ".bz2", ".xz", ".7z", ".parquet",
    ".tgz", ".rar", ".mat", ".bin", ".safetensors", ".onnx", ".tfrecord", ".arrow", ".feather",
    ".wav", ".mp3", ".flac", ".ogg", ".mp4", ".avi", ".mov", ".mkv", ".webm", ".doc", ".docx",
    ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods"))
"""Suffixes of the documents and data files that sit beside images (a README.md, labels.csv,
features.h5): a link of such a name that leads nowhere is no image's (a review: "2 links lead
nowhere: git annex get" for those)."""


def _may_be_image(name: str) -> bool:
    """Whether a link of this name that leads nowhere may be an image or a class folder: any
    name but a document's or a data file's (:data:`_NOT_IMAGES`). A folder's name may hold any
    suffix ("grade.C", "U.S.A", "Mr.Bean": a review of a version that asked mimetypes)."""
    return os.path.splitext(name)[1].lower() not in _NOT_IMAGES


def _empty(folder: Path) -> bool:
    """Whether ``folder`` holds neither folders nor images (a README, a ``.DS_Store``)."""
    return not _subfolders(folder) and not _image_files(folder)


def _list_split(
    folder: Path, classes: Sequence[str], allow_missing: bool = False,
    read: dict[Path, tuple[str, Path, Path]] | None = None, pooled: bool = False,
    images: dict[Hashable, tuple[str, Path, Path]] | None = None,
    shared: list[tuple[Path, Path, str, Hashable]] | None = None,
    passed: _PassedOver | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The image files of ``folder``'s class sub-folders and their labels (nothing decoded).
    ``read`` gathers each folder of images read, resolved, with its class, the path it was
    read by and the split folder it was read in: one read under two classes, or in two splits
    (through a link), is refused. ``images`` gathers each image file the same way, by its
    ``(device, inode)``: one file read twice through links or hard links (made by hand, or a
    content store's, which keeps one copy of identical images: git-annex, DVC, the Hugging
    Face cache) under two classes, in both splits, or where the images are ``pooled`` (split
    by ``val_fraction``: the two could land apart) is added to ``shared``, with how, for one
    warning: a store's links cannot be told from a user's, nor removed by the user.
    ``passed`` gathers what the listing leaves out that the user should be told of (links
    that lead nowhere, class folders' and images'; images of formats not read)."""
    if passed is not None and not pooled:  # (a class folder that is such a link: no class;
        # the root, which pooled images are listed in, load_image_folder has looked at)
        _image_entries(folder, _PassedOver(dangling=passed.dangling, other=None))
    if not classes:
        raise ValueError(
            f"{folder}: no class sub-folders found, expected {folder}/<class_name>/<image>.png"
        )
    if len(classes) < 2:
        raise ValueError(
            f"{folder}: found one class folder ({classes[0]!r}), expected at least two classes"
        )
    known = set(classes)
    for extra in _subfolders(folder):
        if extra.name not in known:
            # (a bug bash: "café" typed, and "café" in a macOS copy's decomposed form, read as
            # "café: not present in ['café', ...]")
            twin = next((k for k in known if _nfc(k) == _nfc(extra.name)), None)
            why = ("" if twin is None else f": its name differs from the training split's "
                   f"{twin!r} only in how its accents are encoded (Unicode NFC and NFD, a "
                   "macOS copy's), so it reads as another; rename one of the two folders")
            raise ValueError(
                f"{extra}: class folder not present in the training split {sorted(known)}{why}"
            )
    files: list[Path] = []
    labels: list[int] = []
    read = {} if read is None else read
    images = {} if images is None else images
    for label, cls in enumerate(classes):
        class_dir = folder / cls
        holding: dict[Path, Path] = {}  # (a folder without images gives no label: not in it)
        inodes: dict[Path, Hashable] = {}
        found = (_class_images(class_dir, holding=holding, files=inodes, passed=passed)
                 if class_dir.is_dir() else [])
        for resolved, path in holding.items():
            other, by, split = read.setdefault(resolved, (cls, path, folder))
            if other != cls:  # (a link in one class folder into another, or up to the root)
                raise ValueError(
                    f"{by} and {path} are one folder, read as class {other!r} and as class "
                    f"{cls!r}: its images would have both labels; remove the link that leads "
                    "into another class's folder"
                )
            if split != folder:  # (train/cat/more -> val/cat: validated on what it trained on)
                raise ValueError(
                    f"{by} and {path} are one folder, read in {split.name}/ and in "
                    f"{folder.name}/: its images would be validated on as they were trained "
                    "on; an image belongs in one split (a link leads to it from both)"
                )
        for file in found:  # (a file's own link: the folders' check above cannot see it)
            other, by, split = images.setdefault(inodes[file], (cls, file, folder))
            if by == file:
                continue
            how = ("classes" if other != cls else "splits" if split != folder
                   else "pooled" if pooled else "")
            if how and shared is not None:  # (one split's class, twice: oversampled, read so)
                shared.append((by, file, how, inodes[file]))
        if not found and not allow_missing:
            raise ValueError(
                f"{class_dir}: no images found (expected files ending in "
                f"{', '.join(IMAGE_EXTENSIONS)})"
            )
        files += found
        labels += [label] * len(found)
    log.info("found %d images of %d classes in %s", len(files), len(classes), folder)
    out = np.empty(len(files), dtype=object)
    out[:] = files
    return out, np.asarray(labels, dtype=np.int64)


def _sample(n: int, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    """Indices of all ``n`` items, or of a random ``limit`` of them in their original order."""
    if limit is None or limit >= n:
        return np.arange(n)
    return np.sort(rng.permutation(n)[:limit])


#: Images decoded in one thread first, to time them.
_PROBE = 16
#: Median seconds an image of the probe above which the rest are decoded by a thread per core.
#: Pillow decodes and resizes outside Python's lock, so large photos gain from threads (500x375
#: JPEGs read at 224 px, 2.4 ms each: 1.4x faster on 2 cores, benchmarks/data_loading.py), but
#: small images are mostly Python calls under the lock, and threads only contend for it (32x32
#: PNGs, 0.1 ms each: 2.5x slower on 2 threads).
_THREADS_ABOVE_S = 1e-3


def _decode(files: np.ndarray, size: int, grayscale: bool, bar: Any) -> np.ndarray:
    """The images of ``files``, in order. The first unreadable file, in order, raises its error.

    The first ``_PROBE`` are decoded here, timed; if their median time is over
    ``_THREADS_ABOVE_S``, the rest are decoded by a thread per CPU core (up to 16), else here
    too.
    """
    from PIL import Image

    # Pillow's warning of an image past its pixel limit names no file: the images past it
    # are named after the load, in one warning of the same category (a user's bug bash). (Not
    # Pillow's hidden by a filter: the filters are the process's, and a load of minutes changed
    # other threads' warnings, and kept its own for good where one of theirs left after it, a
    # bug bash; nor one of ours an image, 400 for a folder of phone photos, a bug bash.)
    large: list[tuple[Path, int]] = []
    images = _decode_all(files, size, grayscale, bar, large)
    if large and (limit := Image.MAX_IMAGE_PIXELS) is not None:
        large.sort()  # (the decoding threads add them in any order: the same words each run)
        named = ", ".join(f"{file} ({pixels:,} pixels)" for file, pixels in large[:3])
        warnings.warn(
            f"{len(large)} image{'s' * (len(large) != 1)} with more pixels than Pillow's "
            f"{limit:,}, a limit against decompression bombs, read anyway, as your files: "
            f"{named}{', ...' if len(large) > 3 else ''}",
            Image.DecompressionBombWarning, stacklevel=outside(*_OURS))
    return images


def _decode_all(files: np.ndarray, size: int, grayscale: bool, bar: Any,
                large: list[tuple[Path, int]]) -> np.ndarray:
    images = []
    took = []
    for file in files[:_PROBE]:
        started = time.perf_counter()
        images.append(_read_image(file, size, grayscale, large))
        took.append(time.perf_counter() - started)
        bar.update()
    # The median, not the mean: a process's first image also pays for Pillow's start-up
    # (about 0.1 s here), which would make 16 small images look like 8 ms ones.
    each = float(np.median(took)) if took else 0.0
    rest = files[_PROBE:]
    workers = min(_usable_cpus(), 16, len(rest))
    if workers > 1 and each > _THREADS_ABOVE_S:
        with ThreadPoolExecutor(workers, thread_name_prefix="superconverge-images") as pool:
            try:
                for image in pool.map(lambda f: _read_image(f, size, grayscale, large), rest):
                    images.append(image)
                    bar.update()
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)  # Ctrl-C: stop at once
                raise
    else:
        for file in rest:
            images.append(_read_image(file, size, grayscale, large))
            bar.update()
    if not images:
        return np.empty((0, *image_shape(size, grayscale)), dtype=np.float32)
    return np.stack(images)


def _usable_cpus() -> int:
    """CPU cores this process may run on (its affinity, where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _image_files(folder: Path) -> list[Path]:
    return [folder / e.name for e in _image_entries(folder)]


def _image_entries(folder: Path, passed: _PassedOver | None = None
                   ) -> list[os.DirEntry[str]]:
    """``folder``'s image files, by name, as directory entries (which know, without a system
    call each, whether they are links and their inode). Hidden files are skipped like hidden
    folders: macOS writes "._name.png" resource forks beside every image on non-Apple disks,
    and they are not images. ``passed`` gathers the links that lead nowhere among what would
    be read, an image or a folder (no suffix): content a store such as git-annex or DVC has not
    fetched; and, where it has a list for them, the files of formats not read
    (:func:`_other_formats`)."""
    with os.scandir(folder) as listing:
        entries = [e for e in listing if not e.name.startswith(".")]
    if passed is not None:
        # (whatever the name: a class folder "Mr.Bean" has a suffix too; a link that leads
        # back to itself leads nowhere, where is_file() raised, a review)
        passed.dangling += sorted(folder / e.name for e in entries if e.is_symlink()
                                  and not os.path.exists(folder / e.name)
                                  and _may_be_image(e.name))
        if passed.other is not None:
            other = _other_formats()
            passed.other += sorted(folder / e.name for e in entries
                                   if os.path.splitext(e.name)[1].lower() in other
                                   and _is_file(e))
    return sorted((e for e in entries
                   if os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS
                   and _is_file(e)), key=lambda e: e.name)


def _is_file(entry: os.DirEntry[str]) -> bool:
    """``entry.is_file()``, False where the system cannot say (a link that leads back to
    itself: "Too many levels of symbolic links")."""
    try:
        return entry.is_file()
    except OSError:
        return False


def _class_images(folder: Path, seen: set[Path] | None = None,
                  holding: dict[Path, Path] | None = None,
                  files: dict[Path, Hashable] | None = None,
                  passed: _PassedOver | None = None) -> list[Path]:
    """A class folder's images, its sub-folders' too (as torchvision's ImageFolder reads them:
    ``cat/indoor/1.png``), each folder once (a link back up would loop). ``holding`` gathers
    the folders that hold images, resolved, each with the path it was reached by; ``files``
    each image's file: ``(device, inode)`` (a link's target's), or its resolved path where the
    file system gives no inode (0: some on Windows); ``passed`` what it leaves out that the
    user should be told of (:func:`_image_entries`)."""
    seen = set() if seen is None else seen
    resolved = folder.resolve()
    seen.add(resolved)
    entries = _image_entries(folder, passed)
    found = [folder / e.name for e in entries]
    if found and holding is not None:
        holding[resolved] = folder
    if found and files is not None:
        device = os.stat(folder).st_dev  # (a plain file's: its folder's; a link's: its own)
        for path, e in zip(found, entries, strict=True):
            # (a link's stat follows it, cached by is_file(); a plain file's inode is free)
            dev, ino = ((st := e.stat()).st_dev, st.st_ino) if e.is_symlink() else (
                device, e.inode())
            files[path] = (dev, ino) if ino else path.resolve()
    for sub in _subfolders(folder):
        if sub.resolve() not in seen:
            found += _class_images(sub, seen, holding, files, passed)
    return found


_EXIF_ORIENTATION = 0x0112

#: Pillow modes of 16-bit greyscale pixels (PNG, TIFF), scaled by 65535 rather than clipped.
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")


def _read_image(file: Path, size: int, grayscale: bool,
                large: list[tuple[Path, int]]) -> np.ndarray:
    """One image as float32 ``(C, size, size)`` in [0, 1], scaled by its pixel type's range;
    one with more pixels than Pillow's limit (under twice it, which Pillow refuses) is added
    to ``large``, with its pixels. A warning of Pillow's made an error names the file."""
    from PIL import Image, ImageOps  # Pillow: imported only when images are read

    arr = None
    try:
        with Image.open(file) as opened:
            # Upright, as a viewer shows it: a phone stores a photo as taken, with an EXIF
            # orientation tag that says how to turn it.
            im: Image.Image = opened
            limit, pixels = Image.MAX_IMAGE_PIXELS, opened.width * opened.height
            if limit is not None and pixels > limit:  # (under twice it, which Pillow refuses)
                large.append((file, pixels))
            if opened.getexif().get(_EXIF_ORIENTATION, 1) != 1:
                im = ImageOps.exif_transpose(opened) or opened
            mode = im.mode
            # Older Pillow opens 16-bit greyscale PNGs as mode "I", and every Pillow a 16-bit
            # PGM, scaled to 0-65535 whatever its maxval; neither has more than 16 bits.
            if mode in _SIXTEEN_BIT_MODES or (mode == "I" and opened.format in ("PNG", "PPM")):
                grey = Image.fromarray(np.asarray(im, dtype=np.float32) / 65535.0)
                grey = grey.resize((size, size), Image.Resampling.BILINEAR)
                arr = np.clip(np.asarray(grey, dtype=np.float32), 0.0, 1.0)[None]
                if not grayscale:
                    arr = np.repeat(arr, 3, axis=0)
            elif mode not in ("I", "F") and not mode.startswith("I;"):
                small = im.convert("L" if grayscale else "RGB").resize(
                    (size, size), Image.Resampling.BILINEAR
                )
                arr = np.asarray(small, dtype=np.float32) / 255.0
                arr = arr[None] if grayscale else arr.transpose(2, 0, 1)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ValueError(
            f"{file}: image too large to read safely ({err}); shrink it (it is read at "
            f"{size}x{size} pixels), or, in Python, raise PIL.Image.MAX_IMAGE_PIXELS if you "
            "trust the file"
        ) from None
    except (OSError, ValueError, SyntaxError) as err:  # PIL raises all three for bad files
        raise ValueError(f"{file}: cannot read image ({err})") from err
    except Warning as made_error:  # (a filter's error, a bug bash: it named no file)
        try:
            named = type(made_error)(f"{file}: {made_error}")
        except Exception:  # (a warning class that takes other arguments: as it is)
            raise made_error from None
        raise named from None
    if arr is None:
        raise ValueError(
            f"{file}: Pillow mode {mode!r} (32-bit integer, signed or floating-point pixels) "
            "has no fixed range to scale to [0, 1]; save the image with 8 bits per channel "
            "or 16-bit unsigned greyscale"
        )
    return arr


# ----------------------------------------------------------------------------------- shared


def _split_and_build(
    name: str, x: np.ndarray, labels: np.ndarray, val_fraction: float | None, seed: int,
    source: Path
) -> Dataset:
    codes, class_names = _encode_labels(labels, source)
    train_idx, val_idx = _split(codes, val_fraction, seed, source)
    return _finish(
        name, x[train_idx], codes[train_idx], x[val_idx], codes[val_idx], class_names, source
    )


def _no_fraction(val_fraction: float | None, source: Path, why: str) -> None:
    """Refuse a ``val_fraction`` given for data that comes split already (but 0, which holds
    nothing out of it: the file's own split is kept as it is)."""
    if val_fraction is not None and fraction("val_fraction", val_fraction) != 0:
        raise ValueError(f"{source}: val_fraction={val_fraction!r} would be ignored: {why}; "
                         "leave val_fraction out")


def _split(
    y: np.ndarray, val_fraction: float | None, seed: int, source: Path
) -> tuple[np.ndarray, np.ndarray]:
    """``train_val_split`` (``val_fraction`` None: 0.2), with errors (too few examples, a bad
    fraction) naming the file."""
    try:
        return train_val_split(y, DEFAULT_VAL_FRACTION if val_fraction is None else val_fraction,
                               seed)
    except ValueError as err:
        raise ValueError(f"{source}: {err}") from None


def _build(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    source: Path,
    class_names: Sequence[str] | None = None,
    val_key: str = "y_val",
) -> Dataset:
    if class_names is None:
        codes, names = _encode_labels(np.concatenate([y, y_val]), source)
        y, y_val, class_names = codes[: len(y)], codes[len(y) :], names
        unseen = sorted(set(y_val.tolist()) - set(y.tolist()))
        if unseen:
            raise ValueError(
                f"{source}: {val_key} has label(s) {[names[c] for c in unseen]} that y never "
                f"has; a class needs training examples (add them to y, or drop them from "
                f"{val_key})"
            )
    return _finish(name, x, y, x_val, y_val, class_names, source)


def _nfc(text: str) -> str:
    """``text`` in Unicode's composed form (NFC): "é" as one code point, as typed, not as "e"
    and an accent, as macOS names files."""
    return unicodedata.normalize("NFC", text)


def _encode_labels(labels: np.ndarray, source: Path) -> tuple[np.ndarray, list[str]]:
    """Class indices ``0..K-1`` and names.

    Text labels are numbered in sorted order and named by their text, read past surrounding
    whitespace (``"cat\\n"`` is ``"cat"``, as in a CSV). Integer labels that are
    exactly ``0..K-1`` stay as they are; any other set (1-based ``1..K``, gaps such as
    ``{0, 1000, 2000}``) is numbered in sorted order too, so no output is spent on a class
    without examples, and ``class_names`` keeps the original values. Text that is all numbers
    is read as integers exactly (not through float64, which merges IDs past 2**53), and
    labels outside the int64 range are refused.
    """
    if labels.dtype.kind == "S":  # byte strings, e.g. from Python 2 or h5py
        try:
            labels = np.char.decode(labels, "utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(f"{source}: byte-string labels are not UTF-8 text ({err})") from None
    if labels.dtype.kind == "U":
        # Each distinct text looked at once (sorted by code point, as sorted() sorts str).
        texts, inverse = np.unique(labels, return_inverse=True)
        inverse = inverse.reshape(-1).astype(np.int64)
        # Read past surrounding whitespace, as a CSV's labels are: "cat\n" (a line kept from
        # readlines()) and "cat" are one class, not two (an audit); and, where any two differ
        # only so, all in one form of Unicode (NFC): a typed "café" and a macOS file name's
        # decomposed one were two classes of one name (a bug bash). Where none collide, the
        # labels keep their form, and their order (a review).
        stripped = np.char.strip(texts)
        composed = [_nfc(t) for t in stripped.tolist()]
        if len(set(composed)) < len(set(stripped.tolist())):
            stripped = np.array(composed)
        if (stripped != texts).any():
            texts, merged = np.unique(stripped, return_inverse=True)
            inverse = merged.reshape(-1)[inverse].astype(np.int64)
        names = texts.tolist()
        # An empty text, or a table's missing value among numbers, is an example without a
        # label (as a CSV's is refused), not a class named "" or "NA".
        missing = [i for i, v in enumerate(names) if not v.strip()] or [
            i for i, v in enumerate(names) if v.strip().lower() in _MISSING]
        if missing and (not names[missing[0]].strip() or all(
                _is_number(v) for i, v in enumerate(names) if i not in missing)):
            count = int(np.isin(inverse, missing).sum())
            what = ("empty" if not names[missing[0]].strip() else
                    f"{' or '.join(repr(names[i]) for i in missing[:4])}, missing values among "
                    "numeric labels")
            raise ValueError(f"{source}: {count} of the {len(labels)} labels are {what}: "
                             "examples without a label; drop them")
        if not all(_is_number(v) for v in names):
            # (among text classes "NA" or "none" may be one: pandas' marks alone are said, as
            # astype(str) writes them: NaN's, pd.NA's, None's)
            marks = [i for i, v in enumerate(names) if v.strip() in ("nan", "<NA>", "None")]
            if marks:
                count = int(np.isin(inverse, marks).sum())
                warnings.warn(
                    f"{source}: {count} of the {len(labels)} labels are "
                    f"{' or '.join(repr(names[i]) for i in marks)}, read as a class: how "
                    "pandas' astype(str) writes a missing label; if those examples have none, "
                    "drop them", SuperconvergeWarning, stacklevel=outside(*_OURS))
            return inverse, names
        labels = _integer_text_labels(names, inverse, source)
    if labels.dtype.kind == "b":
        labels = labels.astype(np.int64)
    if labels.dtype.kind == "f":
        if np.isnan(labels).any():  # (pandas' label column with gaps)
            raise ValueError(f"{source}: {int(np.isnan(labels).sum())} of the {len(labels)} "
                             "labels are NaN, missing values: examples without a label; drop "
                             "them")
        if not (np.isfinite(labels).all() and (labels == np.round(labels)).all()):
            raise ValueError(_NOT_WHOLE.format(source=source))
    if labels.dtype.kind not in "iuf":
        raise ValueError(f"{source}: labels have dtype {labels.dtype}, expected ints or text")
    if len(labels):
        # Python scalars: compared exactly (a float64 2**63 is no int64, a uint64 2**63 is).
        low, high = labels.min().item(), labels.max().item()
        if low < 0:
            raise ValueError(_negative(source, _shown(low),
                                       set(np.unique(labels).tolist()) == {-1, 1}))
        if high > _INT64_MAX:
            raise ValueError(_too_large(source, _shown(high)))
    labels = labels.astype(np.int64)
    values = np.unique(labels)
    if len(values) and values[-1] != len(values) - 1:
        log.info(
            "%s: integer labels are not 0..%d; numbered in sorted order, class_names keep "
            "the original values",
            source,
            len(values) - 1,
        )
    return np.searchsorted(values, labels).astype(np.int64), [str(v) for v in values.tolist()]


_INT64_MAX = int(np.iinfo(np.int64).max)
_NOT_WHOLE = (
    "{source}: labels must be whole-number class indices or class names; got non-integer "
    "values (regression targets are not supported)"
)


def _shown(value: int | float) -> str:
    """A whole-number label as written: ``7``, not ``7.0``; a huge float stays ``1e+20``."""
    if isinstance(value, float) and abs(value) <= _INT64_MAX:
        return str(int(value))
    return str(value)


def _negative(source: Path, label: str, signs: bool = False) -> str:
    """``signs``: the labels are -1 and +1, a binary task's other convention."""
    return (f"{source}: labels must be class indices >= 0, got minimum {label}"
            + ("; for labels -1 and +1 use (y + 1) // 2, which makes them 0 and 1" if signs
               else ""))


def _too_large(source: Path, label: str) -> str:
    return (
        f"{source}: label {label} is beyond {_INT64_MAX}, the largest class index a label may "
        "have (int64); number the classes 0..K-1, or name them with text that is not a number"
    )


def _integer_text_labels(texts: list[str], inverse: np.ndarray, source: Path) -> np.ndarray:
    """Numeric text labels as int64, from their distinct ``texts`` (each passes ``_is_number``)
    and each label's index into them, read exactly: ``2**53 + 1`` stays itself, where float64
    would round it onto its neighbour; ``"1.0"`` and ``"1e3"`` are whole numbers too. Raises
    for a non-whole label and for one outside int64."""
    values: list[int] = []
    lowest: tuple[Decimal, str] | None = None  # the most negative label, and its text
    for text in texts:
        try:
            value = Decimal(text)  # exact, unlike float; takes what float takes ("1e3", "inf")
        except InvalidOperation:  # pragma: no cover - float() read it: a float is exact here
            value = Decimal(float(text))
        if not value.is_finite():
            raise ValueError(_NOT_WHOLE.format(source=source))
        # Compared before int(): "1e999999999" is a finite Decimal, but no int to build.
        if value > _INT64_MAX:
            raise ValueError(_too_large(source, text.strip()))
        if value < 0:
            if lowest is None or value < lowest[0]:
                lowest = (value, text.strip())
            if value < -_INT64_MAX - 1:
                continue  # whole or not, refused below as negative
        if value != int(value):
            raise ValueError(_NOT_WHOLE.format(source=source))
        values.append(int(value))
    if lowest is not None:
        raise ValueError(_negative(source, lowest[1], set(values) == {-1, 1}))
    return np.array(values, dtype=np.int64)[inverse]


def _finish(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    class_names: Sequence[str],
    source: Path,
) -> Dataset:
    if len(class_names) < 2:
        raise ValueError(f"{source}: found {len(class_names)} class, expected at least 2")
    return Dataset(
        x_train=torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
        y_train=torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64)),
        x_val=torch.from_numpy(np.ascontiguousarray(x_val, dtype=np.float32)),
        y_val=torch.from_numpy(np.ascontiguousarray(y_val, dtype=np.int64)),
        name=name,
        num_classes=len(class_names),
        input_shape=tuple(x.shape[1:]),
        class_names=tuple(class_names),
    )
