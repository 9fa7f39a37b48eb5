"""Drive an optimizer's param-group hyper-parameters from schedules, one value per optimizer step.

:class:`ParamScheduler` writes ``schedule(step)`` into every param group for each key it drives
(``lr``, ``momentum``, ``weight_decay`` or any other numeric group key such as ``eps``). Its only
state is the step count, so ``state_dict()`` is a small JSON-friendly dict and a resumed run
continues with exactly the values an uninterrupted one would have used.

``momentum`` means ``group["momentum"]`` for SGD/RMSprop-type optimizers and ``betas[0]`` for
Adam-type ones (found from the param groups, as torch's ``OneCycleLR`` does); ``betas[1]`` is left
alone.

Per-group multipliers keep discriminative settings: group ``i`` gets
``schedule(step) * multiplier_i``. By default ``multiplier_i = group_i[key] / group_0[key]`` as
the groups stand when the scheduler is built (all 1.0 when every group holds 0), and 1.0 for
``momentum``; pass ``multipliers={"lr": [1.0, 0.1]}`` to set them explicitly.

Compile-friendly: where a group holds a hyper-parameter as a tensor (``lr``, ``momentum``,
``betas[0]``, ...) it is updated in place with ``fill_`` and never replaced by a Python float, so
a ``torch.compile``d (or CUDA-graph-captured) ``optimizer.step()`` keeps seeing the same tensor
and does not recompile as the schedule moves. ``tensors=True`` (or :func:`tensorize_hyperparams`)
first turns the float ``lr`` and Adam's ``betas[0]`` into 0-dim tensors, and keeps those tensor
objects, on their device, across ``optimizer.load_state_dict``.
"""

from __future__ import annotations

import logging
import math
import numbers
import sys
import warnings
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NoReturn

import numpy as np
import torch
from torch import Tensor
from torch.optim import Optimizer

from superconverge._warning import SuperconvergeWarning
from superconverge.schedules._validate import _describe_huge, boolean, per_group_hint, real
from superconverge.schedules.base import Schedule, _total_steps, declared_total_steps
from superconverge.schedules.compose import Constant, Join, constant
from superconverge.schedules.one_cycle import OneCycleTwoPhase, _LrPhased, _Phased
from superconverge.torch._multipliers import (
    _LAST_MULTIPLIERS,
    BRIEF_LIMIT,
    LBFGS_TENSOR_LR,
    RPROP_LR,
    adafactor_groups,
    adagrad_decay,
    adagrad_decay_note,
    as_float,
    brief,
    held_optimizers,
    initial_lr_ratios,
    is_number,
    not_an_optimizer,
    own_lr,
    ratios_to_group_0,
    schedule_free,
    too_coarse,
    write_scaled,
)

__all__ = ["ParamScheduler", "tensorize_hyperparams"]

log = logging.getLogger(__name__)

# Group keys torch's optimizers read as tensors without branching on them in Python. torch's
# SGD/RMSprop test ``if momentum != 0`` / ``> 0`` and SGD/Adam ``if weight_decay != 0``: a
# tensor there is a data-dependent branch, which makes torch.compile break the graph (torch
# 2.13: a compiled SGD step with a tensor momentum captures no graph at all). Floats in ``lr``
# and ``betas`` are specialised and recompile on every new value, up to dynamo's recompile limit
# (SGD's ``lr``, an ``alpha=``, and ``betas``; Adam's float ``lr`` recompiles once, then is traced
# as a symbol: 2 graphs on the single-tensor CPU step, torch 2.13, a bug bash);
# a cycling float SGD momentum compiled no extra graph on the single-tensor path (below).
TENSORIZABLE = ("lr", "betas")

# Optimizers whose float momentum a compiled step can follow only on their single-tensor path:
# there dynamo traces a moving float as a symbolic one (one more graph at most), but their
# foreach path hands it to torch._foreach_mul_ as a Python number, which dynamo specialises on:
# a recompile at every new value up to the limit. foreach=None means foreach=True for CUDA
# parameters. SGD's Nesterov step passes it as alpha= on both paths (no way round that).
_FOREACH_MOMENTUM = (torch.optim.SGD, torch.optim.RMSprop)

_BETAS = "betas"
_UNSAVED = object()  # (a key a state_dict's schedules leave out)

# The optimizers that take a tensor betas[0]. AdamW subclasses Adam only in newer torch.
_ADAM_FAMILY = (torch.optim.Adam, torch.optim.AdamW)
#: Why a schedule-free optimizer takes no tensor lr (a bug bash: its weights went to NaN).
SCHEDULE_FREE_LR = ("it weighs its average by the lr in Python and catches a ZeroDivisionError "
                    "where the weights sum to 0 (an lr of 0, a warm-up's first step), which a "
                    "tensor lr turns into NaN weights")
#: Said where a group's foreach=True is refused: a checkpoint may have brought it (a review).
_LOADED_FOREACH = (" (a checkpoint that optimizer.load_state_dict loaded brings back the foreach "
                   "it was saved with: set each group's 'foreach' to False after the load, or "
                   "build the scheduler before loading, which then sets it back itself)")
#: The keys torch's LR schedulers add to the param groups, which no torch optimizer reads:
#: -> the hyper-parameter they are about.
_TORCH_SCHEDULER_KEYS = {"initial_lr": "lr", "max_lr": "lr", "min_lr": "lr",
                         "max_momentum": "momentum", "base_momentum": "momentum"}

# The sensible values of the keys whose range is known: low <= value < high. (Adam refuses
# betas[0] >= 1; torch's SGD takes a momentum >= 1, under which the updates grow unbounded.)
# Written values are checked at every step (two comparisons), so an out-of-range schedule fails
# where it leaves the range, not silently.
_RANGES: dict[str, tuple[float, float, str]] = {
    "lr": (0.0, math.inf, ">= 0"),
    "weight_decay": (0.0, math.inf, ">= 0"),
    "momentum": (0.0, 1.0, "in [0, 1)"),
    "eps": (0.0, math.inf, ">= 0"),  # torch's Adam-type constructors refuse eps < 0
}
_ANY: tuple[float, float, str] = (-math.inf, math.inf, "finite")
# Keys of one torch optimizer whose range its constructor checks (a bug bash: Adadelta's rho
# of 1.5 NaN'd every weight, Adagrad's lr_decay of -0.5 was a ZeroDivisionError inside its
# step); by optimizer, as another library's optimizer may give the name another meaning (SAM's
# rho, a radius). The high end is exclusive, so Adadelta's rho <= 1 is < the float after 1.
_TYPED_RANGES: dict[str, dict[str, tuple[float, float, str]]] = {
    "Adadelta": {"rho": (0.0, math.nextafter(1.0, 2.0), "in [0, 1]")},
    "Adagrad": {"lr_decay": (0.0, math.inf, ">= 0")},
    "NAdam": {"momentum_decay": (0.0, math.inf, ">= 0")},
    # (a bug bash: an alpha scheduled below 0, which torch's constructor refuses, made the
    # running average of squares negative and the weights NaN)
    "RMSprop": {"alpha": (0.0, math.inf, ">= 0")},
    "Adafactor": {"d": (1.0, math.inf, ">= 1"),
                  "beta2_decay": (-math.inf, math.nextafter(0.0, 1.0), "<= 0")},
}

# Real-valued keys of torch's optimizers whose defaults are ints (SGD's momentum=0, Adagrad's
# lr_decay=0, ...): a schedule writes floats into them, as torch would read them. Any other
# key holding an int is a count (Muon's ns_steps, LBFGS's max_iter), which a float breaks.
_REAL_KEYS = frozenset({"lr", "momentum", "weight_decay", "eps", "dampening", "lr_decay",
                        "alpha", "rho", "lambd", "t0", "momentum_decay"})


def _names_a_function(data: object) -> bool:
    """Whether a schedule dict holds a function by name (``{"callable": "module:name"}``),
    anywhere inside it."""
    if isinstance(data, Mapping):
        return "callable" in data or any(_names_a_function(v) for v in data.values())
    return isinstance(data, list | tuple) and any(_names_a_function(v) for v in data)


def _same_when_rebuilt(saved: object, mine: object) -> bool:
    """Whether a saved schedule dict that differs from ours as written is ours once rebuilt:
    an earlier version wrote a join of joins nested, which a Join now spreads out
    into one level (the same values). Not one that names a function: rebuilding it would
    import the module a checkpoint names (a review)."""
    if not isinstance(saved, dict) or not isinstance(mine, dict) or _names_a_function(saved):
        return False
    try:
        return Schedule.from_dict(saved).to_dict() == mine
    except (ValueError, TypeError, RecursionError):
        return False


def _holds(optimizer: Optimizer, kinds: type | tuple[type, ...]) -> bool:
    """Whether ``optimizer`` or one it wraps (accelerate's wrapper, a ZeroRedundancyOptimizer's
    ``.optim``) is one of ``kinds``: the wrapped optimizer's class decides what torch takes."""
    return any(isinstance(o, kinds) for o in held_optimizers(optimizer))


def _ranges(optimizer: Optimizer, keys: Iterable[str]) -> dict[str, tuple[float, float, str]]:
    """The range of each key: its own optimizer's, where every optimizer stepping a group
    that holds it (``optimizer`` or one it wraps, not a wrapper of others) is a torch one of
    one range for it, else the one any optimizer's key of that name has (another library's
    ``rho`` beside Adadelta's in a wrapper is not held to Adadelta's: a review)."""
    held = held_optimizers(optimizer)
    leaves = [o for o in held if len(held_optimizers(o)) == 1]
    out = {}
    for k in keys:
        typed = {_typed_range(o, k) for o in leaves if any(k in g for g in o.param_groups)}
        one = typed.pop() if len(typed) == 1 else None
        out[k] = one if one is not None else _RANGES.get(k, _ANY)
    return out


def _typed_range(optimizer: Optimizer, key: str) -> tuple[float, float, str] | None:
    """``key``'s range in the torch optimizer ``optimizer`` is, or derives from (a subclass of
    Adadelta's took a rho of 1.5: a docs audit); None for another's."""
    for kind in type(optimizer).__mro__:
        if kind.__module__.startswith("torch.optim") and kind.__name__ in _TYPED_RANGES:
            return _TYPED_RANGES[kind.__name__].get(key)
    return None


def _checked_steps(last_index: int) -> Iterable[int]:
    """The steps a schedule is checked at, at construction: every step up to 20,000, an even
    sample of a longer one (the hot path checks each value it writes anyway), the first 1000
    of an endless one (``last_index`` ``sys.maxsize``)."""
    n = 1000 if last_index == sys.maxsize else last_index + 1
    return range(n) if n <= 20_000 else (*range(0, n, n // 2000), n - 1)


def _check_numeric(key: str, where: str, value: object, opt_name: str) -> None:
    ok = is_number(value) or (isinstance(value, Tensor) and value.numel() == 1)
    if ok and isinstance(value, Tensor) and not value.is_floating_point():
        raise ValueError(
            f"{key}: {opt_name}'s param groups hold {where}={value!r}, a {value.dtype} tensor: "
            "each value written into it would be truncated (0.005 to 0); make it a float "
            "tensor or a number"
        )
    if not ok:
        raise ValueError(
            f"{key}: {opt_name}'s param groups hold {where}={value!r} ({type(value).__name__}), "
            "not a number or a 1-element tensor, so it cannot follow a schedule"
        )
    if (coarse := too_coarse(value)) is not None:
        raise ValueError(f"{key}: {opt_name}'s param groups hold {where}={value!r}, {coarse}")
    if isinstance(value, Tensor) and value.requires_grad:  # (a bug bash: autograd's "a leaf
        # Variable that requires grad is being used in an in-place operation", at the write)
        raise ValueError(
            f"{key}: {opt_name}'s param groups hold {where} as a tensor that requires grad (a "
            "learned value, as for hypergradient descent), which a schedule would overwrite at "
            "every step; schedule a plain one (torch.tensor(x) or a number), or let it learn")


def _as_schedule(name: str, value: object) -> Schedule:
    if isinstance(value, Schedule):
        if declared_total_steps(value) is not None:  # (a schedule of the user's: unchecked,
            # a bug bash)
            try:
                _total_steps(value)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"{name}: {exc}") from None
        return value
    # (a 0-dim numpy array or tensor too, a number as numpy and torch hand one back, a bug
    # bash: np.array(0.5) was refused as no number; read once, here)
    if is_number(number := _scalar(value)):
        return constant(real(name, number))  # (an int past float's range: a bug bash)
    raise TypeError(  # (a list, as torch's OneCycleLR takes one per group: a bug bash)
        f"{name} must be a Schedule (e.g. superconverge.one_cycle(...)) or a number for a "
        f"constant, got {value!r} ({type(value).__name__})"
        + per_group_hint(value, name, f"{name}={{first}} (or a schedule built on it)")
    )


def _close(saved: object, mine: Sequence[float]) -> bool:
    """Saved multipliers equal to ``mine`` up to float rounding."""
    if not isinstance(saved, Sequence) or isinstance(saved, str | bytes):
        return False
    return len(saved) == len(mine) and all(
        is_number(a) and math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)  # type: ignore[arg-type]
        for a, b in zip(saved, mine, strict=True)
    )


