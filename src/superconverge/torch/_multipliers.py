"""Per-param-group multipliers: group ``i`` follows ``value * multiplier_i``.

One definition for :class:`~superconverge.torch.ParamScheduler` and the LR range test, so both
derive the same default ratios from an optimizer's groups (``group_i[key] / group_0[key]``),
refuse the same undefined case, and write values into the groups the same way.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer


def is_number(value: object) -> bool:
    """A real number (numpy's too), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def as_float(value: object) -> float:
    """A group value (a number or a 1-element tensor) as a Python float."""
    if isinstance(value, Tensor):
        return float(value.item())
    return float(value)  # type: ignore[arg-type]


def too_coarse(value: object) -> str | None:
    """Why a float tensor of a narrow type (float16, the float8s: a smallest normal number above
    1e-30) cannot hold the values a schedule or a sweep writes into it, or None: each is
    rounded to its type, so an LR above its largest number is inf, and a small one a few digits
    or 0 (a user's bug bash: a float16 lr tensor under a 1cycle to 1e5 held inf, the weights went
    to -inf, and a range test's first step from 1e-8 trained at 0)."""
    if not (isinstance(value, Tensor) and value.is_floating_point()):
        return None
    info = torch.finfo(value.dtype)
    if info.tiny <= 1e-30:
        return None
    return (f"a {str(value.dtype).removeprefix('torch.')} tensor, which holds no number above "
            f"{info.max:g} and rounds those below {info.tiny:.2g} to a few digits or to 0 "
            "(1e-08 to 0); make it a float32 tensor or a number")


_LAST_MULTIPLIERS = "_superconverge_multipliers"
"""The optimizer attribute where a ParamScheduler leaves its multipliers for the next one.

Not a param-group key, although one would survive a deepcopy, pickling and a checkpoint: in
the groups it is part of ``optimizer.state_dict()``, so torch.distributed.checkpoint refused
to resume a checkpoint saved without it ("Missing key in checkpoint state_dict"), and dynamo
guards on it, so a compiled step recompiled when a second scheduler took over (tried and
reverted; a missed warning costs less than a failed resume)."""


def recorded_lr_multipliers(optimizer: Optimizer) -> list[float] | None:
    """The ``lr`` multipliers the last ParamScheduler of ``optimizer`` left on it (see
    :data:`_LAST_MULTIPLIERS`), one a group; ``None`` where there are none or they do not fit
    its groups."""
    record = vars(optimizer).get(_LAST_MULTIPLIERS)
    mults = record.get("lr") if isinstance(record, dict) else None
    if (not isinstance(mults, list) or len(mults) != len(optimizer.param_groups)
            or not all(is_number(m) and math.isfinite(m) for m in mults)):
        return None
    return mults


def held_optimizers(optimizer: Optimizer) -> list[Optimizer]:
    """``optimizer`` and the optimizers it holds as attributes, directly or in a list or tuple,
    theirs too, each once (a ``ZeroRedundancyOptimizer`` keeps the per-parameter state in its
    ``.optim``; a Lookahead or accelerate's wrapper holds its base optimizer; a wrapper that
    steps several as one, whose ``state`` may be a view made anew at each access: a bug bash)."""
    found = [optimizer]
    for opt in found:  # grows while it is walked
        for value in vars(opt).values():
            for held in value if isinstance(value, list | tuple) else (value,):
                if isinstance(held, Optimizer) and all(held is not f for f in found):
                    found.append(held)
    return found


def _attribute(owner: object, name: str) -> object:
    """``owner.name``, or None where it has none or its property raises (a review)."""
    try:
        return getattr(owner, name, None)
    except Exception:
        return None


def not_an_optimizer(optimizer: object, wrapped_note: str) -> TypeError:
    """The error for an ``optimizer`` that is no ``torch.optim.Optimizer``; one that wraps one
    as ``.optim`` (apex's LARC, a LARS wrapper: a bug bash) is told of it, and of
    ``wrapped_note``, what passing it means."""
    # (as .optim: apex's LARC; as .optimizer or ._optim: a PCGrad wrapper's, a bug bash)
    name, inner = next(((n, x) for n in ("optim", "optimizer", "_optim")
                        if isinstance(x := _attribute(optimizer, n), Optimizer)), ("", None))
    hint = (f"; it wraps a {type(inner).__name__} as .{name}: pass that ({wrapped_note})"
            if inner is not None else "")
    return TypeError(
        f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}{hint}")


BRIEF_LIMIT = 6
"""The most values :func:`brief` lists in full (a message that says "all of them" or "the first"
by its own count reads this too)."""


def brief(values: Sequence[Any], limit: int = BRIEF_LIMIT) -> str:
    """A list for a message: all of a short one, the first ``limit`` items and a count of a long
    one (an optimizer with a group per parameter has thousands)."""
    if len(values) <= limit:
        return repr(list(values))
    shown = ", ".join(repr(v) for v in values[:limit])
    return f"[{shown}, ... {len(values) - limit} more]"


def ratios_to_group_0(optimizer: Optimizer, key: str, *, fix: str,
                      nonnegative: bool = True) -> list[float]:
    """``group_i[key] / group_0[key]`` for every param group, as the groups stand now.

    All 1.0 when every group holds 0 (there is no ratio to keep). Raises ``ValueError`` when
    group 0 holds 0 and another group does not, since a ratio to 0 is undefined (``fix`` ends the
    message with what the caller accepts instead), and, with ``nonnegative`` (a key that must
    stay >= 0), when a ratio is negative.
    """
    values = [as_float(g[key]) for g in optimizer.param_groups]
    for i, x in enumerate(values):
        if not math.isfinite(x):
            raise ValueError(f"{key}: param group {i} holds {key}={x}; the groups' {key} ratios "
                             f"need finite values ({brief(values)})")
    first = values[0]
    if first != 0:
        ratios = [x / first for x in values]
        if not all(map(math.isfinite, ratios)):
            raise ValueError(f"{key}: the param groups' {key} ratios to group 0 overflow a float "
                             f"({brief(values)}); {fix}")
        opposite = [i for i, r in enumerate(ratios) if r < 0] if nonnegative else []
        if opposite:
            # a negative multiplier, which given it is refused: the schedule would write a
            # negative lr (gradient ascent) or weight decay into those groups
            raise ValueError(
                f"{key}: param group {opposite[0]} holds {key}={values[opposite[0]]!r}, of the "
                f"other sign than group 0's {first!r}, so its ratio to group 0 would be "
                f"negative ({brief(values)}); set every group's {key} >= 0"
                + (" (a group meant to ascend: maximize=True in that group)" if key == "lr"
                   else ""))
        return ratios
    if all(x == 0 for x in values):
        return [1.0] * len(values)
    raise ValueError(
        f"{key}: cannot derive the param groups' {key} ratios, group 0 holds {key}=0 but others "
        f"do not ({brief(values)}); {fix}"
    )


def write_scaled(
    groups: Sequence[dict[str, Any]], key: str, value: float, multipliers: Sequence[float]
) -> None:
    """Set ``groups[i][key] = value * multipliers[i]``, filling a tensor in place so that a
    compiled (or CUDA-graph-captured) ``optimizer.step()`` keeps its graph.

    Called every optimizer step: it allocates nothing but the products, and the caller checks
    once that there is one multiplier per group.
    """
    # zip without strict=: strict= costs ~0.1 µs a call, and the lengths are the caller's check.
    for group, m in zip(groups, multipliers):  # noqa: B905
        current = group[key]
        if isinstance(current, Tensor):
            current.fill_(value * m)
        else:
            group[key] = value * m


RPROP_LR = (
    "Rprop reads its lr once, as each parameter's first step size, and then adapts the step "
    "sizes from the gradients' signs alone, so a schedule of lr (or the range test's LR sweep) "
    "would change nothing after the first step; use SGD, Adam, AdamW, ..."
)
"""Why ``lr`` of a ``torch.optim.Rprop`` is not driven (ParamScheduler, the range test)."""

LBFGS_TENSOR_LR = (
    "LBFGS keeps a tensor lr as its own record of the last step size (state['t'] is then the "
    "group's lr object), so filling that tensor in place as a schedule moves rewrites the step "
    "it remembers, and its next curvature pair is computed with a step it did not take"
)
"""Why ``lr`` of a ``torch.optim.LBFGS`` must stay a float when it is driven."""


def adafactor_groups(optimizer: Optimizer) -> tuple[list[int], float]:
    """The param groups of ``optimizer`` that a torch ``Adafactor`` (torch 2.5 on) steps, which
    caps its step size at ``1/sqrt(t)`` at its t-th step, by index (every group where none of
    them is one of its group dicts: a wrapper holding copies), and the most steps one of its
    parameters took; ``([], 0.0)`` where there is none (not another optimizer's groups beside
    it in a wrapper: a review)."""
    kind = getattr(torch.optim, "Adafactor", None)  # (a subclass too: a docs audit)
    capped = [o for o in held_optimizers(optimizer) if kind is not None and isinstance(o, kind)]
    if not capped:
        return [], 0.0
    done = _steps_taken(capped)
    ids = {id(g) for o in capped for g in o.param_groups}
    groups = optimizer.param_groups
    return [i for i, g in enumerate(groups) if id(g) in ids] or list(range(len(groups))), done


def adagrad_decay(optimizer: Optimizer) -> tuple[float, float]:
    """The largest ``lr_decay`` of a torch ``Adagrad`` that ``optimizer`` is or holds (which
    steps at ``lr / (1 + (t - 1) * lr_decay)`` at its t-th step), and the most steps one of its
    parameters took; ``(0.0, 0.0)`` where there is none."""
    held = [o for o in held_optimizers(optimizer) if isinstance(o, torch.optim.Adagrad)]
    decay = max((float(g.get("lr_decay") or 0.0) for o in held for g in o.param_groups),
                default=0.0)
    if decay <= 0:
        return 0.0, 0.0
    return decay, _steps_taken(held)


def _steps_taken(optimizers: Sequence[Optimizer]) -> float:
    """The most steps one parameter of ``optimizers`` took (its state's ``step``), 0 for none."""
    return max((as_float(s["step"]) for o in optimizers for s in o.state.values()
                if type(s) is dict and "step" in s), default=0.0)


def adagrad_decay_note(decay: float, first: float, last: float) -> str:
    """What an Adagrad ``lr_decay`` does to the steps ``first`` to ``last`` (its own count,
    from 1) of a sweep or schedule, for a warning."""
    low, high = 1 + (first - 1) * decay, 1 + (last - 1) * decay
    return (f"torch's Adagrad with lr_decay={decay:g} steps at lr / (1 + (t-1)*lr_decay) at its "
            f"t-th step, so its steps {first:.0f} to {last:.0f} train "
            + (f"up to {high:.3g}x" if low < 1.05 else f"{low:.3g}x to {high:.3g}x")
            + " below the lr written into it")


def own_lr(group: dict[str, Any]) -> str | None:
    """Why an optimizer computes the LR it steps with itself, so that an ``lr`` written into
    ``group`` is not the step taken, or None: Adafactor's ``relative_step=True`` (timm's and
    Hugging Face's) writes its own into ``lr`` at every step (a bug bash: a range test's whole
    curve trained at ~9e-4, and ParamScheduler's schedule went unused, without a word)."""
    if group.get("relative_step"):
        return ("has relative_step=True, with which Adafactor computes its own LR from the step "
                "count at every step, over the one written into lr; build it with "
                "relative_step=False and an lr")
    return None


#: Keys D-Adaptation's and Prodigy's groups hold beside ``d`` (dadaptation, prodigyopt,
#: pytorch-optimizer), one at least in each.
_D_ADAPTATION_KEYS = ("growth_rate", "numerator_weighted", "fixed_decay", "d0")


def estimates_step_size(group: dict[str, Any]) -> bool:
    """Whether ``group`` is of an optimizer that estimates its own step size, its ``lr`` a
    multiplier on the estimate ``d`` (D-Adaptation, Prodigy), which grows as it trains: ``d``
    beside a key of theirs (their Lions have no ``growth_rate``, a review)."""
    return "d" in group and any(k in group for k in _D_ADAPTATION_KEYS)


def schedule_free(group: dict[str, Any]) -> bool:
    """Whether ``group`` is of a schedule-free optimizer (Defazio et al.'s ``schedulefree``),
    which averages its iterates weighted by the LR, divided in Python."""
    return "weight_sum" in group and "weight_lr_power" in group


def initial_lr_ratios(groups: Sequence[Mapping[str, Any]]) -> list[float] | None:
    """The LR ratios a torch scheduler started the groups at, from their ``initial_lr``: to
    group 0's, or where group 0 started at 0 (a frozen group), to the first group's that did
    not; ``None`` unless every group has a number there and they are not all alike."""
    # (a tensor lr's initial_lr is a tensor too, torch's own compiled-optimizer recipe: read as
    # a number, a review)
    raw = [g.get("initial_lr") for g in groups]
    if not all(is_number(s) or (isinstance(s, Tensor) and s.numel() == 1) for s in raw):
        return None
    starts = [as_float(s) for s in raw]
    if not all(map(math.isfinite, starts)):
        return None
    base = next((s for s in starts if s != 0), 0.0)
    if base == 0:
        return None
    ratios = [s / base for s in starts]
    if any(isinstance(s, Tensor) and s.dtype != torch.float64 for s in raw):
        # float32's 7 digits: 10, not 10.0000003725 (0.1 over 0.01 in float32)
        ratios = [float(f"{r:.7g}") for r in ratios]
    return ratios if len(set(ratios)) > 1 and all(map(math.isfinite, ratios)) else None
