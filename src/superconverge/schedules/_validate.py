"""Argument checks shared by the schedules: one policy, one message shape.

Every check raises ``ValueError`` (bad value) or ``TypeError`` (bad type) naming the argument,
the value received and what would be accepted.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Iterable


def real(name: str, value: object) -> float:
    """A finite real number (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    try:
        out = float(value)
    except OverflowError:  # an int (or Fraction) beyond the largest float, ~1.8e308
        raise ValueError(
            f"{name} must be a finite number that fits a float (magnitude at most "
            f"{sys.float_info.max:.4g}), got {_describe_huge(value)}"
        ) from None
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return out


def per_group_hint(value: object, key: str, build: str) -> str:
    """For a message where ``value`` is a list of values given for one number (a list, a tuple,
    a 1-D numpy array or tensor), as torch's schedulers take one per param group
    (``OneCycleLR(max_lr=[...])``): the way to say that here, a schedule built on group 0's
    value and multipliers for the others; "" where ``value`` is no such list. ``build`` says
    how the schedule is built, with ``{first}`` for group 0's value."""
    if (isinstance(value, str | bytes) or not isinstance(value, Iterable)
            or getattr(value, "ndim", 1) != 1):  # (a 0-dim array is iterable by its type)
        return ""
    try:
        values = [float(x) for x in value]  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        values = []
    if values and values[0] != 0 and all(map(math.isfinite, values)):
        # (6 digits: a float32 tensor's 0.1 is 0.10000000149011612)
        first = repr(float(f"{values[0]:.6g}"))
        ratios = str([float(f"{x / values[0]:.6g}") for x in values])
    else:
        first, ratios = "m0", "[1.0, m1 / m0, ...]"
    return (f"; values per param group, as torch's schedulers take them (OneCycleLR(max_lr=[...])),"
            f" are multipliers here: build the schedule on group 0's value, "
            f"{build.format(first=first)}, and pass ParamScheduler(..., "
            f"multipliers={{{key!r}: {ratios}}})")


def _describe_huge(value: object) -> str:
    """``value`` for a message, without printing hundreds of digits (or tripping Python's
    int-to-str digit limit)."""
    if isinstance(value, numbers.Integral):
        n = int(value)
        exp = math.log10(abs(n))  # exact enough for any int size, unlike float(n)
        mantissa = f"{10 ** (exp - math.floor(exp)):.4g}"
        return f"an int of about {'-' if n < 0 else ''}{mantissa}e+{math.floor(exp)}"
    return f"a {type(value).__name__} too large for a float"


def boolean(name: str, value: object) -> bool:
    """``True`` or ``False`` itself, or numpy's (no truthiness: ``"no"`` would be true)."""
    if isinstance(value, bool):
        return value
    if type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_"):
        return bool(value)  # np.True_ from a config array
    raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")


def sequence(name: str, value: object, what: str) -> tuple[object, ...]:
    """The items of a list-like ``value`` (a list, a tuple, ...; not a string or a number), as a
    tuple; ``what`` says what the items are, for the message."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise TypeError(
            f"{name} must be a list of {what}, got {value!r} ({type(value).__name__})"
        )
    return tuple(value)


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
        raise ValueError(f"{name} must be >= {minimum}, got "
                         f"{_describe_huge(out) if out < -10**20 else out}")
    return out


MAX_STEPS = 2**53
"""The largest step count a schedule takes: the float arithmetic of its values counts steps
exactly up to here (and a count beyond ~1.8e308 would not even convert)."""


def steps(name: str, value: object, *, minimum: int = 1) -> int:
    """A count of steps: an int from ``minimum`` to :data:`MAX_STEPS`."""
    out = integer(name, value, minimum=minimum)
    if out > MAX_STEPS:
        said = _describe_huge(out) if out > 10**20 else str(out)
        raise ValueError(f"{name} must be <= 2**53 = {MAX_STEPS} (a float counts steps exactly "
                         f"up to there), got {said}")
    return out


def optional_steps(name: str, value: object, *, minimum: int = 1) -> int | None:
    return None if value is None else steps(name, value, minimum=minimum)


def choice(name: str, value: object, options: Iterable[str]) -> str:
    opts = tuple(options)
    if value not in opts:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, opts))}; got {value!r}")
    return str(value)