def _last_index(schedule: Schedule) -> int:
    """The last step a schedule defines (it holds that value afterwards)."""
    end = schedule.total_steps
    return sys.maxsize if end is None else end - 1


def _group_device(group: Mapping[str, Any]) -> torch.device:
    params = group.get("params") or []
    return params[0].device if params else torch.device("cpu")


def _momentum_slot(optimizer: Optimizer) -> str:
    """``"betas"`` (Adam-type, drives ``betas[0]``) or ``"momentum"`` (SGD-type), like torch."""
    group = optimizer.param_groups[0]
    if _BETAS in group and "momentum" in group:  # (a bug bash: timm's Muon, whose momentum
        # steps its matrices and betas its AdamW fallback, had betas[0] driven alone)
        raise ValueError(
            f"momentum: {type(optimizer).__name__}'s param groups hold both 'momentum' and "
            "'betas', so which one momentum= means is not clear (timm's Muon steps its "
            "matrices with momentum and the rest with betas); keep momentum constant, or "
            "drive it with a scheduler of your own")
    if _BETAS in group:
        return _BETAS
    if "momentum" in group:
        return "momentum"
    raise ValueError(
        f"momentum: {type(optimizer).__name__} has neither a 'momentum' nor a 'betas' "
        "hyper-parameter in its param groups; ParamScheduler drives momentum for optimizers with "
        "'momentum' (SGD, RMSprop) or 'betas' (Adam, AdamW, NAdam, ...). Drop momentum=, or "
        f"drive another key by name (group keys: {_group_keys(optimizer)})"
    )


#: torch's optimizers that add weight_decay to the gradient as ``alpha=weight_decay`` (unless
#: built with ``decoupled_weight_decay=True``).
_COUPLED_DECAY: tuple[type, ...] = tuple(
    getattr(torch.optim, n) for n in ("SGD", "Adam", "RMSprop", "Adagrad", "Adadelta", "Adamax",
                                      "ASGD", "NAdam", "RAdam") if hasattr(torch.optim, n))


def _group_keys(optimizer: Optimizer, index: int = 0) -> str:
    return ", ".join(sorted(k for k in optimizer.param_groups[index] if k != "params"))


def _check_tensorizable(optimizer: Optimizer, key: str, arg: str = "keys") -> None:
    # (a wrapper named with what it holds: "_Wrapped holding NAdam")
    name = " holding ".join(type(o).__name__ for o in held_optimizers(optimizer))
    if key not in TENSORIZABLE:
        raise ValueError(
            f"{arg}: cannot tensorize {key!r}; accepted: {', '.join(map(repr, TENSORIZABLE))}. "
            "torch branches on momentum/weight_decay in Python (`if momentum != 0`), so a tensor "
            "there breaks a compiled step's graph; leave them floats"
        )
    if any(key not in g for g in optimizer.param_groups):
        raise ValueError(f"{arg}: {name}'s param groups have no {key!r} (group keys: "
                         f"{_group_keys(optimizer)})")
    if key == "lr" and _holds(optimizer, torch.optim.LBFGS):
        raise ValueError(f"{arg}: {LBFGS_TENSOR_LR}; leave 'lr' a float for {name} (its "
                         "closure-driven step is not one to compile)")
    if key == "lr" and any(schedule_free(g) for g in optimizer.param_groups):
        raise ValueError(f"{arg}: {name} is a schedule-free optimizer: {SCHEDULE_FREE_LR}; "
                         "leave 'lr' a float")
    if key == _BETAS and not _holds(optimizer, _ADAM_FAMILY):
        raise ValueError(
            f"{arg}: torch documents tensor betas for Adam and AdamW only (the eager foreach "
            f"step of NAdam and Adamax fails on one), got {name}; leave 'betas' out of keys"
        )
    if _holds(optimizer, _ADAM_FAMILY):
        # (the wrapped optimizer's groups hold the flags; named first, a wrapper may share them;
        # an Adam's alone: an SGD that a wrapper steps beside an AdamW takes a foreach tensor
        # lr, and was refused, a review)
        for opt in reversed(held_optimizers(optimizer)):
            if not isinstance(opt, _ADAM_FAMILY):
                continue
            for i, g in enumerate(opt.param_groups):
                if g.get("foreach") and not g.get("capturable") and not g.get("fused"):
                    # (capturable=True is for CUDA-type devices: on the CPU the eager step then
                    # fails, "params and state_steps must be on supported devices", a bug bash)
                    host = any(p.device.type == "cpu" for p in g["params"])
                    fix = ("foreach=None/False (or fused=True; capturable=True is for CUDA-type "
                           "devices)" if host else
                           "capturable=True (or fused=True, or foreach=None/False)")
                    raise ValueError(
                        f"{arg}: {type(opt).__name__} param group {i} has foreach=True and "
                        f"capturable=False, where torch refuses a tensor {key}; build the "
                        f"optimizer with {fix}{_LOADED_FOREACH}")


def tensorize_hyperparams(
    optimizer: Optimizer, keys: Iterable[str] | None = None
) -> list[str]:
    """Turn float hyper-parameters of every param group into 0-dim tensors, in place.

    ``keys``: any of ``"lr"`` and ``"betas"`` (only ``betas[0]`` becomes a tensor;
    ``betas[1]`` stays as it is). ``None`` means ``lr``, plus ``betas`` for Adam/AdamW. LBFGS's
    ``lr`` is refused: LBFGS keeps a tensor ``lr`` as its record of the last step size. Each
    tensor is float32 (what torch's fused kernels read, whatever the default dtype and the
    parameters' dtype) and lives on the device of its group's first parameter (so a
    CUDA-graph-captured step reads the current value). Values that already are tensors are kept
    (same object). Returns the keys asked for. An Adam/AdamW group whose ``betas`` become
    tensors while its ``lr`` stays a float, with ``foreach``, ``capturable`` and ``fused`` left
    unset, gets a tensor ``lr`` as well (same value): for CUDA parameters torch's default is then
    its single-tensor path, where its foreach path would refuse the tensor ``beta1``.

    The tensors outlast ``optimizer.load_state_dict``, which on its own replaces every param
    group with the checkpoint's (new tensor objects, left on the device they were saved from: on
    the CPU after ``torch.load(..., map_location="cpu")``). Hooks on the optimizer copy the loaded
    values, tensors or numbers, into the existing tensors and put them back; the rest of each
    group is the checkpoint's. The hooks belong to this optimizer object: torch drops them from
    a ``copy.deepcopy`` or an unpickled copy, so call this function on the copy too (its tensors
    stay as they are).

    This is what makes a ``torch.compile``d ``optimizer.step()`` keep one graph while a schedule
    moves the values (see :data:`TENSORIZABLE` for why momentum and weight decay are not
    offered). In a plain eager loop keep floats: on CUDA, SGD (unless ``fused=True``) and the
    foreach Adam/AdamW read a tensor ``lr`` / ``betas[0]`` back to the host at every step. For a
    CUDA-graph-captured step use Adam/AdamW with ``capturable=True, foreach=False`` (see
    docs/gpu.md for the table).
    """
    if not isinstance(optimizer, Optimizer):
        raise not_an_optimizer(optimizer, "its param groups are the wrapper's")
    if keys is None:  # (betas where every group has them: not beside an SGD, a review)
        keys = (["lr", _BETAS] if _holds(optimizer, _ADAM_FAMILY)
                and all(_BETAS in g for g in optimizer.param_groups) else ["lr"])
    elif isinstance(keys, str):
        keys = [keys]
    elif not isinstance(keys, Iterable):
        raise TypeError(f"keys must be key names ('lr', 'betas') or None, got {keys!r}")
    todo = list(dict.fromkeys(keys))
    bad = [k for k in todo if not isinstance(k, str)]
    if bad:
        raise TypeError(f"keys must be key names ('lr', 'betas') or None, got {bad[0]!r}")
    for key in todo:
        _check_tensorizable(optimizer, key)
    _tensorize(optimizer, todo)
    # A copy of an optimizer tensors=True set on the single-tensor path (foreach=False) keeps
    # it across loads too, as the original does: torch drops the hook from a deepcopy, and the
    # docs advise this call on the copy (a bug bash: its load put foreach=None back).
    _keep_single_tensor(optimizer, [
        g for o in held_optimizers(optimizer) if isinstance(o, _FOREACH_MOMENTUM)
        for g in o.param_groups if g.get("foreach") is False and not g.get("fused")])
    return todo


def _keep_single_tensor(optimizer: Optimizer, single: Sequence[dict[str, Any]]) -> None:
    """Register, once, a load hook on ``optimizer`` and those it wraps that keeps the ``single``
    groups on the single-tensor path (see :func:`_single_tensor_again`)."""
    single_ids = {id(g) for g in single}  # (a scan of the list per group was quadratic:
    # seconds to build on 8000 groups)
    for opt in held_optimizers(optimizer) if single else ():
        switched = [i for i, g in enumerate(opt.param_groups) if id(g) in single_ids]
        hooks = getattr(opt, "_optimizer_load_state_dict_post_hooks", None)
        if not switched or hooks is None:
            continue
        if not any(getattr(h, "single_tensor_groups", None) == tuple(switched)
                   for h in hooks.values()):  # once, however many schedulers are built
            opt.register_load_state_dict_post_hook(_single_tensor_again(switched))


def _tensorize(optimizer: Optimizer, keys: Sequence[str]) -> None:
    # float32 whatever the default dtype: torch's fused CUDA kernels read a tensor lr as float
    # (a float64 one, made under torch.set_default_dtype(torch.float64), is refused there),
    # and the other paths take a float32 0-dim tensor beside float64 parameters.
    dtype = torch.float32
    # (made outside inference mode, whatever the caller's: a tensor made inside it is an
    # inference tensor, which no step outside may write in place; a bug bash built a scheduler
    # under torch.inference_mode() whose first step failed, and so did every later scheduler's)
    with torch.inference_mode(False):
        _tensorize_groups(optimizer, keys, dtype)
    _keep_tensors_across_loads(optimizer)


def _tensorize_groups(optimizer: Optimizer, keys: Sequence[str], dtype: torch.dtype) -> None:
    for group in optimizer.param_groups:
        device = _group_device(group)
        group_keys = list(keys)
        if (_BETAS in keys and "lr" not in keys and group.get("foreach") is None
                and not group.get("capturable") and not group.get("fused")):
            # torch's adam() takes its foreach path for CUDA parameters unless lr is a tensor,
            # and that path refuses a tensor beta1 with capturable=False: a tensor lr (its
            # value unchanged) keeps the group on the single-tensor path.
            group_keys.append("lr")
        for key in group_keys:
            if key == _BETAS:
                betas = group[_BETAS]
                if not isinstance(betas[0], Tensor):
                    b0 = torch.tensor(float(betas[0]), dtype=dtype, device=device)
                    group[_BETAS] = (b0, *betas[1:])
            elif not isinstance(group[key], Tensor):
                group[key] = torch.tensor(float(group[key]), dtype=dtype, device=device)


# -- tensors survive optimizer.load_state_dict --------------------------------------------------
#
# torch's Optimizer.load_state_dict replaces every param group with the saved one: a tensor lr or
# betas[0] becomes a new object (a CUDA graph captured before still reads the old one, which
# nobody fills any more) on the device it was saved from (a checkpoint loaded with
# map_location="cpu" leaves it on the CPU beside CUDA parameters, where a captured step reads it
# once, at capture). Two hooks put the old objects back, filled with the loaded values.

# By the optimizer's id, from the pre-hook to the post-hook of one load: an optimizer that
# cannot be hashed (an __eq__ of its own) failed a WeakKeyDictionary's, a bug bash. (An entry a
# failed load left is overwritten by the next load's pre-hook before any read, and dropped
# when the optimizer goes.)
_HELD: dict[int, list[tuple[int, str, Tensor]]] = {}


def _held_value(group: Mapping[str, Any], key: str) -> object:
    return group[_BETAS][0] if key == _BETAS else group.get(key)


def _hold_tensors(optimizer: Optimizer, state_dict: Any) -> None:
    """Load pre-hook: remember the tensor ``lr`` / ``betas[0]`` objects of every group."""
    held = []
    for i, group in enumerate(optimizer.param_groups):
        for key in TENSORIZABLE:
            if key in group and isinstance(value := _held_value(group, key), Tensor):
                held.append((i, key, value))
    _HELD[id(optimizer)] = held


