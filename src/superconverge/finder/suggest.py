"""Suggestion rules: pure functions of a range-test curve ``(lrs, raw losses)``.

Every rule returns a :class:`Suggestion` (the LR, its index, and one sentence saying why) or a
``Suggestion`` with ``lr=None`` and the reason there is no sensible pick. Non-finite points end the
curve: a rule only looks at the finite prefix. Rules never raise on short, flat or ragged curves.

All rules read the curve through :func:`smooth_centered`, a zero-lag smoothing (running median of 5
against single-batch spikes, then a Gaussian window: 3% of the points, or 3 of a linear sweep's
whose early fall that hides, :func:`smooth_sweep`). The online exponential moving average that
the range test (and every anchor) uses to detect divergence lags about ``beta / (1 - beta)`` = 49
steps at beta 0.98 — half of a 100-step sweep — which shifts every feature of the curve (its
minimum, its steepest point) towards larger learning rates. Suggestions should not inherit that.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Floats = Sequence[float] | np.ndarray
"""A curve's series: a list or tuple of floats, or a 1-D numpy array."""

STOP_REASONS = ("completed", "diverged", "nan", "interrupted", "error")
"""Why a test ended: it ran all ``num_iter`` steps; the smoothed loss exceeded ``diverge_factor``
times its best; a loss was NaN/inf; Ctrl-C; an exception raised during the sweep (the last two
only in the partial result attached to the exception)."""

_CUT = ("interrupted", "error")  # stop reasons of a sweep cut short, not run to its end


MIN_POINTS = 8
"""Fewer finite points than this and no rule picks anything."""


@dataclass(frozen=True)
class Suggestion:
    """A rule's pick on a range-test curve."""

    lr: float | None
    index: int | None
    method: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: ``lr``, ``index``, ``method`` and ``reason``."""
        return {"lr": self.lr, "index": self.index, "method": self.method, "reason": self.reason}


def finite_prefix(lrs: Floats, losses: Floats) -> tuple[np.ndarray, np.ndarray]:
    """The curve up to (not including) its first non-finite loss or learning rate. The LRs of
    that part must be above 0 and increase, as a sweep's do (reversed, the bounds came out
    base > max)."""
    x, y = _numbers("lrs", lrs), _numbers("losses", losses)
    if x.ndim != 1 or y.ndim != 1 or len(x) != len(y):
        raise ValueError(
            f"lrs and losses must be 1-D sequences of equal length, got shapes {x.shape} and "
            f"{y.shape}"
        )
    bad = ~(np.isfinite(x) & np.isfinite(y))
    end = int(np.argmax(bad)) if bad.any() else len(x)
    below = np.flatnonzero(x[:end] <= 0)
    if below.size:  # (a bug bash: an LR of 0 cut the curve there, "0 finite points")
        i = int(below[0])
        raise ValueError(f"lrs must be > 0, as a sweep's are: lrs[{i}]={float(x[i])!r}")
    flat = np.flatnonzero(np.diff(x[:end]) <= 0)
    if flat.size:
        i = int(flat[0]) + 1
        raise ValueError(f"lrs must increase, as a sweep's do: lrs[{i}]={float(x[i])!r} after "
                         f"lrs[{i - 1}]={float(x[i - 1])!r}")
    return x[:end], y[:end]


_BOOLS = ("bool", "torch.bool")  # (a numpy array's dtype, a torch tensor's)


def _is_bool(value: object) -> bool:
    """A bool, numpy's, or a 0-d bool array or tensor."""
    return isinstance(value, bool | np.bool_) or str(getattr(value, "dtype", "")) in _BOOLS


def _numbers(name: str, values: Floats) -> np.ndarray:
    """``values`` as float64 (``None`` as NaN, a JSON null's loss); text, bools and complex
    numbers are refused (numpy reads "0.1" as a number, and drops an imaginary part)."""
    try:
        # ([True, 0.5] reads 1.0; so does a 0-d bool array or tensor, in a list or an object
        # array)
        listed = values if not isinstance(values, np.ndarray) and isinstance(
            values, Sequence) else ()
        raw = _as_array(values)
        # (floats and ints, nearly every item, passed over without a look at their dtype; a
        # bool is an int. The list's items by their types first, each type once: item by item
        # in Python, the look took 4.3 of the 8.5 s of a 200,000-point result's to_dict,
        # profiled after a bug bash.)
        odd = any(kind is bool or not issubclass(kind, float | int | np.floating | np.integer)
                  for kind in set(map(type, listed)))
        if any(type(v) is bool or (not isinstance(v, float | int | np.floating | np.integer)
                                   and _is_bool(v))
               for v in itertools.chain(listed if odd else (),
                                        raw.flat if raw.dtype.kind == "O" else ())):
            raise TypeError("got a bool among the values")
        if raw.dtype.kind in "USbc" or (raw.dtype.kind == "O" and any(
                isinstance(v, str | bytes) for v in raw.flat)):
            raise TypeError(f"got {raw.dtype} values")
        return raw.astype(np.float64)
    except (TypeError, ValueError, OverflowError) as err:  # (a ragged list: ValueError; an
        # int past a float's range: OverflowError)
        raise TypeError(f"{name} must be a sequence of numbers: {err}") from None


def _as_array(values: Floats) -> np.ndarray:
    """``np.asarray(values)``; a tensor numpy cannot read (one that requires grad, a bfloat16
    one), or a list of them, as RangeTestResult takes them, by its items, each as a number
    detached (a bug bash: torch's "Can't call numpy() on Tensor that requires grad" from
    inside the rules), a bool tensor as a bool (refused by the caller)."""
    try:
        return np.asarray(values)
    except (TypeError, RuntimeError) as err:
        if not (type(values).__module__.startswith("torch") or (
                isinstance(values, Sequence) and any(
                    type(v).__module__.startswith("torch") for v in values))):
            raise TypeError(str(err)) from None
        items = [v.detach() if hasattr(v, "detach") else v for v in values]
        try:
            return np.array([bool(v) if _is_bool(v) else float(v) for v in items],
                            dtype=object if any(map(_is_bool, items)) else np.float64)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(str(err)) from None


_DIRECT_MAX = 4_000_000
"""Products above which :func:`smooth_centered` convolves through the FFT (curves of more than
about 4,700 points at the default width): below, the direct sum, exact and quick."""


def _steady_start(y: np.ndarray) -> bool:
    """Whether the first four losses fall (or rise) steadily, no step over 3 times the next:
    a sweep begun inside a descent, whose level at start_lr is its first loss
    (:func:`smooth_centered`)."""
    if len(y) < 4:
        return False
    with np.errstate(over="ignore", invalid="ignore"):  # (losses near float's largest)
        d = np.diff(y[:4])
        return bool((np.all(d < 0) or np.all(d > 0)) and abs(d[0]) / 3 <= abs(d[1]))


