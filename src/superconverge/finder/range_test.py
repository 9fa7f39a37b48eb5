"""The LR range test (Smith's "LR finder"): measure the loss while the learning rate sweeps up.

One optimizer step per point: the LR of step ``i`` is ``exponential(start_lr, end_lr, num_iter)(i)``
(or ``linear``), so step 0 trains at ``start_lr`` and step ``num_iter - 1`` at ``end_lr``. The loss
of a step is the mean of its ``accumulation_steps`` micro-batch losses. The test stops early when
the bias-corrected EMA of the loss exceeds ``diverge_factor`` times the best EMA so far
("diverged", that point kept) or a loss is not finite ("nan", that point dropped).

The hot path stays on the device: each step's loss is kept there as a 0-dim tensor, and a chunk
of them is read back every ``sync_every`` steps (under ``torch.distributed`` after one all-reduce
of the whole chunk), so the loop runs at the speed of the bare training steps. On CUDA the copy of a
chunk to the host runs behind the queued steps and is looked at one step into the next chunk, so
the GPU still has that step to run while the host waits. The stop test therefore lags by up to
``sync_every - 1`` steps (``sync_every`` on CUDA); the recorded curve is cut at the first bad
point, so it does not depend on ``sync_every``.

Whatever happens — completion, divergence, NaN, an exception, Ctrl-C — the model, optimizer, RNG
and GradScaler state are restored exactly afterwards (see :mod:`superconverge.finder._restore`).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime
import functools
import inspect
import itertools
import logging
import math
import numbers
import platform
import random
import re
import signal
import sys
import time
import types
import warnings
from collections.abc import (
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
    Sequence,
)
from contextlib import nullcontext
from decimal import Decimal
from typing import Any, TypeVar, cast

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data.dataloader import _BaseDataLoaderIter

from superconverge import _names
from superconverge import _peer_names as peer
from superconverge._progress import progress_bar, rewind
from superconverge._signals import Terminated, stop_for
from superconverge._stack import outside
from superconverge._warning import SuperconvergeRuntimeWarning, SuperconvergeWarning
from superconverge.finder._dist import (
    all_reduce,
    forward_is_collective,
    fsdp2_modules,
    groups_size,
    is_main_process,
    loss_groups,
    reset_cut_passes,
    reshard,
)
from superconverge.finder._restore import (
    _MAX_PARTS,
    _PROXIES,
    SNAPSHOTS,
    Carried,
    Streams,
    TrainingState,
    _attributes,
    _collate_owners,
    _is_rng,
    _rng_state,
    _set_rng_state,
    _version,
    epoch_samplers,
    forget_unfinished_step,
    loader_generators,
    seed_everything,
    set_epoch_of,
    signals_deferred,
    unwrapped_loaders,
)
from superconverge.finder.result import (
    _CUT,
    Curve,
    Ema,
    RangeTestResult,
    bias_corrected_ema,
    last_lr,
    stop_order,
)
from superconverge.finder.suggest import MIN_POINTS
from superconverge.schedules import _validate as v
from superconverge.schedules import exponential, linear
from superconverge.torch._multipliers import (
    RPROP_LR,
    adafactor_groups,
    adagrad_decay,
    adagrad_decay_note,
    as_float,
    brief,
    estimates_step_size,
    held_optimizers,
    initial_lr_ratios,
    not_an_optimizer,
    own_lr,
    ratios_to_group_0,
    recorded_lr_multipliers,
    schedule_free,
    too_coarse,
    write_scaled,
)

# (a warning of the sweep find_lr runs points at find_lr's caller, not into the package, a
# review)
_FIND_LR = "superconverge.recipes.find_lr"

__all__ = ["MAX_ITER", "MIN_ITER", "is_main_process", "lr_range_test"]

logger = logging.getLogger(__name__)
SUMMARY_LOG = "LR range test: %s"
"""The log line of a finished test (its stop summary), which find-lr's report says again."""

MIN_ITER = 5
"""The fewest optimizer steps a range test accepts."""
MAX_ITER = _names.MAX_ITER
"""The most steps a range test takes: the sweep's LRs are built up front, and Smith's test takes
a few hundred; a million is a typo, which would otherwise fill the memory."""
_MAX_SEED = 2**64 - 1
"""The largest ``seed`` (numpy's and torch's generators take 64 bits)."""

MAX_SKIPPED_STEPS = 50
"""Consecutive GradScaler-skipped steps after which the test stops ("nan"): the gradients are not
finite at any loss scale, which is divergence, not an fp16 overflow."""
_FLOAT32_MAX = float(torch.finfo(torch.float32).max)  # (a GradScaler's scale is a float32)

MODES = {"exp": exponential, "linear": linear}
AMP_DTYPES = (torch.float16, torch.bfloat16)

ModelT = TypeVar("ModelT", bound=torch.nn.Module)

# (model, batch) -> the scalar loss tensor, for the model's own class: a step_fn may call the
# model's methods (a LightningModule's training_step, whose declared return is wider than a
# tensor; the range test checks what comes back, and says what is wrong).
StepFn = Callable[[ModelT, Any], Any]


@peer.peer_names(peer.RANGE_TEST)
def lr_range_test(
    model: ModelT,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[Any, Any], torch.Tensor] | None,
    train_data: Iterable[Any],
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_iter: int = 100,
    mode: str = "exp",
    *,
    smooth_beta: float = 0.98,
    diverge_factor: float | None = 4.0,
    accumulation_steps: int = 1,
    step_fn: StepFn[ModelT] | None = None,
    val_data: Iterable[Any] | None = None,
    val_batches: int = 0,
    scaler: torch.amp.GradScaler | None = None,
    amp_dtype: torch.dtype | None = None,
    max_grad_norm: float | None = None,
    create_graph: bool = False,
    device: torch.device | str | None = None,
    sync_every: int = 10,
    repeats: int = 1,
    seed: int | None = None,
    progress: bool | None = True,
    restore: bool = True,
    snapshot: str = "device",
) -> RangeTestResult:
    """Run an LR range test on ``model`` and return its curve; the model is left as it was.

    ``train_data`` yields ``(inputs, targets)`` batches scored as ``loss_fn(model(inputs),
    targets)``; any other batch (a dict, a Hugging Face batch) needs ``step_fn(model, batch) ->
    scalar loss``. It is re-iterated when shorter than ``num_iter * accumulation_steps`` batches.
    Tensors in a batch are moved to ``device`` (default: the device of the model's parameters).

    The LR moves once per optimizer step, ``num_iter`` steps from ``start_lr`` to ``end_lr``
    (``mode`` "exp": constant ratio per step; "linear"), for every param group at once, keeping
    the ratios of their LRs at entry (``ValueError`` when group 0 is at lr=0 and another group is
    not, as in ``ParamScheduler``). ``accumulation_steps`` micro-batches make one step.

    ``smooth_beta``: EMA factor of the smoothed loss (bias-corrected); ``diverge_factor``: stop
    when the smoothed loss exceeds this multiple of its best (``None``: only NaN/inf stop).
    ``val_data``/``val_batches``: also record a validation loss per step, on the first
    ``val_batches`` batches of ``val_data`` (all it has where it has fewer, warned of; taken
    once, under the first repeat's ``seed``: the same ones at every step of every repeat; 0:
    all of it, re-iterated at every step).
    ``amp_dtype`` (``torch.bfloat16``/``torch.float16``) runs the forward pass under autocast;
    ``scaler`` (a ``torch.amp.GradScaler``) scales the loss. A step it skips for inf/NaN
    gradients changed nothing, so it is not a point: the curve has a gap at that step's LR and
    the sweep goes on (``provenance["skipped_steps"]`` counts them; ``MAX_SKIPPED_STEPS`` in a
    row stop the test with "nan"). Its loss, measured on the current weights, still counts
    toward divergence: a blow-up overflows fp16 gradients, so the steps that show it are skipped
    ones, and the one whose loss diverges is kept as the last point. Skips are found with no
    host sync of ours: from the scaler's inf check of each step, read back with the losses
    (``scaler.step`` does not call a plain optimizer's ``step()`` when it finds inf/NaN; one that
    takes the scaler into its own step, ``fused=True`` Adam, AdamW, SGD, skips on the device).
    No hook is put on the optimizer, so a compiled ``optimizer.step`` keeps its guards.
    ``max_grad_norm``: clip the gradients of every parameter the optimizer steps to this total
    norm before each step (``torch.nn.utils.clip_grad_norm_``, an FSDP1 model's own
    ``clip_grad_norm_``, after ``scaler.unscale_``), as a
    training loop that clips does: clipping changes where the loss blows up, so the test should
    clip like the training it prepares. No host sync.
    ``create_graph``: run each backward with ``create_graph=True``, for an optimizer whose step
    differentiates the gradients (a Hessian estimate: pytorch-optimizer's ``AdaHessian``,
    ``SophiaH``), as its own training loop does; the graph of the gradients costs memory.
    ``sync_every``: read the losses back from the device every this many steps; a divergence or
    NaN stops the test at most this many steps late (on CUDA each chunk is looked at one step
    into the next, whose step runs on the GPU meanwhile).
    ``repeats``: run the test this many times, seeded ``seed, seed + 1, ...`` (``seed=None`` with
    ``repeats > 1`` means 0), state restored between runs; the result's curve is their mean and
    :meth:`RangeTestResult.spread` says how much the suggestion moves between them.
    ``progress``: a tqdm bar on stderr when it is a terminal or a notebook's output (``False``:
    never).
    ``restore=False`` leaves the model and optimizer as the (last) test left them (the RNGs,
    loaders' state and modules' modes go back all the same, and a ``scaler`` keeps its scale
    but drops a step an error or Ctrl-C cut between its ``unscale_`` and ``update``).
    ``snapshot``: where the copy to restore from lives: ``"device"`` (beside each tensor, the
    fastest) or ``"cpu"`` (host memory, for a model whose GPU has no room for a second copy of
    its trainable parameters, buffers and optimizer state).

    Ctrl-C restores the state and re-raises ``KeyboardInterrupt``; the curve measured so far is
    attached to it as ``partial_result`` (stop reason "interrupted"; under torch.distributed the
    steps every rank read, the same curve on each),
    and so it is to an exception raised during the sweep (a corrupt batch, out of memory; stop
    reason "error"), but for the ``RuntimeError`` that stops a sweep whose LR something else
    set, whose points were not measured at the LRs it recorded. A
    second Ctrl-C during the restore waits for it to finish (main thread).
    """
    reshard(model)
    _check_types(model, optimizer, loss_fn, step_fn, scaler)
    check_caller_modes("lr_range_test", sorted({p.device.type for p in model.parameters()}),
                       lambda dtype: f"amp_dtype=torch.{dtype}")
    _check_start_lr_is_no_peers(start_lr)
    start_lr, end_lr = sweep_lrs(start_lr, end_lr)
    num_iter = sweep_steps(num_iter)
    mode = v.choice("mode", mode, MODES)
    smooth_beta = v.fraction("smooth_beta", smooth_beta)
    if diverge_factor is not None:
        diverge_factor = v.real("diverge_factor", diverge_factor)
        if diverge_factor <= 1:
            raise ValueError(
                f"diverge_factor must be > 1 (or None to stop only on NaN), got {diverge_factor!r}"
            )
    accumulation_steps = v.integer("accumulation_steps", accumulation_steps, minimum=1)
    val_batches = v.integer("val_batches", val_batches, minimum=0)
    if val_batches > 0 and val_data is None:
        raise ValueError(f"val_batches={val_batches} needs val_data; pass val_data=<loader>")
    if val_batches == 0 and _one_shot(val_data):
        # (it failed at the second step, "yielded nothing when iterated again", an audit)
        raise ValueError(
            f"val_data is an iterator ({type(val_data).__name__}), which gives its batches "
            "once, but val_batches=0 reads all of val_data again at every step; pass the "
            "loader or a list itself, or val_batches=N to score every step on its first N "
            "batches, taken once")
    if val_batches == 0 and val_data is not None:
        trained = unwrapped_loaders(train_data)
        if any(getattr(ld, "persistent_workers", False) and any(ld is t for t in trained)
               for ld in unwrapped_loaders(val_data)):
            # One persistent loader keeps one iterator, which iter() resets: reading all of
            # val_data at every step restarted the training pass, and each step trained on the
            # first batch of a new epoch (a bug bash: 32 examples of 256, without a word).
            raise ValueError(
                "train_data and val_data draw from one DataLoader with persistent_workers=True, "
                "which keeps a single iterator: val_batches=0 reads all of val_data at every "
                "step, and each read would restart the training pass; pass val_batches=N to "
                "score every step on its first N batches, taken once, or a DataLoader of "
                "their own for the validation batches")
    if amp_dtype is not None and amp_dtype not in AMP_DTYPES:
        raise ValueError(
            f"amp_dtype must be None, torch.bfloat16 or torch.float16, got {amp_dtype!r}"
        )
    if amp_dtype is torch.float16 and (scaler is None or not scaler.is_enabled()):
        # torch's AMP recipe: float16 gradients below ~6e-8 flush to zero without loss scaling,
        # so the small LRs' steps (and a curve's start) can be measured on gradients that are
        # partly zero; bfloat16 has float32's range and needs none. A GradScaler cannot unscale
        # float16 parameters' gradients (refused below): there the weights go first (a bug bash:
        # the advice was refused by the next call).
        halved = any(p.dtype == torch.float16 and p.requires_grad
                     for group in getattr(optimizer, "param_groups", ()) for p in group["params"])
        warnings.warn(
            "amp_dtype=torch.float16 without an enabled GradScaler: small float16 gradients "
            "flush to zero without loss scaling, which the curve would then measure; "
            + ("keep the weights in float32 (no model.half()) and pass scaler=torch.amp."
               "GradScaler(device_type)" if halved else
               "pass scaler=torch.amp.GradScaler(device_type)")
            + ", or use amp_dtype=torch.bfloat16",
            SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))
    sync_every = v.integer("sync_every", sync_every, minimum=1)
    repeats = v.integer("repeats", repeats, minimum=1)
    if max_grad_norm is not None:
        max_grad_norm = v.positive("max_grad_norm", max_grad_norm)
    if seed is not None:
        seed = sweep_seed(seed, repeats)
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None, got {progress!r}")
    if not isinstance(restore, bool):
        raise TypeError(f"restore must be True or False, got {restore!r}")
    if not isinstance(create_graph, bool):
        raise TypeError(f"create_graph must be True or False, got {create_graph!r}")
    snapshot = v.choice("snapshot", snapshot, SNAPSHOTS)
    device = _resolve_device(model, device, optimizer)
    _check_data("train_data", train_data)
    if val_data is not None:
        _check_data("val_data", val_data)
        if val_batches == 0 and _length(val_data) is None:  # (a bug bash: an endless one hung
            # the test at its first step, without a word)
            warnings.warn(
                f"val_data ({type(val_data).__name__}) has no length, and val_batches=0 scores "
                "all of it at every step: if it is endless (a stream), the test never gets past "
                "its first step; pass val_batches=N to score the first N batches",
                SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))

    if mode == "exp":
        _check_ratio(start_lr, end_lr)
    lrs = MODES[mode](start_lr, end_lr, num_iter).table()
    lr_values = [lr for _, lr in lrs]
    fix = ("the range test sweeps every group at its ratio to group 0's lr, so put a group with "
           "a non-zero lr first (a group at lr=0 then stays at 0)")
    ratios = ratios_to_group_0(optimizer, "lr", fix=fix)
    recorded = recorded_lr_multipliers(optimizer)
    initial = all("initial_lr" in g for g in optimizer.param_groups)
    if (initial or recorded is not None) and all(
            as_float(g["lr"]) == 0 for g in optimizer.param_groups):  # (a tensor's is a read)
        # Every group at 0, as a torch scheduler's warm-up from 0 leaves them at its step 0:
        # the ratios it started them at (a bug bash: a fine-tuner's layer-wise LRs were all
        # swept at one LR, without a word), where group 0's is one to sweep; or the multipliers
        # a ParamScheduler left (a bug bash: its warm-up from 0, swept at one LR, unsaid).
        # Those ratios relate to the first group not started at 0.
        started = initial_lr_ratios(optimizer.param_groups) if initial else None
        whose = "the ratios its torch scheduler started them at (initial_lr)"
        if started is None and (started := recorded) is not None:
            whose = "the multipliers of its ParamScheduler"
        if started is not None and started[0] > 0 and min(started) >= 0:
            started = [s / started[0] for s in started]
            logger.info("every param group holds lr=0: swept at %s: %s", whose, started)
            ratios = started
        elif (started is not None and started[0] == 0 and max(started) > 0
              and (started is not recorded or not initial)):
            # (the record refuses only where no torch scheduler came since: a ParamScheduler
            # of an earlier phase, at [0, 1], refused a warm-up of equal groups, a review)
            # (a bug bash: group 0 held at 0 under a warm-up from 0, a frozen backbone, was
            # swept at the head's LRs, unsaid; at lr=0 with no scheduler this is refused)
            raise ValueError(
                "lr: every param group holds lr=0 now, but group 0 is held at 0 where others "
                f"are not ({whose}: {brief(started)}); {fix}")
    _check_lrs_fit(optimizer, lr_values, ratios)
    _check_lrs_followed(optimizer, lr_values, ratios)
    _check_lrs_increase(start_lr, end_lr, num_iter, lr_values)
    _warn_idle_group_0(optimizer, ratios)
    if seed is None and repeats > 1:
        seed = 0
    # (a range, not a list: repeats=10**9, a typo, would fill memory before any step ran)
    seeds: Sequence[int | None] = [None] if seed is None else range(seed, seed + repeats)
    main = is_main_process()
    config: dict[str, Any] = {
        "start_lr": start_lr,
        "end_lr": end_lr,
        "num_iter": num_iter,
        "mode": mode,
        "smooth_beta": smooth_beta,
        "diverge_factor": diverge_factor,
        "accumulation_steps": accumulation_steps,
        "val_batches": val_batches if val_data is not None else None,
        "amp_dtype": None if amp_dtype is None else str(amp_dtype).removeprefix("torch."),
        "grad_scaler": scaler is not None and scaler.is_enabled(),
        "max_grad_norm": max_grad_norm,
        "create_graph": create_graph,
        "sync_every": sync_every,
        "repeats": repeats,
        "seed": seed,
        "optimizer": type(optimizer).__name__,
        # (a bug bash: a 1cycle cycling momentum 0.95-0.85 took a max_lr measured at momentum
        # 0, 6.7x the step it made, unwarned: see policy_from_range_test)
        "heavy_ball_momentum": _heavy_ball_momentum(optimizer),
        # (a bug bash: range tests at several weight decays, Smith's search by hand, wrote
        # files that did not tell them apart; the largest group's, as group 0's was 0 for
        # them all where the no-decay group comes first, timm's order, a bug bash)
        "weight_decay": _largest_number(optimizer, "weight_decay"),
        "param_group_ratios": ratios,
        # (without a repr's memory address, which made two runs' configs differ: a bug bash)
        "step_fn": None if step_fn is None else getattr(
            step_fn, "__qualname__", _stable_repr(step_fn)),
    }
    run = _Run(
        model, optimizer, loss_fn, step_fn, train_data, val_data, val_batches, scaler, amp_dtype,
        device, accumulation_steps, smooth_beta, diverge_factor, sync_every, max_grad_norm,
        create_graph,
    )
    run.repeats = repeats  # (an epoch sampler's passes step over the repeats' epochs)
    # Under torch.distributed each chunk of losses is one all-reduce of the same layout on
    # every rank: val_data on rank 0 alone aborted a rank inside gloo, naming nothing.
    _check_ranks_agree(run, device, val_data=val_data is not None, sync_every=sync_every,
                       num_iter=len(lr_values), repeats=repeats,
                       scaler=run.scaler is not None,  # (a disabled one is none)
                       accumulation_steps=accumulation_steps,
                       # every rank decides the stop on the same averaged losses: it stops at
                       # the same step only if it smooths and compares them alike (an audit:
                       # a diverge_factor on one rank alone left the other in an all-reduce)
                       start_lr=start_lr, end_lr=end_lr, mode=mode == "exp",
                       smooth_beta=smooth_beta,
                       diverge_factor=math.inf if diverge_factor is None else diverge_factor)

    # the loaders, and those a wrapper of the user's holds (a notebook's DeviceDataLoader)
    train_loaders = unwrapped_loaders(train_data)
    loaders = unwrapped_loaders(train_data, val_data)
    generators = loader_generators(*loaders)
    # A DistributedSampler shuffles by seed + epoch: repeats step its epoch, or every repeat
    # would see the same order and the spread would read 0.
    samplers = epoch_samplers(*train_loaders)
    for name, data in (("train_data", train_data), ("val_data", val_data)):
        if isinstance(data, Iterator):
            # (a DataLoader is no Iterator: iter() makes a fresh one each time)
            warnings.warn(
                f"{name} is an iterator ({type(data).__name__}): the batches the range test "
                "draws from it are used up, and no restore can give them back, so what reads "
                "it after the test starts further along it. Pass the loader or a list itself "
                "to leave it as it was.",
                SuperconvergeWarning,
                stacklevel=outside(__name__, _FIND_LR),
            )
        # (persistent workers that already ran are no longer warned of: the sweep starts its
        # own, Streams.detach, and the caller's go on untouched after it)
    # The RNGs, loaders' state and modules' modes go back even with restore=False, which keeps
    # only what the test trained.
    streams = Streams(model, generators, loaders, samplers, calls=(loss_fn, step_fn))
    run.own_rngs = streams.rngs()  # (held at each validation pass, with the global ones)
    run.epoch_refused = streams.refused  # (the streams whose set_epoch refused: warned once)
    spawned = [(r, n) for r in run.own_rngs if (n := _spawned(r)) is not None]
    run.rng_slots = streams.rng_slots  # (and an RNG made on first use: _Run._slots_kept)
    # Modules beside the model whose tensors the sweep may change: a loss that is a module
    # (an EMA centre in a buffer), the module whose method step_fn is (a LightningModule's),
    # a module that is the step_fn itself (a bug bash: a GAN's step as a module holding D).
    # The modules a step_fn or loss_fn object of yours (or a partial) holds, a level down: a
    # BYOL/DINO teacher a Step object EMA-updates (a bug bash: left as the sweep made it,
    # unwarned). Watched by their tensors' versions, and warned of where written, not copied:
    # a distillation's frozen teacher of 50M parameters cost 200 MB more host memory (a
    # review).
    calls = (("step_fn", step_fn), ("loss_fn", loss_fn))
    # (a partial's arguments by name: ``step_fn argument opt_w``, ``... nets['D']``)
    given = [(label, o) for name, f in calls for label, o in _partial_arguments(name, f)]
    labels = {id(o): label for label, o in given}
    owners = [(labels.get(id(o), name), o) for name, f in calls for o in _collate_owners(f)]
    # A step_fn or loss_fn that is no module but an object keeping state between steps (a
    # truncated-BPTT step_fn's hidden state, a bug bash), a method's object, a partial's parts.
    carriers = [(name, o) for name, o in owners
                if not isinstance(o, torch.nn.Module | torch.Tensor) and o is not model]
    # (and in a dict or list it holds: a GAN trainer's ``self.nets = {"G": G, "D": D}`` went
    # unwarned, a bug bash)
    held_modules = [(_part_label(name, key), m) for name, o in carriers
                    for key, m in _held_parts(o) if isinstance(m, torch.nn.Module)]
    held_modules += [(label, o) for label, o in given if isinstance(o, torch.nn.Module)]
    inside = {id(x) for x in model.modules()}  # (the model's own: snapshotted as the model)
    others: list[tuple[str, torch.nn.Module]] = []
    for name, m in (("loss_fn", loss_fn), ("step_fn", step_fn),
                    ("step_fn.__self__", getattr(step_fn, "__self__", None))):
        if (isinstance(m, torch.nn.Module) and id(m) not in inside
                and all(m is not o for _, o in others)):
            others.append((name, m))
    # (and those such a module keeps in a plain dict or list, not as its submodules: a GAN
    # step module's ``self.nets = {"D": D}``, left as the sweep made it unwarned, where a plain
    # object's was warned of, a bug bash)
    held_modules += [(_part_label(name, key), m) for name, o in others
                     for key, m in _held_parts(o) if isinstance(m, torch.nn.Module)
                     and not key.startswith("_modules[") and all(m is not x for x in o.modules())]
    watched = [(f"{label}.{name}", t, _version(t)) for label, m in held_modules
               if id(m) not in inside
               for name, t in itertools.chain(m.named_parameters(), m.named_buffers())]
    streams.keep_modes(x for _, o in (*others, *held_modules) for x in o.modules())
    # Optimizers a step_fn or loss_fn object or module holds beside the test's (a GAN step's
    # ``self.optD``: it kept the sweep's moments and step counts beside a discriminator put
    # back, and carried them from one repeat into the next, unwarned, a bug bash). Put back
    # with the test's where all they step is put back (the model's and those modules'
    # parameters); watched, and warned of where stepped, otherwise.
    ours = {id(o) for o in held_optimizers(optimizer)}
    # (and one a partial is given: a GradNorm step's weights optimizer, unwarned, a bug bash)
    beside = [(_part_label(name, key), o) for name, holder in (*others, *carriers)
              for key, o in _held_parts(holder)
              if isinstance(o, torch.optim.Optimizer) and id(o) not in ours]
    beside += [(label, o) for label, o in given if isinstance(o, torch.optim.Optimizer)
               and id(o) not in ours and all(o is not b for _, b in beside)]
    # (and one the model holds: a GAN module's ``self.opt_d`` over its own discriminator,
    # stepped by the model's method as step_fn, kept the sweep's moments beside a
    # discriminator put back, unwarned, a bug bash; put back where a step_fn may step it, a
    # lambda calling the model's training_step too (a review), watched where the default
    # step runs: a model keeping a trained Adam the test never steps had its state copied,
    # twice the parameters' memory, another)
    of_model = [(_part_label("model", key), o) for key, o in _held_parts(model)
                if isinstance(o, torch.optim.Optimizer) and id(o) not in ours
                and all(o is not b for _, b in beside)]
    beside += of_model
    # The schedulers those hold beside an optimizer (a GAN step module's ``self.sched_d``):
    # not put back, their step counts are watched and said (a bug bash: one left 30 steps
    # ahead of the optimizer put back, and our ParamScheduler then blamed "something else")
    schedulers = [(_part_label(name, key), s) for name, holder in (
                      *others, *carriers, ("model", model))
                  for key, s in _held_parts(holder) if _step_count(s) is not None]
    schedulers += [(label, s) for label, s in given if _step_count(s) is not None
                   and all(s is not t for _, t in schedulers)]
    put_back = _put_back(model, [m for _, m in others], optimizer)
    beside_restored = [o for _, o in beside if all(
        id(p) in put_back for g in o.param_groups for p in g["params"]) and (
        step_fn is not None or all(o is not m for _, m in of_model))]
    # (and not what the restore puts back: a step module's heads in a plain dict, trained by
    # the test's optimizer, were "not snapshotted", a review)
    watched = [w for w in watched if id(w[1]) not in put_back]
    beside_watched = [(label, o) for label, o in beside
                      if all(o is not r for r in beside_restored)]
    # A tensor a partial is given (learned loss weights another optimizer steps), unless the
    # restore writes it back.
    watched += [(label, o, _version(o)) for label, o in given if isinstance(o, torch.Tensor)
                and id(o) not in put_back and _version(o) is not None]
    # The snapshot costs a copy of what training changes; without a restore and with one sweep
    # nothing would ever read it. What it copies must hold no lazy parameter not made yet
    # (with one sweep not restored, such a module is taken: a review).
    snapshotted = restore or repeats > 1
    if snapshotted:
        copied: list[tuple[str, torch.nn.Module]] = [("model", model), *others]
        for name, m in copied:
            _refuse_lazy(name, m)
    state: TrainingState | None = None
    try:
        state = (TrainingState(model, optimizer, scaler, streams, snapshot, others, carriers,
                               beside_restored) if snapshotted else None)
        run.carried = Carried([*model.modules(), *(x for _, o in others for x in o.modules()),
                               *(o for _, o in carriers)])
        run.others = [x for _, o in others for x in o.modules()]
        whole = _whole_data_steps(train_data, train_loaders, accumulation_steps)
        # (by their state, not a step hook, which made a compiled step of theirs recompile, a
        # review: a read of a defaultdict's state, an empty entry, is no step)
        beside_marks = [_optimizer_mark(o) for _, o in beside_watched]
        scheduler_marks = [_step_count(s) or 0 for _, s in schedulers]
    except BaseException as exc:
        # Ctrl-C (or an error) while the snapshot is taken, before the sweep: nothing to put
        # back, and an exception kept afterwards (a notebook's) must not keep the copy, here or
        # half built in the frames it ran in (a bug bash: 301 weights' copies held).
        if snapshotted and state is None and (isinstance(exc, torch.OutOfMemoryError) or (
                isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc))):
            # (a bug bash: torch's bare message; nothing said what was being copied; and
            # snapshot='cpu' is no help where it is in host memory already, a review)
            host = snapshot == "cpu" or all(t.device.type == "cpu" for t in itertools.chain(
                model.parameters(), model.buffers(),
                (p for g in optimizer.param_groups for p in g["params"])))
            _note(exc, "lr_range_test: the snapshot (a copy of the weights, gradients and "
                       "optimizer state, put back after the test) did not fit: "
                       + ("" if host else "snapshot='cpu' keeps it in host memory; ")
                       + "restore=False with one sweep takes none")
        state = None
        _let_go(exc.__traceback__)
        raise
    curves: list[Curve] = []
    began = time.perf_counter()
    result: RangeTestResult | None = None
    cut = False  # an error or stop of the sweep's own is on its way (not one the caller handles)
    try:
        streams.detach()  # (running persistent workers: the sweep starts its own)
        # A model in eval mode: its modules in eval that behave otherwise in train mode, to
        # name those its model.train() turns (below).
        in_eval = None if model.training else [
            m for m in model.modules() if not m.training and _modal(m)]
        if seeds[0] is not None:  # the validation batches are part of what a seed gives
            seed_everything(seeds[0], generators)
        # (their draw moved an unseeded training shuffle's RNG, a bug bash: put back; and a
        # seeded one's own RNG, which no seed reaches, a dataset's split between the two, or a
        # collator's RNG made on first use, another)
        drawn_from = run._rng_states()
        with run._slots_kept():
            run.take_val_batches()
        run._set_rng_states(drawn_from)
        if val_data is not None and run.world > 1 and forward_is_collective(model):
            # Each validation forward of a sharded model is a collective (an FSDP2 layer's
            # all-gather): batches of another count on one rank aborted a rank inside gloo,
            # naming nothing (a bug bash). Counted where known (a DDP model's forward under
            # no_grad is none: its ranks may differ, a review).
            counted = len(run.val_cache) if run.val_cache is not None else _length(val_data)
            if counted is not None:
                _check_ranks_agree(run, device, validation_batches=counted)
        for r, s in enumerate(seeds):
            if r:
                assert state is not None
                # (also the modules' modes of entry; a sampler's own RNG, which no seed
                # reaches, goes on: each repeat draws other batches)
                state.restore(between_repeats=True)
                for sampler, epoch in streams.epochs:  # the epochs of entry
                    set_epoch_of(sampler, epoch + r, streams.refused)
                for loader, count in streams.iterations:  # (and a loader's count of passes)
                    loader.iteration = count + r
            if not model.training:  # leave a training model's frozen BatchNorms frozen
                model.train()
                if not r and in_eval is not None:
                    _warn_eval_mode(in_eval)
            # A step the caller had begun (unscale_ before the test) is not the sweep's: its
            # first step would skip the unscale, and a clipping sweep's unscale_ would fail.
            forget_unfinished_step(scaler)
            if s is not None:
                seed_everything(s, generators)
            desc = "LR range test" if repeats == 1 else f"LR range test {r + 1}/{repeats}"
            show = progress is not False and main
            curves.append(run(lr_values, ratios, s, desc, show))
        result = _assemble(
            curves, num_iter, smooth_beta, config,
            _provenance(device, seed, list(seeds), time.perf_counter() - began, run.skipped,
                        run.world, whole, run.scale_stops),
        )
        if run.half_loss and any(c.stop_reason == "nan" for c in curves):
            # (a bug bash: a model.half() regression's squared error past 65504 on one batch,
            # its gradient finite, stopped the test 300x early, told to check the data)
            # (under float16 autocast, a loss of ops it keeps in float16, as the CPU's keeps
            # sub and pow, is one too: "a model.half()'s" was no advice there, a bug bash)
            warnings.warn(
                "the loss is a float16 tensor ("
                + ("autocast's: amp_dtype=torch.float16 ran it in float16" if amp_dtype is
                   torch.float16 else "a model.half()'s")
                + "), whose largest number is 65504: a loss, or a squared error inside it, "
                "above that is inf, which stops the test as a NaN would; compute the loss in "
                "float32 (loss_fn(output.float(), target.float()))"
                + ("" if amp_dtype is torch.float16 else
                   ", or keep the weights in float32 and use amp_dtype"),
                SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))
        if zeros := max(run.leading_zeros, default=0):
            warnings.warn(
                f"the first {zeros} step{'s' * (zeros != 1)} of the sweep had a loss of exactly "
                "0 (a warm-up's zero that keeps the graph, a batch with nothing to score): they "
                "are no points, and the curve starts after them"
                + (f", at lr={result.lrs[0]:.3g}" if result.lrs else ""),
                SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))
        if result.val_losses and not any(map(math.isfinite, result.val_losses)):
            # (a bug bash: one validation batch whose every target was ignore_index made every
            # point NaN, and the plot's legend named a line it did not draw)
            warnings.warn(
                "every validation loss is NaN or inf: a validation batch scores NaN at every "
                "point (a loss that averages over no elements: every target ignore_index, an "
                "empty mask), or the model's output is not finite on it; check those batches",
                SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))
    except BaseException as exc:
        # Ctrl-C or an error (a corrupt batch, an out-of-memory), or a sys.exit() (a script's
        # own SIGTERM handler's, a bug bash), a test framework's stop or a cancellation (a
        # review): the sweeps finished before it, and the one it
        # cut short if it recorded a point (or if it is the only one), go with the exception
        # as partial_result. The curve is the mean of the finished ones, whole; the cut one is
        # kept among the repeats (averaged in, it would cut the mean short too). A second
        # Ctrl-C waits for it (a bug bash: it lost the curve).
        cut = True
        stopped = not isinstance(exc, Exception)
        with _held_while_kept(exc):
            finished = list(curves)
            partial = _take_partial_curve(exc)
            if partial is not None:
                if partial.lrs or not curves:
                    curves.append(partial)
                if partial.stop_reason not in _CUT:  # it had ended before
                    finished.append(partial)
            # Ctrl-C always says what it cut short; an error only where something was
            # measured.
            if curves and (stopped or any(c.lrs for c in curves)):
                kept = _assemble(
                    curves, num_iter, smooth_beta, config,
                    _provenance(device, seed, list(seeds[:len(curves)]),  # (those that ran)
                                time.perf_counter() - began, run.skipped, run.world, whole,
                                run.scale_stops),
                    stop_reason="interrupted" if stopped else "error",
                    mean_of=finished or None,
                )
                _attach_partial(exc, kept)
        if isinstance(exc, ValueError) and "Expected more than 1 value per channel" in str(exc):
            # (a bug bash: torch's message alone, where the CLI names the fix)
            _note(exc, "lr_range_test: a BatchNorm layer in train mode got a batch of one "
                       "example (a last partial batch of one, or batch_size=1): pass the loader "
                       "drop_last=True, or a larger batch size")
        raise
    finally:
        # A second Ctrl-C while the state goes back waits until all of it is back: a model
        # half restored (weights back, optimizer state and LR still mid-sweep) is worse than
        # either. One that came while an error or a first Ctrl-C was on its way changes nothing.
        # One that came before the handlers were ours raised out of signals_deferred's setup,
        # and skipped the restore (a bug bash: 2 of 2,000 Ctrl-Cs at random moments left the
        # model trained); it is taken as held (a SIGTERM or SIGHUP made one as itself), and
        # the setup tried again (_held_from_setup).
        with _held_from_setup() as came:
            # (on at entry, or refused: a Ctrl-C inside torch's optimizer step can leave it
            # off, its finally cut short; the next test then blamed the caller)
            torch.set_grad_enabled(True)
            if result is None:  # (cut short: a pass of a sharded model may be too)
                reset_cut_passes(model)
            if restore and state is not None:
                try:
                    state.restore()
                except BaseException as failed:
                    # The curve measured is not lost with the restore's error.
                    _carry_measured(failed, result)
                    raise
            else:
                streams.restore()
                forget_unfinished_step(scaler)
        # (with restore=False and one sweep started there is nothing to say: the caller keeps
        # what the test trained)
        tell = restore or len(curves) > 1
        changed = state.changed_attributes() if state is not None and tell else []
        numbers = state.numbers_kept if state is not None and tell else []
        written = [label for label, t, v in watched if _version(t) != v]
        written += [f"{label}'s state" for (label, o), mark in zip(
            beside_watched, beside_marks, strict=True) if _optimizer_mark(o) != mark]
        stepped = [f"{label} ({(_step_count(s) or 0) - mark} steps)" for (label, s), mark in
                   zip(schedulers, scheduler_marks, strict=True) if _step_count(s) != mark]
        children = sum((_spawned(r) or n) - n for r, n in spawned)
        # Put back by now: let go of it (and of the validation batches cached on the device)
        # before anything below can raise (a warning made an error), so that an exception
        # kept afterwards does not keep them (a notebook keeps the last one).
        state = None
        run.val_cache = None
        # An error or Ctrl-C that stopped the sweep, if any: not one the caller is handling
        # around the call (a review: a warning made an error became a note on that one)
        on_its_way = sys.exc_info()[1] if cut else None
        try:
            _warn_left(written if tell else [], changed, numbers, restore)
            if stepped and tell:
                # (apart from the objects above: the advice to make a module of them does
                # not put a scheduler back, a review)
                warnings.warn(
                    f"the range test stepped {_first_five(stepped)}, an LR scheduler your "
                    "step_fn steps: no scheduler is put back, so it stays that many steps on "
                    "from where it was (ahead of its optimizer, where that is put back); keep "
                    "a copy of its state_dict() to load after the test, or step it outside "
                    "step_fn", SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))
            if children and tell:
                # (a bug bash: a dataset spawning a stream a pass, numpy's way to independent
                # streams: the training after the test drew other data than an untested
                # twin's)
                warnings.warn(
                    f"the sweep spawned {children} child stream{'s' * (children != 1)} "
                    "(Generator.spawn) from a numpy Generator your data or step keeps: its "
                    "state is put back, but not its count of children spawned, which numpy "
                    "does not let be written, so the next spawn after the test gives another "
                    "stream than an untested run's; make each pass's Generator from a seed of "
                    "its own (np.random.default_rng([seed, epoch])) rather than spawn it",
                    SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))
        except Warning as made_error:
            # A warnings filter made it an error: the curve measured goes with it, as with an
            # error of the sweep's (a bug bash: a finished test's curve was lost under -W error).
            # One on its way (the sweep's error, a Ctrl-C) stays the one raised, told of it (a
            # bug bash: the warning took its place, and no `except KeyboardInterrupt` ran).
            if on_its_way is None:
                _carry_measured(made_error, result)
                raise
            _note(on_its_way, f"lr_range_test: also, a warning made an error: {made_error}")
        held = came()
        stop: BaseException | None = None
        try:
            if held is not None and result is not None:
                # Ctrl-C (or a SIGTERM or SIGHUP made one) during the last restore of a
                # finished test: stop, keeping the result.
                stop = stop_for(held)
                _attach_partial(stop, result)
                raise stop
            if (held is not None and held != signal.SIGINT and on_its_way is not None
                    and not isinstance(on_its_way, Terminated)):  # (narrowed for mypy < 2)
                # A SIGTERM (SIGHUP) while an error or Ctrl-C was on its way: the stronger
                # stop, told so, with what that one carried.
                raise Terminated.instead_of(on_its_way, held) from on_its_way
        finally:
            # An exception held by this frame holds the frame through its traceback: a cycle
            # that kept the snapshot (a copy of the model and the optimizer state) and the
            # loader's worker processes alive after the caller had handled the error, until
            # the cyclic garbage collector ran (a review). And an exception kept on purpose
            # (a notebook keeps the last one; a retry loop may log them) keeps its frames'
            # locals: the snapshot, put back by now, is let go of here.
            del on_its_way, stop
    logger.info(SUMMARY_LOG, result.stop_summary())
    return result


