"""``find_lr``: an LR range test on a named dataset and model, with its JSON and plot written."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import itertools
import logging
import numbers
import os
import signal
import tempfile
import threading
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from superconverge._batches import (
    batches_a_pass,
    drops_single,
    even_batch_size,
    repeats_examples,
    short_last_batch,
)
from superconverge._names import FIND_LR_PARTIAL_STEM, FIND_LR_STEM
from superconverge._peer_names import peer_names
from superconverge._signals import Terminated, stop_for
from superconverge._stack import outside
from superconverge._warning import SuperconvergeWarning
from superconverge.atomic import (
    check_writable,
    is_stream,
    link_target,
    nearest_existing,
    one_line,
    write_bytes,
    write_files,
)
from superconverge.data import image_shape, make_loader
from superconverge.data.files import _image_class_at
from superconverge.finder import METHODS, RangeTestResult, is_main_process, lr_range_test
from superconverge.finder._dist import world_size
from superconverge.finder._restore import signals_deferred
from superconverge.finder.plot import png_bytes
from superconverge.finder.range_test import (
    MODES,
    _attach_partial,
    check_caller_modes,
    sweep_lrs,
    sweep_seed,
    sweep_steps,
)
from superconverge.finder.suggest import MIN_POINTS
from superconverge.models import build_model, suggest_model
from superconverge.models.registry import WIDTHS_ADVICE, check_model_name
from superconverge.recipes.common import (
    FILE_OPTIONS,
    FUSED_OPTIMIZERS,
    OPTIMIZERS,
    load_data,
    make_optimizer,
    resolve_device,
)
from superconverge.schedules import _validate as v

logger = logging.getLogger(__name__)
WROTE_LOG = "wrote %s and %s"
"""The log line of the files written, which find-lr's report says again."""

AMP_MODES = {"bf16": torch.bfloat16, "fp16": torch.float16}
_FLOAT32_MAX = float(torch.finfo(torch.float32).max)

STEM, PARTIAL_STEM = FIND_LR_STEM, FIND_LR_PARTIAL_STEM  # (see superconverge._names)

RANGE_STEPS = {"cnn1d": 200, "resnet20": 300, "resnet32": 300, "resnet44": 600,
               "resnet56": 600, "resnet110": 600}
"""Default range-test steps per built-in model (others: :data:`DEFAULT_RANGE_STEPS`).

A deep network's loss barely moves in 100 steps, and the curve's "valley" is then noise: on
32x32 synthetic images, ResNet-20's loss fell by 1.9x its batch noise in 100 steps and 17x in
300; ResNet-56's by 4.8x in 300 and cleanly in 600 (``res.warnings()`` flags under 5x).
ResNet-32/44/110 follow their neighbours. The 1-D CNN on mnist1d: in 100 steps its loss fell
by under 5% before turning up for 5 of seeds 0-5 (``res.warnings()``: "the suggestion is
uncertain"), in 200 steps for none."""
DEFAULT_RANGE_STEPS = 100


def range_steps(model: str) -> int:
    """Default range-test steps for the built-in model ``model``."""
    return RANGE_STEPS.get(model, DEFAULT_RANGE_STEPS)


_DATA_OPTIONS = {
    name: (f"pass it in data_options={{{name!r}: ...}} beside data=, where the options of a "
           "data file's reader go (a built-in dataset takes none)")
    for name in dict.fromkeys(n for names in FILE_OPTIONS.values() for n in names)}
"""find_lr's hints for the data readers' options passed as its own arguments (a bug bash:
"give a val_fraction above 0", followed as ``find_lr(val_fraction=0.2)``, got Python's bare
"unexpected keyword argument")."""


