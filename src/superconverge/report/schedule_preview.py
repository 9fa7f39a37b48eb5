"""Preview a policy before training with it: CSV, JSON, a PNG plot or an ASCII chart."""

from __future__ import annotations

import json
import math
import os
import warnings
from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, SupportsIndex

from superconverge import atomic
from superconverge._warning import SuperconvergeWarning
from superconverge.schedules._validate import integer
from superconverge.schedules.base import Schedule
from superconverge.schedules.policy import Policy

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _as_policy(policy: Policy | Schedule) -> Policy:
    """A policy, or a bare LR schedule wrapped as one (named after its class)."""
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, Schedule):
        return Policy(type(policy).__name__, policy)
    raise TypeError(f"policy must be a Policy (make_policy) or a Schedule, got {policy!r}")


def render_policy(policy: Policy | Schedule, steps: SupportsIndex | None = None,
                  fmt: str = "csv") -> str:
    """The policy's per-step values as text: ``csv`` (step,lr[,momentum]), ``json`` or ``ascii``.
    A bare ``Schedule`` is shown as the LR of a policy named after its class."""
    policy = _as_policy(policy)
    if fmt == "ascii":  # two columns of numbers, not a row of dicts per step
        lr, momentum = policy.columns(steps)
        _check_finite_columns(lr, momentum, "to chart")
        out = [f"{policy.name}: lr over {len(lr)} steps", ascii_chart(lr)]
        if momentum is not None:
            out += ["momentum", ascii_chart(momentum)]
        return "\n".join(out) + "\n"
    if fmt not in ("csv", "json"):
        raise ValueError(f"fmt must be one of 'csv', 'json', 'ascii' for text; got {fmt!r}")
    if fmt == "csv":
        # From the columns, a line a step: rows of dicts took 457 MB for 1e6 steps (a review).
        # Numbers need no quoting; a float is written as its repr, which reads back exactly.
        lr, momentum = policy.columns(steps)
        _check_finite_columns(lr, momentum, "to write as csv")
        if momentum is None:
            body = (f"{i},{x!r}\n" for i, x in enumerate(lr))
            head = "step,lr\n"
        else:
            body = (f"{i},{x!r},{m!r}\n" for i, (x, m) in enumerate(zip(lr, momentum,
                                                                        strict=True)))
            head = "step,lr,momentum\n"
        return head + "".join(body)
    # From the columns too, in the text json.dumps(indent=1) gives rows of dicts: the rows
    # took 1.13 GB for the CLI's 1e6 steps (a session's note)
    lr, momentum = policy.columns(steps)
    _check_finite_columns(lr, momentum, f"to write as {fmt}")
    doc: dict[str, Any] = {
        "policy": policy.name,
        "lr_schedule": _as_data(policy.lr, "lr"),
        "momentum_schedule": _as_data(policy.momentum, "momentum") if policy.momentum
        else None,
        "steps": [],
    }
    head = json.dumps(doc, indent=1, allow_nan=False)  # never Infinity, NaN
    if momentum is None:
        rows = (f'  {{\n   "step": {i},\n   "lr": {x!r}\n  }}' for i, x in enumerate(lr))
    else:
        rows = (f'  {{\n   "step": {i},\n   "lr": {x!r},\n   "momentum": {m!r}\n  }}'
                for i, (x, m) in enumerate(zip(lr, momentum, strict=True)))
    steps_text = ",\n".join(rows)
    # (the empty list is the document's last value: "[]\n}" ends it)
    return f"{head[:-4]}[\n{steps_text}\n ]\n}}\n"


def _as_data(schedule: Schedule, key: str) -> dict[str, Any] | None:
    """``schedule.to_dict()``, or None with a warning where it cannot be saved as data (a
    lambda ``scale_fn``: the JSON failed outright, where the steps could still be written and
    ParamScheduler's state_dict holds None: a bug bash)."""
    try:
        return schedule.to_dict()
    except TypeError as exc:
        warnings.warn(f"{key}: the schedule {schedule!r} cannot be saved as data ({exc}), so "
                      f"the JSON's {key}_schedule is null; its steps are written",
                      SuperconvergeWarning, stacklevel=3)
        return None