def _warn_left(written: list[str], changed: list[str], numbers: list[str],
               restore: bool) -> None:
    """The warnings at a test's end of what stays as the sweep left it: state ``written`` in
    objects the step_fn or loss_fn holds, tensors kept as plain attributes (``changed``), and
    the Python ``numbers`` beside a tensor the sweep replaced for good."""
    if written:
        warnings.warn(
            f"the range test wrote into {_first_five(written)}, of a module "
            "or optimizer the step_fn or loss_fn object holds (an EMA teacher, a GAN's "
            "second optimizer), which is not snapshotted, so it stays as the sweep left it; "
            "make that object a module holding them as its submodules (nn.ModuleDict, "
            "nn.ModuleList, not a dict or list) and pass its method as step_fn "
            "(step_fn=holder.step), or keep a copy of their state_dict() to load after the "
            "test", SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))
    if changed:
        left = ("they stay as the sweep left them" if restore else
                "each repeat started where the one before left them")
        warnings.warn(
            f"the range test wrote into {_first_five(changed)}: tensors kept "
            "as plain attributes, not registered buffers, whose values are not "
            f"snapshotted, so {left}; register them as buffers of a module "
            "(self.register_buffer(name, tensor), persistent=False to keep them out of the "
            "state_dict; a step_fn object of yours can be a module, passed as its method) "
            "to have them put back",
            SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))
    if numbers:
        warnings.warn(
            f"the range test changed {_first_five(numbers)}: Python numbers beside a cache the "
            "sweep grew or cut, which stays as it made it (a list of tensors it appended to, or "
            "a tensor of another size, the number one of its sizes), so they stay as the sweep "
            "left them too, to describe it; keep such a cache in a buffer of a fixed size to "
            "have both put back",
            SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))


def _carry_measured(exc: BaseException, result: RangeTestResult | None) -> None:
    """Attach the curve measured to ``exc``, raised as the test ends: the ``result``, or what an
    error or Ctrl-C on its way (``exc``'s context) carried."""
    measured = result or getattr(exc.__context__, "partial_result", None)
    if measured is not None:
        _attach_partial(exc, measured)


def _let_go(tb: types.TracebackType | None) -> None:
    """Clear the locals of this package's finished frames in traceback ``tb`` (a snapshot half
    built in them), leaving the caller's frames, and any executing one, as they are."""
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_globals.get("__name__", "").startswith("superconverge."):
            try:
                frame.clear()
            except RuntimeError:  # (an executing frame: this function's caller's)
                pass
        tb = tb.tb_next


def _take_partial_curve(exc: BaseException) -> Curve | None:
    """The curve cut short that ``exc`` carries, or the error it came while handling, taken
    off it: a second error may come while the sweep's error is handled (torch's SIGCHLD
    handler raises a killed DataLoader worker's again as the other workers exit; a bug bash
    lost the curve in 2 runs of 12). (No exception is returned: kept in a local of the
    frame its traceback holds, it would make a cycle that keeps the snapshot alive.)"""
    seen: BaseException | None = exc
    for _ in range(3):
        if seen is None:
            return None
        if (partial := getattr(seen, "partial_curve", None)) is not None:
            delattr(seen, "partial_curve")
            return partial  # type: ignore[no-any-return]
        seen = seen.__context__
    return None


def _attach(exc: BaseException, name: str, value: object) -> None:
    """``exc.<name> = value`` where the exception takes attributes (a few C types do not)."""
    try:
        setattr(exc, name, value)
    except (AttributeError, TypeError):  # pragma: no cover - no such exception type in torch
        logger.debug("cannot attach %s to %s", name, type(exc).__name__)


def _attach_partial(exc: BaseException, result: RangeTestResult, said: str | None = None) -> None:
    """``exc.partial_result = result``, and a note under the traceback that says so (Python
    3.11+, IPython too), ``said`` or the range test's: a bare ``KeyboardInterrupt`` did not
    tell where the curve went."""
    _attach(exc, "partial_result", result)
    if getattr(exc, "partial_result", None) is result:
        _note(exc, said or f"lr_range_test: the curve measured so far ({len(result.lrs)} "
              "points) is this exception's partial_result (in a notebook, the next cell finds "
              "it as sys.last_value.partial_result)")


def _note(exc: BaseException, note: str) -> None:
    """``exc.add_note(note)``, shown under its traceback (Python 3.11+, IPython too), where the
    exception takes notes."""
    add_note = getattr(exc, "add_note", None)
    if callable(add_note):
        try:
            add_note(note)
        except (AttributeError, TypeError):  # a frozen exception: raised as it came, unnoted
            pass


def sweep_lrs(start_lr: float, end_lr: float) -> tuple[float, float]:
    """``(start_lr, end_lr)`` as floats, checked: both > 0 and ``end_lr > start_lr``."""
    start_lr = v.positive("start_lr", start_lr)
    end_lr = v.positive("end_lr", end_lr)
    if end_lr <= start_lr:
        raise ValueError(
            f"end_lr must be > start_lr, got start_lr={start_lr!r}, end_lr={end_lr!r}"
        )
    return start_lr, end_lr


def sweep_steps(num_iter: int) -> int:
    """``num_iter`` checked: an int from :data:`MIN_ITER` to :data:`MAX_ITER`."""
    num_iter = v.integer("num_iter", num_iter, minimum=MIN_ITER)
    if num_iter > MAX_ITER:
        raise ValueError(f"num_iter must be <= {MAX_ITER:,} (a range test takes a few hundred "
                         f"steps), got {num_iter:,}")
    return num_iter


def sweep_seed(seed: int, repeats: int) -> int:
    """``seed`` checked: an int >= 0 whose ``repeats`` sweeps (seed, seed + 1, ...) all take
    seeds torch's generators accept (below 2**64)."""
    seed = v.integer("seed", seed, minimum=0)
    if seed + repeats - 1 > _MAX_SEED:
        raise ValueError(
            f"seed must be <= {_MAX_SEED - repeats + 1} (repeats={repeats} sweeps use seed, "
            f"seed + 1, ..., and torch takes seeds below 2**64), got {seed}"
        )
    return seed


def _warn_idle_group_0(optimizer: torch.optim.Optimizer, ratios: Sequence[float]) -> None:
    """Warn where param group 0, whose LRs the curve records, trains nothing (no parameter, or
    only frozen ones) while a later group trains at another LR (a bug bash: a frozen backbone
    first at 1e-5, the head at 1e-3, and every pick 100x below the head's, unsaid)."""
    groups = optimizer.param_groups
    if len(groups) < 2 or any(p.requires_grad for p in groups[0]["params"]):
        return
    trained = next((k for k, g in enumerate(groups) if k and any(
        p.requires_grad for p in g["params"])), None)
    if trained is None or ratios[trained] in (0, 1):
        return
    r = ratios[trained]
    what = ("holds no parameter" if not groups[0]["params"]
            else "holds only frozen parameters (requires_grad=False)")
    warnings.warn(
        f"param group 0 {what}, so it trains nothing, yet the curve's LRs, and so its "
        f"suggestion and bounds, are group 0's: group {trained}, the first that trains, runs "
        f"at {r:.3g} times them; multiply the picks by {r:.3g} for it, or put a group that "
        "trains first", SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))


def _check_lrs_increase(start_lr: float, end_lr: float, num_iter: int,
                        lr_values: list[float]) -> None:
    """Refuse a sweep whose LRs do not strictly increase: start_lr and end_lr a few floats
    apart repeat LRs, which the curve (a :class:`RangeTestResult`) refuses."""
    for i in range(1, len(lr_values)):
        if not lr_values[i] > lr_values[i - 1]:
            raise ValueError(
                f"start_lr={start_lr!r} and end_lr={end_lr!r} are too close for num_iter="
                f"{num_iter} steps: the sweep's LRs must increase at every step, but step {i} "
                f"is at {lr_values[i]!r}, step {i - 1} at {lr_values[i - 1]!r}; widen the range "
                "or lower num_iter"
            )


def _check_ratio(start_lr: float, end_lr: float) -> None:
    """Refuse an exponential sweep whose ratio ``end_lr / start_lr`` overflows a float (its LRs,
    ``start_lr * (end_lr / start_lr) ** p``, would be inf), naming the end further from 1 (on a
    log scale) as the one to change: ``start_lr=5e-324`` is the culprit with ``end_lr=1``."""
    if math.isfinite(end_lr / start_lr):
        return
    ratio = f"end_lr / start_lr = {Decimal(end_lr) / Decimal(start_lr):.3g}"
    why = f"the sweep's LRs would overflow to inf ({ratio}, above the largest float, 1.8e+308)"
    if abs(math.log10(end_lr)) >= abs(math.log10(start_lr)):
        raise ValueError(f"end_lr={end_lr!r} is too large: {why}; lower end_lr")
    raise ValueError(f"start_lr={start_lr!r} is too small: {why}; raise start_lr")