@peer_names(_DATA_OPTIONS)
def find_lr(
    *,
    dataset: str | None = "digits",
    data: str | os.PathLike[str] | None = None,
    model: str | None = None,
    optimizer: str = "sgd",
    batch_size: int = 64,
    accumulation_steps: int = 1,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_iter: int | None = None,
    mode: str = "exp",
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    repeats: int = 1,
    val_batches: int | None = 0,
    seed: int = 0,
    method: str = "default",
    out: str | os.PathLike[str] | None = None,
    progress: bool = True,
    device: str | torch.device | None = None,
    amp: str | None = None,
    standardize: bool = False,
    data_options: Mapping[str, Any] | None = None,
    max_grad_norm: float | None = None,
) -> RangeTestResult:
    """Run an LR range test of ``model`` (default: one suited to the data's shape) on a built-in
    ``dataset`` or the user's ``data`` file; write ``lr_find.json`` and ``lr_find.png`` to
    ``out`` when given. Returns the result; ``result.suggestion(method)`` is the pick. Its
    ``config`` holds these arguments (``optimizer`` by name, ``data`` as an absolute path and
    ``dataset`` None beside it, ``model`` and ``num_iter`` as chosen) with what the run
    recorded besides (``data_name``, ``device``, ...): ``find_lr(**{k: config[k] for k in
    the names find_lr takes})`` runs it again (that of an older version too, which recorded
    ``val_batches`` None for none and the optimizer by its class's name, ``"SGD"``: both are
    taken).

    Ctrl-C, an error or any other exception during the sweep (``sys.exit()``, an asyncio
    task's cancellation) writes the curve measured so far to
    ``lr_find.partial.json`` and ``.png`` in ``out`` (beside, never over, a finished run's files,
    which a re-run stopped early would otherwise lose) and raises the ``KeyboardInterrupt`` or
    the error, its ``partial_path`` naming the file; a finished run removes such partial
    files.

    ``num_iter``: steps in the sweep (default: :func:`range_steps` of the model: 100, 200 for
    ``cnn1d``, 300-600 for the ResNets). ``device``: where to train (default: ``cuda`` when
    available, else ``cpu``). ``amp``: ``None``, ``"bf16"`` (autocast) or ``"fp16"`` (autocast
    with a ``GradScaler``). ``standardize`` and ``data_options`` (``val_fraction``; ``target``,
    ``header``, ``delimiter`` for CSV; ``size``, ``grayscale`` for images) go to
    :func:`~superconverge.recipes.load_data`; ``val_fraction`` is 0 unless given, as the sweep
    uses no validation examples: every example of ``data`` trains (the file's own split, where
    it has one, is kept, and only its training part is used). ``val_batches``: score the loss
    of this many batches of the validation examples before each step (the curve to compare
    across weight decays); a file's are then ``val_fraction``'s, 0.2 by default, or its own
    split. ``max_grad_norm``: clip the
    gradients' total norm before each step, as a training run that clips does.
    ``accumulation_steps``: batches of ``batch_size`` a step, their gradients summed (each loss
    divided by it) as a run that accumulates them does: the LRs found are for a step of
    ``accumulation_steps * batch_size`` examples, a batch that need not fit in memory at once.

    Under an initialised ``torch.distributed`` group (``torchrun``: see
    :func:`~superconverge.recipes.distributed.torchrun_group`) every rank calls ``find_lr`` with
    the same arguments: the model is wrapped in ``DistributedDataParallel``, rank ``r`` of ``w``
    trains on the examples ``r, r + w, r + 2w, ...`` in batches of ``batch_size`` (so a step
    sees ``w * batch_size`` examples; every rank takes as many, ``n // w`` of ``n``, and the
    last ``n % w`` examples are left out, and each rank's are put in an order of its own by
    ``seed`` and ``r`` before its loader shuffles them), the loss is averaged over the ranks,
    every rank returns the same curve and only rank 0 writes files and shows a progress bar."""
    # Everything that can be checked is checked before the data is made and the model trains.
    # The checked values are the ones kept: a numpy scalar becomes a Python number, which the
    # JSON the result is written to takes.
    batch_size = v.integer("batch_size", batch_size, minimum=1)
    accumulation_steps = v.integer("accumulation_steps", accumulation_steps, minimum=1)
    start_lr, end_lr = sweep_lrs(start_lr, end_lr)
    if num_iter is not None:
        # The pick's floor before the range test's own (5): one told after the other, a user
        # who followed the first met the second (a bug bash).
        if (isinstance(num_iter, numbers.Integral) and not isinstance(num_iter, bool)
                and num_iter < MIN_POINTS):  # (the test runs; the pick it is for cannot be made)
            raise ValueError(f"num_iter must be >= {MIN_POINTS}, got {num_iter}: the suggestion "
                             f"rules need {MIN_POINTS} points")
        num_iter = sweep_steps(num_iter)
    repeats = v.integer("repeats", repeats, minimum=1)
    # (None: no validation, as files of older versions record it; a bug bash: their configs
    # were refused on replay)
    val_batches = 0 if val_batches is None else v.integer("val_batches", val_batches, minimum=0)
    momentum = v.momentum("momentum", momentum)
    weight_decay = v.non_negative("weight_decay", weight_decay)
    if weight_decay > _FLOAT32_MAX:  # torch writes it into the float32 update, mid-sweep
        raise ValueError(f"weight_decay must be <= {_FLOAT32_MAX:g} (the largest float32 number, "
                         f"the models' dtype), got {weight_decay!r}")
    v.choice("method", method, METHODS)
    # (the names too: a typo is told before an image folder is decoded)
    # (in any case: older versions recorded the class's name, "SGD", a bug bash)
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        optimizer = optimizer.lower()
    v.choice("optimizer", optimizer, OPTIMIZERS)  # (a name refused as given, a review)
    v.choice("mode", mode, tuple(MODES))
    if model is not None:
        check_model_name(model)
    if max_grad_norm is not None:
        max_grad_norm = v.positive("max_grad_norm", max_grad_norm)
    if amp is not None:
        v.choice("amp", amp, AMP_MODES)
    dev = resolve_device(device)
    # (before the data is made: lr_range_test's refusals named lr_range_test and amp_dtype, a
    # review)
    check_caller_modes("find_lr", [dev.type], lambda dtype: {
        "bfloat16": "amp='bf16'", "float16": "amp='fp16'"}.get(dtype))
    seed = sweep_seed(seed, repeats)
    world, main = world_size(), is_main_process()
    progress = v.boolean("progress", progress) and main  # ("no" was a bar, a bug bash)
    for name, path in (("data", data), ("out", out)):
        if path is not None and not str(path).strip():
            raise ValueError(f"{name} is an empty path; name a file or folder")
    if out is not None and data is not None and Path(data).is_dir() and (
            cls := _image_class_at(data, out)) is not None:
        # (out=data itself, or a split folder's own level, holds no class: the images there
        # are left out, with a warning)
        raise ValueError(
            f"out={str(out)!r} lies inside the image folder data={str(data)!r}: its plot "
            f"would be read as an image of class {cls!r} by the next run on that folder; "
            "pass an out folder outside it")
    if out is not None or world > 1:  # (every rank meets the broadcast, out or not)
        _check_out(None if out is None else Path(out), world, main)
    if data_options is not None and not isinstance(data_options, Mapping):
        raise TypeError(f"data_options must be a mapping of option names to values (e.g. "
                        f"{{'val_fraction': 0.3}}), got {type(data_options).__name__} "
                        f"{data_options!r}")
    options = {k: x.item() if isinstance(x, np.generic) else x
               for k, x in (data_options or {}).items()}
    if data is not None and options.get("val_fraction") is None and not val_batches:
        # The sweep uses no validation examples: every example of the file trains (a split
        # by the loaders' default had left a fifth of a table out, and refused a tiny one).
        options["val_fraction"] = 0.0
    if data is not None and Path(data).is_dir():
        # The sweep sees at most num_iter x accumulation_steps x batch_size examples a repeat
        # (each process its share), and val_batches x batch_size validation ones: decode only
        # those of an image folder (a random sample by seed), not all of it.
        shape = image_shape(**{k: options[k] for k in ("size", "grayscale")
                               if options.get(k) is not None})
        steps = num_iter or range_steps(model or suggest_model(shape))
        if options.get("max_train") is None:  # (every rank takes its share of them)
            options["max_train"] = steps * accumulation_steps * batch_size * repeats * world
        if options.get("max_val") is None:  # (the batches a validation pass scores)
            options["max_val"] = val_batches * batch_size
    ds = load_data(dataset, data, seed=seed, standardize=standardize, progress=progress,
                   **options)
    if val_batches and len(ds.x_val) == 0:
        raise ValueError(f"val_batches={val_batches}: {ds.name} holds no validation examples; "
                         "give a val_fraction above 0 (or leave it out: 0.2)")
    name = model or suggest_model(ds.input_shape)
    if num_iter is None:
        num_iter = range_steps(name)
    # The model's initial weights by seed, without re-seeding the caller's RNG for good (a
    # script that runs find_lr before building its own model would get the same weights
    # whatever seed it set).
    # The CPU generator only: the model is built on the CPU, and torch.manual_seed would seed
    # CUDA too (or queue it for CUDA's first use), which fork_rng(devices=[]) does not undo.
    # In float32, as the data is, whatever default dtype the caller's process set (a float64
    # default made a float64 model, which float32 batches failed in).
    with torch.random.fork_rng(devices=[]), _default_dtype(torch.float32):
        torch.default_generator.manual_seed(seed)
        try:
            net = build_model(name, ds.input_shape, ds.num_classes)
        except ValueError as err:  # (build_model's advice of widths=, an option find_lr lacks)
            raise ValueError(str(err).replace(WIDTHS_ADVICE, "use model=")) from None
    net = net.to(dev)
    x_train, y_train = ds.x_train, ds.y_train
    if world > 1:
        rank = torch.distributed.get_rank()
        # (at least 2 each: a rank's single example would be a batch of one, which fails a
        # BatchNorm in training, and no epoch's last batch of one can be dropped from it)
        if ds.num_train < 2 * world:
            raise ValueError(f"{ds.num_train} training examples cannot be shared by {world} "
                             "processes with at least 2 each; use fewer processes")
        # Equal shares: a rank holding one example more ran its passes apart from the others'
        # (2003 over 2 at batch 500: rank 0 trained on a batch of 2 where rank 1 began its
        # next pass, and went on out of step), so the last num_train % world are left out.
        each = ds.num_train // world
        # ... each in an order of its own, by seed and rank: the range test seeds every rank's
        # loader alike, so shares in the data's order were drawn alike, and each step paired
        # the examples side by side in it (a bug bash: examples stored twice in a row made a
        # step of 2 x 64 one of 64 examples, the curve of one process at batch 64)
        order = torch.from_numpy(np.random.default_rng([seed, rank]).permutation(each))
        x_train, y_train = x_train[rank::world][order], y_train[rank::world][order]
        # ("cuda" without an index, under a group of the caller's: the current device, where
        # net.to put the model)
        net = torch.nn.parallel.DistributedDataParallel(net, device_ids=None if dev.type != "cuda"
                                                        else [dev.index if dev.index is not None
                                                              else torch.cuda.current_device()])
    # On CUDA torch's fused step where there is one: under fp16 it takes the GradScaler into
    # the step, so the sweep never waits for the GPU (others read the inf check every step).
    fused = dev.type == "cuda" and optimizer in FUSED_OPTIMIZERS
    opt = make_optimizer(optimizer, net.parameters(), start_lr, momentum=momentum,
                         weight_decay=weight_decay, fused=fused)
    # Page-locked batches on CUDA: the range test's non_blocking copies then overlap the
    # GPU's work instead of holding up the host.
    # An epoch's last batch of a single example is dropped: it fails a BatchNorm in training
    # whose map is 1 x 1 by then (the CNN on 4-7 pixel images), and its loss is all noise.
    single = drops_single(len(x_train), batch_size)
    share = len(x_train)  # (under torchrun every process's share: rank 0 alone warns)
    left = ds.num_train - world * share
    whose = (f" (each process's share of the {ds.num_train} over {world} processes"
             f"{f', {left} left out' if left else ''})" if world > 1 else "")
    if batch_size > share:
        # The LRs a range test finds depend on the batch size: say which one this curve is for.
        # (under torchrun a step sees every process's batch: a bug bash read "for a batch of
        # 719, not 100000" of steps over all 1438)
        # (with accumulation, a step of k such batches: each example k times, a final read)
        k = accumulation_steps
        asked = (f"{k * batch_size} ({k} x {batch_size})" if world == 1 and k > 1 else
                 f"{batch_size}" if world == 1 else
                 f"{world * k * batch_size} ({world} x {k} x {batch_size})" if k > 1 else
                 f"{world * batch_size} ({world} x {batch_size})")
        times = f", each example {k} times" if k > 1 else ""
        said = (f"every step is {'one batch' if k == 1 else f'{k} batches'} of all {share}"
                f"{times}, so the LRs found are for a batch of {share}, not {asked}"
                if world == 1 else
                f"every step is each process's whole share{times}, all {world * share} "
                f"examples, so the LRs found are for a step of {world * share}, not {asked}")
        warnings.warn(f"batch_size={batch_size} is more than the {share} training "
                      f"examples{whose}: {said}", SuperconvergeWarning,
                      stacklevel=outside(__name__))
    elif repeats_examples(share, batch_size, accumulation_steps):
        # A step of more batches than a pass holds sees some examples twice: its gradient is
        # not that of a batch of accumulation_steps * batch_size different examples. (One of
        # a pass's batches exactly, the last short, sees each once: a review.)
        per_pass = batches_a_pass(share, batch_size)
        every = "" if world == 1 else f" a process, about {world * share} in all"
        warnings.warn(f"accumulation_steps={accumulation_steps} batches of {batch_size} are more "
                      f"than the {per_pass} batches a pass through the {share} training "
                      f"examples{whose} holds: every step sees some of them twice, so the LRs "
                      f"found are for a step of about {share} different examples{every}",
                      SuperconvergeWarning, stacklevel=outside(__name__))
    elif (short := short_last_batch(share, batch_size, accumulation_steps)) is not None:
        # (a bug bash: batch 1000 of 1438 examples, every second step on 438, unsaid)
        last, per_pass = short
        even = even_batch_size(share, batch_size)
        count = batches_a_pass(share, even)
        trains = (f"trains on {last} examples" if world == 1 else
                  f"trains on {world * last} examples ({last} a process)")
        warnings.warn(f"batch_size={batch_size} does not divide the {share} training "
                      f"examples{whose}: each pass through them ends in a batch of {last}, so 1 "
                      f"step in {per_pass} {trains} and the LRs found are for a mix of batch "
                      f"sizes; batch_size={even} takes them in {count} batches, the last of "
                      f"{share - (count - 1) * even}", SuperconvergeWarning,
                      stacklevel=outside(__name__))
    train = make_loader(x_train, y_train, batch_size, shuffle=True, seed=seed,
                        drop_last=single, pin_memory=dev.type == "cuda")
    # (every process scores the same validation batches: the same curve on each)
    val = (make_loader(ds.x_val, ds.y_val, batch_size, pin_memory=dev.type == "cuda")
           if val_batches else None)
    logger.info("range test: %s on %s (%d examples), %s, batch %d%s, %s%s", name, ds.name,
                ds.x_train.shape[0], optimizer, batch_size,
                f" x {accumulation_steps} accumulated" if accumulation_steps > 1 else "", dev,
                f", {world} processes" if world > 1 else "")
    # The arguments as find_lr takes them (lr_range_test names the optimizer by its class,
    # "Adam"): "dataset" the built-in's name, or None beside "data", the file's absolute path
    # (a replay from another folder finds it); "data_name" what the data is called.
    extra = {"dataset": dataset if data is None else None,
             "data": None if data is None else os.path.abspath(data), "data_name": ds.name,
             "optimizer": optimizer, "model": name, "batch_size": batch_size,
             "momentum": momentum, "val_batches": val_batches,
             "weight_decay": weight_decay, "method": method, "device": str(dev), "amp": amp,
             "fused": fused, "standardize": standardize,
             "data_options": {k: x for k, x in options.items() if x is not None},
             "num_train": ds.num_train}
    try:
        result = lr_range_test(
            net, opt, torch.nn.CrossEntropyLoss(), train, start_lr, end_lr, num_iter, mode,
            repeats=repeats, seed=seed, progress=progress, max_grad_norm=max_grad_norm,
            accumulation_steps=accumulation_steps, val_data=val, val_batches=val_batches,
            amp_dtype=None if amp is None else AMP_MODES[amp],
            scaler=torch.amp.GradScaler(dev.type) if amp == "fp16" else None,
        )
    except BaseException as exc:
        # Ctrl-C or an error mid-sweep (or a sys.exit() of the caller's signal handler, a bug
        # bash; an asyncio task's cancellation, a final read): keep what was measured (stop
        # reason "interrupted" or "error"), under a name of its own: a finished run's
        # lr_find.json in the same folder is worth more than a stopped one. (Whatever
        # lr_range_test attaches its curve to: any BaseException.)
        partial = getattr(exc, "partial_result", None)
        if partial is not None and out is not None and partial.lrs and main:
            # Held off while it writes (a few seconds with the plot): a second Ctrl-C, and
            # under torchrun the agent's SIGINT or SIGTERM to every worker once one has
            # failed or been interrupted, which cut the write short and kept nothing.
            with signals_deferred(sigterm=True) as came:
                try:
                    _write_partial(
                        dataclasses.replace(partial, config={**partial.config, **extra}),
                        out, method, exc)
                except Exception as failed:  # the sweep's own exception is the one to see
                    logger.warning("could not write the partial curve to %s: %s", out,
                                   one_line(failed))
            held = came()
            if held is not None and held != signal.SIGINT and not isinstance(exc, Terminated):
                # told to end while it wrote (under sigterm_as_interrupt): end as told, 143
                raise Terminated.instead_of(exc, held) from exc
        raise
    result = dataclasses.replace(result, config={**result.config, **extra})
    if out is not None:
        try:
            _write(result, out, method)
        except Exception as exc:
            # The sweep finished: files that cannot be written (a full disk, a folder made
            # read-only meanwhile) do not lose it. The whole result goes with the error.
            if getattr(exc, "partial_result", None) is None:
                _attach_whole(exc, result)
            raise
    return result