def smooth_centered(
    losses: Floats, sigma: float | None = None
) -> np.ndarray:
    """Zero-lag smoothing: running median of 5, then a Gaussian of ``sigma`` points (default
    ``max(1, 0.03 * n)``), renormalised at the ends so they are not pulled down. The median's
    first window holds the first loss twice and the median of the first five (three times
    the first loss where the first four losses fall, or rise, steadily); its end is mirrored."""
    if sigma is not None and not (isinstance(sigma, numbers.Real) and not isinstance(sigma, bool)
                                  and 0 < sigma < math.inf):
        raise ValueError(f"sigma must be a number of points > 0, got {sigma!r}")
    y = np.asarray(losses, dtype=np.float64)
    n = len(y)
    if n < 3:
        return y.copy()
    # The end is mirrored, not repeated: a single diverging last point (the range test keeps
    # it) would otherwise fill 3 of the last window's 5 and drag the smoothed curve up early.
    # The start's first loss, repeated into 3 of the first window's 5, was its median
    # whatever followed it: one high first batch set the start every share of the fall is
    # measured from, and base_lr read 68x low, unwarned (a bug bash; the same batch at any
    # later step changed nothing). Mirrored (y2, y1, y0, y1, y2), two high batches at steps
    # 1 and 2 did the same (a review). So the first window holds the first loss twice and
    # the median of the first five, which one bad batch among the first five, or two after
    # the first, do not move (two with the first still do, as before: twice the median of
    # the first five set a noisy trend's start two steps in, and the picks moved by noise,
    # a review); but where the first four losses fall (or rise) steadily, no step over 3
    # times the next, the sweep began inside a descent whose level at start_lr is its first
    # loss, as before (mirrored, an 8-point sweep's steep start lost a third of its fall and
    # read "noise", a review).
    head = y[0] if _steady_start(y) else np.median(y[:5])
    pad = np.concatenate([[head, y[0]], y, y[-2:-4:-1]])
    med = np.median(np.lib.stride_tricks.sliding_window_view(pad, 5), axis=1)
    s = max(1.0, 0.03 * n) if sigma is None else float(sigma)
    # (no wider than the curve: no point is further from another, and a sigma of 1e9 asked
    # for a kernel of 45 GiB; a review)
    half = min(math.ceil(3 * s), n - 1)
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / s) ** 2)
    if n * len(k) <= _DIRECT_MAX:
        # "full" then the centred n points: mode="same" returns max(n, len(k)) points, too
        # many for a curve shorter than the kernel.
        # (losses near float's largest, scaled down first: their weighted sums overflowed to
        # inf, and a healthy curve read "never decreased", a bug bash; others as they are)
        top = float(np.max(np.abs(med), initial=0.0, where=np.isfinite(med)))
        scale = top if top > 1e300 else 1.0
        num = np.convolve(med / scale, k, mode="full")[half:half + n]
        den = np.convolve(np.ones(n), k, mode="full")[half:half + n]
        return _level_where_flat(num / den * scale if scale != 1.0 else num / den, med, half)
    # A long curve (the kernel grows with it: n * 0.18 n products, minutes at a million
    # points): the same convolution through the FFT, and the weights' sums from a cumulative
    # sum of the kernel. The FFT's rounding error is relative to the largest value and reaches
    # every point (a direct sum keeps it beside the value): losses of a blow-up, 1e16 or 1e306,
    # would swamp the whole curve, so they are clipped at a million times its typical level
    # first. Only the points within reach of the blow-up change, and they stay far above
    # the rest. Those points, within reach of a clipped value, are taken from a second pass
    # clipped at a million times the curve's start where that is higher: a curve that fell
    # to near 0 early had its typical level there, and its start and blow-up were clipped
    # to it (a bug bash), while the start's level for the whole curve let a huge start's
    # rounding reach the floor (a review).
    size = n + len(k) - 1
    fft_n = 1 << (size - 1).bit_length()
    kernel = np.fft.rfft(k, fft_n)

    def convolved(bound: float) -> np.ndarray:
        clipped = np.clip(med, -bound, bound)
        return np.fft.irfft(np.fft.rfft(clipped, fft_n) * kernel, fft_n)[half:half + n]

    # (a curve resting at exactly 0 for more than half its points: the start's level, not the
    # blow-up's, which left everything unclipped; a review)
    head = float(np.max(np.abs(med[:max(1, n // 20)])))
    level = float(np.median(np.abs(med))) or head or float(np.max(np.abs(med))) or 1.0
    num = convolved(1e6 * level)
    over = np.abs(med) > 1e6 * level  # (NaN is not)
    if over.any() and head > level:
        seen = np.concatenate([[0], np.cumsum(over)])  # clipped values up to each point
        i = np.arange(n)
        near = seen[np.minimum(n, i + half + 1)] > seen[np.maximum(0, i - half)]
        num = np.where(near, convolved(1e6 * head), num)
    t = np.arange(half, half + n)
    c = np.concatenate([[0.0], np.cumsum(k)])
    den = c[np.minimum(len(k) - 1, t) + 1] - c[np.maximum(0, t - n + 1)]
    return _level_where_flat(num / den, med, half)


def _level_where_flat(s: np.ndarray, med: np.ndarray, half: int) -> np.ndarray:
    """``s`` with the points whose whole window (``half`` points each side, within the curve)
    holds one value of ``med`` set to that value: the weighted sum rounds a constant stretch
    to a few values an ulp apart, which a rule's strict comparisons then followed, so
    ``loss + 0.1`` picked decades from ``loss`` on a flat floor (a bug bash)."""
    n = len(med)
    runs = np.concatenate([[0], np.cumsum(med[1:] != med[:-1])])  # a run's id at each point
    starts = np.flatnonzero(np.concatenate([[True], runs[1:] != runs[:-1]]))
    ends = np.concatenate([starts[1:] - 1, [n - 1]])
    i = np.arange(n)
    flat = (starts[runs] <= np.maximum(0, i - half)) & (ends[runs] >= np.minimum(n - 1, i + half))
    out = s.copy()
    out[flat] = med[flat]
    return out


def _slope_log_lr(lrs: np.ndarray, losses: np.ndarray) -> np.ndarray:
    """d loss / d log10(lr), central differences (one-sided at the ends)."""
    return np.gradient(losses, np.log10(lrs))


VALLEY_CLIMB = 0.5
"""The first valley ends where the smoothed loss climbs back by this fraction of its fall so far."""
RAGGED_CLIMB = 0.15
"""... or by this smaller fraction, once the valley is at least :data:`RAGGED_DEPTH` as deep as the
curve's deepest point."""
RAGGED_DEPTH = 0.5
VALLEY_NOISE = 2.0
"""... nor a dip within this many times one batch's noise (the robust spread of the raw loss):
the same dip is no valley whatever constant the loss carries. (1-3 give the same picks on the
benchmark's 100 curves; 1 still let a plateau wobble of 0.8 noise end a NaN-stopped curve's
"valley" three decades before its descent.)"""
VALLEY_SHARE = 0.1
"""A dip holding less than this share of the whole curve's fall is not yet a valley that a climb
can end: on a plateau at a low loss (a binary task near 0.7) the smoothed loss wobbles by a few
per cent, and its first wobble up would otherwise end the "valley" decades too early."""


def _first_valley(s: np.ndarray, floor: float = 0.0) -> int:
    """Index of the minimum of the curve's first valley.

    Smith's upper bound is where the loss "stops falling or turns ragged". Past the first valley
    a curve often spikes and dips again at an LR that only survives a few steps (a BatchNorm
    network can fall back to a second, deeper-looking minimum); the global minimum would pick
    that. The first valley ends once the loss has climbed back ``VALLEY_CLIMB`` of its fall, or
    ``RAGGED_CLIMB`` of it when the valley already holds ``RAGGED_DEPTH`` of the whole curve's
    fall: a smaller rise ends a deep valley, while a shallow dip early in the descent (noise on a
    slow start) needs the large one. A fall of ``floor`` or less (a multiple of one batch's
    noise, from :func:`_valley`) is no valley yet either. Every threshold is a share of a fall
    or of the noise, never of the loss's level: ``loss + c`` trains alike and is read alike
    (only :func:`_never_fell`'s 0.1% of the start is a share of the level).
    """
    # Read at every point at once, as a walk along the curve would read it (a Python loop
    # took 0.1 s a call on a 100,000-point curve, and a result's JSON makes eight calls): the
    # lowest loss so far, where it was, and the first point whose climb from it ends the valley.
    if len(s) < 2 or math.isnan(s[0]):  # (a NaN start: no loss is lower than it)
        return 0
    deepest = s[0] - float(np.min(s))
    best = np.fmin.accumulate(s)  # (fmin: a NaN is no new low, as `s[i] < best` reads it)
    lower = np.zeros(len(s), dtype=bool)
    lower[1:] = s[1:] < best[:-1]  # a new low, strictly: the first of equal lows stays
    at = np.maximum.accumulate(np.where(lower, np.arange(len(s)), 0))
    fall = s[0] - best
    climb = s - best
    # A fall too small to be a valley yet: within the batch noise floor, or under VALLEY_SHARE
    # of the whole curve's fall (a wobble of the plateau, at a low loss, is a few % too).
    ends = ~((fall <= floor) | (fall < VALLEY_SHARE * deepest)) & (
        (climb > VALLEY_CLIMB * fall)
        | ((climb > RAGGED_CLIMB * fall) & (fall >= RAGGED_DEPTH * deepest))
    )
    ends[0] = False
    first = int(np.argmax(ends))
    return int(at[first] if ends[first] else at[-1])


def _valley(y: np.ndarray, s: np.ndarray) -> int:
    """:func:`_first_valley` of the smoothed ``s``, where a dip within :data:`VALLEY_NOISE` times
    one batch's noise of the raw loss ``y`` is not a valley yet, and never the last point when
    its raw loss is above the smoothed start: the running median drops a lone last point that
    blew up (the range test keeps the diverging point), so a curve that fell right up to a
    one-step blow-up had its "valley" at the blow-up, where the loss was worse than at the
    start, or far above the smoothed minimum (:func:`_blew_up`: the warnings read it as the
    turn, so a valley there put max_lr on the point they called a blow-up, a bug bash)."""
    noise = _batch_noise(y, len(y) - 1)
    m = _first_valley(s, VALLEY_NOISE * noise)
    if m == len(y) - 1 and m > 0 and (y[m] > s[0] or _blew_up(y, s, m, noise)):
        m -= 1
    return m


def _blew_up(y: np.ndarray, s: np.ndarray, m: int, noise: float) -> bool:
    """Whether the last raw loss lies far above the smoothed minimum ``s[m]``: more than 15% of
    the fall to it and 3 times one batch's ``noise`` (the start of a divergence)."""
    return float(y[-1]) - float(s[m]) > 0.15 * (float(s[0]) - float(s[m])) + 3 * noise


def _never_fell(s: np.ndarray, m: int, y: np.ndarray) -> bool:
    """The smoothed curve ``s`` of the losses ``y`` has no fall worth reading before its valley
    at ``m``."""
    # The start read from the raw curve too (the higher of its first 2 points): on a short
    # curve the smoothing's window reaches a spike two points in and lifts s[0] above the
    # start, and the way back from the spike read as a fall (8 points: a pick at end_lr and
    # "still falling at end_lr" beside "start_lr is already too high", a review)
    top = min(float(s[0]), float(np.max(y[:2])))
    return m == 0 or top - s[m] <= 1e-3 * abs(s[0])


LINEAR_SIGMA = 3.0
"""The smoothing's width, in points, of a linear sweep across decades whose fall the usual
width hides: a 100-point sweep's. A share of its points is a share of end_lr, and its fall may
lie in its first few LRs: at 1000 points (a width of 30), a fall from 2.32 to 0.25 in the first
41 read "never decreased" (a bug bash)."""


def smooth_sweep(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The smoothing the rules read: :func:`smooth_centered` of the losses ``y`` at LRs ``x``,
    its default width (a share of the points, a share of the decades an exponential sweep's
    points span); on points spaced evenly in LR over more than a decade, as a linear sweep's
    are (a few GradScaler gaps allowed), :data:`LINEAR_SIGMA` points where that reads a fall
    to its first valley over twice as deep: one in the sweep's first points, which the usual
    width hides or reads as a shallow dip in what follows (reviews). Only there: over a fall
    across the whole sweep, 3 points let the noise move the picks (a review: 0.5 decades apart
    over 40 noisy 1000-point sweeps, 0.06 at the usual width)."""
    s = smooth_centered(y)
    if len(x) * 0.03 > LINEAR_SIGMA and x[-1] > 10 * x[1]:
        steps = np.diff(x)
        if np.mean(np.abs(steps / np.median(steps) - 1) < 1e-3) > 0.9:
            narrow = smooth_centered(y, LINEAR_SIGMA)
            if _depth(narrow, y) > 2 * _depth(s, y):
                return narrow
    return s


def _depth(s: np.ndarray, y: np.ndarray) -> float:
    """How far the smoothed curve ``s`` falls to its first valley (0 where it never fell)."""
    m = _valley(y, s)
    return 0.0 if _never_fell(s, m, y) else float(s[0] - s[m])


def _descent(
    lrs: Floats, losses: Floats, method: str
) -> tuple[np.ndarray, np.ndarray, int] | Suggestion:
    """Smoothed finite curve and the index of its first valley's minimum, or a no-pick
    Suggestion saying why there is none."""
    x, y = finite_prefix(lrs, losses)
    if len(x) < MIN_POINTS:
        return Suggestion(
            None, None, method,
            f"only {len(x)} finite points (need {MIN_POINTS}){TOO_FEW_ADVICE}",
        )
    s = smooth_sweep(x, y)
    m = _valley(y, s)
    if _never_fell(s, m, y):
        # Both remedies, each with its case: the curve alone does not say which applies (a
        # NaN stop, a negative loss), and curve_warnings, which knows how it stopped, says.
        return Suggestion(None, None, method,
                          NEVER_FELL if _first_step(y, s) is None else FELL_FIRST_STEP)
    return x, s, m


FIRST_STEP_SHARE = 0.5
"""The share of the smoothed start a sweep's first step must fall, beside five times the batch
noise after it, to be read as a fall (:func:`_first_step`): a GRU's first batch 15%, then 23%,
above a loss flat at ln 2 for most of the sweep was told "start_lr is already too high", where
a lower start_lr only lengthens the flat stretch (reviews); a start too high that trains the
model in one step takes it far lower (0.70 to 0.17)."""


def _first_step(y: np.ndarray, s: np.ndarray) -> float | None:
    """The fall of the sweep's first step, from the first loss to the higher of the next two,
    where it stands out: over :data:`JUMP_NOISE` times the batch noise of the losses after it
    and :data:`FIRST_STEP_SHARE` of the smoothed start ``s[0]``, where the first four losses do
    not fall steadily (:func:`smooth_centered` then reads the start from their median, and no
    pick from that step); None otherwise."""
    if len(y) < 3 or _steady_start(y):
        return None
    step = float(y[0]) - float(np.max(y[1:3]))
    least = max(JUMP_NOISE * _batch_noise(y[1:], len(y) - 2), FIRST_STEP_SHARE * abs(float(s[0])))
    return step if step > least else None


FELL_FIRST_STEP = ("the loss fell only in the sweep's first step, so there is no fall to read a "
                   "pick from: the first step's LR is already too high for this model (or that "
                   "first batch was a bad one); lower start_lr until the curve starts flat")
"""Why no rule picks on a curve whose loss fell in its first step and never after: "never
decreased" beside the warning of that fall denied it (a review). The first step's update runs
at the sweep's first LR, start_lr in either mode, so lowering it is the advice for a linear
sweep too (a review: "sweep exponentially" moved nothing there)."""

NEVER_FELL = ("the loss never decreased: lower start_lr if it rose from the start, raise end_lr "
              "if it stayed flat to the end; check the data and loss, or the model may already "
              "be trained")
"""Why no rule picks on a curve whose loss never fell (its advice for an exponential sweep)."""

_NEVER_FELL_LINEAR = NEVER_FELL.replace(
    "lower start_lr if it rose from the start",
    "sweep exponentially (mode='exp') or raise num_iter if it rose from the start (a linear "
    "sweep's first LRs are end_lr / (num_iter - 1) apart whatever start_lr is)")


UNBOUNDED = 1000.0
"""How many times its start's size a loss must fall below 0 to be warned of as an objective with
no floor: its first loss's, or, from 0 or below, the largest of that, its first losses' spread
and 1."""

TOO_FEW_ADVICE = "; raise num_iter or lower start_lr"
"""How the reason for too few finite points ends (its advice for an exponential sweep)."""

_TOO_FEW_LINEAR = ("; raise num_iter or lower end_lr (a linear sweep's LRs are end_lr / "
                   "(num_iter - 1) apart whatever start_lr is)")

_TOO_FEW_COMPLETED = ("; raise num_iter: a sweep that ran every step has a point a step (less "
                      "those a GradScaler skipped), whatever its start_lr and end_lr")
"""The advice for too few points of a sweep that completed: no start_lr or end_lr adds one (a
bug bash: a sweep of num_iter=7 was told to lower start_lr)."""

_TOO_FEW_SCALE = ("; GradScaler skipped the steps at a loss scale still 1 or more: lower its "
                  "init_scale or use bfloat16 autocast")
"""The advice for too few points of a sweep stopped by skips in a row at a loss scale of 1 or
more: no num_iter or start_lr adds a point (a bug bash: such a sweep's reason said "raise
num_iter", its warning "lower init_scale")."""

_TOO_FEW_SKIPPED = ("; GradScaler skipped most steps for inf or NaN gradients, which give no "
                    "points: lower its init_scale or use bfloat16 autocast")
"""The advice for a sweep whose points a GradScaler's skips took (:func:`skips_took_points`),
as its warnings give it."""


def skips_took_points(stop_reason: str | None, points: int, skips: int) -> bool:
    """Whether a GradScaler's skips, not ``num_iter``, left a sweep with too few points: it ran
    every step, the skips took more of them than they left, and without them it had had
    ``MIN_POINTS``. The one test of the picks' reasons (:func:`for_mode`) and the warnings
    (:func:`curve_warnings`): they had tested it two ways, and 3 steps all skipped were told
    "lower its init_scale" beside "raise num_iter", 40 steps with 2 points the other way
    round (a final read). A skip or two of a short sweep, as the scaler finds its scale, is
    ``num_iter``'s to mend."""
    return stop_reason == "completed" and skips > points and points + skips >= MIN_POINTS

_TOO_FEW_CUT = ("; the sweep was cut short (Ctrl-C or an error) before it had them: run it to "
                "its end")
"""The advice for too few points of a sweep cut short: its num_iter and LRs are not the cause."""


def for_mode(pick: Suggestion, mode: str | None, stop_reason: str | None = None, *,
             scale_too_high: bool = False, skips_took: bool = False) -> Suggestion:
    """``pick`` with its reason's advice for a sweep of ``mode`` that stopped for
    ``stop_reason``: "lower start_lr" moves no LR of a linear sweep but its first, so there
    the reason says what does, as :func:`curve_warnings` does (a review: the two said opposite
    things); too few points of a sweep that completed need a larger ``num_iter`` alone, and
    those of one stopped by a GradScaler's skips at a loss scale still 1 or more
    (``scale_too_high``) a lower ``init_scale``, as those of one whose points its skips took
    (``skips_took``, :func:`skips_took_points`: its warnings' advice, a review)."""
    if pick.reason.startswith("only ") and pick.reason.endswith(TOO_FEW_ADVICE):
        advice = (_TOO_FEW_SCALE if scale_too_high else _TOO_FEW_SKIPPED if skips_took
                  else _too_few_advice(mode, stop_reason))
        return dataclasses.replace(pick, reason=pick.reason.removesuffix(TOO_FEW_ADVICE)
                                   + advice)
    if mode == "linear" and pick.reason == NEVER_FELL:
        return dataclasses.replace(pick, reason=_NEVER_FELL_LINEAR)
    return pick


_NAN_DATA = ("NaN or inf inputs, labels out of range, a batch of no examples, a loss that "
             "averages over no elements: every label ignore_index, an empty mask; or one inf "
             "for a label it cannot reach, as CTCLoss's for a label sequence longer than its "
             "input, which zero_infinity=True zeroes")
"""What in the data gives a NaN loss at any LR, for the advice of a curve cut short by one."""


def _too_few_advice(mode: str | None, stop_reason: str | None) -> str:
    """How a reason or warning of too few points ends, for a sweep of ``mode`` that stopped
    for ``stop_reason`` (the same in both: a review)."""
    if stop_reason == "completed":
        return _TOO_FEW_COMPLETED
    if stop_reason in _CUT:  # (a bug bash: a Ctrl-C's curve of 3 points
        # was told to raise num_iter, beside the warning "run it to its end")
        return _TOO_FEW_CUT
    return _TOO_FEW_LINEAR if mode == "linear" else TOO_FEW_ADVICE


def _fallen(s: np.ndarray, m: int, fraction: float) -> int:
    """First index, from where the loss starts to fall for good (:func:`_started`), at which it
    has done ``fraction`` of its fall to the valley at ``m``: a dip of a noisy plateau across
    that line decades before the descent is not the pick, which therefore never lies below
    ``base_lr`` (nor above ``max_lr``, the valley at ``m``)."""
    b = _started(s, m)
    return b + int(np.argmax(s[b : m + 1] <= s[0] - fraction * (s[0] - s[m])))


def _started(s: np.ndarray, m: int) -> int:
    """Where the loss starts to fall for good: the first index after the last one before the
    valley at ``m`` still above :data:`BASE_FALL` of the fall (a wobble of a noisy plateau
    that dips across that line decades before the descent does not count)."""
    line = s[0] - BASE_FALL * (s[0] - s[m])
    above = np.flatnonzero(s[: m + 1] > line)
    return int(above[-1]) + 1 if above.size else 0


def minimum(lrs: Floats, losses: Floats) -> Suggestion:
    """fastai's rule of thumb: one order of magnitude below the LR at the loss minimum."""
    d = _descent(lrs, losses, "minimum")
    if isinstance(d, Suggestion):
        return d
    x, _, m = d
    target = x[m] / 10
    if target <= 0:  # (a subnormal LR's tenth, 0: math.log raised, a bug bash)
        return Suggestion(None, None, "minimum", f"a decade below the loss minimum at "
                          f"lr={x[m]:.3g} is below the smallest float")
    i = int(np.argmin(np.abs(np.log(x[: m + 1]) - math.log(target))))
    reason = f"one decade below the loss minimum at lr={x[m]:.3g}"
    if target < x[0]:
        reason += (f", below the swept range (from {x[0]:.3g}): an extrapolation; lower "
                   "start_lr to see the curve there")
    return Suggestion(float(target), i, "minimum", reason)


def steepest(lrs: Floats, losses: Floats) -> Suggestion:
    """The LR where the loss falls fastest against log10(LR), before the minimum."""
    d = _descent(lrs, losses, "steepest")
    if isinstance(d, Suggestion):
        return d
    x, s, m = d
    # The slope over the whole curve, read before the minimum (m >= 1: _descent returned a
    # fall): cut at m, the slope at m was the one-sided chord into the minimum, which could be
    # the steepest, and the pick was the minimum itself (a bug bash: 0.322, "-0.278 per decade",
    # where the curve's slope is -0.059, its steepest -0.277 at 0.236).
    g = _slope_log_lr(x, s)[:m]
    i = int(np.argmin(g))
    return Suggestion(
        float(x[i]), i, "steepest",
        f"steepest descent of the loss, {g[i]:.3g} per decade of LR",
    )


def valley(lrs: Floats, losses: Floats) -> Suggestion:
    """fastai's ``valley``: the longest decreasing run of the curve, ~half-way into it."""
    d = _descent(lrs, losses, "valley")
    if isinstance(d, Suggestion):
        return d
    x, s, _ = d
    n = len(s)
    # lds[i]: the longest strictly decreasing subsequence ending at i (fastai's O(n^2) loop),
    # by patience sorting in O(n log n): tails[j] is the least end of an increasing run of
    # -s of length j + 1 seen so far.
    lds = np.empty(n, dtype=np.int64)
    tails: list[float] = []
    for i, v in enumerate((-s).tolist()):
        j = bisect.bisect_left(tails, v)
        if j == len(tails):
            tails.append(v)
        else:
            tails[j] = v
        lds[i] = j + 1
    max_end = int(np.argmax(lds))  # the first point that reaches the longest
    max_start = max_end - int(lds[max_end])
    if max_end == 0:
        return Suggestion(None, None, "valley", "the loss never decreased")
    sections = (max_end - max_start) / 3
    i = max(0, min(n - 1, max_start + int(sections) + int(sections / 2)))
    return Suggestion(
        float(x[i]), i, "valley",
        f"about half-way down the longest descent (lr {x[max(max_start, 0)]:.3g} to "
        f"{x[max_end]:.3g})",
    )


DEFAULT_FALL = 2 / 3
"""Fraction of the loss's fall at which :func:`default` picks (see its docstring)."""
BASE_FALL = 0.1
"""Fraction of the fall that places ``base_lr`` in :func:`suggest_bounds`."""


def default(lrs: Floats, losses: Floats) -> Suggestion:
    """Our default for a fixed LR: where the (zero-lag smoothed) loss has done two thirds of
    its fall from the start of the sweep to the minimum of its first valley.

    Chosen from ``benchmarks/suggestion_quality.py`` (``benchmarks/results/
    suggestion_quality.md``): on four tasks it had the lowest mean regret against grid-searched
    truth of the rules tried and the smallest spread over repeated tests. A fraction of the fall
    is measured in loss, not in LR, so a long flat start or a noisy slope cannot move it far;
    the steepest-slope rules can jump by decades on the same curves.
    """
    d = _descent(lrs, losses, "default")
    if isinstance(d, Suggestion):
        return d
    x, s, m = d
    i = _fallen(s, m, DEFAULT_FALL)
    return Suggestion(
        float(x[i]), i, "default",
        f"the loss has done 2/3 of its fall to the valley at lr={x[m]:.3g}",
    )


RULES = {"default": default, "steepest": steepest, "minimum": minimum, "valley": valley}
METHODS: tuple[str, ...] = tuple(RULES)


def suggest(lrs: Floats, losses: Floats, method: str = "default") -> Suggestion:
    """Apply the rule ``method`` (one of :data:`METHODS`) to the raw curve."""
    if method not in RULES:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    return RULES[method](lrs, losses)


def suggest_bounds(lrs: Floats, losses: Floats) -> tuple[Suggestion, Suggestion]:
    """``(base_lr, max_lr)`` for cyclical and 1cycle policies, in Smith's sense.

    ``base_lr``: where the loss starts to fall (10% of its fall done). ``max_lr``: where it
    stops falling — the minimum of the curve's first valley — the 1cycle peak. (In the
    suggestion-quality benchmark this beat every fixed fraction of the fall as a 1cycle
    ``max_lr``; the warm-up of a 1cycle tolerates the LR at which a constant-LR sweep turns.)
    """
    d = _descent(lrs, losses, "bounds")
    if isinstance(d, Suggestion):
        return d, d
    x, s, m = d
    # A fall within one step (a short or noisy curve) starts at its valley: base_lr is then
    # the point before it, so base_lr < max_lr (equal, a clr from them had a constant LR).
    b = _started(s, m)
    why = "the loss has started to fall (10% of its fall)"
    if b >= m:
        b, why = m - 1, "the point before the valley: the loss fell within one step"
    return (
        Suggestion(float(x[b]), b, "base", why),
        Suggestion(float(x[m]), m, "max", "the loss stops falling (its first valley's minimum)"),
    )


STARTED_BY = 4
""":func:`curve_warnings` says the sweep began inside the descent when the loss had done
:data:`BASE_FALL` of its fall within this many points (a healthy curve starts flat), or within
:data:`STARTED_SHARE` of its points where that is more."""
STARTED_SHARE = 0.08
"""... so that a long sweep over a narrow range (100 points over 1.3 decades, from inside the
descent) is told too: its smoothing holds the first points near the start for longer than
:data:`STARTED_BY` points. (The suggestion benchmark's 100 curves started to fall at 13% of
their points at the earliest, ResNet-20's; a 100-point sweep from 0.01 to 0.2 on digits, at
6%.)"""

FIRST_POINTS = 12
"""The fewest of the sweep's first raw losses that :func:`curve_warnings` gives
:func:`_falls_at_first` before it says the loss was already falling at start_lr: twice the
points that rule reads (:data:`STARTED_BY`, :data:`STARTED_SHARE`), and at least this many
(fewer only where the valley comes sooner); where those are more, their first this many are
tested too."""

FIRST_POINTS_MIN = 8
"""The fewest points :func:`_falling_p` tests."""

FALLING_P = 0.05
""":func:`_falls_at_first`'s one-sided significance level (shared by its two windows where it
tests two)."""

FIRST_POINTS_MAX = 256
"""The most points :func:`_falling_p` compares, pair by pair: a longer stretch (a sweep of
thousands of points) is read at this many, evenly spaced over it."""


def _falls_at_first(y: np.ndarray, window: int) -> bool:
    """Whether the raw losses ``y`` fall as a trend over their first ``window`` points, or
    over their first :data:`FIRST_POINTS` where the window is longer: a fall done in the first
    points, below a noisy stretch after them, reads as none over the longer window (an audit:
    Adam from 0.01 fell from 1.42 to 0.48 in 7 points, then one batch of its plateau rose to
    1.31: p = 0.017 over 12 points, 0.096 over 16; its pick lay 2.8x too high). Two windows
    share the level (:data:`FALLING_P`, halved for each: Bonferroni's bound), so that a flat
    start is not told more often for being tested twice."""
    short = min(FIRST_POINTS, window)
    if short == window:
        return _falling_p(y[:window]) < FALLING_P
    return min(_falling_p(y[:short]), _falling_p(y[:window])) < FALLING_P / 2


def _falling_p(first: np.ndarray) -> float:
    """The one-sided p-value of a falling trend in the raw losses ``first``: Mann and
    Kendall's test (the signs of every later point against every earlier one; by ranks, so a
    heavy-tailed batch counts as one sign, and a tie as none). 0 under
    :data:`FIRST_POINTS_MIN` points (a valley that soon), where it has too little power: the
    rule it checks stands alone."""
    if len(first) > FIRST_POINTS_MAX:  # (the pairs grow as the square of the points)
        first = first[np.linspace(0, len(first) - 1, FIRST_POINTS_MAX).round().astype(int)]
    n = len(first)
    if n < FIRST_POINTS_MIN:
        return 0.0
    signs = np.sign(first[None, :] - first[:, None])
    score = float(np.sum(np.triu(signs, 1)))
    sd = math.sqrt(n * (n - 1) * (2 * n + 5) / 18)
    z = (score + 1) / sd  # (a continuity correction, toward no trend)
    return 0.5 * math.erfc(-z / math.sqrt(2))


MIN_SIGNAL_TO_NOISE = 6.0
""":func:`curve_warnings` flags a fall smaller than this multiple of the batch-to-batch noise.
(On the suggestion benchmark's 100 curves the smallest ratio was 18; a 100-step test of
ResNet-20 on 32x32 images, too short for its loss to move, gave 1.9. An audit: ResNet-20's
300-step test at batch 32 gave 2.8 to 5.6 by seed, on alike curves whose picks lay 3.6
decades apart; the two over 5 (5.3, 5.6), unwarned at that threshold, trained to chance. Of
the audit's 169 sweeps, 10 more are warned at 6 than at 5 (the two ResNet-20 ones, five
300-step linear sweeps of mnist1d whose picks trained to chance, three others), 22 at 8,
among them the stable picks of batch-8 sweeps.)"""

NOISE_ONLY = 3.0
"""A fall smaller than this multiple of the batch-to-batch noise may be noise alone: the
curve is not also told it was "already falling at start_lr" (pure noise, 1200 curves of
``1 + sd * N(0, 1)``, fell by at most 2.8 times its noise; a curve whose GradScaler skipped its
first steps, a real fall that began before its first point, by 4.5)."""

BOUNDED_PAST = 100.0
"""An LR past which "still falling at end_lr" also says that a loss may never diverge: one the
LR cannot blow up (normalised embeddings; weights whose scale the loss does not see)."""

DEEP_FALL = 0.5
"""A fall of at least this share of its start (a loss that starts above 0) and :data:`NOISE_ONLY`
times its batch noise, read both robustly and by the plain standard deviation of the steps up
to the valley, is not flagged by :data:`MIN_SIGNAL_TO_NOISE`: noise alone gives no such fall,
and a deep fall is no dip onto chance. (That threshold was raised for ResNet-20's loss settling
from 2.6 onto chance at 2.3, 5 to 14% of its start. An MSE's or L1's batch losses spread in
proportion to their level, so a fall of most of its start read as 2 to 5 times a flat start's
noise. An audit of 504 range tests of small MLPs, :data:`JUMP_NOISE`'s (cross-entropy, MSE,
L1, MSE on targets with Student's t(2) noise; SGD and Adam; batch 8 to 64; 100 and 300 steps;
3 or 4 seeds each), a pick more than 0.3 decades from its seeds' median counted as bad: of the
283 told their fall may be noise, 66 good picks are no longer told, and none of the 52 bad
ones, 44 of them t(2)'s, whose heavy tails the plain standard deviation sees and the robust
one does not. No other warning changed, nor any of ResNet-20's 24 range tests, whole or cut
short at end_lr 1e-3 to 0.3, of the suggestion benchmark's 100 curves, or of 360 of noise.)"""

JUMP_NOISE = 5.0
""":func:`curve_warnings` reads a rise in the sweep's first steps as a jump (start_lr already
too high) only beyond this multiple of the batch-to-batch noise (and half the fall). Where a
flat stretch of :data:`MIN_POINTS` points or more follows those steps, the noise is the larger
of the whole curve's and that stretch's, and a rise no higher than the stretch's own highest
loss is none: one of its batches, not the LR; where none follows, of the whole curve's and that
of the first steps themselves, if they are twice :data:`MIN_POINTS` or more (a long sweep's
first tenth: the highest of its hundreds of batches is no jump). (An audit: an MSE
regression's batch losses spread in proportion to their level and have heavy tails, so the
whole curve's noise, mostly that of its low end, read a batch of a plateau flat for four
decades as a jump, and lowering start_lr, the advice, kept the warning. Of 493 sweeps of small
MLPs, cross-entropy, MSE and L1, batch 8 to 64, the rule before warned 47, this one 25; each of
the 14 it warned that started at start_lr=0.1, where the loss leapt 4 to 10 times at once, is
warned still.)"""


FLOOR_NOISE = 2.0
""":func:`curve_warnings` reads a loss as resting on a floor after its valley's minimum while
its smoothed rise stays within this multiple of the batch-to-batch noise. (Falls to a floor
with noise of sd 0.005 to 0.1, 40 seeds each: the smoothed rise after the minimum was at most
1.33 times the noise; the same falls turning up by 13% of the fall by end_lr rose 3.2 times
the noise or more up to sd 0.05.)"""

FLAT_POINTS = 8
""":func:`curve_warnings` reads a loss as settled within its noise band (wider than 1% of the
fall) only where, past the points its descent took to cross the band, at least this many
points remain and their trend (a least-squares line) fell less than the band by
:data:`FLAT_SE` standard errors: a steady fall crosses the band too, and is no floor.
(40 seeds each: straight falls of 15 to 100 points, noise sd 0.05 and 0.1: none read as
floors; sigmoid falls to a floor, sd 0.02 to 0.15: 33 to 36 of 40 warned; a straight fall
over 75 or 80 of 100 points onto a floor, sd 0.07 and 0.1: 29 to 32, 26 to 37 with the band
alone, which also called 7 of 20 straight falls floors.)"""

FLAT_SE = 1.5
"""See :data:`FLAT_POINTS`."""


def _stayed_flat(y: np.ndarray, s: np.ndarray, m: int, settled: int, band: float,
                 noise: float) -> bool:
    """Whether the raw loss ``y`` stayed flat after coming within ``band`` of the smoothed
    minimum ``s[m]`` at ``settled``: past the points the descent, at its mean rate from where
    it started for good, took to cross the band, at least :data:`FLAT_POINTS` points remain,
    and the drop of their least-squares line plus :data:`FLAT_SE` standard errors (from the
    batch ``noise``) is within the band."""
    start = _started(s, m)
    rate = (float(s[start]) - float(s[settled])) / max(1, settled - start)
    if rate <= 0:
        return False
    span = y[settled + math.ceil(band / rate):]
    if len(span) < FLAT_POINTS:
        return False
    # In units of the largest loss there: a mean of losses near the float limit overflowed.
    unit = float(np.max(np.abs(span))) or 1.0
    xs = np.arange(len(span)) - (len(span) - 1) / 2
    spread = float(np.dot(xs, xs))
    part = span / unit
    drop = -float(np.dot(xs, part - part.mean())) / spread * (len(span) - 1)
    se = noise / unit * (len(span) - 1) / math.sqrt(spread)
    return drop + FLAT_SE * se <= band / unit


TURN_UP_SE = 2.0
""":func:`curve_warnings` reads a loss as having turned up, not resting on a floor, where the
mean of the last quarter (4 points or more) of its raw losses from the floor's start lies above
the mean of the rest by more than this many standard errors (from the batch noise) and by
:data:`TURN_UP_SHARE` of the fall, each loss first clipped to within 3 batch noises of their
median (one bad batch is no turn-up). (40 seeds each, the tests' curves, a fall of 2.25: a rise
of 0.3 by end_lr over its last 25 of 100 points, noise sd 0.1 and 0.15, read as a floor on 3
and 19 seeds without this rule, 0 and 1 with it; a rise of 0.15, sd 0.1: 34, now 16; falls to
a true floor, sd 0.02 to 0.15: 36, 35, 36, 33 with it and without, also with one batch 10 or
20 times the noise above it near the end.)"""

TURN_UP_SHARE = 0.03
""":data:`TURN_UP_SE`'s smallest rise, a share of the fall: with many points (or little noise)
a tiny rise is significant, and still a floor (a floor rising 2% of the fall over its last 3
decades, noise sd 0.05, 400 points: warned on 37 of 40 seeds with this, 11 without)."""


def _rose_at_end(y: np.ndarray, start: int, noise: float, fall: float) -> bool:
    """Whether the raw losses ``y`` from ``start`` rose by their end: the mean of their last
    quarter (at least 4 points) above the mean of the rest by more than :data:`TURN_UP_SE`
    standard errors of that difference, from the batch ``noise``, and by :data:`TURN_UP_SHARE`
    of the ``fall``, after clipping each loss to within 3 noises of their median. False with
    fewer than 8 points, or no noise to measure it by (a loss logged rounded)."""
    seg = y[start:]
    if noise <= 0 or len(seg) < 8:
        return False
    mid = float(np.median(seg))
    seg = np.clip(seg, mid - 3 * noise, mid + 3 * noise)
    k = max(4, len(seg) // 4)
    rise = float(seg[-k:].mean()) - float(seg[:-k].mean())
    return rise > max(TURN_UP_SHARE * fall,
                      TURN_UP_SE * noise * math.sqrt(1 / k + 1 / (len(seg) - k)))


MAX_DECADES_PER_STEP = 0.15
""":func:`curve_warnings` flags a sweep whose points lie more than this many decades of LR apart:
the smoothing spans about a point there, so a point more or less (a sweep stopped a step
earlier) moves the picks by whole steps. (``benchmarks/sweep_resolution.py``: 300 ``find_lr``
sweeps over 8 decades, digits, synthetic and mnist1d, 20 seeds each at 30, 50, 70, 100 and 200
steps. Stopped one step earlier, 57% of the 30-step sweeps, 0.28 decades a step, moved the
suggestion or ``max_lr`` by more than 0.15 decades, up to 6.6; 10% of the 50-step ones, 0.16
apart; none at 70 and 200 steps, and 1 of 60 at 100, by 0.24.)"""


def _batch_noise(raw: np.ndarray, end: int) -> float:
    """Robust standard deviation of one batch's loss, from the differences of neighbouring raw
    losses (1.4826 x MAD / sqrt 2: the trend between two steps is small next to the noise), over
    the points up to ``end`` (the whole curve when that is fewer than 8 points)."""
    r = raw[: end + 1] if end + 1 >= MIN_POINTS else raw
    return _robust_sd(np.diff(r)) / math.sqrt(2)


def _robust_sd(d: np.ndarray) -> float:
    """The standard deviation of ``d`` read robustly: 1.4826 x its median absolute deviation
    from its median (one outlier moves it little)."""
    return float(1.4826 * np.median(np.abs(d - np.median(d))))


def _fall_noise(raw: np.ndarray, end: int) -> float:
    """The batch noise a fall to the valley at ``end`` is told it lies within
    (:data:`MIN_SIGNAL_TO_NOISE`): :func:`_batch_noise`, or where fewer than 8 points lie up to
    ``end`` (a valley in the sweep's first points), the smaller of that and the spread of the
    second differences (1.4826 x MAD / sqrt 6, which a straight descent does not move) of the
    points up to the first after ``end`` above every loss up to it (at least 6): a blow-up's
    steps and a steep descent's own trend are no batch noise, but the whole curve's first
    differences hold both (a clean descent cut short by an early divergence read "the loss
    fell by only 0.4 times its batch-to-batch noise ... raise the batch size").

    Only this warning reads it: on 4 or 5 second differences the spread is often far too low
    (pure noise read under half its sd 1 time in 4, a review), which elsewhere would call a
    flat start "already falling"; here a lower noise only withholds the warning. (Synthetic
    curves of known noise, the valley in the first 8 points and a fall over 5% of the start:
    of 145 falls above 6 times their noise, the first differences alone called 66 within it,
    this 12; of 44 within it, they missed 2, this 4.)"""
    whole = _batch_noise(raw, end)
    if end + 1 >= MIN_POINTS:
        return whole
    above = np.flatnonzero(raw[end + 1:] > np.max(raw[: end + 1]))
    r = raw[: max(6, end + 1 + int(above[0]) if above.size else len(raw))]
    if len(r) < 3:
        return whole
    return min(whole, _robust_sd(np.diff(r, 2)) / math.sqrt(6))


def _deep_fall(raw: np.ndarray, s: np.ndarray, end: int, noise: float) -> bool:
    """Whether the smoothed fall from the start of ``s`` to its valley at ``end`` is deep
    (:data:`DEEP_FALL`): at least that share of a start above 0, and :data:`NOISE_ONLY` times
    the batch ``noise`` and the plain standard deviation of the raw steps up to ``end`` (over
    the square root of 2, as :func:`_batch_noise`). False with fewer than :data:`MIN_POINTS`
    points up to ``end``."""
    if end + 1 < MIN_POINTS or s[0] <= 0:
        return False
    fall = float(s[0]) - float(s[end])
    if fall < DEEP_FALL * float(s[0]) or fall < NOISE_ONLY * noise:
        return False
    # In units of the largest loss there: the squares of losses near the float limit overflowed.
    unit = float(np.max(np.abs(raw[: end + 1])))
    plain = float(np.std(np.diff(raw[: end + 1] / unit))) / math.sqrt(2)
    return fall / unit >= NOISE_ONLY * plain


#: How the warnings about the sweep's first steps begin: true of a sweep cut short too, which
#: :meth:`RangeTestResult.warnings` keeps whatever their advice names (a linear sweep's says
#: "raise num_iter").
START_WARNINGS = ("the loss jumped from ", "the loss was already falling at ",
                  "the loss fell in the sweep's first step")


def _share_done(s: np.ndarray, at: int, m: int) -> int:
    """The whole percent of the smoothed fall from ``s[0]`` to the minimum ``s[m]`` done by
    ``at``, rounded down (never more than it was)."""
    fall = float(s[0]) - float(s[m])
    if fall <= 0:
        return 0
    # (the share first: 100 times a fall of 1e307 was inf, and floor(inf) an OverflowError
    # that took warnings(), the plot and the JSON down with it, a review)
    share = (float(s[0]) - float(s[at])) / fall
    if not math.isfinite(share):
        return 100 if share > 0 else 0
    return min(100, max(0, math.floor(100 * share + 1e-9)))


def curve_warnings(
    lrs: Floats, losses: Floats, stop_reason: str | None = None,
    scaler_skips: int = 0, *, mode: str | None = None, start_lr: float | None = None,
    scale_too_high: bool = False, float16: bool = False,
) -> list[str]:
    """Plain-language problems with a curve that make its suggestions unreliable.

    Each warning is true of the curve, and none contradicts another. When the first valley's
    minimum lies in the last 5% of the points, the loss has not turned up: a small fall is
    small "by end_lr" (or "by the last finite point"), not "before turning up", and a sweep
    that completed with every loss finite adds "raise end_lr" — "was still falling" when the
    loss fell, "nor turned up" when its fall is too small to count (0.1% or less, the
    threshold of "never decreased"). A sweep that completed with the loss within 5% of its start
    throughout (of a loss that starts above 0), or within :data:`NOISE_ONLY` times its batch
    noise of its start (at any level), ended "valley" or not, says so and to raise end_lr or
    num_iter: its "turning up" is noise. A completed sweep whose loss rested on a floor, having
    come within 1% of its fall, or :data:`FLOOR_NOISE` times its batch noise, of the valley's
    minimum long before it (the warning names the share of the fall done there), and rising no
    more than that after it (nor, beyond its noise, toward its end: :data:`TURN_UP_SE`), has not
    turned up either, wherever on the floor the minimum lies: it is told so, and its small fall
    is "by end_lr". A loss that fell in its first step (:func:`_first_step`) and never after,
    or less and at once or too little to read after it, is told so, with a start too high's
    advice: one point cannot tell that from a bad first batch. ``scaler_skips``: the
    steps a GradScaler skipped for inf/NaN gradients (a "nan" stop may be theirs, with every
    loss finite; a completed sweep they left too few points is told to lower the scaler's
    init_scale).
    ``mode``: the sweep's ("exp" or "linear"); a linear sweep that starts inside the descent
    is told to sweep exponentially, since its second LR, ``(end_lr - start_lr) / (num_iter -
    1)`` above the first, hardly moves with start_lr. ``start_lr``: the sweep's; a curve that
    starts at twice it or more with ``scaler_skips`` began past steps GradScaler skipped (fp16
    with a loss scale too large at first): the warnings that read its start say where it is.
    ``scale_too_high``: the sweep stopped ("nan") at ``MAX_SKIPPED_STEPS`` skips in a row
    with its loss scale still 1 or more, so no smaller one was tried: a curve of too few
    points is told to lower the scaler's init_scale, not to check the data. ``float16``: the
    sweep ran under float16 autocast, where a NaN or inf that cuts a falling curve short is
    most often an activation past float16's range: it is told to run under bfloat16.
    """
    if stop_reason is not None and stop_reason not in STOP_REASONS:
        raise ValueError(f"stop_reason must be None or one of "
                         f"{', '.join(map(repr, STOP_REASONS))}; got {stop_reason!r}")
    if mode not in (None, "exp", "linear"):
        raise ValueError(f"mode must be None, 'exp' or 'linear'; got {mode!r}")
    out: list[str] = []
    x, y = finite_prefix(lrs, losses)
    # What moves the sweep's first LRs down: start_lr, except in a linear sweep, whose second
    # LR is end_lr / (num_iter - 1) whatever start_lr is.
    lower = ("a linear sweep's first LRs are end_lr / (num_iter - 1) apart whatever start_lr "
             "is, so sweep exponentially (mode='exp') or raise num_iter"
             if mode == "linear" else "lower start_lr")
    # GradScaler skipped the sweep's first steps (it lowers an fp16 loss scale too large a
    # step at a time), so the curve starts well above start_lr: said where the start is read
    # (a skip or two of a sweep begun too high is no news).
    skipped_head = ""
    if (start_lr is not None and start_lr > 0 and scaler_skips > 0 and len(x) > 0
            and float(x[0]) >= 2 * start_lr):
        skipped_head = (f"GradScaler skipped the sweep's first steps while it lowered its "
                        f"loss scale, so its first point is at lr={float(x[0]):.3g}, "
                        f"{float(x[0]) / start_lr:.3g} times start_lr")
    if len(x) < MIN_POINTS:
        if stop_reason == "nan" and scale_too_high:
            # (a bug bash: an init_scale of 2**100 stopped every sweep of 50 steps or more
            # this way, every loss finite, told to check the data and lower start_lr, where
            # the stop's own warning named the scale)
            out.append(
                f"too few points: {len(x)} finite (need {MIN_POINTS}): GradScaler skipped "
                f"{scaler_skips} steps for inf or NaN gradients, and the test stopped at "
                "skips in a row with its loss scale still 1 or more, so no smaller one was "
                "tried; lower its init_scale or use bfloat16 autocast"
            )
            return out
        if stop_reason == "nan" and len(x) < 3:
            # NaN in the first steps: more often the inputs than the LR.
            what = ("the loss was NaN or inf" if not scaler_skips else
                    f"the loss or its gradients were NaN or inf (GradScaler skipped "
                    f"{scaler_skips} steps for them)")
            out.append(
                f"{what} after {len(x)} finite point(s), in the sweep's first steps: check the "
                f"data ({_NAN_DATA}) and the model's output; if they are sound, {lower}"
            )  # (a linear sweep's: a bug bash, told to lower start_lr, which moved no LR)
            return out
        if stop_reason == "nan" and float(np.max(y)) <= 2 * abs(float(y[0])):
            # A NaN out of a loss that had not risen (a bug bash: an empty batch's at the 4th
            # step was told to raise num_iter or lower start_lr alone, which cannot help); one
            # out of a blow-up is the LR's (a review).
            out.append(
                f"too few points: {len(x)} finite (need {MIN_POINTS}) before the loss was NaN "
                f"or inf: check the data ({_NAN_DATA}) and the model's output; if they are "
                f"sound,{_too_few_advice(mode, stop_reason).removeprefix(';')}"
            )
            return out
        if skips_took_points(stop_reason, len(x), scaler_skips):
            # Every step ran, with no divergence or NaN loss, and the skips took most of the
            # points: a loss scale too large for fp16.
            out.append(
                f"too few points: {len(x)} finite (need {MIN_POINTS}): GradScaler skipped "
                f"{scaler_skips} steps for inf or NaN gradients, which give no points; lower "
                "its init_scale or use bfloat16 autocast"
            )
            return out
        out.append(
            f"too few points: {len(x)} finite (need {MIN_POINTS}"
            + (f"; {skipped_head}" if skipped_head else "") + ")"
            + _too_few_advice(mode, stop_reason)
        )
        return out
    # The start's size: its first loss's; from 0 or below, that of its first losses' spread
    # too, and at least 1 (a bug bash: NLLLoss on raw logits starts at +-0.05 as the weights
    # fall, and was told of its fall to -2e20 only where the first loss was above 0; a negative
    # cosine's from -0.0004 to its floor of -1 is none, reviews).
    first = float(y[0])
    size = first if first > 0 else max(
        -first, float(np.std(y[:max(MIN_POINTS, len(y) // 10)])), 1.0)
    if float(np.min(y)) < -UNBOUNDED * size:
        # (a bug bash: learned task weights with no constraint drove the loss to -4e13, told
        # "still falling at end_lr: raise end_lr", with a confident pick)
        out.append(
            f"the loss fell from {first:.3g} to {float(np.min(y)):.3g}, below 0 and over "
            f"{UNBOUNDED:g} times its start's size: an objective with no floor (learned loss "
            "weights without a constraint or a log-variance term; NLLLoss or KLDivLoss given "
            "raw outputs, not log-probabilities) falls the faster the larger the LR, so the "
            "picks read nothing of where training works; bound the objective")
    s = smooth_sweep(x, y)
    m = _valley(y, s)
    fall = s[0] - s[m]
    never_fell = _never_fell(s, m, y)
    # The valley's minimum at the end of the curve: the loss never turned up.
    at_end = m >= len(s) - max(2, len(s) // 20)
    # Reached end_lr with every loss finite (a NaN cut short of it is no sight of end_lr).
    completed = stop_reason == "completed" and len(x) == len(lrs)
    # On a short curve the smoothing's median drops a last point that rose back above the
    # start (8 steps: 1.98 at lr 0.72, then 3.88 at lr 10 read "still falling at end_lr").
    # So is a last point far above the minimum, the start of a divergence (2.0 on a floor of
    # 0.05 with noise 0.05: "stayed at that floor" on 5 of 20 seeds, a review).
    noise_all = _batch_noise(y, len(y) - 1)  # (one batch's noise over the whole curve)
    blew_up = _blew_up(y, s, m, noise_all)
    rose_last = at_end and (float(y[-1]) > float(s[0]) or blew_up)
    # Where the loss had settled (below): long before the valley's minimum, with no rise
    # after it beyond FLOOR_NOISE times the batch noise (or 1% of the fall, for a loss logged
    # rounded, whose noise reads 0) up to end_lr, the loss rested on a floor, and the minimum
    # is where the floor's noise was lowest (an audit: max_lr anywhere from 0.24 to 10 by
    # seed). It did not turn up either. (None of the suggestion benchmark's 100 curves rests
    # on a floor before its end.)
    # Settled: within 1% of the fall of the minimum, or within the floor's noise band
    # (FLOOR_NOISE times the batch noise, up to 10% of the fall), whichever is wider. With 1%
    # alone, a floor whose noise exceeds 1% of the fall settled only where the smoothing first
    # dipped to its noise's low, next to the minimum (noise sd 0.05 on a fall of 2.25: 9 of 20
    # floors went unwarned, 2 now; benchmarks' 100 curves: no warning changed). A band that
    # wide is crossed by a steady fall too (a straight fall of 26 times its noise: 7 of 20
    # "stayed at that floor", a review): the band counts only where the loss, past the
    # points its descent took to cross the band, stayed flat (_stayed_flat).
    floor_band = FLOOR_NOISE * noise_all
    tol = max(0.01 * fall, min(floor_band, 0.1 * fall))
    settled = int(np.argmax(s - s[m] <= tol))
    if tol > 0.01 * fall and not _stayed_flat(y, s, m, settled, tol, noise_all):
        settled = int(np.argmax(s - s[m] <= 0.01 * fall))
    done = _share_done(s, settled, m)
    long_settled = settled <= m - max(3, len(s) // 10)  # (the last tenth of the points or more)
    on_floor = (completed and not at_end and fall > 0 and long_settled
                and not blew_up and not _rose_at_end(y, settled, noise_all, float(fall))
                and float(np.max(s[m:])) - float(s[m]) <= min(0.15 * fall, max(
                    floor_band, 0.01 * fall)))
    if not at_end and not on_floor:
        until = "before turning up"
    elif rose_last:
        until = f"before its last point rose to {float(y[-1]):.3g}"
    elif completed:
        until = "by end_lr, without turning up"
    else:
        until = "by the last finite point, without turning up"
    # Completed within 5% of its start, with the first valley's end before the last points: a
    # noise bump ended that "valley", and the sweep never reached LRs that move the model.
    drift = float(np.max(np.abs(s - s[0])))
    # Shares of the start are read only for a positive loss (cross-entropy, MSE: 0 is no error).
    # A loss that can go negative (a Gaussian NLL) has no level to take a share of: it is read
    # against its batch noise alone.
    # A flat one then is one that stayed within what noise alone moves a curve (an exactly
    # flat one at 0 or below was told to lower start_lr, at 1 to raise end_lr: a review).
    shares = s[0] > 0
    by_share = shares and drift < 0.05 * s[0]
    # Not flat either: a loss that rose from its start and stayed up (most points past the
    # first eighth above all of it, and their median 30% above the start), where the rise's
    # own jumps inflate the batch noise it is read against (8 linear steps from 2.34 up to
    # 5.72 read "stayed within 1.4 times its noise: raise end_lr" on 7 of 8 seeds, a review);
    # nor a curve whose last point blew up, which the smoothing's median drops ("never
    # diverged: raise end_lr" on a last point twice the start: half of 8-step sweeps).
    k0 = max(2, len(y) // 8)
    rest = y[k0:]
    rose_from_start = bool(shares and np.mean(rest > np.max(y[:k0])) >= 0.8
                           and float(np.median(rest)) > 1.3 * float(s[0]))
    # (above noise, and by 5% of the start: a loss logged rounded has no noise to read)
    blow = float(y[-1]) - float(np.max(s)) > max(MIN_SIGNAL_TO_NOISE * noise_all,
                                                  0.05 * abs(float(s[0])))
    still = by_share or drift <= NOISE_ONLY * noise_all
    # A loss that never fell, and rose far above its start on the way (a start already too
    # high, back near its start by end_lr), did turn up: "never turned up" is false. Far: two
    # points or more above 1.5 times the start (one is a bad batch).
    turned = shares and int(np.sum(y > 1.5 * float(s[0]))) >= 2
    # (a curve that never fell has no valley whose place at the end means anything: a drift
    # down of 0.05%, its minimum the last point, was told "lower start_lr" beside "raise
    # end_lr", a bug bash; but not one that turned up, nor one whose last raw point fell,
    # which the smoothing's median drops: "stayed within 0.0%" of those was false, a review)
    fell_last = float(s[0]) - float(y[-1]) > max(MIN_SIGNAL_TO_NOISE * noise_all,
                                                 0.05 * abs(float(s[0])))
    # (completed, and its flatness read over the whole sweep: flat and unreadable read it)
    read_whole = completed and (not at_end or (never_fell and not turned and not fell_last))
    flat = read_whole and not blow and not rose_from_start and still
    last_only = completed and never_fell and blow and not rose_from_start and still
    # A fall too small to read (flat, or within what noise alone gives): where the descent
    # started in it is noise too, so "already falling at start_lr" is not said of it (an
    # audit: 1 + noise read "already falling" beside "stayed within 0.6%" on 1 of 6 seeds).
    # (as flat as before its last point blew up, or its rise: still no fall to read)
    # (a fall within what noise alone gives, as the "fell by only ... times its noise"
    # warning reads it: a fall of 75 times the noise, 4% of the start, is a fall, a review)
    nan_still = (stop_reason == "nan" and still and not blow and not rose_from_start
                 and (never_fell or fall < MIN_SIGNAL_TO_NOISE * _fall_noise(y, m)))
    # (and one cut by a NaN that is told it has not moved: not "already falling" too, a bug
    # bash)
    unreadable = (read_whole and still) or nan_still or fall < NOISE_ONLY * _batch_noise(y, m)
    started = _started(s, m)  # (where the loss starts to fall for good)
    # (not a share of a linear sweep's points: that is always the same share of end_lr, which
    # no num_iter moves, so "raise num_iter", its advice below, could not clear it)
    reach = max(STARTED_BY, 0 if mode == "linear" else STARTED_SHARE * len(s))
    # A loss that fell in its first step, more than after it: the smoothing reads the start
    # from the first losses' median where they do not fall steadily (smooth_centered: one bad
    # first batch is no fall), and a fall in one step read "never decreased" (an audit: a loss
    # from 0.70 to 0.17 at once, then a rise). Told where the first step stands out
    # (_first_step), and the loss never fell after it, or fell less, at once or too little
    # to read: start_lr already trains the model (or that batch was a bad one). Read
    # on the raw losses (a review: on a long steep descent, which the smoothing starts below
    # its first loss, one step of 0.19 of a fall of 2 read "more than it fell after"). Not
    # before a flat stretch and a fall, which no start too high gives: the smoothing drops
    # that batch, and the picks are right (a review).
    # (the fall after it from the highest of the first steps: a jump to 6 after a step from
    # 2.3 to 1 read "more than it fell after" and hid the jump, a review)
    head = max(3, min(len(y) // 10, m))
    after = float(np.max(y[1:3])) if len(y) >= 3 else first
    step = _first_step(y, s)
    first_fell = step is not None and (never_fell or (
        step > float(np.max(y[1:head])) - float(s[m])
        and (started < reach or unreadable or (shares and fall < 0.05 * s[0]))))
    # (beside a fall in the first step, of the level after it: "of its start" read as the
    # first loss, which it was not, a review)
    start_is = "its level after the first step" if first_fell else "its start"
    stayed = (f"{100 * drift / s[0]:.1f}% of {start_is}" if by_share else
              f"{drift:.3g} of {start_is} ({drift / noise_all:.1f} times its batch-to-batch "
              "noise)" if noise_all > 0 else f"{drift:.3g} of {start_is}")
    whole = "to the end of the sweep" if first_fell else "over the whole sweep"
    # The noise of a fall after a first step's is read after it: the step is no batch noise
    # (a review: 8 points falling 2.5, 0.93, 0.48, ... read "by only 3.3 times its noise").
    yq, sq, mq = (y[1:], s[1:], m - 1) if first_fell and m >= 2 else (y, s, m)
    # (nor is a fall after it point after point: a few second differences read the descent's
    # curvature as noise, a review)
    clean_after = first_fell and m >= 2 and bool(np.all(np.diff(y[1:m + 1]) < 0))
    if first_fell:
        # (beside the warnings of the curve after it, which are true of it: a review found
        # "still falling at end_lr: raise end_lr" dropped with max_lr at end_lr)
        out.append(
            f"the loss fell in the sweep's first step, from {first:.3g} to {after:.3g}"
            f"{f' ({skipped_head})' if skipped_head else ''}, "
            f"{'and never after' if never_fell else 'more than it fell after'}: "
            f"{'its first LR' if skipped_head else 'start_lr'} is already too high for this "
            "model (or that first batch was a bad one); lower start_lr until the curve starts "
            "flat"  # (the first step runs at start_lr in either mode: a linear sweep's too)
        )
    if nan_still:
        # (a bug bash: a corrupt batch's NaN at lr 1.4e-4, on a loss that had not moved, was
        # told it fell by only 1.9 times its noise: raise num_iter or the batch size)
        out.append(
            f"the loss stayed within {stayed}, then turned NaN or inf after "
            f"lr={float(x[-1]):.3g} without rising first: a loss that has not moved seldom "
            "diverges at once, so check the data (a NaN or inf input, a label out of range, "
            "a batch whose every target is ignore_index or masked out: a mean over no "
            "elements is NaN) and the model; if they are sound, the LRs that move it lie past "
            "that point: raise num_iter"
        )
    elif first_fell and never_fell:
        # (it fell, in its first step: no "never decreased"; but a flat curve after it is
        # still told to raise end_lr, a review)
        if flat:
            out.append(f"the loss then stayed within {stayed} {whole} and never diverged: "
                       "raise end_lr to see whether larger learning rates move it")
        elif last_only:  # (a review: hidden by the first step's warning)
            out.append(f"the loss then stayed near that level up to lr={float(x[-2]):.3g}, and "
                       f"its last point rose to {float(y[-1]):.3g} at lr={float(x[-1]):.3g}: "
                       "raise num_iter to see the LRs between those two points")
    elif flat and never_fell:
        out.append(
            f"the loss never decreased nor diverged: it stayed within "
            f"{stayed} {whole}; raise end_lr to "
            "see whether larger learning rates move it, or check the data and loss"
        )
    elif flat:
        out.append(
            f"the loss stayed within {stayed} {whole} and never diverged: the suggestion is "
            "uncertain; raise end_lr to see whether larger learning rates move it, or num_iter "
            "so the model trains longer during the test"
        )
    elif last_only:
        out.append(f"the loss stayed near its start up to lr={float(x[-2]):.3g}, then its last "
                   f"point rose to {float(y[-1]):.3g} at lr={float(x[-1]):.3g}: the LRs that "
                   "move the model lie between those two points; raise num_iter")
    elif never_fell and not (stop_reason in ("interrupted", "error") and shares
                             and drift < 0.05 * s[0]):
        # (a sweep cut short while its loss was still flat has not yet reached the LRs that
        # move it: "lower start_lr" is wrong there, and the cut's own warning says what to do)
        # Flat over the sweep's first half or more, then up: a lower start_lr only adds to
        # the flat stretch (a GRU at ln 2 for 84 points, then diverging, was told to lower it,
        # which gave the same curve; 400 steps showed a fall: a bug bash). Flat: the smoothed
        # loss left a band around its start (5% of it, or 3 times the batch noise) only past
        # halfway, and the medians of the raw losses of the two halves of that stretch lie
        # within a quarter of the band (not a steady rise, which leaves the band late too: a
        # rise of 8% was told it stayed flat; nor read from the smoothed curve's first point,
        # nearly a raw one, whose noise flipped it on 7 of 21 short flat seeds: reviews).
        band = max(NOISE_ONLY * noise_all, 0.05 * float(s[0]) if shares else 0.0)
        outside = np.abs(s - s[0]) > band
        left = int(np.argmax(outside)) if outside.any() else 0
        halves = (float(np.median(y[:max(1, left // 2)])),
                  float(np.median(y[left // 2:max(left // 2 + 1, left)])))
        if (mode != "linear" and not rose_from_start and left >= len(s) // 2
                and abs(halves[1] - halves[0]) <= band / 4):
            # (a sweep cut short is not told of num_iter, a warning RangeTestResult drops for
            # it, with this one: a review)
            cut = stop_reason in ("interrupted", "error")
            out.append(f"the loss never decreased: it stayed near its start up to "
                       f"lr={float(x[left]):.3g}, then rose"
                       + ("; check the data and loss" if cut else
                          "; a lower start_lr would only make that flat stretch longer: raise "
                          "num_iter so the model trains longer during the test (a slow model "
                          "needs hundreds of steps to move), or check the data and loss"))
        else:
            out.append(f"the loss never decreased: {lower}, or check the data and loss"
                       if mode == "linear" else
                       "the loss never decreased: lower start_lr or check the data and loss")
    elif shares and fall < 0.05 * s[0]:
        noisy = not clean_after and fall < MIN_SIGNAL_TO_NOISE * _batch_noise(yq, mq)
        out.append(
            f"the loss fell only {100 * fall / s[0]:.1f}% {until}: the suggestion is "
            "uncertain; raise num_iter so the model trains longer during the test"
            + (", and the batch size: the fall is within the batch-to-batch noise"
               if noisy else "")
        )
    # A deep fall (_deep_fall) is no noise, whatever the noise of the flat start above it: an
    # MSE's batches spread in proportion to their level, so that noise is most of the curve's.
    elif (not clean_after and fall < MIN_SIGNAL_TO_NOISE * (fall_noise := _fall_noise(yq, mq))
          and not _deep_fall(yq, sq, mq, fall_noise)):
        out.append(
            f"the loss fell by only {fall / fall_noise:.1f} times its batch-to-batch noise "
            f"{until}, so the suggestion may be reading noise; raise num_iter (a deep model "
            "needs more steps to move) or the batch size"
        )
    # (a start's warning beside it: a review found the first step's silence it, float16's
    # advice too)
    if (stop_reason == "nan" and at_end and not blew_up and not never_fell
            and all(w.startswith(START_WARNINGS) for w in out)):
        # (a bug bash: one batch whose every target was ignore_index gave a NaN loss, 0/0, at
        # step 38 of a falling curve: picks 2.7x and 4.3x low from the cut curve, no warning)
        # (a bug bash: under float16 autocast, an activation past 65504 cut a falling curve at
        # 0.0164, 3.2x below bfloat16's max_lr, and was blamed on a batch)
        half = ("under float16 autocast an activation past float16's largest number (65504) "
                "turns inf in one step: run it under bfloat16 autocast, whose range is "
                "float32's; or " if float16 else "")
        out.append(
            f"the loss turned NaN or inf after lr={float(x[-1]):.3g} while still falling, "
            f"without rising first: a divergence seldom comes in one step; {half}a loss "
            "undefined on one batch gives the same (a mean over no elements: every label "
            "ignore_index, an empty mask, only zero-weight classes; an inf for a label it "
            "cannot reach, which CTCLoss's zero_infinity=True zeroes), cutting the curve, and "
            "its picks, short there; check that batch, or average over at least one element, "
            "and run the test again")
    # The sweep's first steps, up to the valley's minimum: a blow-up after it is none of the
    # start's (a bug bash: a 1000-point linear sweep's, at point 65 of its first 100 and past
    # its minimum at 41, read "jumped ... before falling", start_lr too high)
    peak = float(np.max(y[:head]))
    jump, jump_noise = peak - float(y[0]), noise_all
    plateau = y[head:started]  # (the flat start after the first steps, before the fall)
    if len(plateau) >= MIN_POINTS:
        jump_noise = max(jump_noise, _robust_sd(np.diff(plateau)) / math.sqrt(2))
        if peak <= float(np.max(plateau)):
            jump = 0.0  # (a batch like the stretch's others)
    elif head >= 2 * MIN_POINTS:
        # No flat stretch after the first steps to compare their highest loss with: their own
        # batch noise (a bug bash: a sweep of 8000 points read the highest of its first 800
        # batches, one loss of 8 cycled batches, as a jump, against the whole curve's noise,
        # mostly its quiet floor's, where 1000 points said nothing)
        jump_noise = max(jump_noise, _robust_sd(np.diff(y[:head])) / math.sqrt(2))
    if not never_fell and not first_fell and jump > max(0.5 * (float(y[0]) - float(np.min(y))),
                                     JUMP_NOISE * jump_noise):
        # A spike at once that the loss falls back from: start_lr is already too high (Adam
        # at 0.1), and the fall every pick is a share of is measured from the spike.
        out.append(
            f"the loss jumped from {float(y[0]):.3g} to {float(np.max(y[:head])):.3g} in the "
            f"sweep's first steps before falling{f' ({skipped_head})' if skipped_head else ''}: "
            f"{'its first LR' if skipped_head else 'start_lr'} is already too high for this "
            "model, and the picks are measured from that jump, so they are too high; "
            f"{lower} until the curve starts flat"
        )
    # A start that falls within ``reach`` points only on the smoothed curve is not enough: the
    # raw losses over twice that (a dozen at least), or over their first dozen, must fall as a
    # trend (_falls_at_first).
    elif (not never_fell and not unreadable and not first_fell and started < reach
          and _falls_at_first(y, min(max(FIRST_POINTS, math.ceil(2 * reach)), m + 1))):
        # No flat start: the sweep began inside the descent (or on a spike it fell back
        # from), and every pick measured as a share of the fall from there is too high.
        out.append(
            f"the loss was already falling at "
            f"{f'its first point ({skipped_head}; ' if skipped_head else 'start_lr ('}10% of "
            f"its fall done by point {started + 1}): the picks are measured from where the "
            f"sweep began, inside the descent, so they are too high; {lower} until the curve "
            "starts flat"
        )
    if completed and at_end and not rose_last:
        if never_fell and (turned or flat):
            pass  # ("never decreased" above says what to do)
        elif never_fell:
            out.append(
                "the loss never diverged nor turned up by end_lr: raise end_lr to see whether "
                "larger learning rates move it"
            )
        elif long_settled:
            # Settled long before the end: the last points crawl along a floor
            # (a loss at 0 on data a model fits at once), which is no "still falling".
            out.append(
                f"the loss had done {done}% of its fall by lr={x[settled]:.3g} and stayed at that "
                "floor up to end_lr without diverging, so the valley (and max_lr) at the end "
                "of the sweep is arbitrary; raise end_lr to see where training breaks down (a "
                "task this easy may never diverge)"
            )
        else:
            # (a bug bash: an InfoNCE over normalised embeddings with Adam never diverged, and
            # was told to raise end_lr at 10 and again at 1e4: the advice went round)
            bounded = (f"; past lr={BOUNDED_PAST:g} a loss may never diverge (one of normalised "
                       "embeddings, or of weights whose scale it does not see, is bounded): "
                       "then read max_lr off the plot, where its fall slows"
                       if float(x[-1]) >= BOUNDED_PAST else "")
            out.append(
                "the loss never diverged and was still falling at end_lr: raise end_lr to see "
                f"where training breaks down{bounded}"
            )
    elif on_floor and not flat and not never_fell:
        out.append(
            f"the loss had done {done}% of its fall by lr={x[settled]:.3g} and stayed at that "
            f"floor up to end_lr without diverging, so the valley's minimum (max_lr, "
            f"lr={x[m]:.3g}) is where the floor's noise was lowest: arbitrary; raise end_lr to "
            "see where training breaks down (a task this easy may never diverge)"
        )
    # The median spacing: an exponential sweep's own, a linear one's where its points crowd
    # (its last decades, where the picks are), robust to a few GradScaler gaps.
    if x[0] > 0 and (apart := float(np.median(np.diff(np.log10(x))))) > MAX_DECADES_PER_STEP:
        # First: the other warnings read a curve this coarse, and more points may settle them.
        out.insert(0,
            f"the sweep's points lie {apart:.2f} decades of LR apart, too coarse to read: a "
            f"point more or less moves the picks by whole steps; raise num_iter about "
            f"{apart / 0.1:.1f}-fold (for 0.1 decades a step)"
        )
    return out