def _check_lrs_fit(optimizer: torch.optim.Optimizer, lr_values: list[float],
                   ratios: list[float]) -> None:
    """Refuse a sweep whose LRs torch cannot apply: an optimizer writes the LR into the
    parameters' dtype for the update, and raises mid-sweep ("value cannot be converted to type
    c10::Half without overflow") where it does not fit, e.g. above 65504 for float16."""
    top_lr = max(lr_values)  # finite: _check_ratio and the schedules refuse an overflow
    for i, (group, ratio) in enumerate(zip(optimizer.param_groups, ratios, strict=True)):
        for dtype in {p.dtype for p in group["params"] if p.is_floating_point()}:
            largest = torch.finfo(dtype).max
            if top_lr * ratio > largest:
                in_group = f" (x{ratio:g} in param group {i})" if ratio != 1 else ""
                raise ValueError(
                    f"end_lr={top_lr:g}{in_group} is above {largest:g}, the largest "
                    f"{str(dtype).removeprefix('torch.')} number: the optimizer cannot write it "
                    f"into the update of those parameters; lower end_lr"
                )


def _check_lrs_followed(optimizer: torch.optim.Optimizer, lr_values: list[float],
                        ratios: list[float]) -> None:
    """Refuse a sweep above the cap torch's Adafactor puts on its step size, ``min(lr,
    1/sqrt(t))`` at its t-th step, and warn that ASGD steps one point behind and that Adagrad's
    ``lr_decay`` steps below the LR (a bug bash: the top of an Adafactor sweep trained at the
    cap, and the curve said nothing)."""
    held = held_optimizers(optimizer)
    capped, done = adafactor_groups(optimizer)
    if capped:
        ratio = max(ratios[i] for i in capped)
        top = ratio * lr_values[-1]  # (the last point: the largest LR, the lowest cap)
        last = done + len(lr_values)
        if top * math.sqrt(last) > 1:
            fits = 1 / (ratio * math.sqrt(last))
            places = 3 - math.floor(math.log10(fits))  # (4 digits, rounded down: it fits)
            fits = math.floor(fits * 10 ** places) / 10 ** places
            raise ValueError(
                f"torch's Adafactor steps at min(lr, 1/sqrt(t)) at its t-th step, so the "
                f"sweep's last LR, {top:.4g}, would train at {1 / math.sqrt(last):.4g} (its step "
                f"{last:.0f}), and the curve's top would not be at the LRs it records; lower "
                f"end_lr to {fits:g} or below" + (
                    "" if lr_values[0] < fits else
                    " (and start_lr below that), or sweep fewer steps"))
    decay, done = adagrad_decay(optimizer)
    if decay and (done + len(lr_values) - 1) * decay > 0.1:  # (a bug bash: 7.4x, unwarned)
        warnings.warn(
            f"{adagrad_decay_note(decay, done + 1, done + len(lr_values))}: the curve's LRs, "
            "and its suggestions, read that much high; build it with lr_decay=0 for the test",
            SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))
    if any(isinstance(o, torch.optim.ASGD) for o in held):
        steps = [b / a for a, b in itertools.pairwise(lr_values) if a > 0]
        # (an exponential sweep's points are one ratio apart; a linear one's one difference,
        # whose ratio at its first points is meaningless: a review)
        exp = bool(steps) and max(steps) - min(steps) <= 1e-9 * max(steps)
        off = (f"the suggestions read about {steps[0]:.3g}x high" if exp else
               f"each point reads one sweep step ({lr_values[1] - lr_values[0]:.3g}) high")
        warnings.warn(
            "ASGD steps with the step size its previous step computed (eta, from that step's "
            "lr), so each point of the curve trained at about the LR of the point before it (the "
            f"first at the eta it held): {off}", SuperconvergeWarning,
            stacklevel=outside(__name__, _FIND_LR))