@contextlib.contextmanager
def _default_dtype(dtype: torch.dtype) -> Iterator[None]:
    # One find_lr at a time in here (a bug bash: two in two threads left the process's float64
    # default at float32 for good, the last to leave putting back what it had found, and one
    # built its model while the other had put float64 back: "mixed dtype")
    with _DTYPE_LOCK:
        previous = torch.get_default_dtype()
        try:  # (set inside: a Ctrl-C between the two left the caller's float64 at float32)
            torch.set_default_dtype(dtype)
            yield
        finally:
            torch.set_default_dtype(previous)


_DTYPE_LOCK = threading.Lock()
"""Held while :func:`find_lr` builds its model in float32 (the default dtype is the
process's)."""


_FILE_SUFFIXES = (".json", ".png", ".svg", ".pdf", ".csv", ".tsv", ".txt", ".jpg", ".jpeg",
                  ".npz", ".npy", ".pt", ".pth", ".ckpt", ".pkl", ".html", ".yaml", ".yml",
                  ".log", ".gz", ".zip")
"""Suffixes of files, not folders: a new ``out`` named so is refused (an existing folder so
named is used)."""


def _check_out(folder: Path | None, world: int, main: bool) -> None:
    """:func:`_check_writable` on rank 0, which writes; under torch.distributed its verdict
    goes to every rank, so all of them refuse a bad ``out`` at once, before the collectives
    of training (the others would otherwise go on, then fail when rank 0 left). Every rank
    takes part, ``folder`` None too: a script that passed ``out`` on rank 0 alone hung, its
    broadcast met by the other ranks' first collective of training (a bug bash)."""
    problem: OSError | ValueError | None = None
    if main and folder is not None:
        try:
            _check_writable(folder)
            _check_matplotlib()
        except (OSError, ValueError) as exc:
            problem = exc
    if world > 1:
        verdict = [problem]
        torch.distributed.broadcast_object_list(verdict, src=0)
        problem = verdict[0]
    if problem is not None:
        raise problem


