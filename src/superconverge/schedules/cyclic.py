"""Cyclical learning rates (Smith, 2017): a wave between two bounds, stepped every mini-batch.

A cycle is ``step_size`` steps up plus ``step_size_down`` (default: the same) steps down;
``step_size_down=0`` is a sawtooth, as in torch: the wave rises over ``step_size`` steps and
starts again from the bottom. The amplitude rule is the ``mode``:

- ``"triangular"``: constant amplitude;
- ``"triangular2"``: the amplitude halves each cycle (``1 / 2 ** (cycle - 1)``);
- ``"exp_range"``: the amplitude is multiplied by ``gamma ** step``;
- ``"sine"``: constant amplitude, sinusoidal instead of triangular waveform
  (``(1 - cos(pi * t)) / 2`` of the triangle ``t``), smooth at the turning points.

``scale_fn`` (a module-level function, so it pickles and serialises) replaces the amplitude rule;
it receives the cycle number (1-based) when ``scale_mode="cycle"`` or the step when
``scale_mode="iterations"``. The formulas are those of ``torch.optim.lr_scheduler.CyclicLR``:
``cyclic(b, m, s, mode=M)`` gives the same values as ``CyclicLR(opt, b, m, step_size_up=s,
mode=M)`` at every step, and ``cyclic_momentum(lo, hi, s)`` those of its cyclic momentum.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from superconverge import _peer_names as peer
from superconverge.schedules import _validate as v
from superconverge.schedules.base import Schedule, register, resolve_ref

MODES = ("triangular", "triangular2", "exp_range", "sine")


def _triangular2_scale(cycle: float) -> float:
    # 0.5 ** (c - 1), not torch's 1 / 2 ** (c - 1): the same exact powers of two (so the values
    # still equal CyclicLR's), but it falls to 0.0 past cycle 1075 where 2 ** 1024 overflows.
    return 0.5 ** (cycle - 1)


@register("cyclic")
@dataclass(frozen=True)
class Cyclic(Schedule):
    """A wave between ``low`` and ``high``; starts at ``low`` (``high`` when ``invert``).

    ``invert=True`` mirrors the wave (``high - amplitude``), the cyclical momentum that moves
    opposite to the learning rate. ``total_steps=None`` cycles forever; with a number, the value
    of the last step is held afterwards.
    """

    low: float
    high: float
    step_size: int
    step_size_down: int | None = None
    mode: str = "triangular"
    gamma: float = 1.0
    scale_fn: Callable[[int], float] | str | None = None
    scale_mode: str = "cycle"
    invert: bool = False
    total_steps: int | None = None

    def __post_init__(self) -> None:
        low, high = v.real("low", self.low), v.real("high", self.high)
        if low > high:
            raise ValueError(
                f"low must be <= high (the bounds of the wave; cyclic() calls them base_lr and "
                f"max_lr), got low={low!r} > high={high!r}; swap them"
            )
        # The wave's height, and its far ends as _value computes them (low + height, high -
        # height; rounding can take them past the largest float): beyond a float, inf and NaN.
        # Floating-point + and * are monotone, so the steps between stay within these.
        height = high - low
        if not math.isfinite(height):
            raise ValueError(
                f"high - low must fit a float (at most 1.8e+308), got low={low!r}, "
                f"high={high!r}: high - low = {Decimal(high) - Decimal(low):.3g} overflows; "
                "narrow the range"
            )
        peak, trough = low + height, high - height
        if not (math.isfinite(peak) and math.isfinite(trough)):
            said = (f"low + (high - low) = {peak!r}" if not math.isfinite(peak)
                    else f"high - (high - low) = {trough!r}")
            raise ValueError(
                f"low={low!r} and high={high!r} are too close to the largest float: the wave "
                f"computes {said} at its far end; narrow the range"
            )
        self._set("low", low)
        self._set("high", high)
        self._set("step_size", v.steps("step_size", self.step_size))
        self._set(
            "step_size_down",
            v.optional_steps("step_size_down", self.step_size_down, minimum=0),  # (0: sawtooth)
        )
        self._set("mode", v.choice("mode", self.mode, MODES))
        gamma = v.real("gamma", self.gamma)
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must be in (0, 1], got {self.gamma!r}")
        if gamma != 1 and (self.mode != "exp_range" or self.scale_fn is not None):
            raise ValueError(
                f"gamma={gamma!r} is used by mode='exp_range' only"
                f"{' (without scale_fn)' if self.scale_fn is not None else ''}, got "
                f"mode={self.mode!r}{', scale_fn' if self.scale_fn is not None else ''}; "
                + ("drop gamma or scale_fn, which replaces exp_range's gamma**step"
                   if self.scale_fn is not None else "drop gamma or use mode='exp_range'")
            )
        self._set("gamma", gamma)
        if isinstance(self.scale_fn, str):
            self._set("scale_fn", resolve_ref(self.scale_fn, "scale_fn"))
        if self.scale_fn is not None and not callable(self.scale_fn):
            raise TypeError(f"scale_fn must be a callable or None, got {self.scale_fn!r}")
        self._set("scale_mode", v.choice("scale_mode", self.scale_mode, ("cycle", "iterations")))
        if self.scale_fn is None and self.scale_mode != "cycle":
            raise ValueError(
                f"scale_mode={self.scale_mode!r} says what scale_fn is given (the cycle or the "
                "step), but there is no scale_fn; drop scale_mode or pass scale_fn"
            )
        self._set("invert", v.boolean("invert", self.invert))
        self._set("total_steps", v.optional_steps("total_steps", self.total_steps))

    @property
    def _down(self) -> int:
        # (0 is a sawtooth, not the default: `or` took it for None)
        return self.step_size if self.step_size_down is None else self.step_size_down

    @property
    def cycle_length(self) -> int:
        """Steps in one full cycle (up + down)."""
        return self.step_size + self._down

    def _amplitude(self, cycle: int, step: int) -> float:
        if self.scale_fn is not None:
            # (a "module:function" string was resolved to the function at construction)
            x = cycle if self.scale_mode == "cycle" else step
            scale = self.scale_fn(x)  # type: ignore[operator]
            if isinstance(scale, float):  # (the common case, checked first: a hot path)
                return scale
            # (a bug bash: None, from a function that forgot its return, was float()'s
            # TypeError, naming nothing; "0.5" was taken)
            return v.real(f"scale_fn's value at {self.scale_mode} {x}", scale)
        if self.mode == "triangular2":
            return _triangular2_scale(cycle)
        if self.mode == "exp_range":
            return self.gamma**step
        return 1.0

    def _value(self, step: int) -> float:
        # Same arithmetic as torch's CyclicLR.get_lr, so the two agree to the last bit.
        up = float(self.step_size)
        total = up + float(self._down)
        ratio = up / total
        cycle = math.floor(1 + step / total)
        x = 1.0 + step / total - cycle
        factor = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
        if self.mode == "sine":
            factor = (1 - math.cos(math.pi * factor)) / 2
        height = (self.high - self.low) * factor
        if self.invert:
            return self.high - height * self._amplitude(cycle, step)
        return self.low + height * self._amplitude(cycle, step)


@peer.peer_names(peer.CYCLIC)
def cyclic(
    base_lr: float,
    max_lr: float,
    step_size: int,
    step_size_down: int | None = None,
    mode: str = "triangular",
    *,
    gamma: float = 1.0,
    scale_fn: Callable[[int], float] | str | None = None,
    scale_mode: str = "cycle",
    total_steps: int | None = None,
) -> Cyclic:
    """A cyclical learning rate from ``base_lr`` up to ``max_lr`` and back, per mini-batch.

    ``step_size``: steps (mini-batches) of the rising half; Smith suggests 2–10 epochs' worth.
    ``step_size_down``: of the falling half (default ``step_size``; 0: a sawtooth, which rises
    and starts again from ``base_lr``). Modes: ``triangular``, ``triangular2``, ``exp_range``
    (with ``gamma``), ``sine``.
    Equivalent to torch's ``CyclicLR(opt, base_lr, max_lr, step_size_up=step_size,
    step_size_down=step_size_down, mode=mode, gamma=gamma)`` (``sine`` has no torch equivalent).
    """
    v.non_negative("base_lr", base_lr)  # (0 as torch's CyclicLR takes it)
    v.positive("max_lr", max_lr)
    if base_lr > max_lr:
        raise ValueError(
            f"base_lr must be <= max_lr, got base_lr={base_lr!r} > max_lr={max_lr!r}; "
            "swap them, or run a range test to find both"
        )
    return Cyclic(
        base_lr, max_lr, step_size, step_size_down, mode, gamma, scale_fn, scale_mode,
        False, total_steps,
    )


@peer.peer_names(peer.CYCLIC)
def cyclic_momentum(
    base_momentum: float = 0.85,
    max_momentum: float = 0.95,
    step_size: int = 2000,
    step_size_down: int | None = None,
    mode: str = "triangular",
    *,
    gamma: float = 1.0,
    scale_fn: Callable[[int], float] | str | None = None,
    scale_mode: str = "cycle",
    total_steps: int | None = None,
) -> Cyclic:
    """Cyclical momentum, the mirror of :func:`cyclic`: starts at ``max_momentum`` and falls
    while the learning rate rises. Use the same ``step_size`` and ``mode`` as the LR schedule.

    torch's ``CyclicLR`` cycles momentum between ``base_momentum=0.8`` and ``max_momentum=0.9``
    by default; Smith's 1cycle experiments use 0.85–0.95, our default.
    """
    v.momentum("base_momentum", base_momentum)
    v.momentum("max_momentum", max_momentum)
    if base_momentum > max_momentum:
        raise ValueError(
            f"base_momentum must be <= max_momentum, got {base_momentum!r} > {max_momentum!r}"
        )
    return Cyclic(
        base_momentum, max_momentum, step_size, step_size_down, mode, gamma, scale_fn,
        scale_mode, True, total_steps,
    )