def _put_tensors_back(optimizer: Optimizer) -> None:
    """Load post-hook: fill the remembered tensors with the loaded values (a tensor from any
    device or dtype, or a number) and put them back into the groups."""
    held = _HELD.pop(id(optimizer), [])
    groups = optimizer.param_groups
    filled: dict[int, float] = {}  # id of a tensor -> the value an earlier group put in it
    with torch.no_grad():
        for i, key, tensor in held:
            group = groups[i]
            loaded = _held_value(group, key)
            if loaded is tensor:
                continue
            if isinstance(loaded, Tensor) and loaded.numel() == 1:
                value = float(loaded.detach().reshape(()).to("cpu", torch.float64))
            elif is_number(loaded):
                value = float(loaded)  # type: ignore[arg-type]
            else:
                continue  # not a value this tensor can hold: leave what was loaded
            if filled.get(id(tensor), value) != value:
                # Groups that shared one tensor (the optimizer's default, given to every group
                # that left the key out) were saved with different values: one tensor cannot
                # hold both, so this group gets a tensor of its own, as torch gives it a float.
                tensor = tensor.detach().clone()
            tensor.fill_(value)
            filled.setdefault(id(tensor), value)
            if key == _BETAS:
                betas = group[_BETAS]
                group[_BETAS] = type(betas)((tensor, *betas[1:]))
            else:
                group[key] = tensor
            if (isinstance(optimizer, _ADAM_FAMILY) and group.get("foreach")
                    and not group.get("capturable") and not group.get("fused")):
                # A checkpoint of an optimizer built with foreach=True elsewhere: torch's
                # foreach step refuses the tensor ("lr as a Tensor is not supported for
                # capturable=False and foreach=True", a bug bash), which construction refuses.
                log.info("tensors=True: %s param group %d loaded foreach=True, set to False "
                         "(its step refuses a tensor %s otherwise)", type(optimizer).__name__,
                         i, key)
                group["foreach"] = False


def _keep_tensors_across_loads(optimizer: Optimizer) -> None:
    """Register the two hooks, once, on ``optimizer`` and on each optimizer it wraps that has
    torch's hooks: accelerate's wrapper, which never runs ``Optimizer.__init__``, has none, and
    its ``load_state_dict`` is the wrapped optimizer's. A ``ZeroRedundancyOptimizer`` copies
    the loaded groups over its own after its hooks ran: its ``load_state_dict`` is wrapped."""
    for opt in held_optimizers(optimizer):
        registered = getattr(opt, "_optimizer_load_state_dict_post_hooks", None)
        if registered is None or getattr(opt, "_optimizer_load_state_dict_pre_hooks",
                                         None) is None:
            continue
        if any(hook is _put_tensors_back for hook in registered.values()):
            continue
        opt.register_load_state_dict_pre_hook(_hold_tensors)
        opt.register_load_state_dict_post_hook(_put_tensors_back)
        # (an entry a failed load left goes with the optimizer: keyed by id, it outlived it,
        # holding its group tensors, a review)
        weakref.finalize(opt, _HELD.pop, id(opt), None)
        if _is_zero(opt):
            opt.load_state_dict = _ZeroLoad(opt)  # type: ignore[method-assign]


def _is_zero(optimizer: Optimizer) -> bool:
    """Whether ``optimizer`` is a ``ZeroRedundancyOptimizer`` (by name: importing
    torch.distributed.optim to check is slow, and fails on a torch built without it)."""
    return any(k.__name__ == "ZeroRedundancyOptimizer"
               and k.__module__.startswith("torch.distributed.optim")
               for k in type(optimizer).__mro__)


class _ZeroLoad:
    """A ``ZeroRedundancyOptimizer``'s ``load_state_dict``, then the tensors ``tensors=True``
    made put back once more: after its hooks ran, torch's copies the loaded groups' values over
    its own and into its shard's, which left floats (or the checkpoint's tensors) in place of
    the tensors (a bug bash). It holds the optimizer weakly: a bound method kept it, its
    parameters and state alive past ``del`` until the cyclic GC ran (a bug bash)."""

    __slots__ = ("optimizer",)

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = weakref.ref(optimizer)

    def __call__(self, state_dict: Any) -> None:
        opt: Any = self.optimizer()
        assert opt is not None  # (called through the optimizer, which holds this)
        _hold_tensors(opt, state_dict)
        held = _HELD[id(opt)]
        type(opt).load_state_dict(opt, state_dict)
        _HELD[id(opt)] = held
        _put_tensors_back(opt)
        type(opt)._sync_param_groups(opt.param_groups, opt.optim.param_groups)


def _scalar(value: object) -> object:
    """``value``'s number where it is a 0-dim numpy array or tensor (``.item()``), else
    ``value``."""
    if getattr(value, "ndim", None) == 0 and callable(getattr(value, "item", None)):
        return value.item()  # type: ignore[attr-defined]
    return value


def _number(key: str, step: int, value: object) -> float:
    """A schedule's value as a float: a numpy one too (written as it was, it went into the
    groups and the optimizer's state_dict, which torch.load(weights_only=True) then refused; a
    float32 warned of an overflow at every step: a bug bash); anything else named."""
    if type(value) is float:
        return value
    value = _scalar(value)  # (a 0-d array: np.where's, a review; a 0-d tensor)
    if is_number(value):
        return float(value)  # type: ignore[arg-type]
    raise TypeError(
        f"{key}: the schedule gives {value!r} ({type(value).__name__}) at step {step}, not a "
        "number: a schedule's _value(step) returns a float (a forgotten return gives None)")


def _write(groups: Sequence[dict[str, Any]], slot: str, value: float,
           mults: Sequence[float]) -> None:
    """``value`` times each group's multiplier into ``slot``: in place where the group holds a
    tensor (``betas[0]`` of a tensor ``betas``, or the slot itself), else as a float."""
    if slot == _BETAS:
        # zip without strict=: the lengths are the caller's check (strict= costs ~0.1 µs).
        for group, m in zip(groups, mults):  # noqa: B905
            betas = group[_BETAS]
            b0 = betas[0]
            if isinstance(b0, Tensor):
                b0.fill_(value * m)
            else:
                group[_BETAS] = (value * m, *betas[1:])
    else:
        write_scaled(groups, slot, value, mults)


def _first_difference(key: str, saved: object, current: Sequence[float]) -> str:
    """Where a saved run's multipliers for ``key`` differ from ``current``, in words: all of
    both where they are short, else the first group that differs and how many do (a bug
    bash: 2,000 groups' lists made an error of 20,000 characters that named no group)."""
    if (not isinstance(saved, list | tuple) or len(saved) != len(current)
            or len(current) <= BRIEF_LIMIT):
        said = brief(saved) if isinstance(saved, list | tuple) else repr(saved)
        return f"{key}: saved {said}, current {brief(list(current))}"
    differ = [i for i, (a, b) in enumerate(zip(saved, current, strict=True))
              if not _close([a], [b])]
    first = differ[0] if differ else 0
    more = (f" ({len(differ) - 1} more group{'s' * (len(differ) != 2)} differ"
            f"{'s' * (len(differ) == 2)})" if len(differ) > 1 else "")
    return (f"{key}'s multiplier of group {first} of {len(current)} saved {saved[first]!r}, "
            f"current {current[first]!r}{more}")