def _check_matplotlib() -> None:
    """Import matplotlib, which draws the plot, now: a bad ``MPLBACKEND`` or matplotlibrc
    fails its import, and did so after the sweep, with "Key backend: 'bogus' is not a valid
    value" and no curve written (a user's bug bash)."""
    try:
        with warnings.catch_warnings():
            # (its own import's deprecation notes, which -W error would make this check's
            # failure: matplotlib 3.6 under a newer pyparsing, the floor suite)
            warnings.simplefilter("ignore", DeprecationWarning)
            import matplotlib  # noqa: F401
    except ValueError as exc:
        backend = os.environ.get("MPLBACKEND")
        where = f" (MPLBACKEND={backend!r} in the environment)" if backend is not None else ""
        raise ValueError(f"matplotlib, which draws lr_find.png, cannot start{where}: "
                         f"{one_line(exc)}") from None


def _check_writable(folder: Path) -> None:
    """Check, creating nothing, that the results can be written into ``folder`` (or into the
    folder that would be made for it), so that a bad ``out`` fails now, not after the test."""
    if folder.is_symlink() and not folder.exists():
        raise FileNotFoundError(
            errno.ENOENT, f"out={str(folder)!r} is a link to {os.readlink(folder)}, which does "
            "not exist")
    if folder.exists() and not folder.is_dir():
        # (a device or a pipe, /dev/null or /dev/stdout, was called a file, a bug bash)
        what = "a file" if folder.is_file() else "a device or a pipe, not a folder"
        raise NotADirectoryError(
            errno.ENOTDIR, f"out={str(folder)!r} is {what}; pass a folder for lr_find.json and "
            "lr_find.png")
    if not folder.exists() and folder.suffix.lower() in _FILE_SUFFIXES:
        # --out plot.png would become a folder named plot.png: the user meant a file
        raise NotADirectoryError(
            errno.ENOTDIR, f"out={str(folder)!r} names a {folder.suffix} file, but out is the "
            f"folder that lr_find.json and lr_find.png are written into; pass a folder, e.g. "
            f"out={str(folder.with_suffix(''))!r}")
    existing = nearest_existing(folder.absolute())
    if not existing.is_dir():
        raise NotADirectoryError(
            errno.ENOTDIR, f"cannot make the out folder {folder}: {existing} is a file")
    _probe(existing, f"out={str(folder)!r}")
    probed = {existing.resolve()}  # (each folder once: links into the out folder are common)
    for stem, suffix in itertools.product((STEM, PARTIAL_STEM), (".json", ".png")):
        path = folder / f"{stem}{suffix}"
        if path.is_dir():
            raise IsADirectoryError(
                errno.EISDIR, f"{path} is a folder, where out={str(folder)!r} needs "
                "to write a file; remove it or pass another folder")
        if stem == STEM and path.exists() and not is_stream(path):
            # Refused by the write after the sweep, as open() would refuse it (a review); not
            # an earlier stopped run's curve, which a finished run only removes.
            try:
                check_writable(path)
            except OSError as exc:
                raise type(exc)(exc.errno, f"cannot write {path}: {exc.strerror}; make it "
                                "writable, or pass another folder") from None
        # A link is written where it leads (a review: lost after the sweep), a stream into
        # (/dev/null, /dev/stdout: nothing is made beside it).
        if path.is_symlink() and not is_stream(path):
            target = link_target(path)
            if target.parent not in probed:  # (resolved, as link_target's path is)
                _probe(target.parent, f"{path} is a link to {os.readlink(path)}")
                probed.add(target.parent)


