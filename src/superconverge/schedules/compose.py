"""Building blocks and glue: constant, step decay, warm-up, and joining schedules at boundaries."""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, cast

from superconverge.schedules import _validate as v
from superconverge.schedules.base import Schedule, declared_total_steps, register
from superconverge.schedules.shapes import Ramp


@register("constant")
@dataclass(frozen=True)
class Constant(Schedule):
    """The same ``value`` at every step (``total_steps=None``: forever)."""

    value: float
    total_steps: int | None = None

    def __post_init__(self) -> None:
        self._set("value", v.real("value", self.value))
        self._set("total_steps", v.optional_steps("total_steps", self.total_steps))

    def _value(self, step: int) -> float:
        return self.value


@register("step_decay")
@dataclass(frozen=True)
class StepDecay(Schedule):
    """Piecewise constant: ``initial`` multiplied by ``factor`` once at each milestone <= step
    (``initial * factor ** k`` up to float rounding).

    The baseline the 1cycle papers beat (e.g. divide by 10 at 50% and 75% of training); the same
    values, to the last bit, as torch's ``MultiStepLR(opt, milestones, gamma=factor)`` stepped
    per mini-batch, which multiplies the LR by ``gamma`` at each milestone as ours does.
    ``factor`` > 0; above 1 the value grows at each milestone (a step-up, as ``MultiStepLR``
    allows), and one whose last value would overflow a float is refused. The ``step-decay``
    policy (:func:`~superconverge.schedules.make_policy`, the CLI) takes a decay only, (0, 1].
    """

    initial: float
    milestones: tuple[int, ...]
    factor: float = 0.1
    total_steps: int | None = None
    # (set per instance in __post_init__; a ClassVar to dataclasses, so no field)
    _values: ClassVar[tuple[float, ...]]

    def __post_init__(self) -> None:
        self._set("initial", v.real("initial", self.initial))
        given = v.sequence("milestones", self.milestones, "steps")
        ms = tuple(v.steps("milestones", m) for m in given)
        if any(b <= a for a, b in itertools.pairwise(ms)):
            raise ValueError(f"milestones must be strictly increasing, got {list(ms)}")
        self._set("milestones", ms)
        f = v.real("factor", self.factor)
        if not f > 0:
            why = "zero it" if f == 0 else "flip its sign"
            raise ValueError(
                f"factor must be > 0, got {self.factor!r}: the value is multiplied by factor at "
                f"each milestone (0.1 divides it by 10), and this factor would {why}"
            )
        self._set("factor", f)
        # The value after each milestone, multiplied once per milestone as MultiStepLR does
        # (factor ** k differs in the last bit in about 1 value of 6); not a field: equality,
        # the repr and to_dict are the four above.
        values = [self.initial]
        for _ in ms:
            values.append(values[-1] * f)
        object.__setattr__(self, "_values", tuple(values))
        if not math.isfinite(values[-1]):
            raise ValueError(
                f"initial={self.initial!r} times factor={f!r} at each of {len(ms)} milestones "
                "overflows a float; lower factor or initial"
            )
        self._set("total_steps", v.optional_steps("total_steps", self.total_steps))

    def _value(self, step: int) -> float:
        return self._values[bisect.bisect_right(self.milestones, step)]


