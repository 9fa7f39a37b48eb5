"""Argument checks shared by the schedules: one policy, one message shape.

Every check raises ``ValueError`` (bad value) or ``TypeError`` (bad type) naming the argument,
the value received and what would be accepted.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable


def real(name: str, value: object) -> float:
    """A finite real number (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return out


def positive(name: str, value: object) -> float:
    """A finite number > 0 (learning rates, divisors)."""
    out = real(name, value)
    if out <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return out


def non_negative(name: str, value: object) -> float:
    out = real(name, value)
    if out < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return out


def fraction(name: str, value: object, *, low_open: bool = False, high_open: bool = True) -> float:
    """A fraction in [0, 1) by default; ``low_open``/``high_open`` exclude the ends."""
    out = real(name, value)
    lo_ok = out > 0 if low_open else out >= 0
    hi_ok = out < 1 if high_open else out <= 1
    if not (lo_ok and hi_ok):
        interval = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"
        raise ValueError(f"{name} must be a fraction in {interval}, got {value!r}")
    return out


def momentum(name: str, value: object) -> float:
    """A momentum or Adam ``beta1``: a finite number in [0, 1)."""
    out = real(name, value)
    if not 0 <= out < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return out


def integer(name: str, value: object, *, minimum: int) -> int:
    """An int >= ``minimum`` (numpy ints accepted, bools and floats refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    out = int(value)
    if out < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {out}")
    return out


def optional_integer(name: str, value: object, *, minimum: int) -> int | None:
    return None if value is None else integer(name, value, minimum=minimum)


def choice(name: str, value: object, options: Iterable[str]) -> str:
    opts = tuple(options)
    if value not in opts:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, opts))}; got {value!r}")
    return str(value)