def _probe(folder: Path, what: str) -> None:
    """That a file can be made in ``folder``, which exists; ``OSError`` saying why not, and
    ``what`` it is for."""
    # Not os.access: it says yes to root everywhere, knows nothing of file systems that refuse
    # (/sys, /proc), and its no gives no reason (a read-only mount is no missing permission).
    # Make and remove a folder there, leaving nothing; its error says why (OSError picks the
    # subclass by errno: PermissionError for EACCES, a plain OSError for EROFS).
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".superconverge-probe-", dir=folder))
    except OSError as err:
        # (/proc/sys says "No such file or directory" of making a folder in itself, which is
        # there: no reason a user can act on; it is not writable)
        code = err.errno if err.errno is not None and err.errno != errno.ENOENT else errno.EACCES
        raise OSError(code, f"cannot write into {folder} ({what}): "
                      f"{os.strerror(code)}") from None


def _write(result: RangeTestResult, out: str | os.PathLike[str], method: str) -> None:
    """The plot and the JSON, put in place once both are written (:func:`write_files`): a
    failure (a full disk) never leaves a new plot beside an old JSON, nor a new JSON beside an
    old plot: where the JSON can be written alone, it is, and the old plot goes (the error, raised
    all the same, carries ``curve_path``); else the old pair stays. A kill as they are written,
    on Linux, leaves nothing else. Then an earlier stopped run's curve, superseded, is removed.

    Signals wait for the plot's drawing (a second or so) and the write: a Ctrl-C or a SIGTERM
    is raised after them, the whole result attached (also when the write failed); a SIGHUP,
    or a SIGTERM under the system's handler, which would end the process at once with no
    result, ends it then. A stop that comes while the plot is drawn writes the JSON at once,
    on its own, and then removes what no longer goes with it (an older plot, unless it is a
    link, and a stopped run's curve): a notebook's interrupted ``!`` cell SIGKILLs the command
    half a second after its Ctrl-C."""
    if not is_main_process():
        return
    folder = Path(out)
    table, plot = folder / f"{STEM}.json", folder / f"{STEM}.png"
    drawing, early, said = [True], [False], [""]
    kept: set[str] = set()  # superseded files that could not be removed, said once

    def superseded() -> None:
        for name in (f"{PARTIAL_STEM}.json", f"{PARTIAL_STEM}.png"):
            try:
                (folder / name).unlink(missing_ok=True)
            except OSError as failed:  # the result is written; an old file stays
                if name not in kept:
                    kept.add(name)
                    logger.warning("could not remove the superseded %s: %s", folder / name,
                                   failed.strerror or failed)

    def json_alone() -> Exception | None:
        """The JSON on its own, then no older plot beside it (a link stays: the pair write
        replaces its target) and no superseded curve; the write's failure, if it failed."""
        try:
            result.to_json(table)
        except Exception as failed:
            return failed
        if not plot.is_symlink():
            with contextlib.suppress(OSError):  # (the pair write replaces it)
                plot.unlink(missing_ok=True)
        superseded()
        return None

    def curve_first() -> None:
        if not drawing[0]:
            return  # the pair is being written: milliseconds
        if (failed := json_alone()) is not None:  # the pair write below tries again
            said[0] = one_line(failed)
            logger.warning("%s (at the stop, before the plot; tried again with it)",
                           _could_not_write(failed, table))
            return
        early[0] = True

    def curve_alone(failed: Exception) -> None:
        # The pair could not be written (no room for the plot) or the plot drawn: the JSON
        # on its own, where it can be (a user's bug bash: a finished sweep's curve was lost
        # with its plot). The pair's error is raised all the same, and is the one to see.
        if json_alone() is None:
            failed.curve_path = table  # type: ignore[attr-defined]

    with signals_deferred(sigterm=True, on_first=curve_first) as came:
        try:
            drawn = png_bytes(result, method)
            drawing[0] = False
            # The JSON first: a plot older than its JSON is an older run's (_partial_note).
            write_files([(table, result._json_text(table)), (plot, drawn)])
        except Exception as failed:
            stop = came()
            if stop is None:
                curve_alone(failed)
                raise
            # Told to stop meanwhile: that stop ends the run, as it would have (130, 143).
            if early[0]:  # the JSON written at the stop is in place: only the plot is missing
                logger.warning("could not write %s (%s, written at the stop, is in place): %s",
                               plot, table.name, _reason(failed))
            elif one_line(failed) != said[0]:  # (not twice: the JSON's write at the stop)
                logger.warning("%s", _could_not_write(failed, plot, table))
            raise _stopped_after_the_sweep(stop, result, table if early[0] else None) from failed
        superseded()
    logger.info(WROTE_LOG, table, plot)
    stop = came()
    if stop is not None:
        raise _stopped_after_the_sweep(stop, result, table)


