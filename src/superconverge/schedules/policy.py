"""Named training policies: an LR schedule and, where the policy has one, its momentum schedule.

A factory from names to schedules, for the CLI and for experiments that compare policies
(``fixed``, ``step-decay``, ``clr``, ``one-cycle``, ...). Unknown names and parameters that a
policy does not take are errors, never silently ignored.
"""

from __future__ import annotations

import inspect
import itertools
import math
import numbers
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, SupportsIndex

from superconverge.schedules import _validate as v
from superconverge.schedules.base import Schedule, _step_index, declared_total_steps
from superconverge.schedules.compose import constant, step_decay
from superconverge.schedules.cyclic import cyclic, cyclic_momentum
from superconverge.schedules.one_cycle import (
    one_cycle,
    one_cycle_momentum,
    one_cycle_two_phase,
    one_cycle_two_phase_momentum,
)
from superconverge.schedules.shapes import Ramp


@dataclass(frozen=True)
class Policy:
    """What a training run follows per optimizer step: ``lr`` and optionally ``momentum``."""

    name: str
    lr: Schedule
    momentum: Schedule | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str, got {type(self.name).__name__} {self.name!r}")
        for key in ("lr", "momentum"):
            value = getattr(self, key)
            if not isinstance(value, Schedule) and (key == "lr" or value is not None):
                fixed = (f"; for a fixed value, superconverge.constant({value!r}, steps)"
                         if isinstance(value, int | float) and not isinstance(value, bool)
                         else "")
                raise TypeError(f"{key} must be a Schedule{'' if key == 'lr' else ' or None'}, "
                                f"got {type(value).__name__} {value!r}{fixed}")

    def table(self, steps: SupportsIndex | None = None) -> list[dict[str, float]]:
        """Rows ``{"step", "lr"[, "momentum"]}`` for ``steps`` (default: the LR's total_steps)."""
        n = self._steps(steps)
        rows = []
        for step, lr in self.lr.table(n):
            row = {"step": step, "lr": lr}
            if self.momentum is not None:
                row["momentum"] = self.momentum(step)
            rows.append(row)
        return rows

    def columns(
        self, steps: SupportsIndex | None = None
    ) -> tuple[array[float], array[float] | None]:
        """The values of :meth:`table` as two columns, lr and momentum (``None`` without a
        momentum schedule), 8 bytes a step where the rows take about 500: for a plot or chart
        of a long run."""
        n = self._steps(steps)
        lr = array("d", map(self.lr, range(n)))
        momentum = None if self.momentum is None else array("d", map(self.momentum, range(n)))
        return lr, momentum

    def _steps(self, steps: SupportsIndex | None) -> int:
        if steps is not None and not isinstance(steps, bool | numbers.Integral):
            # (what its annotation takes: a 0-d tensor, say, as Schedule.table does; a review)
            steps = _step_index("steps", steps)
        n = declared_total_steps(self.lr) if steps is None else v.steps("steps", steps)
        if n is None:
            raise ValueError(f"policy {self.name!r} has no end; pass steps=N")
        return n


def _momenta(high_momentum: object, low_momentum: object) -> tuple[float, float]:
    """The momentum bounds, checked here by the policies' names for them (the schedules they
    go to call them high/low or max_momentum/base_momentum)."""
    high = v.momentum("high_momentum", high_momentum)
    low = v.momentum("low_momentum", low_momentum)
    if low > high:
        raise ValueError(f"low_momentum must be <= high_momentum, got low_momentum={low!r} > "
                         f"high_momentum={high!r}")
    return high, low


def _one_cycle(
    total_steps: int, max_lr: float = 1.0, div: float = 10.0, final_div: float = 100.0,
    annihilation_fraction: float = 0.1, anneal: str = "linear", high_momentum: float = 0.95,
    low_momentum: float = 0.85, cycle_momentum: bool = True,
) -> Policy:
    high_momentum, low_momentum = _momenta(high_momentum, low_momentum)
    lr = one_cycle(max_lr, total_steps, div=div, final_div=final_div,
                   annihilation_fraction=annihilation_fraction, anneal=anneal)
    mom = one_cycle_momentum(total_steps, high=high_momentum, low=low_momentum,
                             annihilation_fraction=annihilation_fraction, anneal=anneal)
    return Policy("one-cycle", lr, mom if cycle_momentum else None)