class _Run:
    """One sweep: the training loop and the chunked stop test, which lags the steps by at most
    ``sync_every``."""

    def __init__(
        self, model, optimizer, loss_fn, step_fn, train_data, val_data, val_batches, scaler,
        amp_dtype, device, accumulation_steps, smooth_beta, diverge_factor, sync_every,
        max_grad_norm=None, create_graph=False,
    ) -> None:
        self.model, self.optimizer = model, optimizer
        self.loss_fn, self.step_fn = loss_fn, step_fn
        self.train_data, self.val_data, self.val_batches = train_data, val_data, val_batches
        self.repeats = 1
        self.scaler = scaler if scaler is not None and scaler.is_enabled() else None
        self.amp_dtype, self.device = amp_dtype, device
        # One context object for every step (torch.autocast can be re-entered once exited):
        # building one costs a few microseconds, which a fast GPU step notices. None: no AMP.
        self.autocast = (
            torch.autocast(device.type, dtype=amp_dtype) if amp_dtype is not None else None
        )
        self.accumulation_steps = accumulation_steps
        self.smooth_beta, self.diverge_factor = smooth_beta, diverge_factor
        self.sync_every = sync_every
        self.max_grad_norm = max_grad_norm
        self.create_graph = create_graph
        # What clipping measures: every parameter the optimizer steps (deduplicated); under
        # FSDP1 the model's own clip_grad_norm_, the norm over every rank's shard (each rank's
        # shard was clipped by its own norm: a user's bug bash, a curve off a loop that clips).
        self.clip: Callable[[float], Any] | None = None
        if max_grad_norm:
            clipped = list({id(p): p for g in optimizer.param_groups
                            for p in g["params"]}.values())
            self.clip = _fsdp1_clip(model) or functools.partial(
                torch.nn.utils.clip_grad_norm_, clipped)
        self.lag = _lagged_read_back(device)
        # Whether the caller's code has an autocast block open around the sweep, of any device
        # type, on or off: torch keeps each weight's low-precision copy until the outermost
        # block exits, so the copies are dropped around each forward here (a bug bash: inside
        # `torch.autocast("cpu", enabled=use_amp)` with use_amp False, a bf16 sweep read its
        # first step's weights at every step: a flat curve, a pick 136x low, "raise end_lr"; a
        # review: a model that enters autocast itself too, and the copies of weights the
        # caller's block had cast before the sweep, at its first step)
        self.clear_casts = _autocast_nesting() > 0
        # Whether a step's loss may be memory that a CUDA graph overwrites at its next replay:
        # one a step_fn, a compiled loss_fn or a compiled model (whose output a pass-through
        # loss_fn may return as it is) returns. An eager model and loss_fn make a new tensor
        # every step, so they pay no copy.
        self.copy_loss = device.type == "cuda" and (
            step_fn is not None or _compiled(loss_fn) or _compiled(model))
        # DDP, also under torch.compile (whose wrapper is not a DDP instance): skip the
        # gradient all-reduce of all but the last micro-batch of a step.
        inner = getattr(model, "_orig_mod", model)
        self.ddp = inner if isinstance(inner, torch.nn.parallel.DistributedDataParallel) else None
        # accelerate's gradient state, whose sync_gradients=False makes its optimizer's step()
        # do nothing (a step_fn under accelerator.accumulate(): checked after each step).
        self.gradient_state = _accelerate_state(optimizer) if step_fn is not None else None
        # The model's trainable parameters the optimizer does not hold (a sparse table a second
        # optimizer steps, left out): their gradients are dropped at each step, as the
        # optimizer's are (they grew all sweep: a sparse one's 20-fold, the steps 19x slower,
        # a bug bash); the restore puts back what they held.
        stepped = {id(p) for o in held_optimizers(optimizer) for g in o.param_groups
                   for p in g["params"]}
        named = [(n, p) for n, p in model.named_parameters()
                 if p.requires_grad and id(p) not in stepped]
        self.loose = [p for _, p in named]
        if named:
            logger.info("%d trainable parameters of the model are not the optimizer's (%s): the "
                        "sweep trains with them as they are", len(named),
                        ", ".join(n for n, _ in named[:3]))
        # Whether the first step_fn call of the test is still to be looked at (_probed), and
        # whether a validation pass left in train mode was warned of (_tell_train_mode).
        self.probe = step_fn is not None
        # And whether its second, with accumulation, is (_probed_sum).
        self.probe_sum = step_fn is not None and accumulation_steps > 1
        self.told_train_mode = False
        # The optimizer's parameters with no gradient yet, watched over the first steps while
        # they hold most of its values (_tell_missing_grads), up to step grad_watch.
        self.ungraded: list[torch.Tensor] = []
        self.stale: list[torch.Tensor] = []  # (not the model's, no gradient: _watch_grads)
        self.trainable_values = self.trainable_count = self.grad_watch = 0
        self.watch_steps = GRAD_WATCH_STEPS
        self.told_missing_grads = False
        # The steps __call__ writes out in its loop (see there).
        self.plain = (step_fn is None and self.scaler is None and amp_dtype is None
                      and not self.clear_casts and max_grad_norm is None
                      and accumulation_steps == 1 and self.ddp is None
                      and val_data is None and not create_graph)
        # The ranks whose losses are averaged: those that train the model together (one built
        # on a subgroup trains apart from the other groups), else the default group.
        self.groups = loss_groups(model)
        self.world = groups_size(self.groups)
        self.val_cache: list[Any] | None = None  # the first val_batches batches, on the device
        self.val_seen = False  # val_data has yielded batches once (a later empty pass: one-shot)
        # The RNG states every validation pass starts from (the first's): a pass draws the same
        # (a step_fn's mixup, a shuffled val loader's order) and leaves the training's draws as
        # they were (a bug bash: a mixup step_fn's curve moved 0.4 decades with val_data).
        self.val_rngs: tuple[Any, ...] | None = None
        # (and the RNGs made on first use as the first pass found them: _slots_kept)
        self.val_slots_first: list[tuple[Any, Any] | None] | None = None
        # (a validation batch was a bare list of sequences: _sequences)
        self.val_sequences = False
        self.own_rngs: list[Any] = []  # (the loaders' and those a step_fn or module keeps)
        self.epoch_refused: set[tuple[int, bool]] = set()  # (see set_epoch_of)
        self.rng_slots: list[tuple[dict[str, Any], str]] = []  # (None at the start: Streams)
        # The state the model (and a step_fn object) carries between forwards: the training's
        # goes back after a validation pass. (The pass starts from it: started from the first
        # pass's, a running statistic kept as a plain attribute was scored as at the test's
        # start at every point, a review.)
        self.carried = Carried(())
        # The modules beside the model (a loss module's: put in eval mode for a pass too, a
        # bug bash). (A buffer a pass writes into, a MoCo queue enqueued whatever the mode, is
        # not warned of: a rotary cache filled on first use is written the same way, and the
        # advice, `if self.training:`, would turn it off: a review. The docs say it.)
        self.others: list[torch.nn.Module] = []
        # QAT's fake-quantize modules observe in eval mode too (their observer_enabled flag):
        # off during a pass, which moved every later training point (a bug bash).
        fake_quant = getattr(getattr(torch, "ao", None), "quantization", None)
        kind = getattr(fake_quant, "FakeQuantizeBase", None)
        self.observers = [m for m in model.modules()
                          if kind is not None and isinstance(m, kind)
                          and isinstance(getattr(m, "observer_enabled", None), torch.Tensor)]
        self.skipped: list[int] = []  # per sweep: steps GradScaler skipped (not points)
        # per sweep: stopped by MAX_SKIPPED_STEPS skips in a row at a loss scale still >= 1
        self.scale_stops: list[bool] = []
        self.leading_zeros: list[int] = []  # per sweep: its first losses of exactly 0
        self.half_loss = False  # a float16 loss was seen (a model.half()'s: 65504 at most)
        # Where a GradScaler's skipped steps are seen: "device", the scaler's inf check of the
        # step, read back with the losses (a private torch API, present 2.6-2.15), for every
        # optimizer: a fused one skips on the device, any other is not called by scaler.step
        # when that check found inf/NaN. Where the API is missing: "hook", a step pre-hook (an
        # optimizer scaler.step calls only when it does not skip), and "scale", the loss scale,
        # for a fused one (always called). Not a hook where the API is there: registering one
        # changes the optimizer's _optimizer_step_pre_hooks, on which dynamo guards a compiled
        # ``optimizer.step``, so every sweep re-traced it, under a new key each time (one cache
        # entry a sweep, until dynamo's recompile limit, shared by all optimizers, is reached).
        self.skip_source: str | None = None
        self.last_scale = 0.0  # for "scale": the scale before the step
        if self.scaler is None:
            pass
        elif hasattr(self.scaler, "_found_inf_per_device"):
            self.skip_source = "device"
        elif not getattr(optimizer, "_step_supports_amp_scaling", False):
            self.skip_source = "hook"
        else:
            self.skip_source = "scale"
            warnings.warn(
                "this torch's GradScaler has no _found_inf_per_device: with an optimizer that "
                "takes the scaler into its step (fused), the range test reads the loss scale "
                "back after every step to see which steps were skipped (a host sync a step)",
                SuperconvergeRuntimeWarning, stacklevel=outside(__name__, _FIND_LR))

    def take_val_batches(self) -> None:
        """Draw the ``val_batches`` validation batches every step of every repeat is scored
        on, once. The range test calls it seeded with the first sweep's seed (so a seed gives
        the same validation batches) and seeds that sweep again after: drawn inside it, they
        would move the seeded RNGs (a shuffling loader's, torch's) of the first sweep alone,
        and a repeat would not be the run of its own seed."""
        if self.val_cache is None and self.val_data is not None and self.val_batches > 0:
            cache = [self._move(b) for b in itertools.islice(self.val_data, self.val_batches)]
            if not cache:
                raise ValueError("val_data yielded no batches; pass a non-empty loader")
            if len(cache) < self.val_batches:  # (a bug bash: taken silently, as asked)
                warnings.warn(
                    f"val_batches={self.val_batches}, but the validation data gives "
                    + (f"{len(cache)} batches: every step is scored on those {len(cache)}"
                       if len(cache) > 1 else "1 batch: every step is scored on that one"),
                    SuperconvergeWarning,
                    stacklevel=outside(__name__, _FIND_LR))
            self.val_cache = cache

    def __call__(
        self, lr_values: list[float], ratios: list[float], seed: int | None, desc: str, show: bool
    ) -> Curve:
        n = len(lr_values)
        self.watch_steps = min(GRAD_WATCH_STEPS, n)  # (a sweep of fewer steps: over all)
        # The version counters of the parameters with post-accumulate-grad hooks, before the
        # first step: one a hook steps during backward moved (see _check_grads)
        self.hook_versions = {
            id(p): _version(p) for g in self.optimizer.param_groups for p in g["params"]
            if getattr(p, "_post_accumulate_grad_hooks", None)}
        # Per-step losses stay on the device as 0-dim tensors until the chunk is read back:
        # appending to a list costs far less per step than writing into a preallocated tensor.
        losses: list[torch.Tensor] = []
        val: list[torch.Tensor] | None = None if self.val_data is None else []
        self.take_val_batches()
        val_cache = self.val_cache
        host = _HostCurve(lr_values, self.smooth_beta, self.diverge_factor, seed, val is not None,
                          self.scaler)
        batches = _cycle(self.train_data, self.repeats, self.epoch_refused)
        world = self.world
        i = chunk_start = 0
        listed_from = 0  # the step of the first loss in ``losses`` (see _feed_unread)
        pending: _ChunkRead | None = None  # a chunk on its way to the host (self.lag)
        bar = progress_bar(n, desc, show)
        # With a GradScaler, whether each step was skipped (inf/NaN gradients), found without a
        # host sync of ours: the scaler's inf check of the step, kept as a 0-dim device tensor
        # and read back with the losses (see skip_source; a torch without that check: a step
        # pre-hook, as GradScaler.step() does not call optimizer.step() when it skips).
        skips: list[Any] | None = None if self.scaler is None else []
        _zero_fused_momentum(self.optimizer, self.scaler)
        stepped = [False]
        hook = None
        moved: str | None = None  # what set the LR beside the sweep (_lr_moved)
        swept = len(ratios)  # the groups the sweep drives: those there at its start
        held_lrs = [g["lr"] for g in self.optimizer.param_groups]  # (tensors: filled in place)
        held_momenta = _momenta(self.optimizer.param_groups)
        if self.skip_source == "hook":
            hook = self.optimizer.register_step_pre_hook(
                lambda opt, args, kwargs: stepped.__setitem__(0, True))
        elif self.skip_source == "scale":
            self.last_scale = self.scaler.get_scale()  # type: ignore[union-attr]
        # Looked up once: on a GPU step that the host's kernel launches bound, every microsecond
        # of Python a step adds shows in the wall time.
        optimizer, scaler, sync_every = self.optimizer, self.scaler, self.sync_every
        groups, zero_grad = optimizer.param_groups, optimizer.zero_grad
        to_none = _takes_set_to_none(zero_grad)  # (a branch: a partial costs more a call)
        loose = self.loose
        train, clip = self._accumulate, self.max_grad_norm is not None
        # The common case, a step written out in the loop (no calls of our own but the batch's
        # move): one (inputs, targets) batch a step, loss_fn, no AMP, clipping, validation,
        # accumulation or DDP. The other cases go through _accumulate and the scaler's step.
        plain = self.plain
        model, loss_fn, device, copy_loss = self.model, self.loss_fn, self.device, self.copy_loss
        try:
            while i < n:
                write_scaled(groups, "lr", lr_values[i], ratios)
                if to_none:
                    zero_grad(set_to_none=True)
                else:
                    zero_grad()
                if loose:
                    for p in loose:
                        p.grad = None
                if plain:
                    batch = _to_device(next(batches), device)
                    if i and type(batch) is tuple and len(batch) == 2:
                        loss = loss_fn(model(batch[0]), batch[1])  # type: ignore[misc]
                    else:  # the first step (a model's output that is no tensor is told
                        # there), a list, or no pair: the full path, which says what is wrong
                        loss = self._forward(batch)
                    if not (type(loss) is torch.Tensor and loss.requires_grad
                            and loss.numel() == 1):
                        _check_loss(loss, training=True)
                    try:
                        loss.backward()
                    except RuntimeError as exc:
                        _second_backward(exc, step_fn=False)
                        _mark_nan_loss(exc, loss)
                        raise
                    loss = loss.detach().clone() if copy_loss else loss.detach()  # see _kept
                    if i == 0:
                        self._check_grads()
                        self._first_step(optimizer.step)
                    else:
                        optimizer.step()
                else:
                    if val is not None:
                        # On the weights the training loss sees, before its forward pass: a
                        # model compiled into CUDA graphs ("reduce-overhead") would otherwise run
                        # a new graph between backward and step, which may reuse the gradients'
                        # memory.
                        val.append(self._val_loss(val_cache))
                    loss = train(batches)
                    if i == 0:
                        self._check_grads()
                    if self.gradient_state is not None:
                        _check_syncs(self.gradient_state, i)
                    if clip:
                        if scaler is not None:
                            scaler.unscale_(optimizer)  # clip the true gradients
                        self.clip(self.max_grad_norm)  # type: ignore[misc]
                    if scaler is not None:
                        assert skips is not None
                        stepped[0] = False
                        if i == 0:
                            self._first_step(functools.partial(scaler.step, optimizer))
                        else:
                            scaler.step(optimizer)
                        if self.skip_source == "hook":
                            skips.append(not stepped[0])
                        elif self.skip_source == "device":
                            skips.append(self._found_inf())
                        scaler.update()
                        if self.skip_source == "scale":
                            skips.append(self._scale_fell())
                    elif i == 0:
                        self._first_step(optimizer.step)
                    else:
                        optimizer.step()
                if i == 0:
                    self.half_loss |= loss.dtype == torch.float16
                elif i < self.grad_watch:  # (0 unless the first step left most without any)
                    self._watch_grads(i)
                losses.append(loss)
                i += 1
                if pending is not None:
                    # One step into the next chunk, look at the previous one: the wait for its
                    # copy leaves this step queued on the GPU, which keeps it busy while the
                    # host goes on, and a bad point is seen at most sync_every steps late.
                    host.feed(*pending.values())  # (fed twice by no _feed_unread: its first)
                    pending = None
                    if host.stop_reason is not None:
                        break
                if i - chunk_start >= sync_every or i == n:
                    bar.update(i - chunk_start)  # a chunk at a time: tqdm costs ~1 µs a call
                    chunk_start = i
                    if world > 1 and not self.lag:
                        # The all-reduce returned here, so it did on every rank: a Ctrl-C
                        # that lands between it and the read waits for the read, or this
                        # rank's curve would end a chunk short of the others'. One held while
                        # the all-reduce failed (another rank gone) is raised instead. Read
                        # once the handlers are back: one that came while they were put back
                        # was held too, and one after raises by itself.
                        came = _none_came  # (a signal that stopped signals_deferred's setup)
                        try:
                            with signals_deferred() as came:
                                host.feed(*_ChunkRead(losses, val, skips, world, self.groups)
                                          .values())
                        finally:
                            if (held := came()) is not None:
                                raise stop_for(held)
                    else:
                        # (the lists emptied once their steps are fed or pending, each step
                        # where _feed_unread finds it until then: a Ctrl-C while a chunk was
                        # read back lost it, a bug bash)
                        started = _ChunkRead(losses, val, skips, world, self.groups,
                                             first=listed_from, clear=False)
                        if self.lag and i < n:
                            pending = started  # its copy overlaps the next step (self.lag)
                        else:
                            host.feed(*started.values())
                        _clear(losses, val, skips)
                        listed_from = i
                    bar.set_postfix(loss=f"{host.last_smoothed:.4g}", refresh=False)
                    # (before the stop: a curve that diverged at an LR the sweep did not set
                    # is no curve either)
                    if (moved := _lr_moved(groups, lr_values[i - 1], ratios, i, held_lrs)
                            or _momentum_moved(groups, held_momenta, i)) is not None:
                        break
                    if len(groups) > swept:
                        _warn_added(groups, swept, i)
                        swept = len(groups)
                    if host.stop_reason is not None:
                        break
        except Exception as exc:
            # A step ran after the curve had already ended (a NaN or divergence not yet read
            # back: the stop test lags) and raised, e.g. a model whose forward validates its
            # NaN weights. With sync_every=1 that step would never have run: read the steps
            # before it and, if the curve ended there, return it as that run would have.
            # Under torch.distributed this rank's unread losses are its own, not the mean the
            # others see: one rank could keep its curve while another raises. All raise.
            # The points read so far go with it at once: a second error may come while this
            # one is handled (torch's SIGCHLD handler raises a killed DataLoader worker's again
            # as the other workers exit: a bug bash lost the curve in 2 runs of 12). (Where
            # there are points: a curve of zeros alone is made of them, once.)
            if host.steps:
                _attach(exc, "partial_curve", host.curve("error"))
            fed = world == 1 and _feed_unread(host, pending, losses, val, skips, listed_from)
            # (with a GradScaler, past the first point: before it a NaN loss is the scaler
            # finding its scale, a step skipped, which anomaly mode has cut short)
            nan_raised = (fed and host.stop_reason is None and _anomaly_at_nan(exc)
                          and (skips is None or bool(host.steps)))
            if nan_raised:
                # torch's anomaly mode raised in the backward pass of a step whose loss was NaN
                # (a bug bash: set_detect_anomaly(True) turned the NaN that ends a sweep into an
                # error): the curve ends at that step, as at a NaN loss (a GradScaler's step
                # skipped, as the scaler would have).
                host.feed([math.nan], None if val is None else [math.nan],
                          None if skips is None else [True])
            if not fed or host.stop_reason is None:
                # The points measured before the error go with it (nothing lost on failure).
                _attach(exc, "partial_curve", host.curve("error"))
                self._count_skips(host)
                if _anomaly_nan_error(exc):
                    _note(exc, "lr_range_test: torch's anomaly mode (set_detect_anomaly) stopped "
                          "this step's backward pass on NaN gradients, which the end of a sweep "
                          "brings (of a finite loss, or one a GradScaler would skip); the curve "
                          "measured so far is the error's partial_result: turn anomaly mode off "
                          "for the range test")
                if (isinstance(exc, TypeError) and self.step_fn is None
                        and "required positional argument" in str(exc)):
                    # (a bug bash: a model of two inputs, batches ((x1, x2), y), got torch's
                    # bare "forward() missing 1 required positional argument: 'x2'")
                    _note(exc, "lr_range_test: the default step calls model(inputs) with each "
                          "batch's first item; a model of several inputs needs a step_fn, "
                          "e.g. step_fn=lambda m, b: loss_fn(m(*b[0]), b[1])")
                raise
            if nan_raised:
                logger.warning(
                    "torch's anomaly mode (set_detect_anomaly) raised at step %d (lr=%.3g): %s; "
                    "the curve ends there, as at a NaN loss", host.next_step,
                    host.lr_values[host.next_step - 1],
                    (str(exc).strip().splitlines() or [""])[0][:200])
            else:
                logger.warning(
                    "a step after the end of the curve (%s at lr=%.3g) raised %s: %s; it ran "
                    "only because the stop test lags the steps (sync_every=%d), so the curve "
                    "stands", host.stop_reason, host.lr_values[host.next_step - 1],
                    type(exc).__name__, (str(exc).strip().splitlines() or [""])[0][:200],
                    self.sync_every,
                )
        except BaseException as exc:
            # Ctrl-C, a script's own SIGTERM handler's sys.exit() (a bug bash: its curve was
            # lost), a test framework's stop or a cancellation (a review).
            # This rank's unread losses (best effort) where it is the only one: under
            # torch.distributed they are its own, not the mean the others see, so the curve
            # ends at the last chunk all ranks read, the same on each (as for an error above).
            # A second Ctrl-C waits for them (a bug bash: it lost the curve).
            with _held_while_kept(exc):
                read = world == 1 and _feed_unread(host, pending, losses, val, skips,
                                                   listed_from)
                # Ctrl-C in a step run past the curve's end (a divergence or NaN not yet read
                # back: the stop test lags): with sync_every=1 the sweep had ended before it,
                # so the curve is whole and keeps its stop reason. Under torch.distributed the
                # curve holds the chunks every rank read, and so does its stop (one held off
                # above).
                ended = host.stop_reason if read or world > 1 else None
                _attach(exc, "partial_curve", host.curve(ended or "interrupted"))
                self._count_skips(host)
            raise
        finally:
            # The bar ends at the curve's last step: the steps run past a stop (read up to
            # sync_every steps late) are not counted, and those read after a Ctrl-C or an
            # error are (a bug bash: 20/60 beside "interrupted after 29 of 60 steps")
            rewind(bar, host.next_step, loss=host.last_smoothed)
            bar.close()
            if hook is not None:
                hook.remove()
            # The loader's iterator goes now (a DataLoader's shuts its worker processes
            # down), also where an exception that holds this frame is kept (a notebook keeps
            # the last one); so does this frame's hold on the validation batches.
            batches.close()
            val_cache = None
        if moved is not None:
            # (no partial curve: its losses were measured at LRs that it does not record)
            raise RuntimeError(moved)
        self._count_skips(host)
        self.leading_zeros.append(host.leading_zeros)
        if self.stale and host.next_step >= STALE_STEPS:  # (a sweep that stopped before the
            # watch ended, of 5 steps or more: said of its steps, a review found it lost
            # where a blow-up came at the 2nd step; not of fewer, where a head used one step
            # in three still had none, the next)
            gone, self.stale = self.stale, []
            self._tell_stale_optimizer(gone, min(host.next_step, self.watch_steps))
        self.stale = []
        return host.curve(host.stop_reason or "completed")

    def _count_skips(self, host: _HostCurve) -> None:
        """Record the steps GradScaler skipped in the sweep ``host`` read, and whether they
        stopped it at a loss scale still 1 or more (for the result's warnings)."""
        self.skipped.append(host.skipped)
        self.scale_stops.append(host.scale_stop)

    def _scale_fell(self) -> bool:
        """After ``scaler.update()``: whether the step found inf/NaN gradients, read from the
        scale, which the update lowers exactly then (``backoff_factor < 1``, which GradScaler
        requires). The fallback of :meth:`_found_inf` for a torch without the private
        ``GradScaler._found_inf_per_device``: it costs a host sync a step."""
        assert self.scaler is not None
        scale = self.scaler.get_scale()
        fell, self.last_scale = scale < self.last_scale, scale
        return fell

    def _check_grads(self) -> None:
        """After the first step's backward: refuse a sweep whose optimizer's parameters got no
        gradient (a bug bash: an optimizer stepped in a post-accumulate-grad hook, "optimizer
        in backward", had trained them at its own LR and cleared them, and the curve, of a
        fixed LR, came with a confident suggestion; under a GradScaler torch's bare "No inf
        checks were recorded")."""
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        if self.max_grad_norm is not None and any(
                p.grad is not None and p.grad.is_sparse for p in params):
            # (a bug bash: torch's 14,000-character dispatcher dump from clip_grad_norm_)
            names = {id(p): n for n, p in self.model.named_parameters()}
            sparse = [names.get(id(p), "a parameter") for p in params
                      if p.grad is not None and p.grad.is_sparse]
            raise ValueError(
                f"max_grad_norm cannot clip sparse gradients ({', '.join(sparse[:3])}: an "
                "nn.Embedding(sparse=True)'s), which torch's clip_grad_norm_ does not take; pass "
                "max_grad_norm=None, and clip the dense parameters in "
                "optimizer.register_step_pre_hook if they need it")
        # An optimizer in backward: post-accumulate-grad hooks that step an optimizer of their
        # own, at its LR, and clear the gradients. Known for sure where no parameter has a
        # gradient (the hooks set them to None), or where none has a non-zero one and the hooks
        # wrote into theirs during backward (their version counters moved; a bug bash: hooks
        # that zero_grad(set_to_none=False) swept on, the curve the hooks' fixed LR's, unsaid).
        # A hook that only reads the gradient, a logger's, writes none (reviews: four rules
        # warned of one beside a zero-initialised head or a head a task uses one step in two,
        # or refused a first batch of no loss signal); a fused optimizer's step moves no
        # version counter, so one where no gradient is non-zero is warned of as a possibility.
        hooked = [p for p in params if id(p) in self.hook_versions]
        in_backward = (", which step an optimizer of their own during backward and clear the "
                       "gradients (\"optimizer in backward\"), at that optimizer's LR")
        if not any(p.grad is not None for p in params):
            raise RuntimeError(
                "no parameter of the optimizer had a gradient after the first step's backward, "
                "so its steps would change nothing at the swept LRs: "
                + (f"its parameters have post-accumulate-grad hooks{in_backward}; run the test "
                   "without those hooks, on an optimizer stepped after backward" if hooked else
                   "the loss must reach the parameters the optimizer steps"))
        wrote: list[torch.Tensor] = []
        if hooked:
            before = self.hook_versions
            wrote = [p for p in hooked if _version(p) != before[id(p)]
                     and (p.grad is None or not _holds_gradient(p.grad))]
            if not any(p.grad is not None and _holds_gradient(p.grad) for p in params):
                if wrote:
                    raise RuntimeError(
                        "no parameter of the optimizer had a non-zero gradient after the first "
                        "step's backward, so its steps would change nothing at the swept LRs: "
                        f"its parameters have post-accumulate-grad hooks{in_backward}; run the "
                        "test without those hooks, on an optimizer stepped after backward")
                warnings.warn(
                    "no parameter of the optimizer had a non-zero gradient after the first "
                    "step's backward, and its parameters have post-accumulate-grad hooks: "
                    "where they step an optimizer of their own (\"optimizer in backward\", a "
                    "fused one's zero_grad(set_to_none=False)), the swept LRs train nothing and "
                    "the curve is that optimizer's; run the test without such hooks",
                    SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))
            elif wrote:
                names = {id(p): n for n, p in self.model.named_parameters()}
                named = [names.get(id(p), "a parameter") for p in wrote]
                warnings.warn(
                    f"{len(wrote)} of the optimizer's {len(params)} parameters "
                    f"({', '.join(named[:3])}{', ...' if len(named) > 3 else ''}) "
                    f"{'have' if len(wrote) != 1 else 'has'} post-accumulate-grad hooks"
                    f"{in_backward}, and no gradient, or zeros, after the first step's "
                    "backward: the swept LRs train only the rest, and the curve is of "
                    "both; run the test without those hooks, on an optimizer stepped after "
                    "backward", SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))
        self._tell_missing_grads(params, skip={id(p) for p in wrote})

    def _tell_missing_grads(self, params: list[torch.Tensor], skip: set[int]) -> None:
        """At the first step, watch the optimizer's trainable parameters without a gradient
        where they hold most of its values, to warn where they get none in the first
        :data:`GRAD_WATCH_STEPS` steps (:meth:`_watch_grads`; a bug bash: a model's forward
        under ``torch.no_grad()`` by mistake, beside a loss's own learnable temperature, swept
        the temperature alone, and the warnings blamed ``num_iter``; not from the first step
        alone, a review: 64 experts routed 2 of them an example left most out of it). Not
        those of ``skip`` (ids: an optimizer in backward's, warned of already)."""
        if self.told_missing_grads:  # (once a test, not a repeat: a review)
            return
        trainable = [p for p in params if p.requires_grad]
        self.ungraded = [p for p in trainable if p.grad is None and id(p) not in skip]
        self.trainable_values = sum(p.numel() for p in trainable)
        self.trainable_count = len(trainable)
        if self.loose:  # (watched as long as the others: a review)
            ours = {id(p) for p in self.model.parameters()}
            self.stale = [p for p in self.ungraded if id(p) not in ours]
        self._watch_grads(0)

    def _tell_stale_optimizer(self, gone: list[torch.Tensor], steps: int) -> None:
        """Warn where the optimizer steps parameters that are not the model's and got no
        gradient (``gone``) in the first :data:`GRAD_WATCH_STEPS` steps, or in the ``steps``
        of a sweep that stopped before them (:data:`STALE_STEPS` at least), while parameters
        of the model are not the optimizer's: a layer replaced after the optimizer was built
        (``model[2] = nn.Linear(...)`` in a notebook cell, the optimizer's cell not run
        again), whose new weights the sweep never trains (a bug bash: a pick 6.5x too high,
        said in an INFO line alone). Not from the first step alone: a task's head used one
        step in three is no stale one (a review)."""
        names = [n for n, p in self.model.named_parameters() if p.requires_grad
                 and any(p is q for q in self.loose)]
        warnings.warn(
            f"the optimizer steps {len(gone)} parameter{'s' * (len(gone) != 1)} that "
            f"{'are' if len(gone) != 1 else 'is'} not the model's and got no gradient in the "
            f"sweep's first {steps} step{'s' * (steps != 1)}, while "
            f"{len(self.loose)} trainable parameter{'s' * (len(self.loose) != 1)} of the model "
            f"({', '.join(names[:3])}{', ...' if len(names) > 3 else ''}) "
            f"{'are' if len(self.loose) != 1 else 'is'} not the optimizer's, so the sweep "
            "never trains them: was a layer replaced after the optimizer was built? Build "
            "the optimizer again over model.parameters()",
            SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))

    def _watch_grads(self, i: int) -> None:
        """After step ``i``'s backward: drop the watched parameters that got a gradient; warn
        where those left hold most of the values after :data:`GRAD_WATCH_STEPS` steps, and
        of :attr:`stale` ones left (:meth:`_tell_stale_optimizer`)."""
        if self.stale:
            self.stale = [p for p in self.stale if p.grad is None]
            if self.stale and i >= self.watch_steps - 1:
                gone, self.stale = self.stale, []
                self._tell_stale_optimizer(gone, self.watch_steps)
        self.ungraded = [p for p in self.ungraded if p.grad is None]
        missing = sum(p.numel() for p in self.ungraded)
        if not self.ungraded or missing * 2 <= self.trainable_values:
            self.ungraded = []
            self.grad_watch = self.watch_steps if self.stale else 0
            return
        self.grad_watch = self.watch_steps
        if i < self.watch_steps - 1:
            return
        names = {id(p): n for n, p in self.model.named_parameters()}
        named = [names[id(p)] for p in self.ungraded if id(p) in names]
        share = missing / self.trainable_values
        part = "all" if share == 1 else "over 99%" if share > 0.99 else f"{share:.0%}"
        count, total = len(self.ungraded), self.trainable_count
        self.ungraded, self.grad_watch, self.told_missing_grads = [], 0, True
        warnings.warn(
            f"{count} of the optimizer's {total} trainable parameters, {part} of their values"
            f"{' (' + ', '.join(named[:3]) + ')' if named else ''}, got no gradient in the "
            f"sweep's first {self.watch_steps} steps, so it trains only the rest: a forward "
            "under torch.no_grad() or on detached tensors, or layers checkpointed with "
            "use_reentrant=True whose inputs need no grad; leave parameters unused on purpose "
            "out of the optimizer",
            SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))

    def _first_step(self, step: Callable[[], Any]) -> None:
        """The optimizer's first step (``step``: its own, or the scaler's), where one that
        differentiates the gradients (a Hessian estimate's: AdaHessian, SophiaH) without
        ``create_graph`` is told what its error means (a bug bash: torch's "element 0 of
        tensors does not require grad" alone)."""
        try:
            step()
        except RuntimeError as exc:
            if self.create_graph or "does not require grad" not in str(exc):
                raise
            raise RuntimeError(
                f"the optimizer's first step failed: {str(exc).splitlines()[0]}; an optimizer "
                "that differentiates the gradients (a Hessian estimate: AdaHessian, SophiaH) "
                "needs them made with backward(create_graph=True): pass create_graph=True "
                "(not a backward of step_fn's own, to which the test's would add)") from exc

    def _found_inf(self) -> torch.Tensor:
        """After ``scaler.step()``: whether it found inf/NaN gradients (and so the optimizer
        skipped the update), as a 0-dim device tensor, > 0 where it did, with no host sync and
        no kernel of its own where the parameters are on one device (the host compares, a chunk
        at a time: on a GPU step bound by kernel launches each launch shows in the wall time)."""
        assert self.scaler is not None
        checks = list(self.scaler._found_inf_per_device(self.optimizer).values())
        if not checks:  # (torch's own step says "No inf checks were recorded" for others)
            raise RuntimeError(
                "no parameter of the optimizer got a gradient in this step, so GradScaler "
                "checked none for inf/NaN: the loss must reach the parameters the optimizer "
                "steps, at every step"
            )
        if len(checks) == 1:
            # torch's own tensor: the next unscale_ makes a new one, and update() adds the
            # step's other inf checks into the first it holds, in place, so ours is kept as it
            # is only where it is the scaler's one check this step (0-dim as torch makes it: no
            # view to dispatch either). Another optimizer stepped by this scaler in our step (a
            # step hook's) would have its inf added into ours: a copy then.
            found = checks[0]
            found = found if found.dim() == 0 else found.reshape(())
            return found.clone() if self._other_inf_checks() else found
        # parameters on several devices: a new tensor, since update() adds the others into
        # torch's first one in place. non_blocking only onto a GPU: a copy from one onto the
        # host would be read (by the sum) before it has landed.
        found = sum(c.to(self.device, non_blocking=self.device.type == "cuda") for c in checks)
        return found.reshape(())  # type: ignore[union-attr]

    def _other_inf_checks(self) -> bool:
        """Whether the scaler holds inf checks this step beside our optimizer's one (those of
        another optimizer it stepped), which its ``update()`` adds into the first, in place;
        True where this torch's GradScaler does not say (a copy is always right)."""
        states = getattr(self.scaler, "_per_optimizer_states", None)
        if not isinstance(states, Mapping):
            return True
        try:
            return sum(len(s["found_inf_per_device"]) for s in states.values()) > 1
        except (KeyError, TypeError):
            return True

    def _accumulate(self, batches: Iterator[Any]) -> torch.Tensor:
        """Forward and backward over one step's micro-batches; their mean loss, on the device."""
        k = self.accumulation_steps
        if k == 1 and self.ddp is None and not self.probe:  # the common case, without the
            # loop's bookkeeping
            loss = self._loss(self._move(next(batches)))
            # Every step (a host-side look at its shape, no sync): a loss can turn per-example
            # on a later batch, e.g. a ragged last one.
            _check_loss(loss, training=True)
            self._backward(self.scaler.scale(loss) if self.scaler is not None else loss, loss)
            return self._kept(loss)
        total: torch.Tensor | None = None
        for j in range(k):
            batch = self._move(next(batches))
            sync = self.ddp.no_sync() if self.ddp is not None and j < k - 1 else nullcontext()
            with sync:
                if self.probe and j == 0:
                    loss = self._probed(batch)
                elif self.probe_sum and j == 1:
                    loss = self._probed_sum(batch)
                else:
                    loss = self._loss(batch)
                _check_loss(loss, training=True)
                scaled = loss / k if k > 1 else loss
                self._backward(self.scaler.scale(scaled) if self.scaler is not None else scaled,
                               scaled)
            # The sum of the shares, not the shares' sum divided: torch-lr-finder's order, so
            # both record the same losses to the last bit.
            d = self._kept(scaled)
            total = d if total is None else total + d
        assert total is not None
        return total

    def _probed(self, batch: Any) -> torch.Tensor:
        """The first step_fn call of the test, looked at: one that stepped the optimizer (a
        training loop's body pasted in whose loss comes from a fresh forward, which no
        second-backward error gives away) or left gradients on its parameters (a backward of its
        own: an attack's, FGSM's ``loss.backward(); x.grad``, or ``create_graph=True``'s),
        whose gradients the test's backward adds to: a bug bash's curves 1.75x and 3x low,
        unwarned. Once: a host sync reads the gradients. The steps are counted by a step
        pre-hook, there during this call alone (a compiled ``optimizer.step``, which guards on
        the hooks, is not called meanwhile); a look at the state told a read of
        ``opt.state[p]``, a defaultdict's, or SAM's ``first_step`` from a step (a review)."""
        counted = _StepCounter(held_optimizers(self.optimizer))
        try:
            loss = self._loss(batch)
        finally:
            counted.remove()
        self.probe = False
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        if any(counted.counts):
            warnings.warn(
                "step_fn stepped the optimizer the range test drives (optimizer.step() inside "
                "it): every point then trains two steps, and the curve reads LRs as doing what "
                "twice their steps do; return the loss without calling backward() or "
                "optimizer.step(), the range test does both (a second model's steps, a GAN "
                "discriminator's, need an optimizer of their own)",
                SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))
        elif left := sum(p.grad is not None and _holds_gradient(p.grad) for p in params):
            self.probe_sum = False  # (its gradients, added to, would be told again)
            # (not "zero them" with accumulation: that wipes the step's earlier micro-batches')
            zero = (" (with accumulation_steps=1)" if self.accumulation_steps > 1 else "")
            warnings.warn(
                f"step_fn left gradients on {left} of the optimizer's parameters before "
                "returning its loss (a backward() of its own: an adversarial attack's, or "
                "backward(create_graph=True)): the range test's backward adds the loss's "
                "gradients to them, so every step trains on both; take input gradients with "
                "torch.autograd.grad(loss, inputs), or zero the parameters' gradients "
                f"(model.zero_grad()) before returning the loss{zero}",
                SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))
        return loss

    def _probed_sum(self, batch: Any) -> torch.Tensor:
        """The second step_fn call of the test, with ``accumulation_steps`` > 1, looked at: one
        that zeroed or clipped the gradients (a pasted loop's ``optimizer.zero_grad()``, a
        ``clip_grad_norm_``) wiped or cut those the step's earlier micro-batches left, to which
        the test adds (a bug bash: picks 2.3x and 3x high, unwarned; at the first call there
        is nothing to zero or clip). Once: a host sync reads the gradients' norms."""
        self.probe_sum = False
        held = [(p, p.grad) for g in self.optimizer.param_groups for p in g["params"]
                if p.grad is not None and not p.grad.is_sparse]
        before = _norms([grad for _, grad in held])
        loss = self._loss(batch)
        if before is None:
            return loss
        after = _norms([p.grad for p, _ in held])
        # (a NaN norm is its own: a GradScaler's overflowing first micro-batch, a review)
        if (any(p.grad is not grad for p, grad in held)
                or (after is not None and any(a != b and not (math.isnan(a) and math.isnan(b))
                                              for a, b in zip(after, before, strict=True)))):
            k = self.accumulation_steps
            warnings.warn(
                "step_fn changed the gradients the step's earlier micro-batches left (zeroed "
                "them, as optimizer.zero_grad() does, or clipped them, as clip_grad_norm_ "
                f"does): with accumulation_steps={k} the range test adds each micro-batch's "
                "gradients to the step's earlier ones and steps once after the last, so every "
                "step trains on what step_fn left of them, and the curve reads LRs as doing "
                "what other LRs do; return the loss without touching the gradients: the range "
                "test zeroes them before each step, and clips their sum with max_grad_norm=",
                SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))
        return loss

    def _backward(self, loss: torch.Tensor, unscaled: torch.Tensor) -> None:
        """``loss.backward()``, where torch's "Trying to backward through the graph a second
        time" is told what it means here (see :func:`_second_backward`). ``unscaled``: the loss
        before a GradScaler scaled it (anomaly mode's NaN is told apart by it)."""
        try:
            loss.backward(create_graph=self.create_graph)
        except RuntimeError as exc:
            _second_backward(exc, step_fn=self.step_fn is not None)
            _mark_nan_loss(exc, unscaled)
            raise

    def _kept(self, loss: torch.Tensor) -> torch.Tensor:
        """The step's loss, detached, to keep until its chunk is read: a copy of its own where
        it may be the output of a CUDA graph (a step_fn or loss_fn compiled with
        "reduce-overhead" returns memory that the next replay overwrites)."""
        return loss.detach().clone() if self.copy_loss else loss.detach()

    def _loss(self, batch: Any) -> torch.Tensor:
        if self.clear_casts:
            return self._loss_in_block(batch)
        if self.autocast is None:  # no context to enter and leave, every step
            return self._forward(batch)
        with self.autocast:
            return self._forward(batch)

    def _loss_in_block(self, batch: Any) -> torch.Tensor:
        """The loss inside the caller's autocast block: no low-precision copy of a weight
        from before this forward (the caller's, or the step before's), and none left after it,
        an error's too (the graph holds the copies its backward needs)."""
        torch.clear_autocast_cache()
        try:
            if self.autocast is None:
                return self._forward(batch)
            with self.autocast:
                return self._forward(batch)
        finally:
            torch.clear_autocast_cache()

    def _forward(self, batch: Any) -> torch.Tensor:
        if self.step_fn is not None:
            try:
                return self.step_fn(self.model, batch)
            except RuntimeError as exc:
                if "nested_tensorlist[0].empty()" not in str(exc):
                    raise
                # (a bug bash: clip_grad_value_ in a step_fn, over gradients the test had set
                # to None, failed with this torch-internal message alone)
                raise RuntimeError(
                    f"step_fn failed: {str(exc).splitlines()[0]}; a foreach op got no tensors, "
                    "as gradient clipping inside step_fn does: the gradients are None there "
                    "(the range test runs backward after step_fn returns the loss); clip by norm "
                    "with max_grad_norm=, or by value in optimizer.register_step_pre_hook"
                ) from exc
        # type() first: isinstance against a union costs more, every step.
        if not ((type(batch) is tuple or isinstance(batch, tuple | list)) and len(batch) == 2):
            raise TypeError(
                f"the default step needs (inputs, targets) batches, got a "
                f"{type(batch).__name__}"
                f"{f' of {len(batch)}' if isinstance(batch, tuple | list) else ''}; pass "
                "step_fn=fn(model, batch) -> loss for other batch layouts"
            )
        inputs, targets = batch
        assert self.loss_fn is not None
        output = self.model(inputs)
        try:
            return self.loss_fn(output, targets)
        except (TypeError, AttributeError, ValueError) as exc:
            # (where the error is about it, naming its type: not a wrong target's, a review)
            if isinstance(output, torch.Tensor) or type(output).__name__ not in str(exc):
                raise
            # (a bug bash: a model returning (logits, aux) or a dict, Hugging Face's, got
            # torch's "'tuple' object has no attribute 'size'" alone)
            _note(exc, f"lr_range_test: the model returned a {type(output).__name__}, not a "
                  "tensor, and the default step passes it to loss_fn as it is, "
                  "loss_fn(model(inputs), targets); pick the output the loss reads in a "
                  "step_fn, e.g. step_fn=lambda m, b: loss_fn(m(b[0])[0], b[1]) (or "
                  "m(b[0])['logits'], m(b[0]).logits)")
            raise

    def _rng_states(self) -> tuple[Any, ...]:
        cuda = self.device.type == "cuda"
        return (torch.get_rng_state(), torch.cuda.get_rng_state(self.device) if cuda else None,
                np.random.get_state(), random.getstate(), [_rng_state(r) for r in self.own_rngs])

    def _set_rng_states(self, states: tuple[Any, ...]) -> None:
        torch.set_rng_state(states[0])
        if states[1] is not None:
            torch.cuda.set_rng_state(states[1], self.device)
        np.random.set_state(states[2])
        random.setstate(states[3])
        for rng, state in zip(self.own_rngs, states[4], strict=True):
            _set_rng_state(rng, state)

    @contextlib.contextmanager
    def _slots_kept(self, same: bool = False) -> Iterator[None]:
        """The RNGs made on first use (:attr:`rng_slots`, None at the test's start) as they
        were before the block: one the block made goes, and one made before it (by the
        training) gets its state back. A collator shared by the training and validation
        loaders made its RNG at the first validation batch, and the training then drew from
        where the validation left it: the curve moved with ``val_data`` (a bug bash).
        ``same`` (a validation pass): each block draws as the first did, from the state one
        had before it, or, from one it made, from one it makes again, the training's hidden
        in the block (a bug bash: the masks of a collator whose RNG the training made went
        on from the training's draws, other masks at every pass)."""
        # (at every validation pass: a plain read of each slot, the states of the RNGs alone;
        # a review timed the first version at 0.74 ms a pass over a text dataset's records)
        slots = self.rng_slots
        was = [attributes.get(name) for attributes, name in slots]
        states = [(rng, _rng_state(rng)) for rng in was if rng is not None and _is_rng(rng)]
        hidden = []  # (the training's RNGs, where the first pass made its own)
        first_pass = self.val_slots_first
        if same and first_pass is None:
            found = dict((id(rng), state) for rng, state in states)
            self.val_slots_first = [(rng, found[id(rng)]) if id(rng) in found else None
                                    for rng in was]
        elif same and first_pass is not None:
            for (attributes, name), before, first in zip(slots, was, first_pass, strict=True):
                if first is None and before is not None and _is_rng(before):
                    attributes[name] = None
                    hidden.append((attributes, name, before))
                elif first is not None and first[0] is before:
                    _set_rng_state(before, first[1])
        try:
            yield
        finally:
            now = [attributes.get(name) for attributes, name in slots]
            for (attributes, name), before, after in zip(slots, was, now, strict=True):
                if after is not before and before is None and _is_rng(after):
                    attributes[name] = None
            for attributes, name, rng in hidden:
                attributes[name] = rng
            for rng, state in states:
                _set_rng_state(rng, state)

    @contextlib.contextmanager
    def _passive(self) -> Iterator[None]:
        """A validation pass that leaves the training as it was: from the first pass's random
        state (the same draws at every pass), with the fake-quantize observers off, and the
        training's RNGs and carried state put back after it (see __init__)."""
        training_rngs = self._rng_states()
        if self.val_rngs is None:
            self.val_rngs = training_rngs
        else:
            self._set_rng_states(self.val_rngs)
        training_carried = self.carried.take()
        observing = [m.observer_enabled.clone() for m in self.observers]
        for m in self.observers:
            m.observer_enabled.fill_(0)
        modes = [(m, m.training) for m in self.others]
        for m in self.others:
            m.training = False
        try:
            with self._slots_kept(same=True):
                yield
        finally:
            for m, training in modes:
                m.training = training
            for m, was in zip(self.observers, observing, strict=True):
                m.observer_enabled.copy_(was)
            self._set_rng_states(training_rngs)
            self.carried.put(training_carried)

    def _tell_train_mode(self) -> None:
        """Warn, once, of a step_fn that left the model in train mode in a validation pass
        (``model.eval()`` for an attack, then ``model.train()``: the validation batches updated
        BatchNorm's statistics, and the training curve moved with ``val_data``, a bug bash)."""
        self.told_train_mode = True
        warnings.warn(
            "step_fn set the model to train mode during a validation pass (model.train() after "
            "an attack's model.eval()): the validation batches ran in train mode, with dropout, "
            "and updated BatchNorm's statistics, which the training then reads; have step_fn "
            "put back the mode it found (was = model.training; ...; model.train(was))",
            SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))

    def _val_loss(self, cache: list[Any] | None) -> torch.Tensor:
        modes = [(m, m.training) for m in self.model.modules()]
        try:
            self.model.eval()
        except NotImplementedError as exc:  # (a bug bash: torch's message alone)
            raise ValueError(
                f"val_data: the model cannot be put in eval mode ({exc}): the module of a "
                "torch.export program keeps the mode it was exported in; run the test without "
                "val_data, or on the eager model") from exc
        # The sum of the batches' losses, and, once a batch of another size came, of each
        # times its examples (batches of one size, the usual, cost no more work than before).
        total: torch.Tensor | None = None
        weighted: torch.Tensor | None = None
        sizes: list[int | None] = []
        source: Iterable[Any] | None = None
        empty: torch.Tensor | None = None  # a batch of no examples' loss, which adds nothing
        try:
            with torch.no_grad(), self._passive():
                source = (map(self._move, self.val_data) if cache is None
                          # (a step_fn popping a key from a cached batch changed it for every
                          # later pass: a fresh container each pass, a bug bash)
                          else map(self._move, cache) if self.step_fn is not None else cache)
                for batch in source:
                    try:
                        loss = self._loss(batch)
                        _check_loss(loss, training=False)
                        if self.model.training and not self.told_train_mode:
                            self._tell_train_mode()
                    except RuntimeError as exc:  # backward() under no_grad: step_fn ran it
                        if "does not require grad" not in str(exc):
                            raise
                        if self.step_fn is None:  # (a bug bash: torch's message alone)
                            raise RuntimeError(
                                "the model failed on val_data, which the range test scores "
                                f"under torch.no_grad(): {str(exc).splitlines()[0]}; a model "
                                "that takes gradients in its forward (torch.autograd.grad: "
                                "forces as the gradient of an energy) must take them under "
                                "torch.enable_grad() there"
                            ) from exc
                        raise RuntimeError(
                            "step_fn failed on val_data, which it scores under torch.no_grad(): "
                            f"{str(exc).splitlines()[0]}; if step_fn calls backward() itself, "
                            "return the loss without calling backward() or optimizer.step(), "
                            "the range test does both; if its loss takes gradients itself "
                            "(torch.autograd.grad: a gradient penalty), compute those under "
                            "torch.enable_grad()"
                        ) from exc
                    except (TypeError, ValueError) as exc:  # say it is about val_data
                        # Only a plain one-message exception is reworded (a custom __str__, a
                        # UnicodeDecodeError's fields, one raised twice are left as they are).
                        if (len(exc.args) == 1 and isinstance(exc.args[0], str)
                                and str(exc) == exc.args[0]
                                and not exc.args[0].startswith("val_data: ")):
                            exc.args = (f"val_data: {exc.args[0]}",)
                        raise
                    n = _examples(batch)
                    # (a bare list of sequences counts its items; one of one sequence too, a
                    # last batch's, once a list of several was seen)
                    if _sequences(batch):
                        self.val_sequences = True
                    if self.val_sequences and _tensor_list(batch):
                        n = len(batch)
                    d = _readable(loss.detach().reshape(()))
                    if n == 0:  # (its loss, NaN, made every point NaN: a bug bash)
                        empty = d
                        continue
                    # A copy of the first: a CUDA-graph output (see _kept) is overwritten by
                    # the next batch's replay.
                    first = sizes[0] if sizes else None
                    if (weighted is None and total is not None and first is not None
                            and n not in (None, first) and None not in sizes):
                        weighted = total * first  # (every batch before had that many)
                    if weighted is not None and n is not None:
                        weighted = weighted + d * n
                    total = d.clone() if total is None else total + d
                    sizes.append(n)
        finally:
            # Back through train(), from the top, each module the one above it set otherwise
            # in turn (a bug bash: a LoRA layer that folds its adapters into the weight in
            # eval() and takes them out in train(), loralib's, stayed folded for the sweep,
            # and its adapters got no gradient); then each flag as it was.
            for m, training in modes:
                if m.training != training:
                    m.train(training)
            for m, training in modes:  # (those a train() above set otherwise: through
                # Module.__setattr__, every flag cost 12 us a module a step, a bug bash)
                if m.training is not training:
                    m.training = training
            # An exception kept afterwards holds this frame: not the cached batches with it.
            cache = source = None
        if total is None and empty is not None:
            # Batches of no examples alone: no loss (NaN), or, under torch.distributed, nothing
            # to add to the other ranks' sums (their mean; NaN where no rank has one).
            self.val_seen = True
            if self.world == 1:
                return torch.full_like(empty, math.nan)
            return torch.zeros(5, dtype=empty.dtype, device=empty.device)
        if total is None:
            if self.val_seen:
                raise ValueError(
                    "val_data yielded nothing when iterated again (a one-shot iterator?); the "
                    "range test scores every step on it, so pass a re-iterable loader such as a "
                    "DataLoader or a list, or val_batches=N to keep its first N batches"
                )
            raise ValueError("val_data yielded no batches; pass a non-empty loader")
        self.val_seen = True
        # The mean over the examples, where the losses are per-example means: each batch
        # weighted by its examples, as one pass over them all would be (a bug bash: a loader's
        # last batch of 1 example weighed as much as one of 256, where torch-lr-finder weighs
        # it by its labels). Batches of one size (or of an unknown one): their plain mean.
        # (weighted is made only once a batch of another size came)
        counted = None not in sizes
        mean = (weighted / sum(cast("list[int]", sizes)) if weighted is not None and counted
                else total / len(sizes))
        if self.world == 1:
            return mean
        # Under torch.distributed, the mean over every rank's examples (a rank of 3 batches
        # weighs 3/5 beside one of 2; it was the mean of the ranks' means): this rank's sums
        # and counts travel with the chunk, and its all-reduce adds them up (see _ChunkRead).
        # By examples where every rank counted them, else by batches, as on one rank.
        mean = _plain([mean])[0]
        examples = sum(cast("list[int]", sizes)) if counted else 0
        return torch.stack([mean * examples, torch.full_like(mean, examples),
                            mean * len(sizes), torch.full_like(mean, len(sizes)),
                            torch.full_like(mean, not counted)])

    def _move(self, batch: Any) -> Any:
        return _to_device(batch, self.device)