def _could_not_write(failed: Exception, *paths: Path) -> str:
    """What a failed write of ``paths`` says: its own message where that names the file it
    failed on (an atomic write's "cannot write X: reason"), else "could not write X and Y:
    message"."""
    text = one_line(failed)
    if any(str(p) in text for p in paths):
        return text
    return f"could not write {' and '.join(map(str, paths))}: {text}"


def _reason(failed: Exception) -> str:
    """Why a write failed, without the file it names (an atomic write's error keeps its reason
    beside the "cannot write X: reason" it says)."""
    reason = getattr(failed, "_superconverge_reason", None)
    if reason:
        return str(reason)
    if isinstance(failed, OSError) and failed.strerror:
        return failed.strerror
    return str(failed)


def _stopped_after_the_sweep(
    stop: int, result: RangeTestResult, written: Path | None
) -> KeyboardInterrupt:
    """The Ctrl-C (or, under sigterm_as_interrupt, the SIGTERM: find-lr's 143) that came
    while a finished sweep's files were written, raised once they are: the whole result
    attached where a stop's curve is found, and said under the traceback."""
    told = stop_for(stop)
    if written is not None:
        told.partial_path = written  # type: ignore[attr-defined]
    _attach_whole(told, result, written)
    return told


def _attach_whole(exc: BaseException, result: RangeTestResult,
                  written: Path | None = None) -> None:
    """A finished sweep's ``result`` as ``exc.partial_result``, said under the traceback."""
    where = f" and written to {written}" if written is not None else ""
    _attach_partial(exc, result, f"find_lr: the sweep had ended; its whole result "
                                 f"({len(result.lrs)} points) is this exception's "
                                 f"partial_result{where}")