@register("join")
@dataclass(frozen=True)
class Join(Schedule):
    """``parts[0]`` before ``boundaries[0]``, then ``parts[1]`` restarted at step 0, and so on.

    Part ``i`` sees the local step ``step - boundaries[i - 1]``. ``total_steps`` is the last
    boundary plus the last part's ``total_steps`` (``None`` if that part is endless).

    A part that is itself a ``Join`` is spread out into its parts, each at its place (those it
    would reach only after its cut are left out): the values are the same, and a schedule
    built in a loop (``s = join([s, cosine(...)])``, a restart a round) stays one level deep,
    where 300 levels exceeded Python's recursion limit in its ``repr``, ``to_dict`` and
    pickling (so in a checkpoint too), and 500 in its call.
    """

    parts: tuple[Schedule, ...]
    boundaries: tuple[int, ...]

    def __post_init__(self) -> None:
        parts = v.sequence("parts", self.parts, "schedules")
        if len(parts) < 1 or not all(isinstance(p, Schedule) for p in parts):
            raise TypeError(f"parts must be a non-empty sequence of schedules, got {self.parts!r}")
        for part in parts:
            declared_total_steps(cast("Schedule", part))
        given = v.sequence("boundaries", self.boundaries, "steps")
        bounds = tuple(v.steps("boundaries", b) for b in given)
        if len(bounds) != len(parts) - 1:
            raise ValueError(
                f"boundaries must have one entry fewer than parts: {len(parts)} parts, "
                f"got {len(bounds)} boundaries {list(bounds)}"
            )
        if any(b <= a for a, b in itertools.pairwise(bounds)):
            raise ValueError(f"boundaries must be strictly increasing, got {list(bounds)}")
        if any(type(p) is Join for p in parts):  # (a subclass may compute its own values)
            parts, bounds = _spread(cast("tuple[Schedule, ...]", parts), bounds)
        self._set("parts", parts)
        self._set("boundaries", bounds)

    @property
    def total_steps(self) -> int | None:  # type: ignore[override]
        """The last part's start plus its length; ``None`` when the last part is endless."""
        last = self.parts[-1].total_steps  # (each part's declared: __post_init__)
        if last is None:
            return None
        return (self.boundaries[-1] if self.boundaries else 0) + last

    def _value(self, step: int) -> float:
        i = bisect.bisect_right(self.boundaries, step)
        offset = self.boundaries[i - 1] if i else 0
        return self.parts[i](step - offset)


def _spread(
    parts: tuple[Schedule, ...], bounds: tuple[int, ...]
) -> tuple[tuple[Schedule, ...], tuple[int, ...]]:
    """``parts`` and ``bounds`` with each :class:`Join` among the parts replaced by its own
    parts, placed at its start plus its boundaries, up to the next part's start. (One level
    is enough: a Join's parts were spread out when it was made.) A Join with a boundary that
    would pass :data:`MAX_STEPS` so placed stays whole."""
    out: list[Schedule] = []
    out_bounds: list[int] = []
    for i, part in enumerate(parts):
        start = bounds[i - 1] if i else 0
        if i:
            out_bounds.append(start)
        if type(part) is not Join or start + max(part.boundaries, default=0) > v.MAX_STEPS:
            out.append(part)
            continue
        cut = bounds[i] if i < len(bounds) else v.MAX_STEPS + 1
        out.append(part.parts[0])
        for b, inner in zip(part.boundaries, part.parts[1:], strict=True):
            if start + b >= cut:  # reached only after this part is cut off
                break
            out_bounds.append(start + b)
            out.append(inner)
    return tuple(out), tuple(out_bounds)


def join(parts: Sequence[Schedule], boundaries: Sequence[int] | None = None) -> Join:
    """Join schedules end to end. Without ``boundaries`` each part runs its own ``total_steps``
    (all but the last must be finite)."""
    if isinstance(parts, Schedule | str | bytes) or not isinstance(parts, Sequence):
        raise TypeError(f"parts must be a list of schedules, got {parts!r}")
    bad = [p for p in parts if not isinstance(p, Schedule)]
    if bad:
        raise TypeError(
            f"parts must be schedules, got {bad[0]!r} ({type(bad[0]).__name__}); wrap a number "
            "in constant(value, steps)"
        )
    if boundaries is None:
        acc, bounds = 0, []
        for p in parts[:-1]:
            if (end := declared_total_steps(p)) is None:
                raise ValueError(
                    f"cannot place the end of endless part {p!r}; give boundaries explicitly"
                )
            acc += end
            bounds.append(acc)
        boundaries = bounds
    else:
        v.sequence("boundaries", boundaries, "steps")
    return Join(tuple(parts), tuple(boundaries))