class _HostCurve:
    """The recorded curve, grown chunk by chunk on the host; decides where the test stops."""

    def __init__(
        self,
        lr_values: list[float],
        beta: float,
        diverge_factor: float | None,
        seed: int | None,
        has_val: bool,
        scaler: torch.amp.GradScaler | None = None,
    ) -> None:
        self.lr_values, self.diverge_factor, self.seed = lr_values, diverge_factor, seed
        self.ema = Ema(beta)
        self.steps: list[int] = []  # the step (index into lr_values) of each point
        self.losses: list[float] = []
        self.smoothed: list[float] = []
        self.val: list[float] | None = [] if has_val else None
        self.best = math.inf  # (below 0, a log-likelihood's: only NaN/inf stop)
        # Losses of exactly 0 before the first point: placeholders (a warm-up's or a masked
        # loss's zero that keeps the graph), no points (a bug bash: a first point at 0 turned
        # the stop off, and the sweep ran on to 1e36; drawn from the best positive loss
        # instead, a noisy raw one, the stop came 14x early, a later one).
        self.zeros: list[tuple[int, float | None]] = []  # their steps and validation losses
        self.stop_reason: str | None = None
        self.next_step = 0
        self.skipped = 0  # steps GradScaler skipped, in all
        self.skipped_in_a_row = 0
        self.high_skip = False  # the last step was skipped with a loss past the line
        self.scale_stop = False  # stopped by skips in a row at a loss scale still >= 1
        # The loss scale after each step fed, as the scaler's update sets it, from where it
        # stood at the sweep's start and the steps' skips: the scale at a stop is its own, not
        # the one left by the steps run past it until the stop was read (a bug bash: the
        # 50-skips warning named 1.1e15 at sync_every=10, 4.1e3 at 100, and flipped its advice)
        self.scale = math.nan
        if scaler is not None and scaler.is_enabled():
            self.scale = float(scaler.get_scale())  # (a host read, once a sweep)
            tracker = getattr(scaler, "_get_growth_tracker", None)
            self.tracker = tracker() if callable(tracker) else 0
            self.growth, self.backoff = scaler.get_growth_factor(), scaler.get_backoff_factor()
            self.interval = scaler.get_growth_interval()

    @property
    def last_smoothed(self) -> float:
        return self.smoothed[-1] if self.smoothed else math.nan

    def feed(
        self,
        losses: list[float],
        val: list[float] | None = None,
        skipped: list[bool] | None = None,
    ) -> None:
        """Append points until the first bad one: a non-finite loss is dropped ("nan"); the
        first point whose smoothed loss exceeds ``diverge_factor * best`` is kept ("diverged").
        The divergence rule needs positive losses; with a best smoothed loss <= 0 only NaN stops.
        Losses of exactly 0 before the first point are no points (placeholders).
        A step GradScaler skipped changed nothing and is no point, unless its loss is the one that
        diverges (it still counts toward the smoothed loss); ``MAX_SKIPPED_STEPS`` of them in a
        row stop the test ("nan").
        """
        if self.stop_reason is not None:
            return  # a later chunk: the curve already ends
        factor = self.diverge_factor
        for j, x in enumerate(losses):
            step = self.next_step
            self.next_step += 1
            skip = skipped is not None and skipped[j]
            self.skipped_in_a_row = self.skipped_in_a_row + 1 if skip else 0
            if skipped is not None and self.scale == self.scale:  # (not NaN: a scaler's)
                self._update_scale(skip)
            if not math.isfinite(x):
                if skip and not self.steps:
                    # Before the first point, a skipped step's NaN is the scaler finding its
                    # scale, not a blow-up: a loss that reads the scale (a gradient penalty
                    # unscaled by hand, torch's AMP recipe) is NaN until it has (a bug bash:
                    # "nan after 1 step", told to check the data). MAX_SKIPPED_STEPS still stop.
                    if self._skip(step):
                        return
                    continue
                self.skipped += skip
                self.stop_reason = "nan"
                return
            if x == 0 and not self.steps:
                self.zeros.append((step, None if val is None else val[j]))
                # (their NaN gradients too: MAX_SKIPPED_STEPS, a review)
                if skip and self._skip(step):
                    return
                continue
            # A skipped step's loss is still a real one, on the current weights at this LR, and
            # counts toward divergence: when the loss blows up, fp16 gradients overflow, so the
            # steps that show the blow-up are the ones GradScaler skips.
            s = self.ema(x)
            # Before the points a suggestion needs, past factor**2 times the best: the smoothed
            # loss of a few points is one batch's as much as the LR's (a task labelled on one
            # batch in four, of 10x the loss, stopped at the 2nd point, "lower start_lr", a bug
            # bash), and a true blow-up passes that line too (held until the 8th point, one
            # ran on until its model's own checks failed, a review).
            line = factor if factor is None or len(self.steps) + 1 >= MIN_POINTS else factor**2
            diverged = line is not None and 0 < self.best < s / line
            # A skipped step's update never happened, so a blow-up it shows cannot compound
            # into the next losses the way a real step's does and carry the smoothed loss over
            # the line: two skipped steps in a row whose own losses pass the line diverge (two
            # at 8x the best loss closed a sweep as "completed, still falling" whose fp32 twin
            # diverged there). One alone is no blow-up: on a noisy loss the steps GradScaler
            # skips while it finds its scale are the batches of the largest losses.
            high = skip and line is not None and 0 < self.best < x / line
            diverged = diverged or (high and self.high_skip)
            self.high_skip = high
            if skip and not diverged:  # (a skipped step kept as the diverging point is one)
                if self._skip(step):
                    return
                continue  # changed nothing: no point
            self.steps.append(step)
            self.losses.append(x)
            self.smoothed.append(s)
            if self.val is not None and val is not None:
                self.val.append(val[j])
            if diverged:  # kept as the last point, skipped or not
                self.stop_reason = "diverged"
                return
            self.best = min(self.best, s)

    def _update_scale(self, skip: bool) -> None:
        """:attr:`scale` after a step, as ``GradScaler.update`` sets it: backed off at a skip;
        grown after ``growth_interval`` steps in a row without one, unless past float32's
        largest number."""
        if skip:
            self.scale *= self.backoff
            self.tracker = 0
            return
        self.tracker += 1
        if self.tracker >= self.interval:
            if self.scale * self.growth <= _FLOAT32_MAX:
                self.scale *= self.growth
            self.tracker = 0

    def _skip(self, step: int) -> bool:
        """Count ``step``, which GradScaler skipped, as no point; whether the steps skipped in
        a row up to it stop the test ("nan", warned)."""
        self.skipped += 1
        if self.skipped_in_a_row < MAX_SKIPPED_STEPS:
            return False
        # Backed off at each skip, a scale still at 1 or above never tried the smaller ones (an
        # init_scale of 2**120): the LR may not be the cause.
        scale = self.scale if self.scale == self.scale else 0.0
        self.scale_stop = scale >= 1
        why = (f"the loss scale is still {scale:.3g} after them, so no smaller one was tried: "
               "lower the GradScaler's init_scale or use bfloat16 autocast" if scale >= 1
               else "the gradients are not finite at any loss scale")
        warnings.warn(
            f"GradScaler skipped {self.skipped_in_a_row} steps in a row, up to "
            f"lr={self.lr_values[step]:.3g}: {why}; stopping the range test",
            SuperconvergeRuntimeWarning,
            stacklevel=outside(__name__, _FIND_LR),
        )
        self.stop_reason = "nan"
        return True

    @property
    def leading_zeros(self) -> int:
        """The losses of exactly 0 before the first point, left out of the curve."""
        return len(self.zeros) if self.steps else 0

    def curve(self, stop_reason: str) -> Curve:
        if not self.steps and self.zeros:
            # Nothing but zeros: they are the curve (a loss that never moved, said so by its
            # warnings; a review: "too few points: 0 finite, raise num_iter")
            self.steps = [step for step, _ in self.zeros]
            self.losses = self.smoothed = [0.0] * len(self.zeros)
            if self.val is not None:
                self.val = [math.nan if v is None else v for _, v in self.zeros]
        return Curve(
            lrs=tuple(self.lr_values[step] for step in self.steps),
            losses=tuple(self.losses),
            smoothed=tuple(self.smoothed),
            stop_reason=stop_reason,
            seed=self.seed,
            val_losses=None if self.val is None else tuple(self.val),
        )


def _whole_data_steps(data: object, loaders: Sequence[object],
                      accumulation_steps: int) -> int | None:
    """The batches of a pass where every step provably trains on all of ``data``'s examples,
    each once (else ``None``): its one
    DataLoader (itself, or the one a wrapper holds) batches a map-style dataset with torch's
    own BatchSampler over a SequentialSampler or a RandomSampler drawing every example without
    replacement, drops none, and a step's ``accumulation_steps`` micro-batches are whole
    passes, of equal batches where shuffled (a bug bash: a step weighs each micro-batch's mean
    alike, so which examples a last smaller batch drew changed every step's loss, 4e-3 between
    repeats and picks 0.12 decades apart, said to be rounding). Then repeats differ only by
    the order within a step, float rounding. Anything
    else (a custom or distributed sampler, a subsample, ``drop_last`` dropping examples, a
    wrapper's own ``len()``): ``None`` (a review: a batch count alone was no proof).
    ``loaders``: :func:`unwrapped_loaders` of ``data``, as the range test has them."""
    held = [ld for ld in loaders if isinstance(ld, torch.utils.data.DataLoader)]
    if len(held) != 1:
        return None
    loader = held[0]
    batches = loader.batch_sampler
    # (torch's own DataLoader and collate: a subclass's __iter__ or a collate_fn may subsample)
    if (type(loader) is not torch.utils.data.DataLoader
            or loader.collate_fn is not torch.utils.data.default_collate
            or isinstance(loader.dataset, torch.utils.data.IterableDataset)
            or type(batches) is not torch.utils.data.BatchSampler):
        return None
    sampler = batches.sampler
    n, per_pass = _length(loader.dataset), _length(batches)
    if n is None or per_pass is None:
        return None
    # (a wrapper's own len(), where it has one, must be the loader's: it may cut a pass)
    if (own := _length(data)) is not None and own != per_pass:
        return None
    every = (type(sampler) is torch.utils.data.SequentialSampler
             and sampler.data_source is loader.dataset) or (
        type(sampler) is torch.utils.data.RandomSampler and sampler.data_source is loader.dataset
        and not sampler.replacement and sampler.num_samples == n)
    ragged = n % batches.batch_size != 0
    dropped = batches.drop_last and ragged
    weighed = ragged and per_pass > 1 and type(sampler) is not torch.utils.data.SequentialSampler
    whole = (every and not dropped and not weighed and per_pass >= 1
             and accumulation_steps % per_pass == 0)
    return per_pass if whole else None


def _anomaly_nan_error(exc: BaseException) -> bool:
    """Whether ``exc`` is torch's anomaly mode finding a NaN in a backward pass ("Function
    'AddmmBackward0' returned nan values in its 0th output")."""
    return (isinstance(exc, RuntimeError) and torch.is_anomaly_enabled()
            and "returned nan values" in str(exc))


def _mark_nan_loss(exc: RuntimeError, loss: torch.Tensor) -> None:
    """Marks ``exc`` where torch's anomaly mode stopped the backward pass of a loss that was
    not finite (see :func:`_anomaly_at_nan`)."""
    if _anomaly_nan_error(exc) and not bool(torch.isfinite(loss.detach()).all()):
        exc._superconverge_nan_loss = True  # type: ignore[attr-defined]


def _anomaly_at_nan(exc: BaseException) -> bool:
    """Whether ``exc`` is torch's anomaly mode finding a NaN in the backward pass of a loss that
    was not finite itself (:meth:`_Run._backward` looks). Not of a finite loss whose gradients
    alone were NaN: without anomaly mode that loss is a point (a review: it was dropped)."""
    return getattr(exc, "_superconverge_nan_loss", False) is True


def _one_shot(data: object) -> bool:
    """Whether ``data`` surely gives its batches once: a generator, ``iter(a_loader)``, or
    Python's own iterators (``iter(list)``, ``map``, ``zip``, itertools', a deque's). An
    iterator class of the user's may restart on each ``iter()`` (a prefetching wrapper, a
    DALI iterator with ``auto_reset``): it is found out at its second pass, if at all (a
    review)."""
    return isinstance(data, (types.GeneratorType, _BaseDataLoaderIter)) or (
        isinstance(data, Iterator)
        and type(data).__module__ in ("builtins", "itertools", "_collections", "array"))


def _length(data: object) -> int | None:
    """``len(data)``, or None where it has none (a DataLoader over an IterableDataset defines
    ``__len__`` and raises ``TypeError`` from it, a review)."""
    try:
        return len(data)  # type: ignore[arg-type]
    except Exception:  # (a stream's NotImplementedError, a -1's ValueError: a bug bash)
        return None


def _check_ranks_agree(run: _Run, device: torch.device, **settings: float | bool) -> None:
    """Under torch.distributed, refuse settings that differ between the ranks that train the
    model together, by name: one all-reduce of each chunk's losses needs the same layout
    everywhere."""
    if run.world == 1:
        return
    values = torch.tensor([float(x) for x in settings.values()], dtype=torch.float64,
                          device=device)
    low, high = values.clone(), values.clone()
    all_reduce(low, run.groups, dist.ReduceOp.MIN)
    all_reduce(high, run.groups, dist.ReduceOp.MAX)
    differ = [name for name, a, b in zip(settings, low.tolist(), high.tolist(), strict=True)
              if a != b]
    if differ == ["validation_batches"]:
        raise ValueError(
            f"under torch.distributed every rank must score as many validation batches, and "
            f"val_data gives {low[0]:.0f} to {high[0]:.0f} on the {run.world} ranks (each "
            "validation forward of a sharded model is a collective); give each "
            "rank's val_data as many batches (DistributedSampler's shards are of one size), or "
            "val_batches=k with k at most the fewest any rank has")
    if differ:
        raise ValueError(
            f"under torch.distributed every rank must call lr_range_test with the same "
            f"{', '.join(differ)}: they differ between the {run.world} ranks (each step's "
            "losses are averaged over them in one all-reduce); give "
            + ("val_data on every rank (each its own shard) or on none"
               if "val_data" in differ else "the same value on every rank"))


def _none_came() -> int | None:
    return None


def _feed_unread(
    host: _HostCurve, pending: _ChunkRead | None, losses: list[torch.Tensor],
    val: list[torch.Tensor] | None, skips: list[Any] | None, listed_from: int,
) -> bool:
    """After Ctrl-C or an error in the loop: feed ``host`` the finished steps not yet read, the
    pending chunk and then the complete steps of the current one (interrupted mid-step, the
    lists may differ by one), whose first is step ``listed_from``; of each, the steps ``host``
    was not fed (a Ctrl-C may come after a feed, before its chunk was let go of). This rank's
    own values: a collective now could hang. False when they could not be read (e.g. a CUDA
    error that also poisons the read)."""
    try:
        if pending is not None:
            host.feed(*_from_step(pending.values(), host.next_step - pending.first))
        done = min(len(x) for x in (losses, val, skips) if x is not None)
        for x in (losses, val, skips):
            if x is not None:
                del x[done:]
        if done:
            host.feed(*_from_step(_ChunkRead(losses, val, skips, 1).values(),
                                  host.next_step - listed_from))
    except Exception:
        logger.debug("could not read back the unread steps", exc_info=True)
        return False
    return True