def _write_partial(result: RangeTestResult, out: str | os.PathLike[str], method: str,
                   exc: BaseException) -> None:
    """A stopped sweep's curve: the JSON first, on its own, named as ``exc.partial_path``, then
    the plot. A notebook's ``!`` cell kills the command half a second after its Ctrl-C, before
    a plot could be drawn; the curve is in the JSON by then. An older stop's plot goes first,
    so none is left beside a JSON it does not show (a link stays, and what it points to is
    replaced by the new plot). A plot that cannot be drawn is warned of; the JSON stays."""
    if not is_main_process():
        return
    folder = Path(out)
    table, plot = folder / f"{PARTIAL_STEM}.json", folder / f"{PARTIAL_STEM}.png"
    if not plot.is_symlink():
        plot.unlink(missing_ok=True)
    if table.is_file() and not table.is_symlink():
        # An earlier stop's curve made write-protected: superseded by this one, as a finished
        # run removes it, so removed rather than refused (a review: the sweep's curve was lost
        # to "Permission denied"). The folder's permission is all removing it needs.
        try:
            check_writable(table)
        except PermissionError as refused:
            try:
                table.unlink(missing_ok=True)
            except OSError:  # (a sticky folder: said as the file's refusal, which says why)
                raise PermissionError(refused.errno, f"{refused.strerror}; an earlier stop's "
                                      "curve, which this one would replace", str(table)
                                      ) from None
    result.to_json(table)
    # What the error line may name: this run's file, not an older one.
    with contextlib.suppress(AttributeError, TypeError):
        exc.partial_path = table  # type: ignore[attr-defined]
    # (drawn, then written: a full disk's failure was told "could not draw", with its errno, a
    # bug bash)
    try:
        image = png_bytes(result, method)
    except Exception as failed:
        logger.warning("wrote %s, but could not draw its plot %s: %s", table, plot, failed)
        return
    try:
        write_bytes(plot, image)
    except Exception as failed:
        logger.warning("wrote %s, but could not write its plot: %s", table, one_line(failed))
        return
    logger.info(WROTE_LOG, table, plot)