class ParamScheduler:
    """Set param-group hyper-parameters from schedules, once per optimizer step.

    Call :meth:`step` after every ``optimizer.step()``. Building the scheduler writes the step-0
    values at once (as torch's schedulers do); after ``n`` calls of :meth:`step` the groups hold
    the values of step ``n``.

    Args:
        optimizer: any ``torch.optim.Optimizer``; a schedule of ``lr`` on ``Rprop`` is a
            ``ValueError`` (Rprop reads its ``lr`` once, as each parameter's first step size).
        lr: learning-rate schedule (per optimizer step), or a number for a constant.
        momentum: ``group["momentum"]`` (SGD, RMSprop) or ``betas[0]`` (Adam-type).
        weight_decay: ``group["weight_decay"]``.
        tensors: first turn the driven ``lr`` and Adam's ``betas[0]`` into 0-dim tensors
            (:func:`tensorize_hyperparams`), so a compiled ``optimizer.step()`` does not
            recompile; they stay the same objects across ``optimizer.load_state_dict``. Other
            keys stay floats, and so does LBFGS's ``lr`` (LBFGS keeps it as its last step
            size, which an in-place fill would rewrite). With a moving ``momentum`` on
            SGD/RMSprop it also sets ``foreach=None`` groups to ``foreach=False`` (their
            foreach step recompiles at every momentum value) and refuses ``foreach=True``;
            ``nesterov=True`` is warned of, and so is a moving ``weight_decay`` on torch's
            optimizers that add it to the gradient (SGD, Adam, ...: every value recompiles).
        multipliers: ``{key: [m_0, m_1, ...]}``, one number per param group (a list, tuple,
            or 1-D numpy array or tensor): group ``i`` gets ``schedule(step) * m_i``. Keys left
            out get the default: for ``momentum`` 1.0, for any other key ``group_i[key] /
            group_0[key]`` at construction (1.0 when all are 0), so discriminative learning
            rates keep their ratios.
        **other_keys: any other numeric param-group key by name, e.g. ``eps=1e-6``.

    Past the end of a schedule the final value is held; the first :meth:`step` beyond a
    schedule's ``total_steps`` warns, once for each end, the shortest first (torch's
    ``OneCycleLR`` raises there).

    Written values must be in the key's range: ``lr`` and ``weight_decay`` >= 0, ``momentum``
    in [0, 1) (times its multipliers), other keys finite. A schedule is checked at construction
    (every step up to 20,000, a sample beyond, the first 1000 of an endless one) and every value
    when it is written.

    Raises:
        TypeError: ``optimizer`` is not an Optimizer; a schedule is neither a Schedule nor a
            number; a multiplier is not a number.
        ValueError: a key is not in the param groups or holds no number; ``momentum`` on an
            optimizer without momentum or betas; bad ``multipliers``; a schedule value out of
            its key's range (also from :meth:`step`); ``tensors=True`` where a key cannot be a
            tensor or, for a moving momentum, SGD/RMSprop with ``foreach=True``.
    """

    # (for a scheduler pickled before it was there: a review saw its step() fail)
    _no_decay: int | None = None

    def __init__(
        self,
        optimizer: Optimizer,
        lr: Schedule | float | None = None,
        momentum: Schedule | float | None = None,
        weight_decay: Schedule | float | None = None,
        *,
        tensors: bool = False,
        multipliers: Mapping[str, Sequence[float] | np.ndarray | Tensor] | None = None,
        **other_keys: Schedule | float,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise not_an_optimizer(optimizer, "its param groups are the wrapper's, which the "
                                              "schedule then drives")
        tensors = boolean("tensors", tensors)  # (numpy's bool too, as strict= takes it)
        self._tensors = tensors  # (the ranges a float32 tensor holds are checked: _check_ranges)
        self.optimizer = optimizer
        name = type(optimizer).__name__
        groups = optimizer.param_groups
        for kw in ("last_epoch", "last_step"):
            if kw not in other_keys or any(kw in g for g in groups):
                continue
            # torch's schedulers take last_epoch to resume, and last_step is our attribute's
            # name (a bug bash): here either read as a param-group key
            raise TypeError(
                f"{kw}={other_keys[kw]!r}: ParamScheduler takes no {kw} (torch's schedulers "
                "resume from last_epoch); its step count is its state: to resume at "
                "step n, make it, then sched.load_state_dict(saved_state) or "
                "sched.load_state_dict({'last_step': n})"
            )
        requested: dict[str, object] = {"lr": lr, "momentum": momentum,
                                        "weight_decay": weight_decay, **other_keys}
        schedules = {k: _as_schedule(k, s) for k, s in requested.items() if s is not None}
        if not schedules:
            raise ValueError("give at least one schedule: lr=, momentum=, weight_decay= or a key")

        # key -> the group slot it writes ("betas" for momentum on Adam-type optimizers)
        slots: dict[str, str] = {}
        for key in schedules:
            if key == "params":
                raise ValueError("params: the parameters are not a hyper-parameter to schedule")
            if key == _BETAS:
                raise ValueError(
                    "betas: a schedule drives one number; use momentum= for betas[0] "
                    "(betas[1] stays as it is)"
                )
            if key == "lr" and any(isinstance(o, torch.optim.Rprop)
                                   for o in held_optimizers(optimizer)):
                raise ValueError(f"lr: {RPROP_LR}")
            if key == "lr" and any(schedule_free(g) and isinstance(g["lr"], Tensor)
                                   for g in groups):
                raise ValueError(f"lr: {name} is a schedule-free optimizer holding a tensor lr: "
                                 f"{SCHEDULE_FREE_LR}; build it with a float lr")
            if key == "lr" and (why := next(filter(None, map(own_lr, groups)), None)):
                raise ValueError(f"lr: {name}'s param groups: {why}, which the schedule then "
                                 "drives")
            if key in _TORCH_SCHEDULER_KEYS and all(type(o).__module__.startswith("torch.optim")
                                                    for o in held_optimizers(optimizer)):
                # (a bug bash: after taking over from OneCycleLR, whose keys these are, a port
                # of its max_momentum= was taken, and the momentum stayed where torch left it)
                meant = _TORCH_SCHEDULER_KEYS[key]
                example = ("momentum=one_cycle_momentum(total_steps, high=..., low=...)"
                           if meant == "momentum" else "lr=one_cycle(max_lr, total_steps)")
                raise ValueError(
                    f"{key}: a key torch's LR schedulers leave in the param groups (a record of "
                    f"their settings), which {name} never reads, so a schedule of it would "
                    f"change nothing; schedule the {meant} itself (e.g. {example})")
            if key == "initial_accumulator_value" and _holds(optimizer, torch.optim.Adagrad):
                raise ValueError(  # (a bug bash: taken, and it changed nothing)
                    "initial_accumulator_value: Adagrad reads it once, from its defaults, as "
                    "each parameter's state is made, so a schedule of it would change nothing")
            if key == "lr" and _holds(optimizer, torch.optim.LBFGS) and any(
                    isinstance(g.get("lr"), Tensor) for g in groups):
                warnings.warn(f"lr: {LBFGS_TENSOR_LR}; build the {name} with a float lr",
                              SuperconvergeWarning, stacklevel=2)
            slot = _momentum_slot(optimizer) if key == "momentum" else key
            missing = [i for i, g in enumerate(groups) if slot not in g]
            if missing:
                # (the keys of a group that lacks it: group 0's named the very key, in a
                # group a ZeroRedundancyOptimizer added with its defaults, lr alone: a bug bash)
                added = (f"; a group added with add_param_group takes the keys it is not given "
                         f"from {type(optimizer).__name__}'s defaults: give it {slot!r} there"
                         if slot in groups[0] else "")
                raise ValueError(
                    f"{key}: {name} param group(s) {brief(missing)} have no {slot!r} "
                    f"hyper-parameter; group {missing[0]}'s keys: "
                    f"{_group_keys(optimizer, missing[0])}{added}"
                )
            for g in groups:
                value = g[slot][0] if slot == _BETAS else g[slot]
                _check_numeric(key, f"{slot}[0]" if slot == _BETAS else slot, value, name)
                if type(value) is int and key not in _REAL_KEYS:  # (a bug bash: a float
                    # 5.0 failed Muon's range(ns_steps) far from here)
                    raise ValueError(
                        f"{key}: {name}'s param groups hold {key}={value}, an int: a count "
                        "(as Muon's ns_steps or LBFGS's max_iter are), which the float values "
                        "of a schedule would break; if it is a real number, build the "
                        f"{name} with it as a float ({float(value)!r})")
            slots[key] = slot

        _warn_cycles_differ(schedules)
        self._ranges = _ranges(optimizer, schedules)
        # (None, not anything falsy: an array's truth was numpy's error, and 0 or [] was taken)
        given = {} if multipliers is None else multipliers
        self._multipliers = self._resolve_multipliers(schedules, slots, given)
        before = vars(optimizer).get(_LAST_MULTIPLIERS, {})
        if "momentum" in schedules and "momentum" not in given:
            held = [as_float(_held_value(g, slots["momentum"])) for g in groups]
            default = None
            defaults = getattr(optimizer, "defaults", {})
            if "momentum" in before and slots["momentum"] in defaults:
                # A scheduler of ours drove momentum before: the groups hold its last value,
                # beside a group added since at the optimizer's default (the unfreezing recipe,
                # a bug bash), which is no momentum of its own; one given is (a review).
                default = as_float(_held_value(defaults, slots["momentum"]))
            if len({h for h in held if h != default}) > 1:
                self._warn_momenta_differ(held, default)
        # Keys whose multipliers were derived from the groups' values (not given, not momentum):
        # a resumed run takes the saved ones, since the groups then hold a later step's values.
        self._inferred = {k for k in schedules if k not in given and k != "momentum"}
        # ... of which these had no ratio to derive: every group held 0 (a cosine's last step).
        # Read before tensors=True turns the values into tensors (reading those would sync).
        self._undefined = {k for k in self._inferred
                           if all(as_float(g[slots[k]]) == 0 for g in groups)}
        # A scheduler built again on an optimizer whose last schedule ended at 0 (a notebook
        # cell run again) finds no ratios in the groups, where the last scheduler of this
        # optimizer had some: said at the first step, unless a load_state_dict (a resumed run)
        # puts the saved ones back before it. That last scheduler's multipliers are kept on
        # the optimizer object (not in its state_dict); zeros it was built with never warn.
        self._unresolved: dict[str, list[float]] = {
            k: list(before[k]) for k in sorted(self._undefined)
            if len(before.get(k, ())) == len(groups) and len(set(before[k])) > 1}
        # Taking over from a torch scheduler that ended at 0: torch left each group's starting
        # LR in "initial_lr", whose ratios are the ones lost.
        self._from_torch = False
        if "lr" in self._undefined and "lr" not in before:
            ratios = initial_lr_ratios(groups)
            if ratios is not None:
                self._unresolved["lr"] = ratios
                self._from_torch = True
        # A no-decay group decayed alike, said at the first step (a review: a resumed run's
        # load_state_dict puts its saved multipliers back first)
        self._no_decay = _no_decay_group(groups) if (
            "weight_decay" in self._undefined and "weight_decay" not in self._unresolved
        ) else None

        self._schedules = schedules
        self._slots = slots
        self._refuse_shared_tensors()
        # RMSprop(s) whose momentum is driven, also inside a wrapper (ZeroRedundancyOptimizer)
        self._rmsprops = tuple(o for o in held_optimizers(optimizer)
                               if isinstance(o, torch.optim.RMSprop)) if (
            "momentum" in schedules) else ()
        self._rmsprop_momentum = bool(self._rmsprops)
        # the state dicts buffers were last given in: optimizer.load_state_dict makes new ones
        self._buffered: tuple[object, ...] = ()
        self._build_drivers()
        self._n_groups = len(groups)
        self._seen_groups(groups)
        ends = [s.total_steps for s in schedules.values() if s.total_steps is not None]
        # step() may be called total_steps times (the last call follows the last optimizer step
        # and its value is never used, as with torch); a call beyond that warns, once for each
        # end: this is the next end to warn of.
        self._warn_after: float = min(ends) if ends else math.inf
        self._last: dict[str, float] = {}
        # Group 0 as this scheduler last wrote it: a step that finds another float there for
        # a driven key than it wrote (another scheduler stepping) warns, once. (A
        # tensor, filled in place, is not read: that would wait for the device.) A new group
        # dict is not checked: optimizer.load_state_dict makes new ones, and a run that loads
        # the optimizer alone means its new schedule to overwrite the loaded values.
        self._wrote_in: dict[str, Any] | None = None
        self._overwrites_warned = False
        self._unsaved_warned = False  # (a schedule state_dict() cannot save: said once)
        self._check_ranges()
        self._warn_capped_lr()
        self._warn_decayed_lr()
        _wrap_the_eager_step()

        # Only now, with every check passed, is the optimizer changed: a refused scheduler
        # leaves it as it was.
        if tensors:
            wanted = [s for s in dict.fromkeys(slots.values()) if s in TENSORIZABLE]
            if _BETAS in wanted and not _holds(optimizer, _ADAM_FAMILY):
                log.info("tensors=True: %s's betas stay floats (torch takes tensor betas in "
                         "Adam and AdamW only)", name)
                wanted.remove(_BETAS)
            if "lr" in wanted and _holds(optimizer, torch.optim.LBFGS):
                log.info("tensors=True: %s's lr stays a float (%s)", name, LBFGS_TENSOR_LR)
                wanted.remove("lr")
            for key in wanted:
                _check_tensorizable(optimizer, key, "tensors=True")
            single = self._single_tensor_momentum_groups()
            self._warn_coupled_weight_decay()
            _tensorize(optimizer, wanted)
            for group in single:
                group["foreach"] = False
            # optimizer.load_state_dict puts the saved groups back, foreach=None included: a
            # hook on each optimizer whose load runs torch's hooks (a wrapper's may not).
            if single:
                _keep_single_tensor(optimizer, single)
                log.info("tensors=True: %s's foreach=None set to False in %d param group(s), "
                         "so a compiled step follows the cycling momentum without recompiling",
                         name, len(single))
        self._step = 0
        self._apply(0)
        self._record_multipliers()

    # -- construction helpers ---------------------------------------------------------------

    def _single_tensor_momentum_groups(self) -> list[dict[str, Any]]:
        """With ``tensors=True`` and a moving momentum on SGD/RMSprop: the param groups to put
        on the single-tensor path (``foreach=None``); an explicit ``foreach=True`` is refused,
        and SGD's Nesterov step, which no path helps, is warned of."""
        sched = self._schedules.get("momentum")
        held = held_optimizers(self.optimizer)
        if sched is None or not _moves(sched):
            return []
        muon = getattr(torch.optim, "Muon", None)
        if muon is not None and any(isinstance(o, muon) for o in held):
            warnings.warn(
                "Muon hands the momentum to torch as a Python number (momentum_buffer.lerp_): "
                "a compiled step recompiles at every new value of a cycling momentum until "
                "dynamo's recompile limit, then runs eager; for a compiled step keep momentum "
                "constant", SuperconvergeWarning, stacklevel=3)
        kind = next((o for o in held if isinstance(o, _FOREACH_MOMENTUM)), None)
        if kind is None:
            return []
        name = type(kind).__name__
        groups: list[dict[str, Any]] = []
        seen: set[int] = set()  # ids of the groups in it
        # The groups of the optimizer and of those it wraps: accelerate's wrapper shares its
        # optimizer's list; a ZeroRedundancyOptimizer's own groups are copied into its shard's.
        for opt in reversed(held):  # (the wrapped optimizer named first, as above)
            for i, g in enumerate(opt.param_groups):
                if g.get("fused") or id(g) in seen:
                    continue
                if g.get("foreach") and g.get("nesterov"):  # (a bug bash: its advice,
                    # foreach=False, then warned that nesterov recompiles anyway)
                    raise ValueError(
                        f"tensors=True: {type(opt).__name__} param group {i} has nesterov=True "
                        "(and foreach=True), whose step hands the cycling momentum to torch as "
                        "a Python number whichever foreach: a compiled step would recompile at "
                        "every new value until dynamo's limit, then run eager. Build the "
                        f"{type(opt).__name__} with nesterov=False (and foreach=False or "
                        "None), or keep momentum constant")
                if g.get("foreach"):
                    raise ValueError(
                        f"tensors=True: {type(opt).__name__} param group {i} has foreach=True, "
                        "whose step hands the cycling momentum to torch as a Python number: a "
                        "compiled step would recompile at every new value until dynamo's "
                        f"limit, then run eager. Build the {name} with foreach=False or None "
                        "(tensors=True then sets it to False), or keep momentum constant"
                        f"{_LOADED_FOREACH}"
                    )
                if "foreach" in g and g["foreach"] is None:
                    groups.append(g)
                    seen.add(id(g))
        if any(g.get("nesterov") for o in held for g in o.param_groups):
            warnings.warn(
                f"{name}(nesterov=True) hands the momentum to torch as a Python number "
                "(alpha=momentum): a compiled step recompiles at every new value of a cycling "
                "momentum until dynamo's recompile limit, then runs eager; for a compiled step "
                "keep momentum constant or use nesterov=False",
                SuperconvergeWarning, stacklevel=3,
            )
        return groups

    def _warn_coupled_weight_decay(self) -> None:
        """With ``tensors=True``: a moving weight decay on torch's optimizers that add it to the
        gradient (SGD, Adam, RMSprop, ...) recompiles a compiled step at every value (it is
        ``alpha=weight_decay``), where a decoupled one (AdamW, Adafactor,
        ``decoupled_weight_decay=True``) compiles once more; weight decay stays a float, as
        torch takes it (an audit)."""
        sched = self._schedules.get("weight_decay")
        if sched is None or not _moves(sched):
            return
        # (torch's that add it to the gradient, by name: Adafactor and Muon decay the weights
        # as AdamW does, one graph more, a review; each optimizer on its own: an SGD a wrapper
        # steps beside an AdamW was not warned of, a review)
        coupled = next((o for o in held_optimizers(self.optimizer)
                        if isinstance(o, _COUPLED_DECAY) and not isinstance(o, torch.optim.AdamW)
                        and not all(g.get("decoupled_weight_decay") for g in o.param_groups)),
                       None)
        if coupled is not None:
            warnings.warn(
                f"{type(coupled).__name__} adds weight_decay to the gradient as a Python number "
                "(alpha=weight_decay): a compiled step recompiles at every new value of a "
                "scheduled weight decay until dynamo's recompile limit, then runs eager; for a "
                "compiled step keep weight_decay constant (Smith's recipe does), or use AdamW "
                "(decoupled decay: one more graph)", SuperconvergeWarning, stacklevel=3)

    @staticmethod
    def _warn_momenta_differ(held: list[float], default: float | None) -> None:
        """Momentum's multipliers are 1 unless given (a ratio of momenta means nothing), so
        groups built with different momenta all take the schedule's: said, with the
        multipliers that keep them apart (a bug bash: a group built without momentum got it
        without a word, where a group without weight decay keeps none). Each is a group's
        momentum over the highest, of the groups that do not hold ``default`` (the
        optimizer's, in a group added after a scheduler of ours drove momentum), which take
        the schedule's: 1 (a bug bash: over all, the new group's 0.9 beside the schedule's
        0.89 in group 0 advised 0.99 for group 0, off the schedule)."""
        top = max((h for h in held if h != default), default=0.0)
        if not top > 0:
            return
        keep = [1.0 if h == default else float(f"{h / top:.6g}") for h in held]
        # (in words where a list would be long: 2,000 groups' made a warning of 20,000
        # characters, a bug bash)
        apart = (f"{keep}" if len(held) <= BRIEF_LIMIT else
                 f"[each group's momentum / {top:.6g}"
                 + (f", 1.0 for one at {default:.6g}" if default in held else "") + "]")
        same = f"{[1.0] * len(held)}" if len(held) <= BRIEF_LIMIT else f"[1.0] * {len(held)}"
        warnings.warn(
            f"momentum: the param groups hold different momenta ({brief(held)}), and the "
            "schedule gives every group the same value (momentum's multipliers are 1 unless "
            f"given); pass multipliers={{'momentum': {apart}}} to keep them apart, or "
            f"{{'momentum': {same}}} to say the same value is meant",
            SuperconvergeWarning, stacklevel=3)

    def _shared_conflicts(
        self, multipliers: Mapping[str, Sequence[float]]
    ) -> list[tuple[str, list[int]]]:
        """``(key, groups)`` where groups that hold one tensor object for a driven key would be
        given different ``multipliers``."""
        out = []
        for key, slot in self._slots.items():
            if key not in multipliers:
                continue
            sharing: dict[int, list[int]] = {}
            for i, group in enumerate(self.optimizer.param_groups):
                value = _held_value(group, slot)
                if isinstance(value, Tensor):
                    sharing.setdefault(id(value), []).append(i)
            mults = multipliers[key]
            out += [(key, ids) for ids in sharing.values() if len({mults[i] for i in ids}) > 1]
        return out

    def _refuse_shared_tensors(self, context: str = "") -> None:
        """Groups that hold one tensor object for a driven key read whatever was written last,
        so they cannot follow different multipliers. torch's ``add_param_group`` fills the
        optimizer's default into every group that leaves the key out, so
        ``AdamW(groups, lr=torch.tensor(1e-3))`` gives all its groups one ``lr`` tensor."""
        for key, ids in self._shared_conflicts(self._multipliers)[:1]:
            raise ValueError(context + self._sharing_said(key, ids, self._multipliers[key]) + (
                f"Give each group a tensor of its own ({{'params': ..., "
                f"{self._own_tensor_example(key)}}}) or one multiplier"))

    def _sharing_said(self, key: str, ids: list[int], mults: Sequence[float]) -> str:
        slot = self._slots[key]
        held = f"{slot}[0]" if slot == _BETAS else slot
        return (f"{key}: param groups {brief(ids)} hold one and the same {held} tensor (torch "
                f"gives the optimizer's default object to every group that leaves {slot!r} "
                f"out), so they cannot follow different multipliers "
                f"{brief([mults[i] for i in ids])}: each would get the last one written. ")

    def _own_tensor_example(self, key: str) -> str:
        slot = self._slots[key]
        return (f"'{slot}': (torch.tensor(0.9), torch.tensor(0.999))" if slot == _BETAS
                else f"'{slot}': torch.tensor(...)")

    def _build_drivers(self) -> None:
        """The flat tuple the hot loop reads. It calls ``Schedule._value`` with the step clamped
        to the last one, skipping ``__call__``'s argument checks (the step is a count this class
        keeps, always an int >= 0), and checks the value against the key's range, scaled by the
        largest multiplier."""
        drivers = []
        for key, s in self._schedules.items():
            mults = tuple(self._multipliers[key])
            low, high, _ = self._ranges[key]
            top = max(mults, default=0.0)
            if top > 0:  # (a value whose scaled one overflows to inf: past float's largest)
                high = (high if math.isfinite(high) else sys.float_info.max) / top
                low = low if math.isfinite(low) else -sys.float_info.max / top
            drivers.append((key, s._value, _last_index(s), self._slots[key], mults, low, high))
        self._drivers = tuple(drivers)
        # (key, slot, group) of each group after group 0 (checked anyway) that a multiplier of 0
        # keeps at 0, frozen: a value written into one, to unfreeze it, would be undone at the
        # next step (a bug bash)
        # (lr's alone, where one unfreezes a layer: a no-decay group's weight decay is held at
        # 0 on purpose, and checked at every step, cost 0.15 us a group, a review)
        self._frozen = tuple(("lr", self._slots["lr"], i) for i, m in enumerate(
            self._multipliers.get("lr", ())) if m == 0 and i) if "lr" in self._schedules else ()

    def _resolve_multipliers(
        self,
        schedules: Mapping[str, Schedule],
        slots: Mapping[str, str],
        given: Mapping[str, Sequence[float] | np.ndarray | Tensor],
    ) -> dict[str, list[float]]:
        groups = self.optimizer.param_groups
        n = len(groups)
        if not isinstance(given, Mapping):
            raise TypeError(
                f"multipliers must be a dict {{key: [one number per param group]}}, got {given!r}"
            )
        unknown = [k for k in given if k not in schedules]
        if unknown:
            raise ValueError(
                f"multipliers: {unknown} are not driven keys; driven: {', '.join(schedules)}"
            )
        out: dict[str, list[float]] = {}
        for key in schedules:
            if key in given:
                ms = given[key]
                if not isinstance(ms, Sequence) and callable(getattr(ms, "tolist", None)) and (
                        getattr(ms, "ndim", None) == 1):
                    ms = ms.tolist()  # a numpy array or tensor (np.geomspace(1, 0.01, n))
                if isinstance(ms, str | bytes) or not isinstance(ms, Sequence):
                    raise TypeError(
                        f"multipliers[{key!r}] must be a list of {n} number{'s' * (n != 1)}, "
                        f"got {ms!r}"
                    )
                if len(ms) != n:
                    raise ValueError(
                        f"multipliers[{key!r}] needs one number per param group ({n}), "
                        f"got {len(ms)}: {brief(list(ms))}"
                    )
                for m in ms:
                    if not is_number(m):
                        raise TypeError(f"multipliers[{key!r}] must hold numbers, got {m!r}")
                    try:
                        f = float(m)
                    except OverflowError:  # (an int past float's range: a bug bash)
                        raise ValueError(f"multipliers[{key!r}] must be finite and >= 0, got "
                                         f"{_describe_huge(m)}") from None
                    if not (math.isfinite(f) and f >= 0):
                        raise ValueError(
                            f"multipliers[{key!r}] must be finite and >= 0, got {list(ms)}"
                        )
                out[key] = [float(m) for m in ms]
            elif key == "momentum":
                out[key] = [1.0] * n
            else:
                out[key] = ratios_to_group_0(
                    self.optimizer, slots[key],
                    fix=f"pass multipliers={{{key!r}: [one number per group]}}",
                    nonnegative=self._ranges[key][0] >= 0,
                )
        return out

    def _seen_groups(self, groups: list[dict[str, Any]]) -> None:
        """Note the optimizer's groups as they are now, for :meth:`_check_groups`: the last
        dict (a group added or removed changes it, or their count), and each group's
        parameters, by id (a reference would keep a replaced parameter alive)."""
        self._tail: dict[str, Any] | None = groups[-1]
        self._group_params: list[set[int]] | None = [{id(p) for p in g["params"]}
                                                     for g in groups]

    def __getstate__(self) -> dict[str, Any]:
        # A copy's (copy.deepcopy, a pickle) parameters are other objects, some perhaps at the
        # ids of the originals (a review: refused at random after a reload): noted again at
        # its first step.
        return {**self.__dict__, "_tail": None, "_group_params": None}

    def _check_groups(self, groups: list[dict[str, Any]]) -> None:
        """Refuse groups that are not those this scheduler was built on: more or fewer, or one
        replaced by another group (a head swapped: popped and added, the count unchanged, took
        the old group's multiplier over its own lr, unsaid, a bug bash). New dicts of the same
        parameters (``optimizer.load_state_dict`` makes them) are the same groups; a copy's
        (``copy.deepcopy``, a pickle) are noted at its first step."""
        restart = ("to go on at this step rather than restart the schedule, "
                   "new.load_state_dict(old.state_dict(), strict=False)")
        if len(groups) != self._n_groups:
            what = ("after add_param_group()" if len(groups) > self._n_groups
                    else "after removing a param group")
            raise RuntimeError(
                f"the optimizer has {len(groups)} param groups but had {self._n_groups} when "
                f"this ParamScheduler was built; build a new one {what}, and {restart}")
        new = [bool(ids) and not any(id(p) in ids for p in g["params"])
               for g, ids in zip(groups, self._group_params or [], strict=False)]
        if any(new):
            i = new.index(True)
            raise RuntimeError(
                f"param group {i} holds none of the parameters it held when this "
                "ParamScheduler was built (a group removed and another added): its lr would "
                "be set from the old group's multiplier, not its own; build a new "
                f"ParamScheduler after replacing a group, and {restart}")
        self._seen_groups(groups)

    # -- the hot path -----------------------------------------------------------------------

    def _apply(self, step: int) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != self._n_groups or groups[-1] is not self._tail:  # (a group added or
            # removed changes one of them)
            self._check_groups(groups)
        last = self._last
        g0 = groups[0]
        if g0 is not self._wrote_in:
            # New group dicts (optimizer.load_state_dict): a checkpoint's groups may share one
            # tensor that the built groups did not (a bug bash: the last group's value won,
            # unsaid). Nothing is written yet at this step.
            self._refuse_shared_tensors(
                "the optimizer's param groups are new dicts (optimizer.load_state_dict, of a "
                "checkpoint whose groups shared one tensor?): ")
            self._wrote_in = g0
        elif not self._overwrites_warned:  # inline: ~0.1 µs a key and step
            for key, _, _, slot, mults, _, _ in self._drivers:
                now = g0[slot]
                if type(now) is tuple or type(now) is list:  # betas (a list from a checkpoint)
                    now = now[0]
                # (a float first: isinstance costs ~40 ns a key and step more)
                if (type(now) is float or not isinstance(now, Tensor)) and (
                        now != last[key] * mults[0]):
                    self._warn_overwritten(key, now, last[key] * mults[0])
                    break
            else:
                # (few groups, and none in most runs; not after another writer was said: a
                # second scheduler with complementary multipliers writes into these too)
                if self._frozen:
                    self._check_frozen(groups)
        for key, value_at, last_index, slot, mults, low, high in self._drivers:
            try:
                value = value_at(step if step < last_index else last_index)
                if type(value) is not float:  # (a schedule of the user's: numpy's, None)
                    value = _number(key, step, value)
            except BaseException:  # a schedule's own function raised (a user's scale_fn)
                self._rewrite(key)  # as for a refused value: the keys before it go back
                raise
            if not low <= value < high:  # also NaN
                # A refused step leaves the groups as they were, not a new lr beside the old
                # momentum: the keys already written get the current step's values back.
                self._rewrite(key)
                self._out_of_range(key, step, value, mults)
            if self._rmsprop_momentum and key == "momentum" and value > 0 and (
                    not last.get(key) or self._states_replaced()):
                self._rmsprop_buffers()
            before = last.get(key)
            last[key] = value
            try:
                _write(groups, slot, value, mults)
            except RuntimeError as exc:  # a value a tensor cannot hold (float32's overflow, past
                # the steps checked at construction): the groups as they were (a fuzz: group 0
                # had the new value, group 1 the old), and the error in the key's words
                if before is not None:
                    last[key] = before
                    _write(groups, slot, before, mults)
                self._rewrite(key)
                over = next((f" (x{m:.12g} in param group {i}: {value * m:.4g})" if m != 1 else
                             f" (in param group {i})" for i, (g, m) in enumerate(zip(
                                 groups, mults, strict=True))
                             if isinstance(held := _held_value(g, slot), Tensor)
                             and held.is_floating_point()
                             and abs(value * m) > torch.finfo(held.dtype).max), "")
                # (the group whose tensor cannot hold its value: a review, where the first
                # group past float32's largest was named, a float of its own)
                raise ValueError(f"{key}: cannot write {value!r} at step {step}{over} into its "
                                 f"param groups' tensors: {str(exc).splitlines()[0]}") from exc

    def _warn_overwritten(self, key: str, now: float, expected: float) -> None:
        warnings.warn(
            f"ParamScheduler: param group 0 holds {key}={now!r} where this scheduler last wrote "
            f"{expected!r}: something else writes {key} between its steps (a torch LR scheduler "
            "still stepped, a second ParamScheduler on this optimizer, your own code). Each "
            f"step() overwrites {key}, so whichever writes last wins, and get_last_lr() gives "
            "this scheduler's values. Step one scheduler per optimizer (a key follows one "
            "schedule, scaled per group by multipliers). This warning is shown once.",
            SuperconvergeWarning,
            stacklevel=4,
        )
        self._overwrites_warned = True

    def _check_frozen(self, groups: list[dict[str, Any]]) -> None:
        """Warn, once, where a group whose multiplier is 0 holds a number other than the 0 this
        scheduler wrote: someone wrote into it to unfreeze it, which the next write undoes."""
        for key, slot, i in self._frozen:  # (lr's: no betas pair to look into)
            now = groups[i][slot]
            if not isinstance(now, Tensor) and now != 0:  # (a tensor would be read back)
                self._frozen = ()
                shown = [float(f"{m:.12g}") for m in self._multipliers[key]]
                first, m0 = groups[0][slot], self._multipliers[key][0]
                # The multiplier that gives the group the value written, at the schedule's
                # value now (group 0's over its own multiplier, a review), ready to paste (a bug
                # bash: pasted as printed, the 0 kept it frozen)
                if (not isinstance(first, Tensor) and isinstance(now, numbers.Real)
                        and first != 0 and m0 != 0 and math.isfinite(first)
                        and math.isfinite(now)):
                    value = first / m0
                    shown[i] = float(f"{now / value:.6g}")
                    how = (f"multiplier {shown[i]!r} for group {i} in place of that 0, "
                           f"multipliers={{{key!r}: {brief(shown)}}}, which gives it {now!r} "
                           f"where the schedule stood when it was written ({value:.6g}; it "
                           "follows the schedule after)")
                else:
                    how = (f"its multiplier in place of that 0, in multipliers={{{key!r}: "
                           f"{brief(shown)}}} (its {key} as a share of group 0's)")
                warnings.warn(
                    f"ParamScheduler: param group {i} holds {key}={now!r} where this scheduler "
                    f"last wrote 0.0: its {key} multiplier is 0 (the group held 0 when the "
                    f"scheduler was built, or was given 0), so each step() writes 0.0 back. To "
                    f"unfreeze it, build a new ParamScheduler with {how}, and "
                    "new.load_state_dict(old.state_dict(), strict=False) to go on at this "
                    "step, as docs/param_scheduler.md's unfreezing recipe does. This warning is "
                    "shown once.",
                    SuperconvergeWarning, stacklevel=4)
                return

    def _rewrite(self, until: str) -> None:
        """Write the current step's values again for the driven keys before ``until`` (the
        rare path of a refused step; the hot path pays nothing for it)."""
        groups, last = self.optimizer.param_groups, self._last
        for key, value_at, last_index, slot, mults, _, _ in self._drivers:
            if key == until:
                return
            if key not in last:  # nothing was written before (construction)
                continue
            value = _number(key, self._step, value_at(min(self._step, last_index)))
            last[key] = value
            _write(groups, slot, value, mults)

    def _check_ranges(self) -> None:
        """Refuse at construction a schedule that leaves its key's range: every step of a
        schedule up to 20,000 steps, an even sample of a longer one (the hot path checks each
        value it writes anyway), the first 1000 steps of an endless one."""
        for key, value_at, last_index, _, mults, low, high in self._drivers:
            steps = _checked_steps(last_index)
            # (SGD's alone: Muon's groups hold nesterov=True too, and take no dampening)
            nesterov = [i for i, g in enumerate(self.optimizer.param_groups)
                        if g.get("nesterov")] if key == "dampening" and _holds(
                            self.optimizer, torch.optim.SGD) else []
            # A value held in a tensor narrower than a float (float32's, which tensors=True
            # makes, or bfloat16's), as the tensor holds it, in each such group at its own
            # multiplier (another group's, larger, refused a review's schedule that fits):
            # past its largest number fill_ failed mid-step with torch's bare RuntimeError, and
            # a momentum of 0.999 in bfloat16, 0.99999998 in float32, is 1.0 there, which
            # Adam's step takes (bug bashes: the weights went to NaN).
            narrow = self._narrow_groups(key, mults)
            # (the largest and the highest value only, for the tensors: per step and group it
            # took 100x the time, a review; rounding keeps order, so the highest rounds highest)
            largest = highest = 0.0
            for step in steps:
                value = _number(key, step, value_at(step))
                if not low <= value < high:
                    self._out_of_range(key, step, value, mults)
                largest, highest = max(largest, abs(value)), max(highest, value)
                if nesterov:  # (a bug bash: taken, where torch's SGD constructor refuses it;
                    # a momentum of 0 its step takes, as a group of its own may hold)
                    bad = [i for i in nesterov if value * mults[i] != 0]
                    if bad:
                        raise ValueError(
                            f"{key}: the schedule gives {value!r} at step {step}, but "
                            "SGD(nesterov=True) takes no dampening (its constructor refuses "
                            f"one), in param group(s) {brief(bad)}; {self._schedules[key]!r}")
            failing = [(i, m, dtype, yours) for i, m, dtype, yours in narrow
                       if not largest * abs(m) <= torch.finfo(dtype).max
                       or (key == "momentum" and highest * m >= 0.99 and not float(
                           torch.tensor(highest * m, dtype=dtype)) < high)]
            if failing:  # (the first step that fails, in the first group it fails in)
                self._refuse_narrow(key, value_at, steps, failing)

    def _narrow_groups(self, key: str, mults: Sequence[float]
                       ) -> list[tuple[int, float, torch.dtype, bool]]:
        """``(group, multiplier, dtype, yours)`` of each group that holds ``key`` in a floating
        tensor narrower than a float (one of yours: ``yours`` True), or will (float32, with
        ``tensors=True``, as it makes them: Adam's and AdamW's betas, not LBFGS's lr, a
        review)."""
        slot, out = self._slots[key], []
        made = self._tensors and (
            (slot == "lr" and not _holds(self.optimizer, torch.optim.LBFGS))
            or (slot == _BETAS and _holds(self.optimizer, _ADAM_FAMILY)))
        for i, (g, m) in enumerate(zip(self.optimizer.param_groups, mults, strict=True)):
            held = _held_value(g, slot)
            dtype = held.dtype if isinstance(held, Tensor) else torch.float32 if made else None
            if dtype is not None and dtype.is_floating_point and dtype != torch.float64:
                out.append((i, m, dtype, isinstance(held, Tensor)))
        return out

    def _refuse_narrow(self, key: str, value_at: Callable[[int], float], steps: Iterable[int],
                       failing: list[tuple[int, float, torch.dtype, bool]]) -> None:
        """Raise for the first of ``steps`` whose value a ``failing`` group's tensor cannot
        hold (past its largest number, or a momentum it rounds to 1), in the first such group
        (``(group, multiplier, dtype, yours)``, from :meth:`_narrow_groups`)."""
        high = self._ranges[key][1]
        for step in steps:
            value = float(value_at(step))
            for i, m, dtype, yours in failing:
                times = f" (x{m:.12g} in param group {i})" if m != 1 else ""
                kind = str(dtype).removeprefix("torch.")
                keep = ("make it a float32 tensor or a number" if dtype == torch.bfloat16 else
                        "make it a number or a float64 tensor" if yours else
                        "keep it a number (tensors=False)")
                top = torch.finfo(dtype).max
                if not abs(value * m) <= top:
                    raise ValueError(
                        f"{key}: the schedule gives {value!r} at step {step}{times}, beyond the "
                        f"largest number a {kind} tensor holds ({top:.4g}); {keep}, or lower "
                        "the schedule")
                if key == "momentum" and value * m >= 0.99:
                    rounded = float(torch.tensor(value * m, dtype=dtype))
                    if not rounded < high:
                        raise ValueError(
                            f"{key}: the schedule gives {value!r} at step {step}{times}, which "
                            f"a {kind} tensor holds as {rounded!r}, but {key} must be "
                            f"{self._ranges[key][2]}; {keep}")

    def _warn_capped_lr(self) -> None:
        """Warn of an lr schedule above the cap torch's Adafactor puts on its step size,
        ``min(lr, 1/sqrt(t))`` at its t-th step (a bug bash: the top of a schedule was cut
        without a word), checked at the steps ``_check_ranges`` checks."""
        capped, done = adafactor_groups(self.optimizer)
        driver = next((d for d in self._drivers if d[0] == "lr"), None)
        if not capped or driver is None:
            return
        _, value_at, last_index, _, mults, _, _ = driver
        top, i = max((mults[i], i) for i in capped)
        in_group = f" (x{top:.4g} in param group {i})" if top != 1 else ""
        steps = _checked_steps(last_index)
        at = "at" if isinstance(steps, range) else "by"  # (a long one's: sampled, a docs audit)
        for step in steps:
            value = float(value_at(step))
            if value * top * math.sqrt(done + step + 1) > 1:
                warnings.warn(
                    f"lr: torch's Adafactor steps at min(lr, 1/sqrt(t)) at its t-th step, and "
                    f"the schedule gives {value:.4g}{in_group} {at} step {step} (its step "
                    f"{done + step + 1:.0f}, capped at {1 / math.sqrt(done + step + 1):.4g}): "
                    "from there the schedule's values above that cap are not the ones trained "
                    "at; lower the schedule's peak", SuperconvergeWarning, stacklevel=3)
                return

    def _warn_decayed_lr(self) -> None:
        """Warn that torch's Adagrad with ``lr_decay`` steps below an ``lr`` schedule's values
        (a bug bash: unwarned, as Adafactor's cap had been), where it divides them by more than
        1.1 within the steps ``_checked_steps`` checks."""
        decay, done = adagrad_decay(self.optimizer)
        driver = next((d for d in self._drivers if d[0] == "lr"), None)
        if not decay or driver is None:
            return
        last = done + max(_checked_steps(driver[2]))  # (its last step checked, counted from 1)
        if last * decay > 0.1:
            warnings.warn(
                f"lr: {adagrad_decay_note(decay, done + 1, last + 1)}, not at the schedule's "
                "values; build it with lr_decay=0 to follow the schedule",
                SuperconvergeWarning, stacklevel=3)

    def _out_of_range(self, key: str, step: int, value: float, mults: Sequence[float]) -> None:
        top = max(mults, default=0.0)
        if math.isfinite(value) and not math.isfinite(value * top):
            raise ValueError(
                f"{key}: the schedule gives {value!r} at step {step}, which times the "
                f"multiplier {top:.12g} is past the largest float (inf); {self._schedules[key]!r}")
        accepted = self._ranges[key][2]
        shown = [float(f"{m:.12g}") for m in mults]  # (0.01 / 0.1 is 0.09999999999999999)
        scaled = "" if all(m == 1.0 for m in mults) else f" (times multipliers {brief(shown)})"
        if key == "momentum" and _BETAS in self._slots.values():
            accepted += " (it is Adam's betas[0])"
        raise ValueError(
            f"{key}: the schedule gives {value!r}{scaled} at step {step}, but {key} must be "
            f"{accepted}; {self._schedules[key]!r}"
        )

    def _rmsprop_states(self) -> tuple[object, ...]:
        return tuple(o.state for o in self._rmsprops)

    def _states_replaced(self) -> bool:
        """Whether an RMSprop's state dict is another object than when buffers were last given
        (``optimizer.load_state_dict`` makes a new one); by identity: comparing the dicts by
        value would compare their tensors."""
        return len(self._buffered) != len(self._rmsprops) or any(
            o.state is not seen for o, seen in zip(self._rmsprops, self._buffered, strict=True))

    def _rmsprop_buffers(self) -> None:
        """torch's RMSprop makes a parameter's momentum buffer only if momentum > 0 at its first
        step, and fails (KeyError) if momentum turns positive later, or is positive over a state
        loaded from a run without momentum; give the parameters that stepped without momentum a
        zero buffer, as RMSprop would have made. Done again after ``optimizer.load_state_dict``
        (a new state dict)."""
        for opt in self._rmsprops:
            state = opt.state
            for group in opt.param_groups:
                for p in group["params"]:
                    s = state.get(p)
                    if s and "momentum_buffer" not in s:
                        s["momentum_buffer"] = torch.zeros_like(
                            p, memory_format=torch.preserve_format)
        self._buffered = self._rmsprop_states()

    def _warn_past_end(self, step: int) -> None:
        """Warn of the schedules that ended since the last warning, then wait for the next end:
        once for each end, so a schedule shorter than the run (a ramp meant to hold its value)
        does not use up the warning of a longer one's end (a bug bash: a 1cycle stepped once
        per micro-batch, 4x its length, went unsaid after a weight-decay ramp's end)."""
        # (a bug bash: accelerate's accumulate() loop stepped it per micro-batch, and this said
        # nothing of why)
        ends = [s.total_steps for s in self._schedules.values() if s.total_steps is not None]
        ended = [
            f"{k} (total_steps={s.total_steps})"
            for k, s in self._schedules.items()
            if s.total_steps is not None and self._warn_after <= s.total_steps < step
        ]
        warnings.warn(
            f"ParamScheduler reached step {step} (a count that includes a resumed run's steps, "
            f"if any), past the end of the schedule for {', '.join(ended)}; a schedule holds "
            "its final value past its end (torch's OneCycleLR would raise here). Fine for one "
            "meant to end early (a ramp to hold); for one meant to last the run, size "
            "total_steps in the optimizer steps of the whole run and call step() once per "
            "optimizer step (under gradient accumulation, not once per micro-batch; a loop that "
            "also steps at an epoch's last, partial accumulation, as accelerate's accumulate() "
            "and Lightning do, takes ceil(batches / accumulation_steps) steps an epoch). "
            "This warning is shown once for each end.",
            SuperconvergeWarning,
            stacklevel=3,  # (the caller of step() or load_state_dict())
        )
        self._warn_after = min((e for e in ends if e >= step), default=math.inf)

    def step(self, *given: NoReturn) -> None:
        """Advance one optimizer step and write the new values into the param groups (a step
        that raises writes nothing and does not count). It takes no argument: not torch's old
        ``step(epoch)`` (``load_state_dict({'last_step': n})`` resumes at step ``n``), nor
        ``ReduceLROnPlateau``'s ``step(metric)``.

        Called inside a ``torch.compile``d function (``opt.step(); sched.step()``, as in torch's
        compiled-optimizer recipe), it runs outside the graph: traced, every new value would be
        a constant of the graph, and a recompile. (A ``fullgraph=True`` function cannot hold
        ``opt.step()`` itself: torch's ``Optimizer.step`` breaks the graph around itself.)"""
        if given:  # (a bug bash: Python's "takes 1 positional argument but 2 were given")
            raise TypeError(
                f"ParamScheduler.step() takes no argument, got {brief(given)}: it counts "
                "optimizer steps, one a call (not epochs, nor a metric to watch as "
                "ReduceLROnPlateau's step(metric)); to resume at step n, "
                "load_state_dict({'last_step': n})")
        if torch.compiler.is_compiling():
            # (wrapped once, by the first scheduler built, not at import; a scheduler that
            # came unpickled before any was built wraps it at every step, ~4 µs)
            (_step_outside_the_graph or _disabled(_eager_step))(self)
            return
        if self._unresolved:
            self._warn_unresolved()
        if self._no_decay is not None:
            self._warn_no_decay()
        self._apply(self._step + 1)
        self._step += 1
        if self._step > self._warn_after:  # (once the step is taken and counted: one refused
            # for a group added or tensors shared past the end did not reach it, and used up the
            # warning, a bug bash and a review; and one that a warnings filter makes an error
            # has counted the step it wrote, a review)
            self._warn_past_end(self._step)

    def _record_multipliers(self) -> None:
        """Keep this scheduler's multipliers on its optimizer, for the next scheduler built on
        it to compare (but not where the groups gave none and the last one's are still news)."""
        record = vars(self.optimizer).setdefault(_LAST_MULTIPLIERS, {})
        record.update({k: list(v) for k, v in self._multipliers.items()
                       if k not in self._unresolved})

    def _warn_no_decay(self) -> None:
        """Warn of the no-decay group (:func:`_no_decay_group`) that every group's weight
        decay of 0 leaves decayed alike, once (a bug bash: [5e-4, 5e-4] written, no word)."""
        which, self._no_decay = self._no_decay, None
        n = len(self.optimizer.param_groups)
        keep = [0.0 if i == which else 1.0 for i in range(n)]
        # (whole lists, to paste: brief() hid the 0s past 6 groups, a review; empty groups
        # count)
        warnings.warn(
            f"weight_decay: every param group held weight_decay=0 when this ParamScheduler "
            f"was built, so the schedule is written into all {n} alike, and param group "
            f"{which}, whose parameters are all 1-D (biases, norms: a no-decay group?), beside "
            f"a group holding the weight matrices, is decayed too. To keep it at 0, pass "
            f"multipliers={{'weight_decay': {keep}}}; to decay every group, "
            f"multipliers={{'weight_decay': {[1.0] * n}}} (either says so, and this warning "
            "goes)",
            SuperconvergeWarning, stacklevel=3)

    def _warn_unresolved(self) -> None:
        lost, self._unresolved = self._unresolved, {}
        # 0.1, not 0.09999999999999999, and still close enough for a strict resume
        lost = {k: [float(f"{m:.12g}") for m in v] for k, v in lost.items()}
        n = len(self.optimizer.param_groups)
        # each key's ratios named with where they came from (a review: lr's from torch, beside
        # weight_decay's from the last ParamScheduler, were all said to be torch's)
        torch_lr = self._from_torch and "lr" in lost
        others = {k: v for k, v in lost.items() if not (torch_lr and k == "lr")}
        had = " and ".join(
            ([f"the torch scheduler before it started their lr at initial_lr ratios of "
              f"{lost['lr']}"] if torch_lr else [])
            + ([f"the last ParamScheduler of this optimizer had multipliers={others}"]
               if others else []))
        warnings.warn(
            f"every param group of the {type(self.optimizer).__name__} held "
            f"{' and '.join(f'{k}=0' for k in lost)} when this ParamScheduler was built (the "
            f"last schedule ended at 0?), so there were no ratios between the groups to keep: "
            f"all {n} follow the schedule alike, where {had}. Pass multipliers={lost} to keep "
            "them, or build the optimizer again",
            SuperconvergeWarning, stacklevel=3,
        )

    # -- the torch protocol -----------------------------------------------------------------

    @property
    def last_step(self) -> int:
        """The step whose values the param groups hold: the number of :meth:`step` calls."""
        return self._step

    @property
    def last_epoch(self) -> int:
        """torch's name for :attr:`last_step` (its schedulers count steps in ``last_epoch``)."""
        return self._step

    @last_epoch.setter
    def last_epoch(self, value: NoReturn) -> None:  # (always refused: typed so, a bug bash)
        # Set by a user resuming as with torch's schedulers, or by torch's SequentialLR (it
        # steps its schedulers back, then calls step(0)): "has no setter" named nothing to do.
        raise AttributeError(
            "a ParamScheduler's last_epoch is read-only: its step count is its state. To "
            "resume at step n, sched.load_state_dict(saved_state) or "
            "sched.load_state_dict({'last_step': n}). (torch's SequentialLR, which sets it, "
            "cannot hold one: compose the schedules instead, sc.warmup(schedule, "
            "warmup_steps) for a warm-up, sc.join([first, second, ...]) for phases one after "
            "another, and let one ParamScheduler drive the result)"
        )

    @property
    def schedules(self) -> dict[str, Schedule]:
        """The schedule of each driven key (``momentum`` under its argument name)."""
        return dict(self._schedules)

    @property
    def multipliers(self) -> dict[str, list[float]]:
        """Per-group multipliers of each driven key."""
        return {k: list(v) for k, v in self._multipliers.items()}

    def get_last(self, key: str) -> list[float]:
        """The values of ``key`` written for the current step, one per param group."""
        if key not in self._last:
            raise KeyError(f"{key!r} is not driven; driven keys: {', '.join(self._schedules)}")
        value = self._last[key]
        return [value * m for m in self._multipliers[key]]

    def get_last_lr(self) -> list[float]:
        """The learning rate of each param group for the current step (torch's protocol): the
        floats the schedule gave (a tensor ``lr`` holds them rounded to its dtype).

        Raises:
            ValueError: without an ``lr`` schedule, a group whose ``lr`` is ``None`` (an
                optimizer that finds its own step size, transformers' ``Adafactor`` with
                ``relative_step=True``): there is no LR to give.
        """
        if "lr" in self._last:
            return self.get_last("lr")
        groups = self.optimizer.param_groups
        absent = [i for i, g in enumerate(groups) if "lr" not in g]
        if absent:  # (a bug bash: told of Adafactor's relative_step, for a step_size key)
            keys = ", ".join(sorted(k for k in groups[absent[0]] if k != "params"))
            raise ValueError(
                f"param group {absent[0]} has no lr key ({type(self.optimizer).__name__}'s "
                f"groups hold {keys}), so there is no LR to give; log the values this "
                "scheduler sets (get_last(name))")
        unset = [i for i, g in enumerate(groups) if g.get("lr") is None]
        if unset:
            # (a bug bash: float(None)'s bare TypeError, in the Trainer that logs it)
            raise ValueError(
                f"param group {unset[0]}'s lr is None: {type(self.optimizer).__name__} finds its "
                "own step size (transformers' Adafactor with relative_step=True), so there is "
                "no LR to give; log the values this scheduler sets (get_last(name)), or give "
                "the optimizer an lr (relative_step=False)")
        return [as_float(g["lr"]) for g in groups]

    def state_dict(self) -> dict[str, Any]:
        """``{"last_step", "schedules", "multipliers"}``: plain ints, floats, strings, lists and
        dicts, so ``torch.save``/``torch.load(weights_only=True)`` and JSON round-trip it. The
        schedules and multipliers are there to detect a mismatch on load; a schedule that
        cannot be saved as data (a lambda ``scale_fn``) is ``None`` there, with a warning, and
        is not checked."""
        return {
            "last_step": self._step,
            "schedules": self._schedule_dicts(),
            "multipliers": self.multipliers,
        }

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> None:
        """Restore the step count and rewrite the current values, so the run resumes exactly.

        With ``strict`` (default), the saved schedules and the multipliers given at
        construction must equal this scheduler's (multipliers to float rounding), and the
        multipliers it derived from the groups are replaced by the saved ones: built after
        ``optimizer.load_state_dict``, it derived them from a later step's values.
        ``strict=False`` resumes the step count under the current schedules and multipliers,
        taking saved ones only where the groups gave no ratio (all held 0).
        """
        if not isinstance(state_dict, Mapping) or "last_step" not in state_dict:
            # A torch LRScheduler's state counts its steps in last_epoch, as we do.
            hint = ("; it looks like a torch scheduler's: to continue at its step, pass "
                    "{'last_step': state_dict['last_epoch']}"
                    if isinstance(state_dict, Mapping) and "last_epoch" in state_dict else "")
            raise ValueError(
                "state_dict must be a dict from ParamScheduler.state_dict() with a 'last_step' "
                f"key, got {type(state_dict).__name__} with keys "
                f"{list(state_dict) if isinstance(state_dict, Mapping) else None}{hint}"
            )
        strict = boolean("strict", strict)  # "no" would be true: strict, where False was meant
        step = state_dict["last_step"]
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise ValueError(f"state_dict['last_step'] must be an int >= 0, got {step!r}")
        for key, schedule in self._schedules.items():
            if schedule.total_steps is None and int(step) >= sys.maxsize:
                # the hot path holds an endless schedule's last value from sys.maxsize on
                try:
                    schedule(int(step))  # its own check, which refuses a step beyond a float
                except ValueError as exc:
                    raise ValueError(f"state_dict['last_step']: {key}: {exc}") from None
        for key in ("schedules", "multipliers"):
            if state_dict.get(key) is not None and not isinstance(state_dict[key], Mapping):
                raise ValueError(
                    f"state_dict[{key!r}] must be a dict as ParamScheduler.state_dict() "
                    f"writes it, got {type(state_dict[key]).__name__}"
                )
        saved_groups = {len(ms) for ms in (state_dict.get("multipliers") or {}).values()
                        if isinstance(ms, Sequence) and not isinstance(ms, str | bytes)}
        if strict and saved_groups - {self._n_groups}:
            raise ValueError(
                f"state_dict was saved for {' or '.join(map(str, sorted(saved_groups)))} param "
                f"groups, this optimizer has {self._n_groups}; pass strict=False to resume the "
                "step count with this optimizer's groups"
            )
        adopted = self._saved_multipliers(state_dict.get("multipliers"))
        malformed = sorted(k for k in self._inferred
                           if k in (state_dict.get("multipliers") or {}) and k not in adopted)
        if strict and malformed:
            raise ValueError(
                f"state_dict multipliers for {malformed} are not one finite number per param "
                "group (>= 0 for lr, weight_decay and eps): "
                f"{ {k: state_dict['multipliers'][k] for k in malformed} }; pass "
                "strict=False to keep the ratios derived from the groups now"
            )
        if not strict:
            # Resuming under the current setup: keep the ratios derived from the groups now
            # (perhaps rebuilt with new ones on purpose), except where there were none to derive.
            kept = {k: v for k, v in adopted.items()
                    if k not in self._undefined and v != self._multipliers[k]}
            for key, theirs in kept.items():
                log.info("load_state_dict(strict=False): %s multipliers stay %s (saved: %s)",
                         key, self._multipliers[key], theirs)
            adopted = {k: v for k, v in adopted.items() if k not in kept}
        if strict and "multipliers" not in state_dict:  # (strict=False keeps the current)
            adopted = self._ratios_now()
        if strict:
            saved = state_dict.get("schedules")
            # Only made when there is something to compare them with: a dict without
            # schedules ({'last_step': n}, taking over from torch) loads under a schedule
            # that cannot be saved (a lambda scale_fn) too.
            mine = self._schedule_dicts() if saved is not None else {}
            # (None on either side: a schedule not saved as data, which nothing can check)
            saved = saved or {}
            diff = sorted(k for k in set(saved) | set(mine)
                          if saved.get(k, _UNSAVED) != mine.get(k, _UNSAVED)
                          and None not in (saved.get(k, _UNSAVED), mine.get(k, _UNSAVED))
                          and not _same_when_rebuilt(saved.get(k), mine.get(k)))
            if diff:
                raise ValueError(
                    f"state_dict schedules differ from this scheduler's for {diff}: saved "
                    f"{ {k: saved.get(k, 'not driven') for k in diff} }, current "
                    f"{ {k: mine.get(k, 'not driven') for k in diff} }; pass strict=False to "
                    "resume the step count under the current schedules (where a framework loads "
                    "the state itself, as Lightning does, drop its 'schedules' first, as "
                    "on_load_checkpoint in docs/param_scheduler.md does)"
                )
            given = {k: v for k, v in self._multipliers.items() if k not in self._inferred}
            saved_m = state_dict.get("multipliers")
            if saved_m is not None:
                diff = sorted(k for k in given if not _close(saved_m.get(k), given[k]))
                if diff:
                    raise ValueError(
                        f"state_dict multipliers differ from this scheduler's for {diff}: "
                        + "; ".join(_first_difference(k, saved_m.get(k), given[k])
                                    for k in diff)
                        + "; pass strict=False to resume the step count with the current "
                        "multipliers"
                    )
        # Groups that share one tensor cannot take saved multipliers that differ among them.
        conflicts = self._shared_conflicts(adopted)
        if conflicts and strict:
            key, ids = conflicts[0]
            raise ValueError(
                "state_dict: " + self._sharing_said(key, ids, adopted[key]) + "The "
                "multipliers are the saved run's; give each group a tensor of its own "
                f"({{'params': ..., {self._own_tensor_example(key)}}}), or pass strict=False "
                f"to keep this scheduler's {self._multipliers[key]}")
        for key in dict.fromkeys(k for k, _ in conflicts):
            log.info("load_state_dict(strict=False): %s multipliers stay %s (saved: %s, which "
                     "groups sharing one tensor cannot follow)", key, self._multipliers[key],
                     adopted.pop(key))
        before = dict(self._multipliers), self._drivers
        if adopted:
            self._multipliers.update(adopted)
            self._build_drivers()
        self._wrote_in = None  # the groups may hold a loaded optimizer's values: no check
        try:
            self._apply(int(step))
        except BaseException:  # the scheduler stays as it was, and so do the groups
            self._multipliers, self._drivers = before
            if adopted:  # what was put back used the adopted multipliers: use the old ones
                self._rewrite("")
            raise
        self._step = int(step)
        # what the saved run's multipliers answered (a dict without them, or a strict=False
        # load that kept this scheduler's, answered nothing)
        self._unresolved = {k: v for k, v in self._unresolved.items() if k not in adopted}
        if "weight_decay" in adopted:  # (the saved run's, which said what to decay)
            self._no_decay = None
        self._record_multipliers()
        if self._step > self._warn_after:  # (as step() does, once the load is done)
            self._warn_past_end(self._step)

    def _schedule_dicts(self) -> dict[str, dict[str, Any] | None]:
        """Each schedule's ``to_dict()``, fresh at every call (a caller may edit what it gets);
        ``None`` for one that cannot be saved as data (a lambda ``scale_fn``), with a warning,
        once: it drives training like any other, and a checkpoint holds its step count. (It
        was a TypeError, which a bug bash saw end a Lightning run at its first checkpoint,
        after an epoch of training, where torch's CyclicLR leaves a lambda out.)"""
        out: dict[str, dict[str, Any] | None] = {}
        for key, s in self._schedules.items():
            try:
                out[key] = s.to_dict()
            except TypeError as exc:
                out[key] = None
                if not self._unsaved_warned:
                    self._unsaved_warned = True
                    warnings.warn(
                        f"{key}: the schedule {s!r} cannot be saved as data ({exc}), so the "
                        "state_dict holds None in its place, and a resume cannot check that it "
                        "runs the same schedule. A schedule is saved as data where it is a "
                        "@dataclass(frozen=True) subclass of Schedule given a kind of its own "
                        "with @superconverge.schedules.register('a-kind'), whose callables are "
                        "module-level functions", SuperconvergeWarning, stacklevel=3)
        return out

    def _ratios_now(self) -> dict[str, list[float]]:
        """For a load of a state without multipliers (``{'last_step': n}``, taking over from a
        torch scheduler): the ratios of the keys this scheduler derived, as the groups hold
        them now, where they differ from its own. A scheduler built before
        ``optimizer.load_state_dict`` derived them from the fresh optimizer's values, where
        the loaded groups hold the run's (a bug bash: a group the run gave group 0's LR went
        on at 10x it, the fresh optimizer's ratio); built after, they are the same. Groups
        that all hold 0 now (a schedule that ended there) or whose ratios cannot be derived
        keep this scheduler's."""
        out = {}
        for key in self._inferred - self._undefined:
            slot = self._slots[key]
            if all(as_float(g[slot]) == 0 for g in self.optimizer.param_groups):
                continue
            try:
                ratios = ratios_to_group_0(self.optimizer, slot, fix="",
                                           nonnegative=self._ranges[key][0] >= 0)
            except ValueError:
                continue
            if not _close(ratios, self._multipliers[key]):
                out[key] = ratios
        return out

    def _saved_multipliers(self, saved: object) -> dict[str, list[float]]:
        """The saved multipliers of the keys whose multipliers this scheduler derived from the
        groups: at a resume the groups hold a later step's values (0 at the end of a cosine,
        or rounded), so the saved ratios are the run's own."""
        if not isinstance(saved, Mapping):
            return {}
        out = {}
        for key in self._inferred:
            ms = saved.get(key)
            if (isinstance(ms, Sequence) and not isinstance(ms, str | bytes)
                    and len(ms) == self._n_groups
                    and all(is_number(m) and math.isfinite(m)
                            and (m >= 0 or self._ranges[key][0] < 0) for m in ms)):
                out[key] = [float(m) for m in ms]
        return out

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={s!r}" for k, s in self._schedules.items())
        return f"ParamScheduler({type(self.optimizer).__name__}, {parts}, last_step={self._step})"


def _no_decay_group(groups: list[dict[str, Any]]) -> int | None:
    """The index of the group that looks like the usual no-decay group: of two groups that hold
    parameters (timm's, Hugging Face's and nanoGPT's split into decay and no-decay), the one
    whose parameters are all 1-D (biases, norms), beside one that holds weight matrices, and
    holding most of the 1-D parameters (the odd scale or RMSNorm weight in the decay group
    aside, a review). None among more groups: layer-wise LRs, a group a module or a
    parameter, cannot be told by shapes from a split layer by layer (reviews: a final norm's
    group, a temperature's, BatchNorm layers' groups and a bias-free model's norms were taken
    for no-decay groups); a split layer by layer (timm's layer decay) goes unwarned."""
    held = [(i, [p.dim() for p in g["params"]]) for i, g in enumerate(groups) if g["params"]]
    if len(held) != 2:
        return None
    (i, a), (j, b) = held
    if (max(a) <= 1) == (max(b) <= 1):  # both all 1-D, or neither
        return None
    (k, flat), other = ((i, a), b) if max(a) <= 1 else ((j, b), a)
    return k if len(flat) > sum(d <= 1 for d in other) else None


def _eager_step(scheduler: ParamScheduler) -> None:
    """:meth:`ParamScheduler.step`, run eagerly when a compiled function calls it: this class's
    own (a subclass's override of ``step()``, traced already, ran twice a call, and one that
    advances every k calls never advanced: a bug bash)."""
    ParamScheduler.step(scheduler)


_OUTSIDE_FULLGRAPH = (
    "ParamScheduler.step() runs outside the compiled graph (traced, each new value would be a "
    "constant of the graph, and a recompile), so a fullgraph=True function cannot hold it: "
    "call sched.step() after the compiled function returns")


def _disabled(fn: Any) -> Any:
    """``torch.compiler.disable(fn)``, with the reason dynamo gives under ``fullgraph=True``
    (a bug bash: its "Hint: Remove the torch.compiler.disable call" pointed at our code);
    torch before 2.7 takes no reason."""
    try:
        return torch.compiler.disable(fn, reason=_OUTSIDE_FULLGRAPH)
    except TypeError:
        return torch.compiler.disable(fn)


_step_outside_the_graph: Any = None
"""``torch.compiler.disable(_eager_step)``, made by the first scheduler built
(:func:`_wrap_the_eager_step`). Not at import: ``torch.compiler.disable`` imports dynamo (1.1 s
of the package's 2.4), and on torch 2.6 that made a temporary folder that warned at exit, a
traceback under ``-W error``. A scheduler is built after its optimizer, whose first
``add_param_group`` imports dynamo already. Not made inside the compiled step either: there it
ran at every step (``torch.compiler.disable`` is no constant to dynamo), ~4 µs each."""


def _wrap_the_eager_step() -> None:
    global _step_outside_the_graph
    if _step_outside_the_graph is None:
        _step_outside_the_graph = _disabled(_eager_step)


def _moves(schedule: Schedule) -> bool:
    """Whether ``schedule`` may take more than one value. Only a :class:`Constant`, or a finite
    schedule of at most 20,000 steps that holds one value at every step, is proven not to; a
    longer or endless one counts as moving (a momentum held for 1000 steps and cycling after
    would otherwise keep its recompiling foreach path)."""
    if isinstance(schedule, Constant):
        return False
    n = schedule.total_steps
    if n is None or n > 20_000:
        return True
    first = schedule(0)
    return any(schedule(step) != first for step in range(n))


def _warn_cycles_differ(schedules: Mapping[str, Schedule]) -> None:
    """Warn where the lr's 1cycle and the momentum's turn at different steps (built for other
    total_steps, or another fraction, or one three-phase and the other two-phase): Smith's
    cyclical momentum is lowest where the LR peaks, and torch's OneCycleLR, one object for
    both, cannot get this wrong (a bug bash)."""
    lr, momentum = schedules.get("lr"), schedules.get("momentum")
    if isinstance(lr, Join) or isinstance(momentum, Join):
        if lr is not None and momentum is not None:
            _warn_peaks_apart(lr, momentum)  # (a warm-up joined before either)
        return
    if (not isinstance(lr, _LrPhased) or not isinstance(momentum, _Phased)
            or isinstance(momentum, _LrPhased)
            or getattr(lr, "_ends", None) == getattr(momentum, "_ends", None)):
        return
    warnings.warn(
        f"momentum: its 1cycle turns at other steps than the lr's ({momentum!r} beside "
        f"{lr!r}): the cyclical momentum is meant to be lowest where the LR peaks; build both "
        "for the same total_steps and fraction, one_cycle with one_cycle_momentum or "
        "one_cycle_two_phase with one_cycle_two_phase_momentum", SuperconvergeWarning, stacklevel=3)


def _cycle_span(schedule: Schedule, lr: bool) -> tuple[int, _Phased, int] | None:
    """``(start, cycle, end)``: the first LR 1cycle (``lr``) or momentum 1cycle in
    ``schedule``, bare or a part of a join, and the steps of the run it spans; None if none."""
    if isinstance(schedule, Join):
        parts, starts = schedule.parts, (0, *schedule.boundaries)
    else:
        parts, starts = (schedule,), (0,)
    for i, part in enumerate(parts):
        if isinstance(part, _Phased) and isinstance(part, _LrPhased) == lr:
            end = starts[i] + part.total_steps
            return starts[i], part, min(end, starts[i + 1]) if i + 1 < len(parts) else end
    return None


PEAK_TOLERANCE = 0.01
"""The share of a 1cycle's range within which a value counts as its peak (the LR's) or its
low (the momentum's), for the warning that the two do not meet."""


def _extreme(start: int, cycle: _Phased, end: int, high: bool) -> tuple[int, int]:
    """The first and last step of the run where ``cycle`` (spanning ``start .. end - 1``) is
    within :data:`PEAK_TOLERANCE` of its highest (``high``) or lowest value, read at every step
    of a span of up to 4000, at up to 4000 even steps of a longer one (a 1cycle moves under
    0.1% of its range between two of them; every step of 20,000 took 60 ms), each widened by
    that stride."""
    n = end - start
    stride = -(-n // 4000)  # (at most 4000 steps read: a review)
    steps = [*range(0, n, stride), n - 1]
    values = [cycle(s) for s in steps]
    best, other = (max(values), min(values)) if high else (min(values), max(values))
    room = PEAK_TOLERANCE * abs(best - other)
    near = [s for s, v in zip(steps, values, strict=True) if abs(v - best) <= room]
    return start + near[0] - stride + 1, start + near[-1] + stride - 1


def _warn_peaks_apart(lr: Schedule, momentum: Schedule) -> None:
    """Warn where a join (a warm-up before the LR's 1cycle, or before the momentum's) puts the
    momentum 1cycle's low at no step where the LR 1cycle is at its peak (a bug bash:
    ``warmup(one_cycle(M, T - W), W)`` beside ``one_cycle_momentum(T)`` had its LR peak at step
    614 and the momentum's low at 449, unsaid). Each 1cycle is read on its own span (a review:
    the whole schedules' highest and lowest named a momentum warm-up from 0.8, or a second
    cycle's deeper dip, against an aligned 1cycle)."""
    lr_cycle, momentum_cycle = _cycle_span(lr, True), _cycle_span(momentum, False)
    if lr_cycle is None or momentum_cycle is None:
        return
    peak, low = _extreme(*lr_cycle, True), _extreme(*momentum_cycle, False)
    if peak[0] <= low[1] and low[0] <= peak[1]:
        return

    def at(span: tuple[int, int]) -> str:
        first = max(span[0], 0)
        return f"at step {first}" if first == span[1] else f"at steps {first}-{span[1]}"

    matching = ("one_cycle_two_phase_momentum" if isinstance(lr_cycle[1], OneCycleTwoPhase)
                else "one_cycle_momentum")
    warnings.warn(
        f"momentum: its 1cycle is lowest {at(low)}, but the LR's 1cycle peaks {at(peak)}: the "
        "cyclical momentum is meant to be lowest where the LR peaks; under a warm-up of W "
        "steps before the LR's 1cycle of T - W, hold the momentum high through the warm-up: "
        f"momentum=join([constant(0.95), {matching}(T - W)], [W])",
        SuperconvergeWarning, stacklevel=4)


def _single_tensor_again(indices: list[int]) -> Any:
    """A load_state_dict post-hook: the groups ``tensors=True`` put on the single-tensor path
    (foreach=False) stay there when a checkpoint saved with foreach=None is loaded, or with
    foreach=True (a bug bash: an optimizer built with it elsewhere; the compiled step then
    recompiled at every new momentum, where construction refuses foreach=True)."""
    def hook(optimizer: Optimizer) -> None:
        for i in indices:
            if i < len(optimizer.param_groups) and optimizer.param_groups[i].get(
                    "foreach") is not False:
                optimizer.param_groups[i]["foreach"] = False
    hook.single_tensor_groups = tuple(indices)  # type: ignore[attr-defined]
    return hook