def _from_step(
    values: tuple[list[float], list[float] | None, list[bool] | None], skip: int,
) -> tuple[list[float], list[float] | None, list[bool] | None]:
    """A chunk's values (:meth:`_ChunkRead.values`) without their first ``skip`` steps."""
    skip = max(skip, 0)
    losses, val, skipped = values
    return (losses[skip:], None if val is None else val[skip:],
            None if skipped is None else skipped[skip:])


def _clear(*lists: list[Any] | None) -> None:
    for x in lists:
        if x is not None:
            x.clear()


@contextlib.contextmanager
def _held_from_setup() -> Iterator[Callable[[], int | None]]:
    """:func:`signals_deferred`, where a signal that came before its handlers were in, and
    raised out of their setup, is taken as held, and the setup tried again (a bug bash: 2 of
    2,000 Ctrl-Cs at random moments skipped the restore, and left the model trained). Yields
    the function that gives the signal held, that one where no other came but a Ctrl-C (a
    SIGTERM or SIGHUP is the stronger stop)."""
    late: int | None = None
    begun = False
    while True:
        try:
            with signals_deferred() as came:
                begun = True
                yield functools.partial(_stronger, came, late)
            break
        except KeyboardInterrupt as early:
            if begun:
                raise
            late = early.signum if isinstance(early, Terminated) else signal.SIGINT


def _stronger(came: Callable[[], int | None], late: int | None) -> int | None:
    """The signal ``came()`` gives, or ``late`` where it gives none or a Ctrl-C."""
    now = came()
    return late if late is not None and now in (None, signal.SIGINT) else now


@contextlib.contextmanager
def _held_while_kept(on_its_way: BaseException) -> Iterator[None]:
    """A second Ctrl-C while the curve cut short by ``on_its_way`` is read back and kept waits
    for that: one is on its way already (a bug bash: a second press there lost the whole
    curve). A SIGTERM or SIGHUP that came is raised after it, the stronger stop, with what
    ``on_its_way`` carries (see signals_deferred). One that came before the handlers were in,
    raised out of their setup, is taken as held, as the restore's are (a test of that
    restore's)."""
    with _held_from_setup() as came:
        yield
    held = came()
    if held is not None and held != signal.SIGINT and not isinstance(on_its_way, Terminated):
        raise Terminated.instead_of(on_its_way, held) from on_its_way


def _lagged_read_back(device: torch.device) -> bool:
    """Whether the stop test looks at each chunk one step into the next, so that the device
    still has a step to run while the host waits for the chunk's copy (CUDA). On a CPU there is
    nothing to wait for."""
    return device.type == "cuda"


def _readable(t: torch.Tensor) -> torch.Tensor:
    """``t`` in float32, or float64 where it is: a float64 model's losses keep their digits
    (a loss above float32's ~3.4e38 would read back as inf, a false "nan" stop)."""
    return t if t.dtype == torch.float64 else t.float()


def _plain(losses: list[torch.Tensor]) -> list[torch.Tensor]:
    """The losses as plain tensors: a DTensor's (tensor parallelism's ``loss_parallel``) by its
    whole value, on this rank's device; another wrapper subclass's (which keeps no values of
    its own to stack) by its value read back, one read each; any other subclass's (MONAI's
    MetaTensor) as the plain tensor it is, with no read. (A user's bug bash: a DTensor loss
    failed the stack's read with "tolist() is not supported for tensor subclasses", and under
    torch.distributed its all-reduce.)"""
    if all(type(x) is torch.Tensor for x in losses):
        return losses
    try:
        from torch.utils._python_dispatch import is_traceable_wrapper_subclass as wrapper
    except ImportError:  # pragma: no cover - a private name that a later torch may move
        wrapper = None  # type: ignore[assignment]  # (each value read: slow, but right)

    return [x if type(x) is torch.Tensor
            else x.full_tensor() if callable(getattr(x, "full_tensor", None))  # type: ignore[attr-defined]
            else torch.tensor(float(x), device=x.device) if wrapper is None or wrapper(x)
            else x.as_subclass(torch.Tensor) for x in losses]


def _stacked(losses: list[torch.Tensor]) -> torch.Tensor:
    """The losses stacked, also where a ``step_fn`` gave some of shape ``(1,)`` beside 0-dim
    ones (each step's check takes either): ``torch.stack`` needs one shape; as plain tensors
    (:func:`_plain`)."""
    losses = _plain(losses)
    try:
        return torch.stack(losses)
    except RuntimeError:
        if len({x.shape for x in losses}) == 1:
            raise
        return torch.stack([x.reshape(()) for x in losses])


class _ChunkRead:
    """The pending steps' losses (and validation losses, and GradScaler's skips where they are
    device tensors) on their way to the host: one stack, under torch.distributed one all-reduce
    (the mean over ranks), and on CUDA a copy into page-locked memory that runs behind the queued
    steps; :meth:`values` waits for it. The pending lists are emptied, unless ``clear`` is
    false (the caller's, then, once the values are fed)."""

    def __init__(self, losses: list[torch.Tensor], val: list[torch.Tensor] | None,
                 skips: list[Any] | None, world: int, groups: tuple[Any, ...] = (None,), *,
                 first: int = 0, clear: bool = True) -> None:
        k = self.k = len(losses)
        self.first = first  # the step of its first loss
        self.has_val = val is not None
        parts = [_readable(_stacked(losses).reshape(k))]
        # Under torch.distributed a validation loss is five numbers, sums and counts (see
        # _val_loss).
        self.val_sums = world > 1
        if val is not None:
            stacked = _readable(torch.stack(_plain(val)))
            parts.extend(stacked.T if self.val_sums else [stacked.reshape(k)])
        # A skip seen by the step hook (a torch without the scaler's inf check) is a bool
        # already; the scaler's inf check is a 0-dim tensor and travels with the losses.
        self.skips: list[bool] | None = None
        self.device_skips = bool(skips) and isinstance(skips[0], torch.Tensor)  # type: ignore[index]
        if skips is not None:
            if self.device_skips:
                parts.append(torch.stack(skips).reshape(k).float())
            else:
                self.skips = list(skips)
        if clear:
            _clear(losses, val, skips)
        # On the losses' device: a model split over two GPUs computes its loss on the second,
        # while a fused step's skip flags were gathered on the first parameter's device.
        at = parts[0].device
        buf = parts[0] if len(parts) == 1 else torch.cat(
            [p if p.device == at else p.to(at) for p in parts])
        if world > 1:
            all_reduce(buf, groups)  # SUM, then divide: gloo has no ReduceOp.AVG
            buf.div_(world)
        self.event: torch.cuda.Event | None = None
        if buf.device.type == "cuda":
            host = torch.empty(buf.shape, dtype=buf.dtype, pin_memory=True)
            host.copy_(buf, non_blocking=True)
            self.event = torch.cuda.Event()
            # On the stream of the losses' device, where torch queued the copy: the current
            # device may be another (a model on cuda:1), whose stream would not order it.
            self.event.record(torch.cuda.current_stream(buf.device))
            buf = host
        self.buf = buf

    def values(self) -> tuple[list[float], list[float] | None, list[bool] | None]:
        if self.event is not None:
            self.event.synchronize()
        values = self.buf.tolist()
        k = self.k
        at = k
        val = None
        if self.has_val:
            val = values[at:at + k]
            at += k
            if self.val_sums:  # every rank's sums over every rank's examples (or batches)
                parts = [val, *(values[at + j * k:at + (j + 1) * k] for j in range(4))]
                val = [(sb / nb if nb else math.nan) if uncounted else
                       (se / ne if ne else math.nan)
                       for se, ne, sb, nb, uncounted in zip(*parts, strict=True)]
                at += 4 * k
        skips = self.skips
        if self.device_skips:
            skips = [x > 0 for x in values[at:at + k]]
        return values[:k], val, skips


def _assemble(
    curves: list[Curve],
    num_iter: int,
    beta: float,
    config: dict[str, Any],
    provenance: dict[str, Any],
    stop_reason: str | None = None,
    mean_of: list[Curve] | None = None,
) -> RangeTestResult:
    """The result: the single curve, or the pointwise mean of several at the LRs they all
    recorded (up to where the first one stopped; GradScaler's skips leave gaps). Its stop
    reason is that of the curve that stopped first (:func:`stop_order`), unless ``stop_reason``
    is given. ``mean_of``: the curves to average (default: all); ``repeats`` holds all of them
    either way."""
    repeats = tuple(curves)
    curves = curves if mean_of is None else mean_of
    shortest = min(curves, key=last_lr)
    if len(curves) == 1:
        lrs, mean, val = shortest.lrs, list(shortest.losses), shortest.val_losses
    else:
        common = set(shortest.lrs).intersection(*(c.lrs for c in curves))
        lrs = tuple(lr for lr in shortest.lrs if lr in common)
        at = [[i for i, lr in enumerate(c.lrs) if lr in common] for c in curves]
        k = len(lrs)
        mean = np.mean([[c.losses[i] for i in ix] for c, ix in zip(curves, at, strict=True)],
                       axis=0).tolist() if k else []
        val = None
        if all(c.val_losses is not None for c in curves):
            val = tuple(np.mean([[c.val_losses[i] for i in ix]  # type: ignore[index]
                                 for c, ix in zip(curves, at, strict=True)],
                                axis=0).tolist()) if k else ()
    return RangeTestResult(
        lrs=lrs,
        losses=tuple(mean),
        # One sweep keeps the stop rule's own EMA (GradScaler-skipped steps' losses in it); a
        # mean of several has the EMA of the mean.
        smoothed=(shortest.smoothed if len(curves) == 1
                  else tuple(bias_corrected_ema(mean, beta))),
        stop_reason=stop_reason or min(curves, key=stop_order).stop_reason,
        seed=provenance["seed"],
        num_iter=num_iter,
        config=config,
        val_losses=val,
        repeats=repeats,
        provenance=provenance,
    )


def _provenance(
    device: torch.device, seed: int | None, seeds: list[int | None], elapsed: float,
    skipped: list[int],
    world: int,
    whole: int | None,
    scale_stops: list[bool],
) -> dict[str, Any]:
    from superconverge import __version__

    name = str(device)
    if device.type == "cuda":
        name += f" ({torch.cuda.get_device_name(device)})"
    return {
        "superconverge": __version__,
        "torch": str(torch.__version__),  # (a str: torch's TorchVersion failed a
        # torch.load(weights_only=True) of a checkpoint holding the result's dict, a bug bash)
        "numpy": np.__version__,
        "python": platform.python_version(),
        "device": name,
        # CPU float sums depend on how many threads split them: runs with different counts
        # differ in the last bits, then more as the differences train in.
        "torch_threads": torch.get_num_threads(),
        "seed": seed,
        "seeds": seeds,
        "world_size": world,
        "skipped_steps": list(skipped),
        # each sweep: stopped by MAX_SKIPPED_STEPS skips in a row at a loss scale still 1 or
        # more, so no smaller one was tried (the warnings advise the init_scale, not the data)
        "skip_stopped_high": list(scale_stops),
        # every step trained on all of train_data (see _whole_data_steps): repeats then
        # differ by float rounding only; and in how many batches a pass
        "whole_data_steps": whole is not None,
        "batches_a_pass": whole,
        "elapsed_s": round(elapsed, 4),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


_LIGHTNING_STEPS = ("training_step", "validation_step")
"""A LightningModule's methods of ``(batch, batch_idx)``: passed bound as ``step_fn``, they take
the model as their batch."""


def _refuse_lazy(name: str, module: torch.nn.Module) -> None:
    """A module the test snapshots, refused by ``name`` where it holds lazy parameters or
    buffers not made yet (a bug bash: torch's "Attempted to use an uninitialized parameter",
    from the snapshot)."""
    lazy = [n for n, t in (*module.named_parameters(), *module.named_buffers())
            if isinstance(t, torch.nn.parameter.UninitializedParameter
                          | torch.nn.parameter.UninitializedBuffer)]
    if lazy:
        raise ValueError(
            f"{name} has lazy parameters not made yet ({', '.join(lazy[:3])}"
            f"{', ...' if len(lazy) > 3 else ''}): run one batch through it first, which "
            "gives them their shapes (and build the optimizer after), then run the test")


def _check_start_lr_is_no_peers(start_lr: object) -> None:
    """torch-lr-finder's ``start_lr=None`` and its ``val_loader`` passed where ours takes
    ``start_lr`` (its ``range_test(train_loader, val_loader, ...)``), refused with what we take
    (a bug bash: "start_lr must be a real number, got <DataLoader object at 0x...>")."""
    if start_lr is None:
        raise TypeError("start_lr must be a real number, got None; to start at the "
                        "optimizer's lr, as torch-lr-finder's start_lr=None does, pass "
                        "start_lr=float(optimizer.param_groups[0]['lr'])")
    # (a loader or a stream: a 0-d array or a list of per-group LRs is no val_loader, a final
    # read; they are refused as numbers below)
    if isinstance(start_lr, Iterable) and not isinstance(
            start_lr, str | torch.Tensor | np.ndarray | Sequence):
        raise TypeError(f"start_lr must be a real number, got a {type(start_lr).__name__}; "
                        "validation batches go in as val_data=... (a keyword: "
                        "torch-lr-finder's range_test takes its val_loader second)")


def check_caller_modes(who: str, kinds: Iterable[str],
                       amp: Callable[[str], str | None]) -> None:
    """Refuses a sweep (of ``who``, ``"find_lr"``) that the caller's modes would spoil, before
    anything moves: gradients off (a bug bash: "the loss does not require grad; compute it ...
    without torch.no_grad()", which blamed the loss for the caller's mode, a script's
    set_grad_enabled(False) too), or the caller's ``torch.autocast`` block on one of the
    model's device types ``kinds`` (:func:`_caller_autocast`), with ``amp(dtype)``, the
    argument that runs the sweep's own autocast a step at a time, named where there is one.
    (One check for ``lr_range_test`` and ``find_lr``, which had a copy of it.)"""
    if not torch.is_grad_enabled() or torch.is_inference_mode_enabled():
        raise RuntimeError(
            f"{who} was called with gradients off (inside torch.no_grad() or "
            "torch.inference_mode(), or after torch.set_grad_enabled(False)), and its sweep "
            "trains the model; call it outside that block, or with gradients on again")
    said = _caller_autocast(kinds)
    if said is not None:
        advice = amp(said[1])
        raise RuntimeError(f"{who} was called inside {said[0]}; call it outside the block"
                           + (f", with {advice} for the sweep's own autocast, a step at a time"
                              if advice else ""))


def _autocast_nesting() -> int:
    """How many ``torch.autocast`` blocks are open in this thread, on or off, of any device
    type: each counts, and torch drops the low-precision weight copies its blocks cache only as
    the last one exits."""
    depth = int(torch.autocast_increment_nesting()) - 1
    torch.autocast_decrement_nesting()
    return depth


def _caller_autocast(kinds: Iterable[str]) -> tuple[str, str] | None:
    """Where the caller's ``torch.autocast`` is on for one of the device types ``kinds`` with
    its weight cache: the block and why a sweep cannot run in it, and its dtype's name
    (``"bfloat16"``); None elsewhere. Torch keeps each weight's low-precision copy until the
    outermost autocast block exits, so every step would read the first step's weights (a bug
    bash: a flat curve, 2.315 to 2.305 over 60 steps, a pick 53x low, and "raise end_lr" the
    only word). (Where the caller turned the cache off, the steps see their weights: let be; a
    device type autocast does not know, "meta", is no block either: a review.)"""
    if not torch.is_autocast_cache_enabled():
        return None
    for kind in kinds:
        try:
            on = torch.is_autocast_enabled(kind)
        except RuntimeError:  # ("unknown device type for autocast")
            continue
        if on:
            dtype = str(torch.get_autocast_dtype(kind)).removeprefix("torch.")
            return (f"torch.autocast({kind!r}, dtype=torch.{dtype}): torch keeps each weight's "
                    "low-precision copy until the outermost autocast block exits, so every step "
                    "of the sweep would read the weights of its first and the loss would not "
                    "move", dtype)
    return None


def _check_types(model, optimizer, loss_fn, step_fn, scaler) -> None:
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise not_an_optimizer(optimizer, "the sweep then steps it without the wrapper's own "
                                          "scaling, a LARS trust ratio: the curve is of the "
                                          "inner optimizer's steps")
    # (also one a wrapper holds, a Lookahead's or a ZeroRedundancyOptimizer's: it failed at
    # the first step with torch's "'NoneType' object is not callable", a bug bash)
    closured = next((o for o in held_optimizers(optimizer) if _needs_closure(o)), None)
    if closured is not None:
        held = ("" if closured is optimizer
                else f" (held by the {type(optimizer).__name__} passed)")
        raise TypeError(
            f"{type(closured).__name__}.step() needs a closure that re-evaluates the loss{held}; "
            "the range test takes one plain step per LR, so use an optimizer whose step() takes "
            "no arguments (SGD, Adam, AdamW, ...)"
        )
    if any(isinstance(o, torch.optim.Rprop) for o in held_optimizers(optimizer)):
        raise ValueError(RPROP_LR)
    _check_accelerate(optimizer)
    if step_fn is not None and not callable(step_fn):
        raise TypeError(f"step_fn must be callable (model, batch) -> loss, got {step_fn!r}")
    name = getattr(step_fn, "__name__", "")
    if getattr(step_fn, "__self__", None) is model and name in _LIGHTNING_STEPS:
        # (a bug bash: "cannot unpack non-iterable M object", from inside the user's method)
        raise TypeError(
            f"step_fn is called as step_fn(model, batch), so model.{name}(batch, batch_idx) "
            f"would get the model as its batch; pass step_fn=lambda m, b: m.{name}(b, 0)")
    if loss_fn is None and step_fn is None:
        raise ValueError("loss_fn is None and no step_fn was given; pass one of them")
    if isinstance(loss_fn, type):  # nn.MSELoss, not nn.MSELoss(): torch's error named nothing
        raise TypeError(f"loss_fn is the class {loss_fn.__name__}; pass an instance, "
                        f"{loss_fn.__name__}(), or a function (outputs, targets) -> loss")
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable (outputs, targets) -> loss, got {loss_fn!r}")
    if scaler is not None and not isinstance(scaler, torch.amp.GradScaler):
        raise TypeError(f"scaler must be a torch.amp.GradScaler or None, got {scaler!r}")
    for i, group in enumerate(optimizer.param_groups):
        lr = group.get("lr")
        # (first: Hugging Face's Adafactor has lr=None there, and was told of a missing lr
        # without the fix, a bug bash)
        if (why := own_lr(group)) is not None:
            raise ValueError(f"optimizer param group {i} {why}: the sweep's LRs would not be "
                             "the ones trained at")
        if (isinstance(lr, bool) or not isinstance(lr, numbers.Real | torch.Tensor)
                or (isinstance(lr, torch.Tensor) and lr.numel() != 1)):
            raise TypeError(
                f"optimizer param group {i} has lr={lr!r}"
                f"{'' if 'lr' in group else ' (no lr key)'}; the range test sweeps the lr, so "
                "each group needs one, a number or a one-element tensor (an optimizer that "
                "picks its own step size, such as Adafactor with lr=None, has none to sweep)"
            )
        if isinstance(lr, torch.Tensor) and not lr.is_floating_point():
            # (a bug bash: an int tensor trained at 0, 0, ... 4 while the curve said 1e-4..4)
            raise ValueError(
                f"optimizer param group {i} has lr={lr!r}, a {lr.dtype} tensor: each LR the "
                "sweep writes into it would be truncated (0.005 to 0); make it a float tensor "
                "(torch.tensor(0.01)) or a number")
        if (coarse := too_coarse(lr)) is not None:
            raise ValueError(f"optimizer param group {i} has lr={lr!r}, {coarse}")
        if isinstance(lr, torch.Tensor) and lr.requires_grad:  # (a bug bash: autograd's "a
            # leaf Variable that requires grad is being used in an in-place operation")
            raise ValueError(
                f"optimizer param group {i} holds its lr as a tensor that requires grad (a "
                "learned LR, as for hypergradient descent), which the sweep would overwrite at "
                "every step; run the test with a plain one (torch.tensor(x) or a number)")
        if group.get("maximize"):
            # (a bug bash: the curve of an objective climbing read as a loss, upside down: a
            # confident suggestion where the model blew up, and no warning)
            raise ValueError(
                f"optimizer param group {i} has maximize=True: its steps raise the value the "
                "loss_fn (or step_fn) returns, and the range test reads that value as a loss to "
                "lower, so its curve would read upside down; build the optimizer with "
                "maximize=False and return the negated objective (-objective) as the loss")
        if estimates_step_size(group):  # (a bug bash: nothing said, and no doc either)
            warnings.warn(
                f"optimizer param group {i} holds an estimate 'd': an optimizer that "
                "estimates its own step size (D-Adaptation, Prodigy), whose lr is a multiplier "
                "on its estimate d, which grows as it trains: the sweep's LRs are not the step "
                "sizes taken, and the curve reads the multiplier at a moving d; such "
                "optimizers are meant to run at lr=1.0 without a range test",
                SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))
        # (its steps so far: schedulefree's k, pytorch-optimizer's step, a review; the next
        # step, the sweep's first, is scaled where it is not the warm-up's last)
        if schedule_free(group) and group.get("warmup_steps", 0) > group.get(
                "k", group.get("step", 0)) + 1:
            warnings.warn(
                f"optimizer param group {i} has warmup_steps={group['warmup_steps']}: a "
                "schedule-free optimizer scales its lr down over its warm-up, so the sweep's "
                "first LRs are not the ones trained at; build it with warmup_steps=0 for the "
                "test", SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))
    # Which groups step float16 parameters (frozen float16 weights, a half-precision backbone
    # under a head, get no gradient).
    half = [any(p.dtype == torch.float16 and p.requires_grad for p in group["params"])
            for group in optimizer.param_groups]
    if scaler is not None and scaler.is_enabled() and any(half):
        raise ValueError(
            "the optimizer steps float16 parameters, whose gradients a GradScaler cannot "
            "unscale; keep the weights in float32 (no model.half()) and pass "
            "amp_dtype=torch.float16 to run the forward pass in float16"
        )
    for i, (group, in_half) in enumerate(zip(optimizer.param_groups, half, strict=True)):
        eps = group.get("eps")
        # (float16 rounds 2**-25 and below to 0, said without a tensor made and read back; a
        # fused step computes in float32, where it is no 0)
        if in_half and isinstance(eps, float) and 0 < eps <= 2.0 ** -25 and not group.get("fused"):
            # (a bug bash: Adam over model.half() read NaN from its second step, and the
            # curve's warning said to lower start_lr, which changed nothing)
            warnings.warn(
                f"optimizer param group {i} has eps={eps:g}, which is 0 in float16, its "
                "parameters' type: a step that divides by a root of the squared gradients plus "
                "eps (Adam, RMSprop, Adagrad, ...) gives NaN where a gradient is 0, so the sweep "
                "may read NaN from its first steps; raise eps (1e-4 is common in float16), or "
                "keep the weights in float32 and pass amp_dtype=torch.float16 with a GradScaler",
                SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))
    stepped = {id(p) for group in optimizer.param_groups for p in group["params"]}
    # The parameters of a loss_fn or step_fn that is a module, or whose method step_fn is:
    # an optimizer over those alone trains them on purpose (a temperature, loss weights, a bug
    # bash: refused as "nothing to train"), and the restore covers them.
    theirs = {id(p) for f in (loss_fn, step_fn, getattr(step_fn, "__self__", None))
              if isinstance(f, torch.nn.Module) for p in f.parameters() if p.requires_grad}
    if stepped and stepped <= theirs:
        return
    owned = {id(p) for p in model.parameters()}
    untracked = ("; the optimizer trains tensors the model does not hold as parameters: register "
                 "them in it (nn.Parameter, nn.ParameterDict), or keep them in a loss_fn module "
                 "(a module's used in a step_fn closure: pass that module as loss_fn, or "
                 "step_fn=module.method)" if not stepped <= owned else "")
    if not any(p.requires_grad for p in model.parameters()):
        frozen = ("; a frozen TorchScript module (torch.jit.freeze) holds its weights as "
                  "constants: pass the scripted module before freezing"
                  if isinstance(model, torch.jit.ScriptModule)
                  and not any(True for _ in model.parameters()) else "")
        raise ValueError(
            "model has no trainable parameters (none with requires_grad=True); there is nothing "
            f"for the range test to train{frozen or untracked}"
        )
    if not any(id(p) in stepped for p in model.parameters() if p.requires_grad):
        raise ValueError(
            "the optimizer holds none of the model's trainable parameters, so the test would "
            f"train nothing and read a curve of noise{untracked}; build the optimizer from this "
            "model's parameters (after re-creating a model, re-create its optimizer too"
            + ("; an FSDP2 model run forward without a backward, under torch.no_grad(), "
               "before its optimizer was built gave it the unsharded parameters: build the "
               "optimizer first, or after model.reshard()" if fsdp2_modules(model) else "")
            + ")"
        )


