"""Ramps: how a value moves from ``start`` to ``end`` as progress goes from 0 to 1.

The formulas are exactly torch's (``OneCycleLR._annealing_linear`` / ``_annealing_cos``), so
schedules built from them reproduce torch's runs bit for bit; ``exp`` is geometric interpolation,
the exponential sweep of an LR range test.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from superconverge.schedules import _validate as v
from superconverge.schedules.base import Schedule, register


def anneal_linear(start: float, end: float, progress: float) -> float:
    """Straight line: ``start + (end - start) * progress``."""
    return (end - start) * progress + start


def anneal_cos(start: float, end: float, progress: float) -> float:
    """Half cosine: flat at both ends, ``end + (start - end) / 2 * (1 + cos(pi * progress))``."""
    return end + (start - end) / 2.0 * (math.cos(math.pi * progress) + 1)


def anneal_exp(start: float, end: float, progress: float) -> float:
    """Geometric: ``start * (end / start) ** progress`` (both ends > 0, or both < 0)."""
    return start * (end / start) ** progress


def _check_fits(start: float, end: float, shape: str) -> None:
    """Refuse ends whose span (``end - start``; ``end / start`` for ``exp``) is not a finite
    float, or underflows to 0: the formulas, which stay exactly torch's, would give inf, NaN
    or 0 between two finite ends."""
    if shape == "exp":
        ratio = end / start
        if math.isfinite(ratio) and ratio != 0:
            return
        raise ValueError(
            f"an exponential ramp from start={start!r} to end={end!r} needs end/start as a "
            f"float, got end/start = {Decimal(end) / Decimal(start):.3g}, which "
            f"{'overflows' if ratio else 'underflows to 0'} (floats span about 1e-308 to "
            "1.8e+308); narrow the range, start and end within a factor of 1e308 of each other"
        )
    if math.isfinite(end - start):
        return
    raise ValueError(
        f"a {shape} ramp from start={start!r} to end={end!r} needs end - start as a float, got "
        f"end - start = {Decimal(end) - Decimal(start):.3g}, which overflows (magnitude above "
        "1.8e+308); narrow the range"
    )


ANNEALERS: dict[str, Callable[[float, float, float], float]] = {
    "linear": anneal_linear,
    "cos": anneal_cos,
    "exp": anneal_exp,
}


@register("ramp")
@dataclass(frozen=True)
class Ramp(Schedule):
    """``start`` at step 0 to ``end`` at step ``total_steps - 1`` along ``shape``; then held.

    ``shape``: ``"linear"``, ``"cos"`` or ``"exp"`` (geometric; both ends must be > 0).
    With ``total_steps == 1`` the single step takes ``end``.
    """

    start: float
    end: float
    total_steps: int
    shape: str = "linear"

    def __post_init__(self) -> None:
        self._set("start", v.real("start", self.start))
        self._set("end", v.real("end", self.end))
        self._set("total_steps", v.steps("total_steps", self.total_steps))
        self._set("shape", v.choice("shape", self.shape, ANNEALERS))
        if self.shape == "exp" and (self.start <= 0 or self.end <= 0):
            raise ValueError(
                f"an exponential ramp needs start > 0 and end > 0, got start={self.start!r}, "
                f"end={self.end!r}; use shape='linear' to reach or leave 0"
            )
        _check_fits(self.start, self.end, self.shape)
        if self.total_steps > 1:  # the ends as the formula computes them (rounding near 1e308)
            for progress in (0.0, 1.0):
                value = ANNEALERS[self.shape](self.start, self.end, progress)
                if not math.isfinite(value):
                    raise ValueError(
                        f"a {self.shape} ramp from start={self.start!r} to end={self.end!r} "
                        f"computes {value!r} at progress {progress:g}: the ends are too close "
                        "to the largest float; narrow the range"
                    )

    def _value(self, step: int) -> float:
        # The ends exactly as given: the formulas miss them in the last bit (a cosine decay
        # from 0.9 began at 0.9000000000000001, above its max_lr; 4 ramps in 10 missed one);
        # and the steps between never beyond them (a cosine ramp of 2e8 steps rose from 0.4 to
        # 0.3999999999999999: the formula's start, a bit below the one given).
        if step >= self.total_steps - 1:
            return self.end
        if step == 0:
            return self.start
        value = ANNEALERS[self.shape](self.start, self.end, step / (self.total_steps - 1))
        low, high = (self.start, self.end) if self.start <= self.end else (self.end, self.start)
        return min(max(value, low), high)


def linear(start: float, end: float, total_steps: int) -> Ramp:
    """Linear ramp from ``start`` (step 0) to ``end`` (step ``total_steps - 1``)."""
    return Ramp(start, end, total_steps, "linear")


def cosine(start: float, end: float, total_steps: int) -> Ramp:
    """Half-cosine ramp from ``start`` (step 0) to ``end`` (step ``total_steps - 1``)."""
    return Ramp(start, end, total_steps, "cos")


def exponential(start: float, end: float, total_steps: int) -> Ramp:
    """Geometric ramp (constant ratio per step) from ``start`` to ``end``; both > 0."""
    return Ramp(start, end, total_steps, "exp")