def _one_cycle_two_phase(
    total_steps: int, max_lr: float = 1.0, warmup_fraction: float = 0.3, div: float = 25.0,
    final_div: float = 1e4, anneal: str = "cos", high_momentum: float = 0.95,
    low_momentum: float = 0.85, cycle_momentum: bool = True,
) -> Policy:
    high_momentum, low_momentum = _momenta(high_momentum, low_momentum)
    lr = one_cycle_two_phase(max_lr, total_steps, warmup_fraction=warmup_fraction, div=div,
                             final_div=final_div, anneal=anneal)
    mom = one_cycle_two_phase_momentum(total_steps, high=high_momentum, low=low_momentum,
                                       warmup_fraction=warmup_fraction, anneal=anneal)
    return Policy("one-cycle-two-phase", lr, mom if cycle_momentum else None)


def _clr(
    total_steps: int, base_lr: float = 0.1, max_lr: float = 1.0, step_size: int | None = None,
    step_size_down: int | None = None, mode: str = "triangular", gamma: float = 1.0,
    high_momentum: float = 0.95, low_momentum: float = 0.85, cycle_momentum: bool = False,
) -> Policy:
    high_momentum, low_momentum = _momenta(high_momentum, low_momentum)
    # Default: two cycles, the second ending on base_lr at step 4 * (total_steps // 4): the
    # last step (total_steps - 1) is a step short of it when 4 divides total_steps, on it at
    # 4k + 1 steps, and one or two steps past it otherwise (closer than (T - 1) // 4 would be).
    size = step_size if step_size is not None else max(1, total_steps // 4)
    lr = cyclic(base_lr, max_lr, size, step_size_down, mode, gamma=gamma, total_steps=total_steps)
    mom = cyclic_momentum(low_momentum, high_momentum, size, step_size_down, mode, gamma=gamma,
                          total_steps=total_steps)
    return Policy("clr", lr, mom if cycle_momentum else None)


def _fixed(total_steps: int, lr: float = 0.1) -> Policy:
    return Policy("fixed", constant(v.positive("lr", lr), total_steps))


_MILESTONES = (0.5, 0.75)


_SEARCH = 10**5
"""Milestone checks (counts times milestones) a step-decay refusal may spend looking for the
counts with room (about 0.15 s); past it, the message names none, or says "fits every" where it
cannot tell "needs"."""


def _steps_with_room(ms: list[float], total_steps: int,
                     room: Callable[[int], bool]) -> tuple[int, int | None, str] | None:
    """Step counts other than ``total_steps`` (which has none) with room for milestones ``ms``
    (fractions < 1 or whole steps): ``(low, high, said)``, every count from ``low`` to ``high``
    (``None``: every count from ``low`` on) and what more to say of them (``"only"``: no other
    count has room; ``"checked"``: the counts searched end there, the window may be wider;
    ``"nearest"``: other windows have room too); ``None`` where milestones out of order never
    fit, or where a short search finds no count.

    A fraction moves with the run and a whole step does not. Where no fraction comes before a
    whole step, rounding makes room come and go (0.25 and 0.3 fit 5, 9 and 10 steps, not 11),
    but a run of ``T`` steps has room once ``f1 * T >= 1`` (the first fraction rounds to >= 1),
    and ``>= w + 1.5`` past the last whole step ``w``, ``(1 - fk) * T >= 1.5`` (the last to
    <= T - 1) and each gap ``g * T > 1`` (neighbours round apart): from that bound down, the
    first run without room ends the search (whole steps only: one past the last). A fraction
    before a whole step ``w`` must round below it, so the counts with room end near ``(w +
    0.5) / f``: a window (0.3 and step 7: 8 to 21 steps; [0.5, 100]: 101 to 198), searched
    whole where it is short, else around ``total_steps``."""
    fractions = [m for m in ms if m < 1]
    wholes = [m for m in ms if m >= 1]
    if any(b <= a for a, b in itertools.pairwise(fractions)) or any(
            b <= a for a, b in itertools.pairwise(wholes)):
        return None
    before = [(f, w) for i, f in enumerate(ms) if f < 1 for w in ms[i + 1:] if w >= 1]
    if not before:
        if not fractions:
            return (int(ms[-1]) + 1, None, "") if ms[-1] < 10**20 else None
        gaps = [b - a for a, b in itertools.pairwise(fractions)]
        past = [(wholes[-1] + 1.5) / fractions[0]] if wholes else []
        bound = math.ceil(max([1 / fractions[0], 1.5 / (1 - fractions[-1]), *past,
                               *(1 / g for g in gaps)])) + 1
        if (bound - total_steps) * len(ms) > _SEARCH:  # (a search of 0.15 s or more)
            return None
        t = bound - 1
        while t > total_steps and room(t):
            t -= 1
        return t + 1, None, ""
    need = max([len(ms) + 1, *(int(w) + 1 for w in wholes)])
    upper = min(math.ceil((w + 0.5) / f) + 1 for f, w in before)  # (no count above has room)
    if need > 10**20 or upper < need:
        return None
    reach = _SEARCH // (2 * len(ms))
    whole = upper - need <= 2 * reach
    centre = min(max(total_steps, need), upper)
    first, last = (need, upper) if whole else (max(need, centre - reach),
                                               min(upper, centre + reach))
    fit = [t for t in range(first, last + 1) if room(t)]
    if not fit:
        return None
    nearest = min(fit, key=lambda t: (abs(t - total_steps), t))
    fitting = set(fit)
    low = high = nearest
    while low - 1 in fitting:
        low -= 1
    while high + 1 in fitting:
        high += 1
    said = ("checked" if (low == first and first > need) or (high == last and last < upper)
            else "only" if whole and len(fit) == high - low + 1 else "nearest")
    return low, high, said


def _step_decay(
    total_steps: int, lr: float = 0.1, milestones: tuple[float, ...] = _MILESTONES,
    factor: float = 0.1,
) -> Policy:
    # Milestones given as fractions of the run (< 1) or as absolute steps (whole numbers >= 1).
    given = [m.item() if hasattr(m, "item") else m for m in milestones]  # (numpy's as Python's)
    said = f"{given} (the default)" if tuple(given) == _MILESTONES else f"{given}"
    ms: list[float] = []
    for g in given:
        m = v.real("milestones", g)
        if m <= 0 or (m >= 1 and m != int(m)):
            raise ValueError(
                f"milestones must be fractions of the run in (0, 1) or whole steps >= 1, got "
                f"{g!r} in {given}"
            )
        ms.append(m)

    def steps_of(t: int) -> list[int]:  # fractions rounded to the nearest step of a t-step run
        return [round(m * t) if m < 1 else int(m) for m in ms]

    def room(t: int) -> bool:  # each milestone a step of its own after the first, before t
        steps = steps_of(t)
        return all(b > a for a, b in itertools.pairwise(steps)) and all(
            1 <= m < t for m in steps)

    if not room(total_steps):
        found = _steps_with_room(ms, total_steps, room)
        if found is not None:
            least, high, more = found
            # "needs" where no fewer steps have room (rounding may give some: 0.5 and 0.501
            # fit 101 steps, and every count from 1000 on)
            needs = high is None and least * len(ms) <= _SEARCH and not any(
                room(t) for t in range(len(ms) + 1, least))
            rounded = " (a fraction rounded to its nearest step)" if min(ms) < 1 else ""
            window = (f"total_steps={least}" if least == high else
                      f"total_steps from {least} to {high}")
            raise ValueError(
                f"a {total_steps}-step run has no room for the {len(ms)} milestones {said}: "
                f"each is a step of its own after the first and up to the last{rounded}, so "
                + (f"step-decay needs total_steps >= {least}" if needs else
                   f"step-decay fits every total_steps >= {least}" if high is None else
                   f"step-decay fits {window}" + {
                       "only": " only, as a fraction moves with the run and a whole step "
                               "does not",
                       "checked": " at least (the counts searched end there)",
                       "nearest": f", the counts with room nearest {total_steps}"}[more])
                + " (or other milestones)"
            )
        steps = [m if m <= 10**20 else float(m) for m in steps_of(total_steps)]  # 1e+300
        raise ValueError(
            f"milestones {said} are steps {steps} of a {total_steps}-step run; they must be "
            f"increasing steps within 1..{total_steps - 1}"
        )
    f = v.real("factor", factor)
    if not 0 < f <= 1:
        raise ValueError(f"factor must be in (0, 1], got {factor!r}: a decay multiplies the "
                         "LR by factor at each milestone (0.1 divides it by 10)")
    return Policy("step-decay", step_decay(v.positive("lr", lr), steps_of(total_steps), f,
                                                total_steps))


def _cosine(total_steps: int, max_lr: float = 1.0, final_lr: float = 0.0) -> Policy:
    max_lr = v.positive("max_lr", max_lr)
    final_lr = v.non_negative("final_lr", final_lr)
    if final_lr > max_lr:
        raise ValueError(f"final_lr must be <= max_lr (a decay), got final_lr={final_lr!r}, "
                         f"max_lr={max_lr!r}")
    if total_steps < 2:
        raise ValueError(
            f"total_steps={total_steps} is too small for a cosine decay: a 1-step ramp takes "
            f"only its end, final_lr={final_lr!r}, so no step would train at max_lr; use "
            "total_steps >= 2"
        )
    return Policy("cosine", Ramp(max_lr, final_lr, total_steps, "cos"))


POLICIES: dict[str, Callable[..., Policy]] = {
    "one-cycle": _one_cycle,
    "one-cycle-two-phase": _one_cycle_two_phase,
    "clr": _clr,
    "fixed": _fixed,
    "step-decay": _step_decay,
    "cosine": _cosine,
}


def policy_parameters(name: str) -> dict[str, Any]:
    """The parameters policy ``name`` accepts, with their defaults."""
    fn = POLICIES[v.choice("policy", name, POLICIES)]
    return {
        p.name: p.default
        for p in inspect.signature(fn).parameters.values()
        if p.name != "total_steps"
    }


def make_policy(name: str, total_steps: int, **params: Any) -> Policy:
    """Build policy ``name`` (one of :data:`POLICIES`) over ``total_steps`` optimizer steps.

    Parameters a policy does not take raise ``ValueError`` naming them and listing those it does;
    ``cycle_momentum`` (either value) and the momentum bounds are among them for the policies
    without a momentum schedule (``fixed``, ``step-decay``, ``cosine``). Momentum bounds with
    the momentum schedule turned off (``clr``'s default) are refused too, not ignored.
    """
    check_parameter_names(name, params)
    total_steps = v.steps("total_steps", total_steps)
    if "cycle_momentum" in params:  # numpy's bools too, from a config array
        params = {**params, "cycle_momentum": v.boolean("cycle_momentum",
                                                        params["cycle_momentum"])}
    if "milestones" in params:  # a list, a tuple, a numpy array, ... (None is refused)
        params = {**params, "milestones": v.sequence(
            "milestones", params["milestones"], "fractions of the run or whole steps")}
    return POLICIES[name](total_steps, **params)


def check_parameter_names(name: str, params: Mapping[str, Any]) -> None:
    """:func:`make_policy`'s check of which parameters are given, before any value is: a
    ``ValueError`` naming those policy ``name`` does not take (listing those it does), and the
    momentum bounds given where its momentum schedule is off. A caller that must read something
    first to fill in the rest (an LR off a range test) runs it first, so that a misspelt name is
    what it reports."""
    accepted = policy_parameters(name)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        why = ""
        if any("momentum" in p for p in unknown) and "cycle_momentum" not in accepted:
            cycling = [n for n in POLICIES if "cycle_momentum" in policy_parameters(n)]
            why = (f" (it has no momentum schedule; the policies with one: "
                   f"{', '.join(cycling)})")
        elif {"max_momentum", "base_momentum"} & set(unknown):
            # torch's OneCycleLR and CyclicLR names
            why = (" (torch's max_momentum and base_momentum are high_momentum and "
                   "low_momentum here)")
        raise ValueError(
            f"policy {name!r} does not take {', '.join(unknown)}{why}; it takes "
            f"{', '.join(sorted(accepted))}"
        )
    shaping = sorted(p for p in ("high_momentum", "low_momentum") if p in params)
    if shaping and not params.get("cycle_momentum", accepted.get("cycle_momentum")):
        said = "cycle_momentum=False" if "cycle_momentum" in params else "by default"
        raise ValueError(
            f"policy {name!r} leaves momentum out ({said}), so {', '.join(shaping)} would be "
            "ignored; pass cycle_momentum=True (--cycle-momentum) or drop them"
        )
