"""The 1cycle policy (Smith & Topin, 2017; Smith, 2018) and its cyclical momentum.

Smith's form (:func:`one_cycle`, three phases, linear by default):

1. ``lower -> max_lr`` over the first half of the cycle, where ``lower = max_lr / div``;
2. ``max_lr -> lower`` over the second half; the cycle takes ``1 - annihilation_fraction`` of
   the run ("slightly less than the whole run");
3. annihilation: ``lower -> lower / final_div`` over the remaining steps.

Momentum mirrors it (:func:`one_cycle_momentum`): ``high -> low -> high``, then held at ``high``
during the annihilation. Weight decay stays constant.

The two-phase variant (:func:`one_cycle_two_phase`, what torch and fastai default to) warms up
``max_lr / div -> max_lr`` over ``warmup_fraction`` of the run, then anneals (cosine by default)
straight down to ``(max_lr / div) / final_div``.

Step convention (the same as torch's ``OneCycleLR``, so runs agree to the last bit): step 0 takes
the first value, step ``total_steps - 1`` the final one; with ``f`` the phase-one fraction
(``(1 - annihilation_fraction) / 2`` or ``warmup_fraction``) and ``T = total_steps``, the peak is
at step ``f*T - 1`` and, in three phases, ``lower`` is back at step ``2*f*T - 2``. Boundaries may
fall between integer steps. Mapping onto torch::

    one_cycle(m, T, div=d, final_div=k, annihilation_fraction=a, anneal=s)
      == OneCycleLR(opt, m, total_steps=T, pct_start=(1 - a) / 2, div_factor=d,
                    final_div_factor=k, three_phase=True, anneal_strategy=s)
    one_cycle_momentum(T, high=h, low=l, annihilation_fraction=a, anneal=s)
      == the momentum of the same OneCycleLR with max_momentum=h, base_momentum=l
    one_cycle_two_phase(m, T, warmup_fraction=p, div=d, final_div=k, anneal=s)
      == OneCycleLR(opt, m, total_steps=T, pct_start=p, div_factor=d,
                    final_div_factor=k, three_phase=False, anneal_strategy=s)

Note ``final_div`` divides the *lower* bound (as torch's ``final_div_factor`` divides
``initial_lr``), not ``max_lr`` (fastai's ``div_final`` divides ``lr_max``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

from superconverge import _peer_names as peer
from superconverge.schedules import _validate as v
from superconverge.schedules.base import Schedule, register
from superconverge.schedules.shapes import ANNEALERS

ONE_CYCLE_ANNEALS = ("linear", "cos")


def _phase_ends(total_steps: int, first_fraction: float, three_phase: bool) -> tuple[float, ...]:
    """Float step at which each phase ends (torch's ``_schedule_phases`` end steps)."""
    first = float(first_fraction * total_steps) - 1
    if three_phase:
        return (first, float(2 * first_fraction * total_steps) - 2, float(total_steps - 1))
    return (first, float(total_steps - 1))


def _check_room(total_steps: int, first_fraction: float, what: str, fraction: str) -> None:
    """Each phase must span more than zero steps, or the interpolation divides by zero.

    ``fraction`` is the argument that sets the first phase (``warmup_fraction``, or
    ``annihilation_fraction`` whose first phase is ``(1 - a) / 2``), for the remedy when no
    sensible ``total_steps`` would do: a subnormal ``warmup_fraction=1e-309`` made ``1 / f``
    inf (``math.floor`` raised OverflowError), and ``1e-300`` asked for a 300-digit count."""
    if first_fraction * total_steps <= 1:
        inv = 1 / first_fraction
        if math.isfinite(inv) and inv < 1e9:
            least = math.floor(inv) + 1
            while first_fraction * least <= 1:  # (the test in floats: 1/f rounds either way)
                least += 1
            # A three-phase 1cycle whose second phase ends before step 1 builds, but its step 1
            # is already in the annihilation: its LR only falls (torch's OneCycleLR too). The
            # count to advise is the least with a cycle in it: its step 1 short of the second
            # phase's end by more than rounding (a bug bash: at 300 steps and
            # annihilation_fraction=0.99 it fell short by 3e-15, and the LR rose by 5e-15).
            cycle = least
            while (fraction == "annihilation_fraction"
                   and 2 * first_fraction * cycle - 2 <= 1 + 1e-9):
                cycle += 1
            moved = ("the momentum stays at its high value" if "momentum" in what
                     else "the LR only falls")
            also = (f" (from {least} it builds, but below {cycle} its step 1 is already past "
                    f"the turn of the cycle, so {moved})" if cycle > least else "")
            raise ValueError(
                f"total_steps={total_steps} is too small for {what}: its first phase would not "
                f"span a whole step ({first_fraction:.3g} of the run is "
                f"{first_fraction * total_steps:.3g} steps, and it needs more than 1); use "
                f"total_steps >= {cycle}{also}"
            )
        if fraction == "warmup_fraction":
            remedy = (f"warmup_fraction > 1 / total_steps = {1 / total_steps:.3g}"
                      if total_steps > 1 else "total_steps >= 2 and a larger warmup_fraction")
        else:
            remedy = (f"annihilation_fraction < 1 - 2 / total_steps = {1 - 2 / total_steps:.3g}"
                      if total_steps > 2 else
                      "total_steps >= 3 and a smaller annihilation_fraction")
        take = (f"total_steps >= {math.floor(inv) + 1:.3g}" if math.isfinite(inv)
                else f"more steps than a float can count (1 / {fraction} overflows)")
        raise ValueError(
            f"{what} leaves its first phase less than a step: {first_fraction:.3g} of "
            f"total_steps={total_steps} is {first_fraction * total_steps:.3g} steps, and a whole "
            f"step would take {take}; use {remedy}"
        )


def _interpolate(
    step: int, ends: tuple[float, ...], values: tuple[float, ...], fn: Callable[..., float]
) -> float:
    start = 0.0
    last = len(ends) - 1
    for i, end in enumerate(ends):
        if step <= end or i == last:
            return fn(values[i], values[i + 1], (step - start) / (end - start))
        start = end
    raise AssertionError("unreachable")  # pragma: no cover


def _check_max_lr_and_divs(max_lr: object, div: object, final_div: object,
                           kind: str) -> tuple[float, ...]:
    try:
        m = v.positive("max_lr", max_lr)
    except TypeError as exc:  # (a list, as torch's OneCycleLR takes one per group: a bug bash)
        hint = v.per_group_hint(max_lr, "lr", f"{kind}({{first}}, total_steps)")
        raise TypeError(f"{exc}{hint}") from None
    d = v.real("div", div)
    if d < 1:
        raise ValueError(f"div must be >= 1 (lower bound = max_lr / div), got {div!r}")
    k = v.real("final_div", final_div)
    if k < 1:
        raise ValueError(f"final_div must be >= 1 (final = lower / final_div), got {final_div!r}")
    return m, d, k


def _check_momenta(high: object, low: object) -> tuple[float, float]:
    h, lo = v.momentum("momentum high", high), v.momentum("momentum low", low)
    if lo > h:
        raise ValueError(f"momentum low must be <= high, got low={lo!r} > high={h!r}")
    return h, lo


class _Phased(Schedule):
    """Shared machinery of the 1cycle schedules: validation of the common fields, the cached
    phase ends and values, and the interpolation."""

    total_steps: int
    anneal: str

    def _set_momentum_fields(self) -> tuple[float, float]:
        h, lo = _check_momenta(self.high, self.low)  # type: ignore[attr-defined]
        self._set("high", h)
        self._set("low", lo)
        return h, lo

    def _finish(self, first_fraction: float, three_phase: bool, what: str,
                values: tuple[float, ...]) -> None:
        """Validate the shared fields, then store the phase ends, values and annealer once, so
        ``_value`` does no set-up per step (a ParamScheduler calls it every optimizer step).
        They are not dataclass fields: equality, repr and ``to_dict`` ignore them."""
        fraction = "annihilation_fraction" if three_phase else "warmup_fraction"
        n = self.total_steps
        # (says the count it needs; not of a count past a float's reach, -10**400, which the
        # room check could not multiply: a bug bash)
        if isinstance(n, numbers.Integral) and not isinstance(n, bool) and (
                -v.MAX_STEPS <= n < 1):
            _check_room(int(n), first_fraction, what, fraction)
        self._set("total_steps", v.steps("total_steps", n))
        self._set("anneal", v.choice("anneal", self.anneal, ONE_CYCLE_ANNEALS))
        _check_room(self.total_steps, first_fraction, what, fraction)
        self._set("_ends", _phase_ends(self.total_steps, first_fraction, three_phase))
        self._set("_values", values)
        self._set("_fn", ANNEALERS[self.anneal])

    def _value(self, step: int) -> float:
        return _interpolate(step, self._ends, self._values, self._fn)  # type: ignore[attr-defined]


class _LrPhased(_Phased):
    """The 1cycle LR schedules: a peak ``max_lr``, a lower bound and a final value."""

    max_lr: float
    div: float
    final_div: float

    def _set_lr_fields(self) -> None:
        m, d, k = _check_max_lr_and_divs(self.max_lr, self.div, self.final_div,
                                         type(self).kind)
        self._set("max_lr", m)
        self._set("div", d)
        self._set("final_div", k)

    @property
    def lower(self) -> float:
        """The lower bound ``max_lr / div``: the value at step 0 (up to float rounding with
        ``anneal="cos"``, torch's arithmetic)."""
        return self.max_lr / self.div

    @property
    def final(self) -> float:
        """``lower / final_div``: the value at the last step, up to float rounding (the
        schedule computes it as torch's ``OneCycleLR`` does, and matches torch bit for bit)."""
        return self.lower / self.final_div


@register("one_cycle")
@dataclass(frozen=True)
class OneCycle(_LrPhased):
    """Smith's three-phase 1cycle learning rate; see the module docstring for the formulas."""

    max_lr: float
    total_steps: int
    div: float = 10.0
    final_div: float = 100.0
    annihilation_fraction: float = 0.1
    anneal: str = "linear"

    def __post_init__(self) -> None:
        self._set_lr_fields()
        a = v.fraction("annihilation_fraction", self.annihilation_fraction)
        self._set("annihilation_fraction", a)
        self._finish((1 - a) / 2, True, f"a 1cycle with annihilation_fraction={a}",
                     (self.lower, self.max_lr, self.lower, self.final))


@register("one_cycle_momentum")
@dataclass(frozen=True)
class OneCycleMomentum(_Phased):
    """Cyclical momentum for :class:`OneCycle`: ``high -> low -> high``, then held at ``high``
    during the annihilation."""

    total_steps: int
    high: float = 0.95
    low: float = 0.85
    annihilation_fraction: float = 0.1
    anneal: str = "linear"

    def __post_init__(self) -> None:
        h, lo = self._set_momentum_fields()
        a = v.fraction("annihilation_fraction", self.annihilation_fraction)
        self._set("annihilation_fraction", a)
        self._finish((1 - a) / 2, True, f"a 1cycle momentum with annihilation_fraction={a}",
                     (h, lo, h, h))


@register("one_cycle_two_phase")
@dataclass(frozen=True)
class OneCycleTwoPhase(_LrPhased):
    """Two-phase 1cycle (torch/fastai default): warm up to ``max_lr``, anneal to the final."""

    max_lr: float
    total_steps: int
    warmup_fraction: float = 0.3
    div: float = 25.0
    final_div: float = 1e4
    anneal: str = "cos"

    def __post_init__(self) -> None:
        self._set_lr_fields()
        p = v.fraction("warmup_fraction", self.warmup_fraction, low_open=True)
        self._set("warmup_fraction", p)
        self._finish(p, False, f"a two-phase 1cycle with warmup_fraction={p}",
                     (self.lower, self.max_lr, self.final))


@register("one_cycle_two_phase_momentum")
@dataclass(frozen=True)
class OneCycleTwoPhaseMomentum(_Phased):
    """Momentum for :class:`OneCycleTwoPhase`: ``high -> low`` in warm-up, back to ``high``."""

    total_steps: int
    high: float = 0.95
    low: float = 0.85
    warmup_fraction: float = 0.3
    anneal: str = "cos"

    def __post_init__(self) -> None:
        h, lo = self._set_momentum_fields()
        p = v.fraction("warmup_fraction", self.warmup_fraction, low_open=True)
        self._set("warmup_fraction", p)
        self._finish(p, False, f"a two-phase 1cycle with warmup_fraction={p}",
                     (h, lo, h))


@peer.peer_names(peer.ONE_CYCLE)
def one_cycle(
    max_lr: float,
    total_steps: int,
    *,
    div: float = 10.0,
    final_div: float = 100.0,
    annihilation_fraction: float = 0.1,
    anneal: str = "linear",
) -> OneCycle:
    """Smith's 1cycle LR: ``max_lr/div -> max_lr -> max_lr/div`` then annihilation to
    ``max_lr/div/final_div``, per mini-batch over ``total_steps``.

    ``div``: Smith uses 5–10; ``final_div``: the annihilation ends at 1/10–1/100 of the lower
    bound; ``annihilation_fraction``: fraction of the run after the cycle, in [0, 1).
    """
    return OneCycle(max_lr, total_steps, div, final_div, annihilation_fraction, anneal)


@peer.peer_names(peer.ONE_CYCLE_MOMENTUM)
def one_cycle_momentum(
    total_steps: int,
    *,
    high: float = 0.95,
    low: float = 0.85,
    annihilation_fraction: float = 0.1,
    anneal: str = "linear",
) -> OneCycleMomentum:
    """Cyclical momentum ``high -> low -> high`` matching :func:`one_cycle` step for step."""
    return OneCycleMomentum(total_steps, high, low, annihilation_fraction, anneal)


@peer.peer_names(peer.ONE_CYCLE_TWO_PHASE)
def one_cycle_two_phase(
    max_lr: float,
    total_steps: int,
    *,
    warmup_fraction: float = 0.3,
    div: float = 25.0,
    final_div: float = 1e4,
    anneal: str = "cos",
) -> OneCycleTwoPhase:
    """The two-phase 1cycle of torch's ``OneCycleLR`` defaults (fastai uses
    ``warmup_fraction=0.25``)."""
    return OneCycleTwoPhase(max_lr, total_steps, warmup_fraction, div, final_div, anneal)


@peer.peer_names(peer.ONE_CYCLE_TWO_PHASE_MOMENTUM)
def one_cycle_two_phase_momentum(
    total_steps: int,
    *,
    high: float = 0.95,
    low: float = 0.85,
    warmup_fraction: float = 0.3,
    anneal: str = "cos",
) -> OneCycleTwoPhaseMomentum:
    """Momentum matching :func:`one_cycle_two_phase`: ``high -> low -> high``."""
    return OneCycleTwoPhaseMomentum(total_steps, high, low, warmup_fraction, anneal)