_ACCUMULATING = (
    "accelerate is accumulating gradients (its gradient state's sync_gradients is False), and "
    "so its optimizer's step() does nothing: {where}; the range test takes one optimizer step "
    "per LR: call it outside accelerator.accumulate(), with accumulation_steps=k for "
    "accumulation, or pass the optimizer it wraps, optimizer.optimizer")


def _accelerate_state(optimizer: object) -> Any:
    """accelerate's ``GradientState`` an ``AcceleratedOptimizer`` holds, or None."""
    state = getattr(optimizer, "gradient_state", None)
    return state if isinstance(getattr(state, "sync_gradients", None), bool) else None


def _check_syncs(state: Any, step: int) -> None:
    if not state.sync_gradients:
        raise RuntimeError(_ACCUMULATING.format(
            where=f"step {step + 1} of the sweep would train nothing (a step_fn under "
                  "accelerator.accumulate()?)"))


def _check_accelerate(optimizer: torch.optim.Optimizer) -> None:
    """Refuse what accelerate's ``AcceleratedOptimizer`` would do behind the test's back: skip
    its steps while accumulating, or scale and step through a GradScaler of its own (a bug
    bash: points recorded for steps that trained nothing; gradients 65536x too small, so a
    suggestion 4000x too low, without a word)."""
    state = _accelerate_state(optimizer)
    if state is not None and not state.sync_gradients:
        raise ValueError(_ACCUMULATING.format(
            where="the test was called inside accumulate(), or after an accumulate() loop "
                  "that stopped mid-accumulation"))
    own = getattr(optimizer, "scaler", None)
    if own is not None and callable(getattr(own, "unscale_", None)):  # (given as scaler= too:
        # its step() would unscale and step through it again)
        raise ValueError(
            f"{type(optimizer).__name__} holds a GradScaler of its own (as accelerate's does "
            "under mixed_precision='fp16'), which its step() unscales and updates itself, "
            "unseen by the range test: pass the optimizer it wraps and its scaler, "
            "lr_range_test(model, optimizer.optimizer, ..., scaler=optimizer.scaler, "
            "amp_dtype=torch.float16)")