def boundaries_from_fractions(fractions: Sequence[float], total_steps: int) -> tuple[int, ...]:
    """Integer boundaries splitting ``total_steps`` by ``fractions`` (which must sum to 1,
    compared with a tolerance, so ``[0.7, 0.2, 0.1]`` is accepted)."""
    total_steps = v.steps("total_steps", total_steps)
    given = list(v.sequence("fractions", fractions, "fractions"))
    fr = [v.fraction("fractions", f, low_open=True, high_open=False) for f in given]
    if not fr or not math.isclose(sum(fr), 1.0, rel_tol=1e-9, abs_tol=1e-9):
        raise ValueError(f"fractions must be positive and sum to 1, got {given}")
    out, acc = [], 0.0
    for f in fr[:-1]:
        acc += f
        out.append(round(acc * total_steps))
    if any(b < 1 for b in out) or any(b <= a for a, b in itertools.pairwise(out)):
        raise ValueError(
            f"fractions {given} of total_steps={total_steps} leave an empty part; "
            "use more steps or larger fractions"
        )
    if out and out[-1] >= total_steps:
        raise ValueError(f"the last fraction of total_steps={total_steps} is empty")
    return tuple(out)


def warmup(schedule: Schedule, warmup_steps: int, start: float = 0.0) -> Join:
    """Linear warm-up from ``start`` over ``warmup_steps`` steps into ``schedule``'s first value.

    The ramp aims at ``schedule(0)`` one step after it ends, so the joined curve rises strictly
    and continues without a flat step or a jump. ``start`` must be below ``schedule(0)``: at it
    (a schedule that starts at 0, with the default start) the warm-up would hold that value,
    training nothing, and above it, fall. ``warmup_steps=0`` is no warm-up: ``schedule`` alone
    (as a one-part :class:`Join`), as code ported from a ``num_warmup_steps`` of 0 expects.
    """
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a Schedule to warm up into, got {schedule!r}")
    declared_total_steps(schedule)
    n = v.steps("warmup_steps", warmup_steps, minimum=0)
    if n == 0:  # (a bug bash: Hugging Face's default warmup_ratio of 0 was refused)
        v.real("start", start)
        return Join((schedule,), ())
    if n >= v.MAX_STEPS:  # its ramp counts n + 1 steps
        raise ValueError(f"warmup_steps must be <= 2**53 - 1 = {v.MAX_STEPS - 1}, got {n}")
    first = schedule(0)
    begin = v.real("start", start)
    if not begin < first:
        raise ValueError(
            f"warmup rises from start to schedule(0); start={begin!r} is "
            f"{'at' if begin == first else 'above'} schedule(0)={first!r}, so the warm-up "
            f"would {'hold that value for ' + str(n + 1) + ' steps' if begin == first else 'fall'}"
            "; give a start below schedule(0), or warm up into a schedule that starts above it"
        )
    ramp = Ramp(begin, first, n + 1, "linear")
    return Join((ramp, schedule), (n,))


def constant(value: float, total_steps: int | None = None) -> Constant:
    """A constant value, e.g. the fixed-LR baseline."""
    return Constant(value, total_steps)


def step_decay(
    initial: float, milestones: Sequence[int], factor: float = 0.1, total_steps: int | None = None
) -> StepDecay:
    """Piecewise-constant decay: multiply by ``factor`` at each milestone step (any ``factor`` >
    0 here; the ``step-decay`` policy, a decay, takes it in (0, 1])."""
    if isinstance(milestones, str | bytes) or not isinstance(milestones, Iterable):
        raise TypeError(f"milestones must be a list of steps, got {milestones!r}")
    return StepDecay(initial, tuple(milestones), factor, total_steps)