def _check_finite_columns(lr: array[float], momentum: array[float] | None, what: str) -> None:
    """Refuse a value that is not finite: ``inf`` in a CSV, ``Infinity`` (not JSON) in a JSON
    file, a plot or chart without its scale. A policy built by :func:`make_policy` never has one;
    a schedule with a ``scale_fn`` (or one of your own) may."""
    import numpy as np

    for key, column in (("an LR", lr), ("a momentum", momentum)):
        if column is None:
            continue
        bad = np.flatnonzero(~np.isfinite(np.frombuffer(column, dtype=np.float64)))
        if bad.size:
            step = int(bad[0])
            # (named in words: "lr=" read as the CLI's --lr, a flag one-cycle has not)
            raise ValueError(f"values must be finite {what}, got {key} of {column[step]!r} at "
                             f"step {step}")


def ascii_chart(values: Iterable[float], width: int = 72, height: int = 12) -> str:
    """A terminal plot of ``values`` (any iterable of numbers: a list, a numpy array, a
    schedule's ``[v for _, v in s.table(n)]``), axis labels on the left: one column per step,
    or, with more steps than ``width``, each column spanning its share of the steps from their
    lowest to their highest value (a sample per column would alias a fast cycle into a slow
    false wave)."""
    width = integer("width", width, minimum=1)
    height = integer("height", height, minimum=2)
    if not isinstance(values, Iterable) or isinstance(values, str | bytes):
        raise TypeError(f"values must be an iterable of numbers, got {type(values).__name__}")
    try:
        values = list(values)
        text = next((x for x in values if isinstance(x, str | bytes)), None)
        if text is not None:  # float("1") would read it: a number's text is not a number
            raise TypeError(f"got {text!r}")
        values = [float(x) for x in values]
    except (TypeError, ValueError) as exc:
        raise TypeError(f"values must be numbers: {exc}") from None
    if not values:
        return "(no values)"
    bad = [x for x in values if not math.isfinite(x)]
    if bad:
        raise ValueError(f"values must be finite to chart, got {bad[0]!r}")
    n = len(values)
    k = min(width, n)
    # Column c covers steps [c * n // k, (c + 1) * n // k): every step in exactly one column.
    cols = [values[c * n // k:(c + 1) * n // k] for c in range(k)]
    lo, hi = min(values), max(values)
    # (in halves where the span is more than a float holds: -1.7e308 to 1.7e308)
    half = 0.5 if math.isinf(hi - lo) else 1.0
    span = hi * half - lo * half or 1.0
    grid = [[" "] * k for _ in range(height)]
    for c, part in enumerate(cols):
        low = round((min(part) * half - lo * half) / span * (height - 1))
        high = round((max(part) * half - lo * half) / span * (height - 1))
        for r in range(low, high + 1):
            grid[height - 1 - r][c] = "*"
    label_w = max(len(f"{hi:.4g}"), len(f"{lo:.4g}"))
    lines = []
    for r, row in enumerate(grid):
        label = f"{hi:.4g}" if r == 0 else f"{lo:.4g}" if r == height - 1 else ""
        lines.append(f"{label:>{label_w}} |{''.join(row)}")
    lines.append(f"{'':>{label_w}} +{'-' * k}")
    ends = f"step 0{'':>{k - 12}}{n - 1:>6}" if k >= 12 else f"steps 0-{n - 1}"
    lines.append(f"{'':>{label_w}}  {ends}")
    return "\n".join(lines)


def _title(policy: Policy) -> str:
    """The policy's name and its LR schedule's mode, e.g. "clr (triangular2)"; a bare
    schedule's class, e.g. "Cyclic (triangular2)". Not a policy's class ("cosine: Ramp (cos)"
    read as our internals), nor a mode its name already says ("cosine (cos)")."""
    name = policy.name
    detail = getattr(policy.lr, "mode", None) or getattr(policy.lr, "shape", None)
    if isinstance(detail, str) and detail not in name:
        name += f" ({detail})"
    return name


@atomic.drawing
def plot_policy(
    policy: Policy | Schedule, path: str | os.PathLike[str], steps: SupportsIndex | None = None
) -> Path:
    """Plot the LR (and momentum, on a second axis) against the step into ``path``, in the
    format of its suffix (``.png``, ``.svg``, ``.pdf``; no suffix: PNG). A bare ``Schedule`` is
    plotted as an LR.

    The LR axis is logarithmic when a linear one would flatten a fifth of the run or more
    against 0 (a step decay to 1e-5: its last drops could not be seen), and linear otherwise (a
    1cycle keeps its familiar triangle; its final LR is in the title); a run of
    at most :data:`FEW_STEPS` steps is drawn as the steps it is (each LR held for its step, a
    dot per step); the title gives the LR's start, peak and end."""
    fig = atomic.new_figure((7, 3.5), 120)
    draw_policy(fig.add_subplot(), policy, steps)
    fig.tight_layout()
    return atomic.save_figure(fig, path)


def _needs_log(lr: Any) -> bool:
    """Whether a linear LR axis would press a fifth of the steps or more into its bottom 3%
    with LRs above 0 there (a decay to 0, a cosine, is drawn best linear; a warm-up from 0
    before a step decay gets a symlog axis); ``lr`` is a numpy array."""
    top = lr.max()
    if lr.min() < 0 or top <= 0:
        return False
    return int(((lr > 0) & (lr < 0.03 * top)).sum()) >= 0.2 * len(lr)


FEW_STEPS = 50
""":func:`plot_policy` draws a run of at most this many steps step by step, with a dot each."""

#: A log LR axis spans at most 12 decades below the largest LR: smaller LRs (a step decay's
#: underflow towards 0) are drawn on its linear part, as 0.
_LOG_DECADES_FLOOR = 1e-12


#: :func:`draw_policy` draws a run of more than twice this many steps as this many stretches
#: of steps, each by its lowest and highest value at their own steps (a line through 10M steps
#: took 58 s and 1.1 GB; a sample per stretch would alias a fast cycle into a slow false wave).
DRAWN_STRETCHES = 4000


def _envelope(values: array[float]) -> tuple[Any, Any]:
    """The steps and values :func:`draw_policy` draws for ``values``: all of them, or, past
    ``2 * DRAWN_STRETCHES`` steps, the first, the last and each stretch's lowest and highest,
    in step order (the same picture at any width a plot is drawn at)."""
    import numpy as np

    y = np.frombuffer(values, dtype=np.float64)
    n = len(y)
    if n <= 2 * DRAWN_STRETCHES:
        return np.arange(n), y
    width = -(-n // DRAWN_STRETCHES)
    rows = -(-n // width)  # every row holds at least one step
    padded = np.full(rows * width, np.nan)
    padded[:n] = y
    block = padded.reshape(rows, width)
    start = np.arange(rows) * width
    steps = np.unique(np.concatenate(([0, n - 1], start + np.nanargmin(block, axis=1),
                                      start + np.nanargmax(block, axis=1))))
    return steps, y[steps]


EDGE_STRETCHES = 500
"""The stretches :func:`_edges` reads a band's edges over: about one a pixel of a plot's width,
so that a cycle of a few steps gives straight edges, not a zigzag that fills the band again.
:func:`draw_policy` draws a momentum's edges where it turns more often than this."""


def _edges(values: array[float], turns: int) -> tuple[Any, Any, Any]:
    """The lowest and highest value of each of :data:`EDGE_STRETCHES` stretches of steps (fewer,
    of two cycles each at least, of ``values``' :func:`_turns`), at its first step, then held
    to the last step: a band's edges, which leave a curve drawn under them seen."""
    import numpy as np

    y = np.frombuffer(values, dtype=np.float64)
    n = len(y)
    # Two cycles a stretch at least (a cycle turns twice): a stretch shorter than a cycle
    # caught a peak in one and a trough in the next, edges that zigzag across the band and
    # hid the LR again (a review: 1500 steps of a 4-step cycle)
    width = max(-(-n // EDGE_STRETCHES), -(-4 * n // max(turns, 1)))
    rows = max(n // width, 1)  # (the last, partial stretch folded into the one before)
    starts = np.arange(rows) * width
    low = np.minimum.reduceat(y, starts)
    high = np.maximum.reduceat(y, starts)
    # (the last stretch held to the last step: not a V down to its one value)
    return (np.append(starts, n - 1), np.append(low, low[-1]), np.append(high, high[-1]))


def _turns(values: array[float]) -> int:
    """How often ``values`` turns (between rising, falling and flat): more often than
    :data:`EDGE_STRETCHES` is a band on a plot."""
    import numpy as np

    return int(np.count_nonzero(np.diff(np.sign(np.diff(np.frombuffer(values, np.float64))))))


#: The largest value :func:`draw_policy` draws: matplotlib failed from 1e308 ("arange: cannot
#: compute length"), its ticks past the largest float.
_PLOT_LIMIT = 1e307


@atomic.drawing
def draw_policy(ax: Axes, policy: Policy | Schedule, steps: SupportsIndex | None = None) -> Axes:
    """Draw what :func:`plot_policy` saves on ``ax`` (and a twin axis for momentum)."""
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    policy = _as_policy(policy)
    lr, momentum = policy.columns(steps)
    _check_finite_columns(lr, momentum, "to plot")
    for key, column in (("an LR", lr), ("a momentum", momentum)):
        if column is None:
            continue
        big = np.flatnonzero(np.abs(np.frombuffer(column, dtype=np.float64)) > _PLOT_LIMIT)
        if big.size:  # (matplotlib's ticks and margins overflow near 1.8e308)
            step = int(big[0])
            raise ValueError(f"values must be within ±{_PLOT_LIMIT:g} to plot, got {key} of "
                             f"{column[step]!r} at step {step}: the axis would overflow a "
                             "float")
    y = np.frombuffer(lr, dtype=np.float64)
    x = range(len(lr))
    few = len(lr) <= FEW_STEPS

    def draw(on: Axes, values: array[float], color: str, label: str, edges: bool = False
             ) -> None:
        if few:  # each value held for its step, the last one too (to where a next would be)
            on.plot([*x, len(values)], [*values, values[-1]], color=color,
                    drawstyle="steps-post")
            on.plot(x, values, color=color, label=label, linestyle="none", marker=".",
                    markersize=5)
        elif edges and (turns := _turns(values)) > EDGE_STRETCHES:  # a band's edges, not its
            # fill (a bug bash: fast cycles filled both bands, and the momentum's twin, drawn
            # over the LR, hid it whole)
            steps, low, high = _edges(values, turns)
            on.plot(steps, high, color=color, label=label)
            on.plot(steps, low, color=color)
        else:
            on.plot(*_envelope(values), color=color, label=label)

    draw(ax, lr, "C0", "lr")
    if _needs_log(y):
        positive = y[y > 0]
        # LRs under a 1e-12th of the largest are drawn as 0 (an audit: a step decay that
        # underflowed to 1e-300 and then 0 took its axis from there, a blank plot of ±1e-3)
        floor = float(y.max()) * _LOG_DECADES_FLOOR
        if len(positive) < len(y) or positive.min() < floor:
            # a warm-up from 0: linear below the smallest LR above 0
            ax.set_yscale("symlog", linthresh=max(float(positive.min()), floor))
            ax.set_ylim(bottom=0)
        else:
            ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(x) == 1:  # matplotlib would span -0.05..0.05; the step is held up to 1
        ax.set_xlim(-1, 2)
    ax.set_xlabel("step (optimizer steps)")
    ax.set_ylabel("learning rate", color="C0")
    peak = int(np.argmax(y))  # (the first of equal highs, as max() gave)
    ax.set_title(
        f"{_title(policy)}\nlr {lr[0]:.3g} at step 0, max {lr[peak]:.3g} at step {peak}, "
        f"{lr[-1]:.3g} at step {len(lr) - 1}",
        fontsize="medium",
    )
    if momentum is not None:
        ax2 = ax.twinx()
        draw(ax2, momentum, "C1", "momentum", edges=True)
        ax2.set_ylabel("momentum", color="C1")
    ax.grid(alpha=0.3)
    return ax