def _needs_closure(optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``optimizer.step`` has a required ``closure`` argument (``LBFGS``)."""
    if isinstance(optimizer, torch.optim.LBFGS):
        return True
    try:
        param = inspect.signature(type(optimizer).step).parameters.get("closure")
    except (TypeError, ValueError):  # pragma: no cover - a step without a signature
        return False
    return param is not None and param.default is inspect.Parameter.empty


def _resolve_device(model: torch.nn.Module, device: torch.device | str | None,
                    optimizer: torch.optim.Optimizer | None = None) -> torch.device:
    # Where the first trainable parameter of the model that the optimizer trains is (not the
    # model's first: a torch.func ensemble's template on the meta device, never trained, was
    # refused, a bug bash; nor the optimizer's first, a loss module's temperature kept on the
    # host beside a model on a GPU: a review), else the optimizer's first, else the model's.
    stepped = [p for g in optimizer.param_groups for p in g["params"]
               if isinstance(p, torch.Tensor) and p.requires_grad] if optimizer else []
    ids = {id(p) for p in stepped}
    trainable = [p for p in model.parameters() if p.requires_grad]
    here = next(itertools.chain((p for p in trainable if id(p) in ids), stepped, trainable,
                                model.parameters())).device
    if here.type == "meta":  # (a bug bash: the sweep ran, then torch's "Cannot copy out of
        # meta tensor" at its first read of a loss, after sync_every steps)
        raise ValueError(
            "the model's parameters are on the meta device, which holds no data: make them "
            "first (model.to_empty(device=...) and initialize them, or load_state_dict(..., "
            "assign=True)), then build the optimizer over them")
    if device is None:
        return here
    if not isinstance(device, torch.device | str):
        raise TypeError(
            f"device must be a torch.device, a string such as 'cuda:0', or None, got {device!r}"
        )
    try:
        want = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"device={device!r} is not a device name ({exc})") from None
    same_index = want.type == "cpu" or want.index is None or want.index == here.index
    if want.type != here.type or not same_index:
        raise ValueError(
            f"device={str(want)!r} but the model's parameters are on {str(here)!r}; move the "
            "model (before creating the optimizer) or leave device=None"
        )
    return here


SECOND_BACKWARD = "Trying to backward through the graph a second time"


def _second_backward(exc: RuntimeError, *, step_fn: bool) -> None:
    """Raise torch's "Trying to backward through the graph a second time" (``exc``) with what
    it usually means in a range test, from ``exc``; return if ``exc`` is another error. Its
    two common causes are named, not guessed between: a ``step_fn`` that runs backward()
    itself (a training loop's body pasted in), and a tensor kept from an earlier step without
    ``.detach()`` (an RNN's hidden state, cached features), whose graph that step's backward
    freed."""
    if SECOND_BACKWARD not in str(exc):
        return
    causes = ["a tensor kept from an earlier step (or from before the test) without .detach(), "
              "such as an RNN's hidden state or cached features: detach it before it is used "
              "again"]
    if getattr(torch.nn.utils.parametrize, "_cache_enabled", 0):
        # (a bug bash: the test run inside parametrize.cached(), whose weights are computed
        # once, was told to detach a tensor the user does not have)
        causes.insert(0, "the test running inside torch.nn.utils.parametrize.cached(), which "
                      "computes each parametrized weight once, the first backward then freeing "
                      "its graph: run the test outside it (or enter it around each forward "
                      "pass, in a step_fn)")
    if step_fn:
        causes.insert(0, "step_fn calling backward() itself: return the loss without calling "
                      "backward() or optimizer.step(), the range test does both (scaled for a "
                      "GradScaler, divided for accumulation_steps) and clips the gradients with "
                      "max_grad_norm=")
    raise RuntimeError(
        f"{SECOND_BACKWARD} (torch); in a range test that is usually "
        + ("one of: " + "; ".join(f"({i}) {c}" for i, c in enumerate(causes, 1))
           if len(causes) > 1 else causes[0])
    ) from exc


def _fsdp1_clip(model: torch.nn.Module) -> Callable[[float], Any] | None:
    """An FSDP1 model's (``FullyShardedDataParallel``, also compiled) ``clip_grad_norm_``,
    which clips by the norm over every rank's shard, or None for any other model."""
    inner = getattr(model, "_orig_mod", model)
    if not torch.distributed.is_available():
        return None
    from torch.distributed.fsdp import FullyShardedDataParallel

    return inner.clip_grad_norm_ if isinstance(inner, FullyShardedDataParallel) else None


def _takes_set_to_none(zero_grad: Callable[..., Any]) -> bool:
    """Whether an optimizer's ``zero_grad`` takes ``set_to_none``; where it does not, the sweep
    makes its plain call: a wrapper written as ``def zero_grad(self)``, whose own loop calls it
    so, failed the sweep's first step with a TypeError (a user's bug bash). (A plain call sets
    the gradients to None too, by torch's default since 2.0.)"""
    try:
        params = inspect.signature(zero_grad).parameters.values()
    except (TypeError, ValueError):  # (a method with no signature to read: as before)
        return True
    return any(p.name == "set_to_none" or p.kind is p.VAR_KEYWORD for p in params)


def _lr_moved(groups: list[dict[str, Any]], lr: float, ratios: list[float],
              steps: int, held: list[Any]) -> str | None:
    """Why the sweep cannot go on, where a param group's float ``lr`` is no longer the one
    it set (``lr`` times the group's ratio) after ``steps`` steps: something else set it
    (a user's bug bash: a scheduler's ``step()`` in a pasted ``step_fn`` trained at 0.002 to
    0.003 while the curve recorded 1e-4 to 10, and suggested 3.04 from it). Checked where
    the losses are read. A tensor ``lr`` is not read (that would wait for the device), but
    one that is no longer the group's tensor at the start (``held``, which the sweep fills
    in place) was replaced (a bug bash: an optimizer that computes its own, timm's
    Adafactor, trained the whole curve at ~9e-4)."""
    for index, (group, ratio) in enumerate(zip(groups, ratios)):  # noqa: B905
        now = group["lr"]
        if isinstance(now, torch.Tensor):
            if index < len(held) and now is not held[index]:
                return (f"param group {index}'s lr tensor was replaced by step {steps} of the "
                        "sweep, which fills the one there at its start: something else sets "
                        "the LR during the test (an optimizer that computes its own lr, a "
                        f"scheduler's step() in step_fn, an optimizer step hook){_SET_ELSEWHERE}")
        elif now != lr * ratio:
            return (f"param group {index}'s lr was {now:.4g} by step {steps} of the sweep, "
                    f"which had set it to {lr * ratio:.4g}: something else sets the LR during the "
                    "test (a scheduler's step() in step_fn, an optimizer step hook)"
                    + _SET_ELSEWHERE)
    return None


_STEP_SCHEDULERS_OUTSIDE = (
    "step your schedulers outside the range test, and remove such hooks while it runs (a "
    "scheduler such a hook stepped has counted the sweep's steps: load its state_dict from "
    "before the test)")
_SET_ELSEWHERE = (", so the losses would be read against LRs they were not trained at; "
                  + _STEP_SCHEDULERS_OUTSIDE)


def _momenta(groups: list[dict[str, Any]]) -> list[tuple[str, float] | None]:
    """Each group's float momentum (``momentum``, or Adam's ``betas[0]``), by name, as the
    sweep starts; None where it is a tensor or there is none."""
    out: list[tuple[str, float] | None] = []
    for g in groups:
        betas = g.get("betas")
        value, key = ((betas[0], "betas[0]") if isinstance(betas, tuple | list) and betas
                      else (g.get("momentum"), "momentum"))
        out.append((key, float(value)) if isinstance(value, numbers.Real)
                   and not isinstance(value, bool) else None)
    return out


def _momentum_moved(groups: list[dict[str, Any]], held: list[tuple[str, float] | None],
                    steps: int) -> str | None:
    """Why the sweep cannot go on, where a group's float momentum is no longer the one it had
    at the sweep's start after ``steps`` steps (a bug bash: a ParamScheduler of momentum
    stepped from an optimizer step hook cycled it through the sweep, unsaid, where a moving
    lr was refused)."""
    now = _momenta(groups)
    for index, (before, after) in enumerate(zip(held, now)):  # noqa: B905
        if before is not None and after is not None and after[1] != before[1]:
            return (f"param group {index}'s {before[0]} was {after[1]:.4g} by step {steps} of "
                    f"the sweep, which started at {before[1]:.4g}: something else sets it "
                    "during the test (a scheduler's step() in step_fn, an optimizer step hook, "
                    "or the optimizer's own step(), one that tunes its momentum: YellowFin's), "
                    "so the curve would mix the LR's effect with the momentum's; "
                    + _STEP_SCHEDULERS_OUTSIDE + "; an optimizer that tunes its own momentum "
                    "takes no range test at a fixed one")
    return None


def _warn_added(groups: list[dict[str, Any]], swept: int, steps: int) -> None:
    """Warn that the param groups past the first ``swept`` were added during the sweep (by
    ``steps``), and that it does not drive their LRs (a user's bug bash: an unfreezing
    ``step_fn``'s group trained at its own 0.001 to the end, unsaid, while the curve recorded
    the others' sweep to 10)."""
    added = ", ".join(f"{i} (lr {groups[i]['lr']:.4g})" for i in range(swept, len(groups)))
    one = len(groups) - swept == 1
    warnings.warn(f"param group{'' if one else 's'} {added} {'was' if one else 'were'} added "
                  f"during the sweep (by step {steps}; add_param_group in step_fn) and "
                  f"train{'s' if one else ''} at {'its' if one else 'their'} own lr to the "
                  "end: the sweep drives the LRs of the groups there at its start, and the "
                  "curve reads theirs",
                  SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))


def _stable_repr(value: object) -> str:
    """``repr(value)`` the same in every run: without memory addresses, and a partial's set
    arguments in sorted order (a bug bash: ``frozenset({'beta', 'alpha'})`` came in another
    order under another ``PYTHONHASHSEED``, and two seeded runs' configs differed)."""
    proxy = type(value) in _PROXIES  # (a dead one raises at isinstance: its repr alone)
    if not proxy and isinstance(value, set | frozenset):
        items = sorted(_stable_repr(x) for x in value)
        return (f"{type(value).__name__}({{{', '.join(items)}}})" if items
                else f"{type(value).__name__}()")
    if not proxy and isinstance(value, functools.partial):
        parts = [_stable_repr(value.func), *map(_stable_repr, value.args),
                 *(f"{k}={_stable_repr(v)}" for k, v in value.keywords.items())]
        return f"functools.partial({', '.join(parts)})"
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def _held_parts(holder: object) -> list[tuple[str, Any]]:
    """``holder``'s attributes by name, and the items of a dict, list or tuple among them a
    level down (``nets['D']``), up to ``_MAX_PARTS`` of each; a dict's, list's or tuple's own
    items (a partial's argument) by key (``['D']``). A weak proxy is none of its parts (a
    dead one, Lightning's ``self._fabric``, raised ReferenceError at any look, a review)."""
    parts: list[tuple[str, Any]] = []
    if type(holder) is dict:
        parts = [(f"[{k!r}]", x) for k, x in itertools.islice(holder.items(), _MAX_PARTS)]
    elif type(holder) in (list, tuple):
        assert isinstance(holder, list | tuple)
        parts = [(f"[{k!r}]", x) for k, x in enumerate(holder[:_MAX_PARTS])]
    else:
        for key, value in list(_attributes(holder).items())[:_MAX_PARTS]:
            parts.append((key, value))
            if type(value) in (dict, list, tuple):
                items = value.items() if type(value) is dict else enumerate(value)
                parts += [(f"{key}[{k!r}]", x) for k, x in itertools.islice(items, _MAX_PARTS)]
    return [(k, x) for k, x in parts if type(x) not in _PROXIES]


def _partial_arguments(name: str, f: object) -> list[tuple[str, Any]]:
    """The arguments ``f``, a ``functools.partial`` (or a bound method's), is given, labelled
    by their keyword or place (``step_fn argument opt_w``); none where it is no partial."""
    if isinstance(f, types.MethodType):
        f = f.__self__
    if not isinstance(f, functools.partial):
        return []
    return [(label, a) for label, a in [
        *((f"{name} argument {i}", a) for i, a in enumerate(f.args[:_MAX_PARTS])),
        *((f"{name} argument {k}", a) for k, a in f.keywords.items())]
        if type(a) not in _PROXIES]  # (a dead weak proxy raised at isinstance, a review)


def _put_back(model: torch.nn.Module, others: list[torch.nn.Module],
              optimizer: torch.optim.Optimizer) -> set[int]:
    """The ids of the tensors the restore puts back: the parameters and buffers of ``model``
    and ``others``, and the parameters, group values and state of ``optimizer`` (and of those
    it wraps)."""
    ids = {id(t) for m in (model, *others) for t in (*m.parameters(), *m.buffers())}
    for o in held_optimizers(optimizer):
        ids |= {id(x) for g in o.param_groups for v in g.values()
                for x in (v if isinstance(v, list) else (v,)) if isinstance(x, torch.Tensor)}
        ids |= {id(x) for s in list(o.state.values()) if type(s) is dict
                for x in s.values() if isinstance(x, torch.Tensor)}
    return ids


def _first_five(labels: list[str]) -> str:
    """``labels`` for a warning: the first five, and how many more."""
    more = f" (and {len(labels) - 5} more)" if len(labels) > 5 else ""
    return ", ".join(labels[:5]) + more


def _part_label(name: str, key: str) -> str:
    """``name.key``, or ``name['D']`` for an item."""
    return f"{name}{key}" if key.startswith("[") else f"{name}.{key}"


GRAD_WATCH_STEPS = 10
"""The steps over which parameters holding most of the optimizer's values must get a gradient,
or be warned of (a mixture of experts routes a batch to a few: over 10 steps most are)."""
STALE_STEPS = 5
"""The fewest steps a sweep stopped within :data:`GRAD_WATCH_STEPS` must have run for its
optimizer's parameters outside the model that got no gradient to be told of (see
``_Run._tell_stale_optimizer``)."""


def _modal(module: torch.nn.Module) -> bool:
    """Whether ``module`` computes otherwise in train mode than in eval: a BatchNorm or
    InstanceNorm with running statistics, a dropout of p > 0, an attention's or a stacked RNN's
    own dropout. (Not a Dropout(0.0), a from_pretrained model's, nor a BatchNorm without running
    statistics, a review; an RNN's or attention's dropout and an InstanceNorm's statistics, a
    docs audit.)"""
    return ((isinstance(module, torch.nn.modules.batchnorm._BatchNorm
                        | torch.nn.modules.instancenorm._InstanceNorm)
             and module.track_running_stats)
            or (isinstance(module, torch.nn.modules.dropout._DropoutNd) and module.p > 0)
            or (isinstance(module, torch.nn.MultiheadAttention) and module.dropout > 0)
            or (isinstance(module, torch.nn.RNNBase) and module.dropout > 0
                and module.num_layers > 1))


def _warn_eval_mode(in_eval: Sequence[torch.nn.Module]) -> None:
    """Warn of the modules ``in_eval`` (see :func:`_modal`, in eval when the test began) that
    the model's ``train()`` turned to train mode: the sweep runs them otherwise than the
    caller's model did (a bug bash: a linear probe's frozen BatchNorms were swept on batch
    statistics, picks 6x apart, with an INFO line alone). Those a ``train()`` override keeps
    in eval (a detector's ``norm_eval``), or none at all (a probe's backbone of Linear and
    LayerNorm), are no news (a bug bash: they were named)."""
    turned = sorted({type(m).__name__ for m in in_eval if m.training})
    if not turned:
        logger.info("model is in eval mode; training it in train mode for the range test")
        return
    warnings.warn(
        f"model is in eval mode: the range test trains it in train mode, where its "
        f"{', '.join(turned[:3])} layers behave otherwise (batch statistics, dropout on); to "
        "keep some frozen (a linear probe's backbone), call model.train() and then .eval() on "
        "those modules before the test, which leaves them as they are",
        SuperconvergeWarning, stacklevel=outside(__name__, _FIND_LR))


def _largest_number(optimizer: torch.optim.Optimizer, key: str) -> float | None:
    """The largest of the groups' ``key`` as a float (a tensor's read once); None where no group
    has a finite number there."""
    values = []
    for group in optimizer.param_groups:
        try:
            value = as_float(group[key]) if key in group else None
        except (TypeError, ValueError, RuntimeError, OverflowError):
            continue
        if value is not None and math.isfinite(value):
            values.append(value)
    return max(values, default=None)


def _heavy_ball_momentum(optimizer: torch.optim.Optimizer) -> float | None:
    """Group 0's ``momentum`` where it scales the steps by about ``1 / (1 - momentum)``: an SGD's
    or RMSprop's (a subclass's; one a wrapper holds for group 0's parameters), undampened. Else
    None: Adam's ``betas[0]`` averages the gradients, and the momentum of a Muon, a sign update
    (Signum), an averaged one (QHM) or a schedule-free SGD does not scale the step as
    heavy-ball momentum does (reviews: by a "momentum" key, those were warned of falsely; by
    a class name, a Muon beside an SGD hid the SGD's)."""
    groups = optimizer.param_groups
    first = groups[0]["params"][0] if groups and groups[0]["params"] else None
    heavy = (torch.optim.SGD, torch.optim.RMSprop)
    # A ZeroRedundancyOptimizer's class, read from what it builds: its shard on this rank may
    # not hold group 0's first parameter, and the ranks recorded other values (a bug bash: None
    # on rank 0, which writes the result, 0.0 on rank 1). Its groups hold the shards' values.
    made = getattr(optimizer, "_optim_constructor", None)
    if isinstance(made, type) and issubclass(made, heavy):
        group = groups[0] if groups else None
    else:
        group = next((g for o in held_optimizers(optimizer) if isinstance(o, heavy)
                      for g in o.param_groups if any(p is first for p in g["params"])), None)
    if group is None:
        return None
    momentum, dampening = group.get("momentum"), group.get("dampening", 0)
    try:
        if momentum is None or as_float(dampening) != 0:
            return None
        value = as_float(momentum)
    except (TypeError, ValueError, RuntimeError):
        return None
    return value if 0 <= value < 1 else None


def _norms(grads: list[torch.Tensor | None]) -> list[float] | None:
    """Each gradient's 2-norm (0 for None), read in one host sync a device; None where one
    cannot be taken (a tensor subclass's, say)."""
    out = [0.0] * len(grads)
    by_device: dict[torch.device, list[tuple[int, torch.Tensor]]] = {}
    try:
        with torch.no_grad():
            for i, grad in enumerate(grads):
                if grad is not None:  # (a half's in float: float16's overflows from 256^2)
                    half = grad.dtype in (torch.float16, torch.bfloat16)
                    norm = torch.linalg.vector_norm(grad, dtype=torch.float32 if half else None)
                    by_device.setdefault(grad.device, []).append((i, norm))
            for pairs in by_device.values():
                norms = torch.stack([n for _, n in pairs]).tolist()
                for (i, _), value in zip(pairs, norms, strict=True):
                    out[i] = value
    except Exception:
        return None
    return out


def _holds_gradient(grad: torch.Tensor) -> bool:
    """Whether ``grad`` holds any non-zero value (one that cannot say: True)."""
    try:
        return grad._nnz() > 0 if grad.is_sparse else bool(grad.any())
    except Exception:
        return True


def _spawned(rng: object) -> int | None:
    """How many children a numpy Generator's seed sequence has spawned (None for others)."""
    seeds = getattr(getattr(rng, "bit_generator", None), "seed_seq", None)
    count = getattr(seeds, "n_children_spawned", None)
    return count if isinstance(rng, np.random.Generator) and isinstance(count, int) else None


def _step_count(scheduler: object) -> int | None:
    """The step count of a torch LR scheduler (``last_epoch``) or of our ParamScheduler
    (``last_step``); None for anything else."""
    if isinstance(scheduler, torch.optim.lr_scheduler.LRScheduler):
        return int(scheduler.last_epoch)
    if type(scheduler).__name__ == "ParamScheduler" and type(scheduler).__module__ == (
            "superconverge.torch.param_scheduler"):
        return int(scheduler.last_step)  # type: ignore[attr-defined]
    return None


def _optimizer_mark(optimizer: torch.optim.Optimizer) -> list[Any]:
    """What a step of ``optimizer`` (or of one it wraps) changes, cheaply compared: its
    parameters' non-empty state entries (a read of ``opt.state[p]``, a defaultdict's, makes an
    empty one), and each value's version counter (its identity where it is no tensor: a float
    step count is replaced at each step)."""
    return [[(id(p), [(k, _version(v) if isinstance(v, torch.Tensor) else id(v))
                      for k, v in s.items()])
             for p, s in list(o.state.items()) if type(s) is dict and s]
            for o in held_optimizers(optimizer)]


class _StepCounter:
    """Counts the ``step()`` calls of ``optimizers`` from its making to :meth:`remove`, by a
    step pre-hook on each."""

    def __init__(self, optimizers: Sequence[torch.optim.Optimizer]) -> None:
        self.counts = [0] * len(optimizers)
        self.handles = []
        for i, o in enumerate(optimizers):
            # (not one whose hooks cannot be registered: a wrapper of the user's that keeps
            # them in a plain dict, which the handle cannot hold a weak reference to)
            with contextlib.suppress(Exception):
                self.handles.append(o.register_step_pre_hook(functools.partial(self._count, i)))

    def _count(self, i: int, *_: object) -> None:
        self.counts[i] += 1

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []


def _check_data(name: str, data: object) -> None:
    if not isinstance(data, Iterable):
        raise TypeError(f"{name} must be an iterable of batches (a DataLoader), got {data!r}")
    if (size := _length(data)) is None:
        return
    if size == 0:
        # (a bug bash: a loader drop_last left empty was only called empty)
        batch_size = getattr(data, "batch_size", None)
        examples = _length(getattr(data, "dataset", None))
        why = (f": batch_size={batch_size} with drop_last=True over {examples} examples gives "
               "no batch at all; lower batch_size or pass drop_last=False"
               if getattr(data, "drop_last", False) and isinstance(batch_size, int)
               and examples is not None and 0 < examples < batch_size
               else "; pass a loader that yields batches")
        raise ValueError(f"{name} is empty (len 0){why}")


def _tensor_list(batch: Any) -> bool:
    """Whether a batch is a plain list of tensors of one or more dimensions."""
    return type(batch) is list and bool(batch) and all(
        isinstance(t, torch.Tensor) and not t.is_nested and t.dim() > 0 for t in batch)


def _sequences(batch: Any) -> bool:
    """Whether a batch is itself a list of sequences, one an example (``collate_fn=lambda b:
    b`` over sequences of different lengths): 3 or more tensors of one dtype and one shape
    past their first dimension whose lengths differ, which the default collate's inputs and
    targets do not. :func:`_examples` alone weighed such a batch by its first sequence's
    length (a bug bash: 50 for 8 sequences beside 3 for 2). A list of fields of that kind
    (``[labels, text, offsets]``, an EmbeddingBag's) is taken for one too, and weighed by
    its count: a tuple, as such a collate returns as a rule, is not (reviews: each rule that
    told them apart by their lengths missed bucketed sequences, some of one length, which
    weighed 0.7x to 1.2x off, where this costs a list of fields its last batch's share)."""
    return (_tensor_list(batch) and len(batch) >= 3
            and len({(tuple(t.shape[1:]), t.dtype) for t in batch}) == 1
            and len({t.size(0) for t in batch}) > 1)


def _zipped(fields: list[Any]) -> bool:
    """Whether a batch's ``fields`` (none of them a tensor) are each a tuple or list of one
    item an example: ``tuple(zip(*batch))``, torchvision's detection collate, images of
    different sizes beside their target dicts. So they are where there are two or more of one
    length, each of one kind of item (tensors of one dtype and number of dimensions, dicts,
    strings or numbers), and one of these says so:

    - a field of strings or numbers (labels, file names: a default collate makes them
      tensors, or lists of the batch's length);
    - a field of 0-d tensors;
    - tensors whose first lengths differ (an image's 3 channels beside a mask's rows), the
      tensors the dicts hold among them;
    - one dict holding tensors beside one tensor: a last batch of one image, whose targets
      may hold as many boxes as it has channels (a batch of several images that all have
      that many boxes is weighed by that count).

    Inputs and targets given as lists (``([x1, x2], [y1, y2])``, or dicts of them, beside the
    inputs or not) are tensors of the batch's length, all alike; a default-collated
    ``((x, paths), (y, ids))`` mixes kinds in a field. Taken for zipped, wrongly: a custom
    collate's field of names or numbers beside batched tensors, of as many items
    (``([x1, x2], ["a.png", "b.png"])``). (A bug bash: a zipped batch weighed by its first
    image's 3 channels, or by its first image's boxes, 1.3x to 3x off with a last batch of
    one; reviews: a string or number beside batched tensors in a field counted the fields of
    default-collated batches, dicts of batched tensors counted theirs, and a last image's
    targets of as many boxes as its channels were taken for batched.)"""
    if (len(fields) < 2 or not all(isinstance(x, tuple | list) for x in fields)
            or len({len(x) for x in fields}) != 1 or not fields[0]):
        return False
    said = dicts = tensors = False
    firsts: set[int] = set()
    for field in fields:
        kinds = {(x.dtype, x.dim()) if isinstance(x, torch.Tensor) else
                 "dict" if isinstance(x, Mapping) else "str" if isinstance(x, str) else
                 "number" if isinstance(x, numbers.Number) else None for x in field}
        if len(kinds) != 1 or None in kinds:
            return False
        kind = kinds.pop()
        if isinstance(kind, tuple):
            said = said or kind[1] == 0
            tensors = True
            firsts.update(x.size(0) for x in field if x.dim())
        elif kind == "dict":
            held = [v.size(0) for x in field for v in x.values()
                    if isinstance(v, torch.Tensor) and v.dim()]
            dicts = dicts or bool(held)
            firsts.update(held)
        else:
            said = True
    return said or len(firsts) > 1 or (dicts and tensors and len(fields[0]) == 1)


def _examples(batch: Any) -> int | None:
    """The examples in a batch: the length of its first tensor (depth first through tuples,
    lists and dicts, its own tensors first) that has one; ``None`` where none has. A packed
    sequence counts its sequences. A list of tensors inside the batch (not the batch itself, an
    ``[inputs, targets]`` pair) is looked at after the batch's other tensors (the targets count
    the examples of ``([seq, ...], y)`` and of ``([x1, x2], y)`` alike); alone, it counts its
    items where their lengths differ (sequences), else their length (a bug bash and reviews:
    each way round weighed a batch by its time steps). Fields that are each a tuple or list of
    one item an example (:func:`_zipped`) count those items."""
    if isinstance(batch, torch.Tensor):
        # (size(0): a strided nested tensor has no shape, a bug bash)
        return batch.size(0) if batch.dim() else None
    if isinstance(batch, torch.nn.utils.rnn.PackedSequence):
        return int(batch.batch_sizes[0]) if len(batch.batch_sizes) else 0
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        # (a dataclass's fields, an object with .to's attributes, as a dict's values: they
        # weighed alike, a docs audit)
        items: list[Any] = [getattr(batch, f.name, None) for f in dataclasses.fields(batch)]
    elif (not isinstance(batch, Mapping | tuple | list) and callable(_method(batch, "to"))
          and isinstance(getattr(batch, "__dict__", None), dict)):
        items = list(vars(batch).values())[:256]
    else:
        items = list(batch.values() if isinstance(batch, Mapping) else (
            batch if isinstance(batch, tuple | list) else ()))
    # A tensor of the batch's own is looked at before a tuple or dict in it: the targets of
    # ((text, offsets), y), an EmbeddingBag's flat tokens beside their bags' starts, count its
    # examples (the tokens weighed a batch by its length, a bug bash).
    for item in items:
        if isinstance(item, torch.Tensor) and (n := _examples(item)) is not None:
            return n
    if _zipped(items):
        return len(items[0])
    # A list of tensors inside the batch may be inputs ([x1, x2], each of the batch's length)
    # or sequences (one per example): another tensor of the batch, the targets, says which;
    # looked at first (reviews: each way round weighed a batch by its time steps).
    lists = [type(x) is list and bool(x) and all(isinstance(t, torch.Tensor) for t in x)
             for x in items]
    for item, listed in zip(items, lists, strict=True):
        if not listed and (n := _examples(item)) is not None:
            return n
    for item, listed in zip(items, lists, strict=True):
        if listed:  # (alone: sequences where their lengths differ, or one is alone, or
            # numbers, one an example: a review found a list of 0-d tensors counted 0)
            lengths = {t.size(0) if t.dim() else None for t in item}
            return (len(item) if len(lengths) > 1 or len(item) == 1 or None in lengths
                    else lengths.pop())
    return None


_OUTPUT_KEYS = ("logits", "last_hidden_state", "hidden_states", "start_logits",
                "prediction_logits")
"""Keys of a model's output (a Hugging Face model's) that no loss dict holds."""


def _check_loss(loss: object, *, training: bool) -> None:
    if not isinstance(loss, torch.Tensor):
        if isinstance(loss, Mapping) and "loss" in loss:  # a model's output dict
            fix = "return out['loss'] from loss_fn/step_fn, not the model's whole output"
        elif isinstance(getattr(loss, "loss", None), torch.Tensor):  # a Hugging Face output
            fix = "return out.loss from loss_fn/step_fn, not the model's whole output"
        elif (isinstance(loss, Mapping) and any(k in loss for k in _OUTPUT_KEYS)) or (
                not isinstance(loss, Mapping | tuple | list) and hasattr(loss, "logits")):
            # (a bug bash: a forward without labels= was told to sum its "losses", logits too)
            fix = ("loss_fn/step_fn returned the model's output, which holds no loss (a Hugging "
                   "Face model computes one only when given labels: model(**batch, labels=...)); "
                   "return out.loss, or a loss computed from out.logits")
        elif (isinstance(loss, tuple | list) and loss and isinstance(loss[0], torch.Tensor)
              and loss[0].numel() != 1):
            # (a bug bash: (logits, hidden) was told to return its first item "alone")
            fix = (f"loss_fn/step_fn returned {len(loss)} outputs, the first of shape "
                   f"{tuple(loss[0].shape)}, not a loss: return a loss computed from them "
                   "(loss_fn(out[0], targets))")
        elif isinstance(loss, tuple | list) and len(loss) > 1 and all(
                isinstance(x, torch.Tensor) and x.numel() == 1 and x.requires_grad
                for x in loss):  # (a bug bash: per-task losses, told to return "the loss alone")
            fix = (f"loss_fn/step_fn returned {len(loss)} scalar losses: return the one loss to "
                   "train on (the total, where one of them is it; their sum or a weighted one, "
                   "where they are its parts)")
        elif isinstance(loss, tuple | list) and loss and isinstance(loss[0], torch.Tensor):
            fix = (f"return the loss alone from loss_fn/step_fn, not (loss, ...) with {len(loss)} "
                   "items; keep the other outputs elsewhere (a list it appends to)")
        elif isinstance(loss, Mapping) and loss and all(
                isinstance(v, torch.Tensor) for v in loss.values()):  # (a bug bash: partial
            # losses by name were told of loss.item())
            names = ", ".join(map(repr, list(loss)[:6]))
            fix = (f"loss_fn/step_fn returned a dict of losses ({names}): return the one loss "
                   "to train on, their sum (sum(losses.values())) or a weighted one")
        elif loss is None:  # (a bug bash: a forgotten return was told of loss.item())
            fix = ("loss_fn/step_fn returned nothing: end it with `return loss` (the range test "
                   "needs a loss at every step; it cannot skip one)")
        elif isinstance(loss, int | float) and loss == 0 and not isinstance(loss, bool):
            # (a bug bash: an early-exit step_fn's sum() of no losses, told of loss.item())
            fix = ("a plain 0 is what sum() of no losses gives (an early exit or a mask that "
                   "left none on this batch): return a zero that keeps the graph, "
                   "(output * 0).sum(), or the loss tensor, not loss.item() (a zero is a point "
                   "of loss 0 on the curve: leaving such batches out of the data is better)")
        else:
            fix = "return the loss tensor from loss_fn/step_fn, not loss.item()"
        raise TypeError(f"the loss must be a torch.Tensor, got {type(loss).__name__}; {fix}")
    if loss.numel() != 1:
        # (a bug bash: a model's logits were told to take their mean, which then swept)
        logits = (f"; a tensor of shape {tuple(loss.shape)} may be the model's output, of which "
                  "a mean is no loss: compute the loss from it" if loss.dim() >= 2 else "")
        # (a bug bash: loss.mean() of reduction='none' with ignore_index counted the ignored
        # pixels as zeros, and moved the picks 4x high at 80% ignored)
        raise ValueError(
            f"the loss must be a scalar, got shape {tuple(loss.shape)}; reduce it: "
            "reduction='mean' in the loss function (with ignore_index or class weights, it "
            "divides by what it counted, where loss.mean() of a per-element loss counts an "
            f"ignored element as a zero), or a mean over the elements that count{logits}"
        )
    if training and not loss.requires_grad and not (loss.is_floating_point()
                                                    or loss.is_complex()):
        # (a bug bash: a loss cast with .long() was told of torch.no_grad() and .detach())
        raise ValueError(
            f"the loss is of type {str(loss.dtype).removeprefix('torch.')}, which holds no "
            "gradient; return it as a float (drop the cast to an integer or bool type)")
    if training and not loss.requires_grad:
        raise ValueError(
            "the loss does not require grad; compute it from the model's output without "
            "torch.no_grad() or .detach() (a step_fn returns it before any backward(): the "
            "range test calls backward() itself); a model whose layers run under "
            "torch.utils.checkpoint.checkpoint(..., use_reentrant=True) from inputs that do not "
            "require grad gives no gradient to them either: pass use_reentrant=False; and a "
            "loss that returns a constant for some batches (torch.tensor(0.0) where a batch has "
            "no valid target) fails at the first such batch: return a zero that keeps the "
            "graph, (output * 0).sum() (a point of loss 0 on the curve: leaving such batches "
            "out of the data is better)"
        )


def _cycle(data: Iterable[Any], epoch_stride: int = 1,
           refused: set[tuple[int, bool]] | None = None) -> Generator[Any, None, None]:
    """``data``'s batches, re-iterated as often as needed. A sampler that shuffles by its
    epoch (``DistributedSampler``), or a stream that does (:func:`epoch_samplers`), moves
    ``epoch_stride`` epochs on at each new pass, as a shuffling loader draws a new order: else
    every pass would repeat the first one's. (The range test's repeats take the epochs
    between, and the restore puts the epoch back.) ``refused``: the streams whose
    ``set_epoch`` refused, shared with the restore (:func:`set_epoch_of`)."""
    samplers = epoch_samplers(*unwrapped_loaders(data))
    refused = set() if refused is None else refused  # (a stream's refusal: warned once)
    passes = drawn = 0
    while True:
        count = 0
        if passes:
            for sampler in samplers:
                set_epoch_of(sampler, sampler.epoch + epoch_stride, refused)
        for batch in data:
            count += 1
            yield batch
        drawn += count
        if count == 0:
            if iter(data) is data and drawn:  # an iterator this sweep used up
                raise ValueError(
                    f"train_data is an iterator that ran out after {drawn} batch"
                    f"{'es' * (drawn != 1)}, before the sweep's last step"
                    # (a bug bash: a generator under repeats=2 was told of num_iter alone)
                    + (" of this repeat (the repeats draw on from the one iterator, so it needs "
                       "num_iter x repeats batches)" if epoch_stride > 1 else "")
                    + "; pass a re-iterable loader such as a DataLoader or a list, or lower "
                    "num_iter"
                )
            if iter(data) is data:  # an iterator: used up by an earlier repeat, or empty
                raise ValueError(
                    "train_data is an iterator that yielded nothing more (used up by an "
                    "earlier pass or repeat, or empty); pass a re-iterable loader such as a "
                    "DataLoader or a list"
                )
            if passes == 0:
                raise ValueError("train_data yielded no batches; pass a non-empty loader")
            dataset = getattr(data, "dataset", None)
            if isinstance(dataset, torch.utils.data.IterableDataset):
                # (a bug bash: a DataLoader was told to pass a DataLoader)
                raise ValueError(
                    f"train_data ran out and yielded nothing when iterated again: its "
                    f"IterableDataset ({type(dataset).__name__}) gave its batches once (its "
                    "__iter__ returns the same used-up iterator?); make __iter__ start a new "
                    "pass each call, or lower num_iter")
            # (a bug bash: a DataLoader over sampler=iter(range(n)) was told to pass a
            # DataLoader)
            for role in ("batch_sampler", "sampler"):
                part = getattr(data, role, None)
                # (the same iterator at each iter(): an iterator, or one __iter__ keeps)
                if part is not None and iter(part) is iter(part):
                    raise ValueError(
                        f"train_data ran out and yielded nothing when iterated again: its "
                        f"{role} ({type(part).__name__}) gives its indices once (an iterator, "
                        "or an __iter__ that returns the same one each call); pass a sampler "
                        "whose __iter__ starts a new pass each call (a list of indices, or "
                        "torch's samplers), or lower num_iter")
            raise ValueError(
                "train_data ran out and yielded nothing when iterated again (a one-shot "
                "iterator?); pass a re-iterable loader such as a DataLoader or a list, or "
                "lower num_iter"
            )
        passes += 1


def _zero_fused_momentum(optimizer: torch.optim.Optimizer,
                         scaler: torch.amp.GradScaler | None) -> None:
    """Give a fused SGD's parameters that have no momentum buffer yet a zero one, when a
    GradScaler may skip steps. torch's fused SGD makes the buffers of its first step with
    ``torch.empty_like`` and its kernel fills them only on a step it does not skip, so a first
    step the scaler skips (the first steps often do, while it finds its scale) leaves them
    uninitialised memory (1e32 seen), and the next step adds momentum times that to the weights.
    With ``dampening=0`` a zero buffer makes the first real step's buffer the gradient, as torch's
    own first step does, bit for bit; the restore drops the buffers with the rest of the state
    the test made. Other dampening values are warned of."""
    if (scaler is None or not scaler.is_enabled()
            or not isinstance(optimizer, torch.optim.SGD)):
        return
    for group in optimizer.param_groups:
        if not group.get("fused") or not group.get("momentum"):
            continue
        bare = [p for p in group["params"]  # (torch makes none for a frozen parameter)
                if p.requires_grad and "momentum_buffer" not in optimizer.state.get(p, {})]
        if not bare:
            continue
        if group.get("dampening"):
            warnings.warn(
                "torch's fused SGD leaves its momentum buffers uninitialised when a GradScaler "
                "skips its first step, and with dampening != 0 the range test cannot start them "
                "at zero without changing the first step; use SGD(fused=False)",
                SuperconvergeWarning,
                stacklevel=outside(__name__, _FIND_LR),
            )
            continue
        for p in bare:
            optimizer.state[p]["momentum_buffer"] = torch.zeros_like(
                p, memory_format=torch.preserve_format)


def _compiled(fn: Any) -> bool:
    """Whether ``fn`` is compiled: a ``torch.compile`` wrapper (of a module or a function), a
    module compiled in place (``module.compile()``), or DDP around either."""
    if isinstance(fn, torch.nn.parallel.DistributedDataParallel):
        fn = fn.module
    return (isinstance(fn, torch._dynamo.eval_frame.OptimizedModule)
            or hasattr(fn, "_torchdynamo_orig_callable")
            or getattr(fn, "_compiled_call_impl", None) is not None)


def _moved(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``x`` on ``device``: without waiting onto an accelerator (a copy from pinned memory then
    overlaps the compute), but to the CPU with a wait, since a CPU forward would read the copy's
    destination before a non-blocking copy from a GPU has filled it."""
    return x.to(device, non_blocking=device.type != "cpu")


_UNSET = object()


def _method(batch: object, name: str) -> Any:
    """``batch``'s attribute ``name``, or None where it has none, also where looking raises
    something else than AttributeError (a dict class whose ``__getattr__`` is
    ``dict.__getitem__``, a common idiom, raised ``KeyError: 'to'``: a bug bash)."""
    try:
        return getattr(batch, name, None)
    except Exception:
        return None


def _copied(value: Any) -> Any:
    """A new list or dict of ``value``'s items, and those of the lists and dicts a dict of up
    to 64 items holds (a review: a step_fn popping from ``b.meta["ids"]`` emptied the
    user's). A list's items, and a larger dict's (records by example), are not looked into:
    copied at C speed (a review: 50k nested dicts cost 27 ms a step)."""
    if type(value) is dict and len(value) <= 64:
        return {k: _copied(x) if type(x) is list or type(x) is dict else x
                for k, x in value.items()}
    return value.copy() if type(value) is list or type(value) is dict else value


def _mirror_items(batch: Mapping[Any, Any], out: Any, items: dict[Any, Any]) -> None:
    """The attributes of ``out``, a copy of the dict batch ``batch`` given its moved
    ``items``, that mirror its items, moved with them: an ``AttrDict`` (``self.__dict__ =
    self``), whose copy's ``__dict__`` is a dict of its own, is its own ``__dict__`` again, and
    a dict dataclass's field that is its item is the moved item (a bug bash: ``b["x"]`` moved,
    ``b.x`` stayed on the CPU, and a step_fn calling ``model(b.x)`` failed on a GPU)."""
    attributes = getattr(out, "__dict__", None)
    if getattr(batch, "__dict__", None) is batch:
        with contextlib.suppress(Exception):
            out.__dict__ = out
    elif type(attributes) is dict and attributes:
        for key, item in batch.items():
            if isinstance(key, str) and attributes.get(key, _UNSET) is item:
                attributes[key] = items[key]


def _to_device(batch: Any, device: torch.device) -> Any:
    """``batch`` with its tensors on ``device`` (tensors, tuples, lists, dicts, ``.to`` objects)."""
    if type(batch) is tuple and len(batch) == 2:  # the usual (inputs, targets), every step
        x, y = batch
        if type(x) is torch.Tensor and type(y) is torch.Tensor:
            if x.device == device and y.device == device:
                return batch
            return (_moved(x, device), _moved(y, device))
    if isinstance(batch, torch.Tensor):
        return batch if batch.device == device else _moved(batch, device)
    if isinstance(batch, Mapping):
        if callable(to := _method(batch, "to")):  # e.g. transformers.BatchEncoding
            moved = to(device)
            if moved is batch and isinstance(batch, MutableMapping):
                # (its .to moves in place and returns itself, on the CPU too: a copy, so a
                # step_fn popping its labels leaves the user's batch whole, a bug bash)
                with contextlib.suppress(Exception):
                    return copy.copy(batch)
            return moved
        # A new dict each step, as a list is a new list (a step_fn that pops a key must not
        # change the user's batches), of the batch's own class (an OrderedDict, a dict with
        # attribute access): copy.copy keeps the class and its attributes.
        items = {k: _to_device(x, device) for k, x in batch.items()}
        # (a plain dict, the common batch, skips the ABC check each step)
        if type(batch) is not dict and isinstance(batch, MutableMapping):  # (a UserDict too)
            with contextlib.suppress(Exception):  # a dict class copy cannot make: a plain dict
                out = copy.copy(batch)
                out.update(items)
                _mirror_items(batch, out, items)
                return out
        if type(batch) is not dict and all(items[k] is x for k, x in batch.items()):
            return batch  # (a read-only Mapping class with nothing to move: itself, a bug bash)
        return items
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type) and not callable(
            _method(batch, "to")):
        # (a bug bash: a dataclass batch's tensors stayed where they were)
        moved = {f.name: m for f in dataclasses.fields(batch)
                 # (a field(init=False) not set yet has no value: passed over, a review)
                 if (x := getattr(batch, f.name, _UNSET)) is not _UNSET
                 and (m := _to_device(x, device)) is not x}
        # (a copy even where nothing moved, as a dict is: a step_fn that set a field changed
        # the user's batch on the CPU alone, a docs audit; its lists and dicts new ones too, as
        # a dict batch's are: a step_fn popping from a list field emptied the user's, a bug
        # bash)
        try:
            moved_fields = copy.copy(batch)
        except Exception:  # (a class copy cannot make: itself where nothing moved, a review;
            # a list comes back a new list: kept there where it holds the same items)
            changed = {name: m for name, m in moved.items() if not (
                type(m) is list and all(a is b for a, b in zip(m, getattr(batch, name),
                                                                strict=True)))}
            return dataclasses.replace(batch, **changed) if changed else batch
        for name, value in moved.items():
            object.__setattr__(moved_fields, name, value)  # (a frozen one's too)
        return moved_fields
    if callable(_method(batch, "to")) and not isinstance(batch, torch.nn.Module):
        # A batch class of its own (a graph library's Data, a dataclass with .to; a
        # PackedSequence, a namedtuple whose batch_sizes must stay on the CPU): it knows where
        # its tensors are.
        moved = batch.to(device)
        if (moved is None or moved is batch) and not isinstance(batch, tuple):
            # (a .to that moves in place returns None or itself: a copy, as a dict's, so a
            # step_fn deleting a field leaves the user's batch whole, a docs audit; its lists
            # and dicts new ones too, as a dict batch's are, a bug bash: copies, not moved,
            # what the batch's .to leaves where it is stays there, a review)
            with contextlib.suppress(Exception):
                out = copy.copy(batch)
                attributes = getattr(out, "__dict__", None)
                if type(attributes) is dict:
                    for name, value in attributes.items():
                        if type(value) is list or type(value) is dict:
                            attributes[name] = _copied(value)
                return out
        return batch if moved is None else moved
    if isinstance(batch, tuple | list):
        moved_items = [_to_device(x, device) for x in batch]
        if isinstance(batch, tuple) and all(
                m is x for m, x in zip(moved_items, batch, strict=True)):
            # nothing to move: the tuple itself (a bug bash: a tuple class of its own, whose
            # __new__ takes its fields, failed to be made again on the CPU)
            return batch
        if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
            return type(batch)(*moved_items)
        if type(batch) is not tuple and isinstance(batch, tuple):
            # a tuple class of its own, whose __new__ may take its fields: made as a tuple
            # of its class, its attributes copied (a review: it failed where a batch moved)
            try:
                made = tuple.__new__(type(batch), moved_items)
            except TypeError:  # a structseq (torch.return_types): its __new__ takes a sequence
                return type(batch)(moved_items)
            with contextlib.suppress(AttributeError, TypeError):
                made.__dict__.update(vars(batch))
            return made
        if type(batch) is not list and isinstance(batch, list):
            # a list class: a copy keeps its attributes (a bug bash: they were dropped)
            with contextlib.suppress(Exception):
                copied = copy.copy(batch)
                copied[:] = moved_items
                return copied
        return type(batch)(moved_items)
    return batch
