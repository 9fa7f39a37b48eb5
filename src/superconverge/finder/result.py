"""What a range test measured: the curve, why it stopped, how it was run; suggestions and I/O.

``RangeTestResult`` holds plain tuples of floats (no torch), so it can be saved, loaded, compared
and plotted anywhere. Suggestions are computed on demand from the raw losses by the rules in
:mod:`superconverge.finder.suggest`; the saved JSON also carries them for readers without Python.
"""

from __future__ import annotations

import codecs
import copy
import json
import math
import numbers
import os
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

import numpy as np

from superconverge import _peer_names as peer
from superconverge._stack import outside
from superconverge._warning import SuperconvergeWarning
from superconverge.atomic import file_path, write_text
from superconverge.finder._dist import is_main_process
from superconverge.finder.suggest import (
    _CUT,
    METHODS,
    MIN_POINTS,
    START_WARNINGS,
    STOP_REASONS,
    Suggestion,
    curve_warnings,
    finite_prefix,
    for_mode,
    skips_took_points,
    suggest,
    suggest_bounds,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes


FORMAT = "superconverge.lr_range_test"
FORMAT_VERSION = 1


class Ema:
    """Bias-corrected exponential moving average, the range test's smoothed loss.

    ``avg_n = beta * avg_{n-1} + (1 - beta) * x_n`` (``avg_0 = 0``); smoothed ``= avg_n / (1 -
    beta ** n)``, so the first value is ``x_1`` itself rather than ``(1 - beta) * x_1``.
    """

    def __init__(self, beta: float) -> None:
        self.beta, self.avg, self.n = beta, 0.0, 0

    def __call__(self, x: float) -> float:
        self.n += 1
        self.avg = self.beta * self.avg + (1 - self.beta) * x
        return self.avg / (1 - self.beta**self.n)


def bias_corrected_ema(values: Iterable[float], beta: float) -> list[float]:
    """The :class:`Ema` of each prefix of ``values``."""
    ema = Ema(beta)
    return [ema(float(x)) for x in values]


def _not_json(value: Any, where: str, _within: tuple[int, ...] = ()) -> str | None:
    """Where in ``value`` (named ``where``) the first value that ``json.dumps`` cannot write
    is, and what it is; ``None`` where it has none."""
    # (what json.dumps writes: these and their subclasses, numpy's float64 among them)
    if value is None or isinstance(value, str | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where} is {value}, which JSON has no number for"
    if isinstance(value, list | tuple | dict):
        if id(value) in _within:
            return f"{where} holds itself (a circular reference)"
        within = (*_within, id(value))
        if not isinstance(value, dict):
            return next((found for i, v in enumerate(value)
                         if (found := _not_json(v, f"{where}[{i}]", within)) is not None), None)
        for k, v in value.items():  # (json writes keys that are numbers as strings)
            if not (k is None or isinstance(k, str | int)
                    or (isinstance(k, float) and math.isfinite(k))):
                return f"{where} has the key {k!r}, which JSON cannot hold"
            found = _not_json(v, f"{where}[{k!r}]", within)
            if found is not None:
                return found
        return None
    shown = repr(value)
    return (f"{where} is of type {_type_name(type(value))} "
            f"({shown if len(shown) <= 60 else shown[:57] + '...'})")


def _type_name(kind: type) -> str:
    """``kind``'s name as its users import it: ``pathlib.PosixPath``, not Python 3.13's
    ``pathlib._local.PosixPath``, where the public module holds the class."""
    module = kind.__module__
    if module == "builtins":
        return kind.__qualname__
    public = module.split("._", 1)[0]
    if public != module and getattr(sys.modules.get(public), kind.__qualname__, None) is kind:
        module = public
    return f"{module}.{kind.__qualname__}"


def _copied(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """A dict of ``mapping`` whose containers (dicts, lists and tuples, JSON's, of their own
    types: an OrderedDict stays one) are copies, all the way down, and whose other values are
    the same objects: a user's object in memory keeps its identity (and a result built from it
    stays equal to another built from it, a review), while a change to the containers given
    does not reach the result. A container that cannot be rebuilt (a tuple type whose
    constructor takes no items: ``sys.version_info``) is kept as it is."""
    seen: dict[int, Any] = {}

    def copied(value: Any) -> Any:
        if not isinstance(value, dict | list | tuple):
            return value
        if id(value) in seen:  # (shared, or a cycle: copied once, as deepcopy would)
            return seen[id(value)]
        try:
            if isinstance(value, tuple):
                items = [copied(v) for v in value]
                if all(a is b for a, b in zip(items, value, strict=True)):
                    return value  # (immutable, and nothing in it copied)
                out: Any = (tuple(items) if type(value) is tuple
                            else type(value)._make(items))  # type: ignore[attr-defined]
                seen[id(value)] = out
                return out
            out = copy.copy(value)  # (its type, a defaultdict's factory)
            kind = dict if isinstance(value, dict) else list
            if out is value or type(out) is not type(value):  # (a __copy__ of its own: it
                out = kind()  # may give back a dict it keeps, which would be refilled here)
            seen[id(value)] = out
            # Filled through dict's and list's own methods: a Counter's update counts the
            # pairs it is given (a review: its keys became (key, count) pairs)
            if isinstance(value, dict):
                items = [(k, copied(v)) for k, v in value.items()]
                dict.clear(out)
                dict.update(out, items)
            else:
                list.__setitem__(out, slice(None), [copied(v) for v in value])
            return out
        except Exception:  # (no _make, a constructor of its own: kept as it is)
            seen.pop(id(value), None)
            return value

    return {key: copied(value) for key, value in mapping.items()}


def _show(value: Any) -> str:
    """``repr(value)`` and its type, cut short (a 401-digit int, a long string)."""
    text = repr(value)
    if len(text) > 40:
        text = f"{text[:30]}... ({len(text)} chars)"
    return f"{text} ({type(value).__name__})"


def _floats(name: str, values: Iterable[Any]) -> tuple[float, ...]:
    """``values`` as floats; strings and bools are refused (``float()`` reads "1e-3" and True)."""
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise ValueError(f"{name} must be a sequence of numbers, got {_show(values)}")
    out = []
    for i, x in enumerate(values):
        try:
            if isinstance(x, (bool, str, bytes)):
                raise TypeError
            out.append(float(x))
        except OverflowError:
            raise ValueError(f"{name}[{i}] is too large for a float: {_show(x)}") from None
        except (TypeError, ValueError):
            raise ValueError(f"{name}[{i}] must be a number, got {_show(x)}") from None
    return tuple(out)


def _increasing(name: str, lrs: Sequence[float]) -> None:
    """A range test sweeps the LR up: each recorded LR is above the one before."""
    for i in range(1, len(lrs)):
        if not lrs[i] > lrs[i - 1]:
            raise ValueError(
                f"{name} must strictly increase (a range test sweeps the LR up), but "
                f"{name}[{i}]={lrs[i]!r} <= {name}[{i - 1}]={lrs[i - 1]!r}"
            )


def _mapping(name: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a mapping (a JSON object), got {_show(value)}")
    return value


def _json_floats(values: Sequence[float] | None) -> list[float | None] | None:
    """JSON has no NaN/inf: write them as null."""
    if values is None:
        return None
    return [x if math.isfinite(x) else None for x in values]


def _from_json_floats(name: str, values: Any, *, null: bool = True) -> tuple[float, ...]:
    """A JSON array of numbers, null (NaN) too where ``null``; strings and bools refused. A
    dict built in Python may hold numpy's numbers and 1-d arrays, as the constructor takes them
    (a bug bash: "must be a number, got np.float32(2.34)")."""
    if isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype.kind in "iufO":
        values = values.tolist()  # (not datetimes, which it gives as ints: a review; objects
        # are checked one by one below)
    if not isinstance(values, (list, tuple)):
        raise ValueError(f"{name} must be an array of numbers, got {_show(values)}")
    # What json.loads gives a file to_json wrote, floats and nulls, read at once: the checks
    # below, one an ABC's, took 4x json.loads of a 100,000-point result (a bug bash)
    kinds = set(map(type, values))
    if kinds <= {float}:
        return tuple(values)
    if null and kinds <= {float, type(None)}:
        return tuple(math.nan if x is None else x for x in values)
    for i, x in enumerate(values):
        if isinstance(x, bool | np.bool_) or not (isinstance(x, numbers.Real)
                                                  or (null and x is None)):
            what = "a number or null" if null else "a number"
            raise ValueError(f"{name}[{i}] must be {what}, got {_show(x)}")
    return _floats(name, (math.nan if x is None else x for x in values))


#: How the plots find-lr writes beside the JSON begin -> what they are.
_PLOT_STARTS = {b"\x89PNG": "a PNG image", b"%PDF": "a PDF document", b"%!PS": "a PostScript file",
                b"\x1f\x8b": "a gzip file (.svgz?)"}


def _refuse_a_plot(path: Path, start: bytes) -> None:
    """Refuse a plot given for the result (the .png beside lr_find.json, a slip of a tab key)
    by what it is, from the ``start`` of its bytes: it was "'utf-8' codec can't decode byte
    0x89 in position 0" (a bug bash)."""
    kind = next((what for magic, what in _PLOT_STARTS.items() if start.startswith(magic)), None)
    if kind is None and b"<svg" in start:
        kind = "an SVG image"
    if kind is not None:
        raise ValueError(f"{path} is not a valid range-test result: it is {kind} (a plot?), "
                         "not JSON; pass the lr_find.json that find-lr writes beside its plot")


def _reject_constant(name: str) -> NoReturn:
    """``json.loads`` reads NaN and Infinity, which are not JSON; :meth:`to_json` writes null."""
    raise ValueError(f"{name} is not JSON (a NaN or inf loss is written as null)")


def _finite_float(text: str) -> float:
    """A JSON number as a float; one past the largest float (``1e999``) is refused, as
    Infinity is, rather than read as inf."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is beyond the largest float (a NaN or inf loss is written "
                         "as null)")
    return value


def last_lr(curve: Curve) -> float:
    """The LR of a curve's last point (-inf without points): the shortest curve has the lowest."""
    return curve.lrs[-1] if curve.lrs else -math.inf


def stop_order(curve: Curve) -> tuple[bool, float]:
    """A sort key under which the sweep that stopped first comes first: one that did not
    complete (diverged, NaN) stopped before one that completed, even where the completed one's
    last steps were skipped by a GradScaler and its last point came at a lower LR; among
    alike, the one whose last point came at the lowest LR."""
    return curve.stop_reason == "completed", last_lr(curve)


def _span(curve: Curve) -> str:
    """``"100 points, lr 1e-07..10"``: a curve's size and the LRs it covers, for a repr."""
    n = len(curve.lrs)
    if not n:
        return "no points"
    return (f"{n} point{'s' if n != 1 else ''}, lr {curve.lrs[0]:.3g}"
            + (f"..{curve.lrs[-1]:.3g}" if n > 1 else ""))


@dataclass(frozen=True)
class Curve:
    """One sweep: ``lrs[i]`` is the LR of the ``i``-th recorded optimizer step, ``losses[i]`` its
    mean loss, ``smoothed[i]`` the stop rule's bias-corrected EMA up to it: of ``losses[: i +
    1]`` and of the losses of the steps a GradScaler skipped before it, which are not recorded
    (their LRs are missing) but were measured and count toward divergence."""

    lrs: tuple[float, ...]
    losses: tuple[float, ...]
    smoothed: tuple[float, ...]
    stop_reason: str
    seed: int | None = None
    val_losses: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("lrs", "losses", "smoothed"):
            object.__setattr__(self, name, _floats(name, getattr(self, name)))
        if self.val_losses is not None:
            object.__setattr__(self, "val_losses", _floats("val_losses", self.val_losses))
        n = len(self.lrs)
        lengths = {
            "losses": len(self.losses),
            "smoothed": len(self.smoothed),
            **({} if self.val_losses is None else {"val_losses": len(self.val_losses)}),
        }
        bad_lrs = [x for x in self.lrs if not (math.isfinite(x) and x > 0)]
        if bad_lrs:
            raise ValueError(f"lrs must be finite and > 0, got {bad_lrs[:3]}")
        _increasing("lrs", self.lrs)
        bad = {k: m for k, m in lengths.items() if m != n}
        if bad:
            raise ValueError(f"every series must have len(lrs)={n} points, got {bad}")
        if self.stop_reason not in STOP_REASONS:
            raise ValueError(
                f"stop_reason must be one of {', '.join(map(repr, STOP_REASONS))}; "
                f"got {self.stop_reason!r}"
            )
        if self.seed is not None and (
                isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral)):
            raise ValueError(f"seed must be an int or None, got {_show(self.seed)}")
        if self.seed is not None:
            object.__setattr__(self, "seed", int(self.seed))  # numpy's int64 too, for JSON

    def __repr__(self) -> str:
        """A line: the points, the LRs they span and how the sweep stopped (every value of a
        sweep of thousands of steps is a screenful; they are in :attr:`lrs` and the rest)."""
        return f"{type(self).__name__}({_span(self)}, {self.stop_reason}, seed={self.seed})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: the series as lists, a non-finite loss as ``None`` (JSON has no
        NaN); :meth:`from_dict` reads it back."""
        return {
            "lrs": list(self.lrs),
            "losses": _json_floats(self.losses),
            "smoothed": _json_floats(self.smoothed),
            "stop_reason": self.stop_reason,
            "seed": self.seed,
            "val_losses": _json_floats(self.val_losses),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Curve:
        """Rebuild a curve written by :meth:`to_dict` (null losses are NaN). Series must be
        arrays of JSON numbers (``lrs`` without null); strings and bools are refused."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a range-test curve must be a JSON object, got {_show(data)}")
        missing = [k for k in ("lrs", "losses", "smoothed", "stop_reason") if k not in data]
        if missing:
            raise ValueError(
                f"a range-test curve needs {', '.join(missing)}; got keys {sorted(data)}"
            )
        val = data.get("val_losses")
        return cls(
            lrs=_from_json_floats("lrs", data["lrs"], null=False),
            losses=_from_json_floats("losses", data["losses"]),
            smoothed=_from_json_floats("smoothed", data["smoothed"]),
            stop_reason=data["stop_reason"],
            seed=data.get("seed"),
            val_losses=None if val is None else _from_json_floats("val_losses", val),
        )


@dataclass(frozen=True)
class RangeTestResult(Curve):
    """A range test's curve (the mean over ``repeats`` when there were several), how it was run
    (``config``, ``provenance``: versions, device, seeds) and every repeat's own curve.

    ``num_iter`` is the number of steps asked for; ``len(lrs)`` is how many were recorded
    (``provenance["skipped_steps"]``: how many steps of each repeat a GradScaler skipped).

    ``config`` and ``provenance`` are copies of what was given (and :meth:`to_dict` gives
    copies of them): a change to the dict a result was built from, or to one it wrote, does not
    reach it. A result is hashable (by its curve, stop and ``num_iter``).
    """

    num_iter: int = 0
    config: Mapping[str, Any] = field(default_factory=dict)
    repeats: tuple[Curve, ...] = ()
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "repeats", tuple(self.repeats))
        if not all(isinstance(c, Curve) for c in self.repeats):
            raise TypeError("repeats must be a sequence of Curve")
        n = self.num_iter
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise ValueError(f"num_iter must be an int (the steps asked for), got {_show(n)}")
        object.__setattr__(self, "num_iter", int(n))
        # One point per step at most; fewer when the sweep stopped early or GradScaler skipped.
        longest = max(len(c.lrs) for c in (self, *self.repeats))
        if n < max(1, longest):
            raise ValueError(
                f"num_iter must be >= 1 and >= the {longest} points of the longest curve (a "
                f"sweep records at most one point per step), got {n}"
                + (" (its default: pass the steps the test was asked for)" if n == 0 else "")
            )
        # Copies (a review: changing the dict that to_dict returned, or the one from_dict read,
        # changed the result: its skipped steps, its seeds).
        object.__setattr__(self, "config", _copied(_mapping("config", self.config)))
        chosen = self.config.get("method")
        if chosen is not None and not (isinstance(chosen, str) and chosen in METHODS):
            # Read (a newer version's rule), but said: a hand-edited "Steepest" was the default
            # rule, 2.5x off, without a word.
            warnings.warn(f"config['method'] is {_show(chosen)}, not a rule this version knows "
                          f"({', '.join(map(repr, METHODS))}): the 'default' rule is used",
                          SuperconvergeWarning, stacklevel=outside(__name__))
        object.__setattr__(self, "provenance", _copied(_mapping("provenance", self.provenance)))
        # The curve is the mean of some repeats at the LRs they all recorded, so one of them
        # at least recorded each of its LRs (a cut repeat may stop early, a skip leaves a gap).
        if self.repeats and not any(set(self.lrs) <= set(c.lrs) for c in self.repeats):
            first = set(self.repeats[0].lrs)
            i = next(i for i, lr in enumerate(self.lrs) if lr not in first)
            raise ValueError(
                "repeats: none recorded every LR of the curve (the mean of repeats at the LRs "
                f"they share), e.g. lrs[{i}]={self.lrs[i]!r} is not in repeats[0].lrs"
            )

    def __repr__(self) -> str:
        """A line: how the sweep stopped, the LRs it spans and its suggestion (uncertain where
        :meth:`warnings` has any, as the plot's legend says); the values are in :attr:`lrs`,
        :attr:`losses` and the rest, the whole in :meth:`to_dict`."""
        pick = self.suggest()
        unsure = ", uncertain" if pick.lr is not None and self.warnings() else ""
        said = f"suggestion={pick.lr:.3g} ({pick.method}{unsure})" if pick.lr is not None else (
            "no suggestion")
        repeats = f", {len(self.repeats)} repeats" if len(self.repeats) > 1 else ""
        return (f"RangeTestResult({self.stop_summary()}, {_span(self)}, {said}{repeats}, "
                f"seed={self.seed})")

    # --- suggestions -------------------------------------------------------------------------

    @property
    def method(self) -> str:
        """The suggestion rule this result was asked for: ``config["method"]`` (set by
        ``find_lr`` and ``superconverge find-lr --method``), else ``"default"``. It is what
        :meth:`suggest` uses when given no method, and what the JSON's ``"suggestion"`` holds."""
        chosen = self.config.get("method")
        return chosen if isinstance(chosen, str) and chosen in METHODS else "default"

    def suggest(self, method: str | None = None) -> Suggestion:
        """The LR the rule ``method`` picks (see ``superconverge.finder.suggest.METHODS``;
        ``None``: :attr:`method`), with its index into :attr:`lrs` and the reason, or
        ``lr=None`` and why there is none (its advice for the sweep's ``config["mode"]``)."""
        return for_mode(suggest(self.lrs, self.losses, self.method if method is None else method),
                        self.config.get("mode"), self.curve_stop_reason,
                        **self._skips_explain())

    def suggestion(self, method: str | None = None) -> float | None:
        """Just the LR of :meth:`suggest` (``None`` when no sensible pick exists)."""
        return self.suggest(method).lr

    def bounds(self) -> tuple[float | None, float | None]:
        """``(base_lr, max_lr)`` for a cyclical or 1cycle policy; ``None`` where there is no
        sensible pick (see :meth:`suggest_bounds` for the reasons)."""
        base, top = self.suggest_bounds()
        return base.lr, top.lr

    def suggest_bounds(self) -> tuple[Suggestion, Suggestion]:
        """The two :class:`Suggestion` behind :meth:`bounds`, with their reasons."""
        mode = self.config.get("mode")
        base, top = suggest_bounds(self.lrs, self.losses)
        said = self._skips_explain()
        return (for_mode(base, mode, self.curve_stop_reason, **said),
                for_mode(top, mode, self.curve_stop_reason, **said))

    def _skips(self) -> list[int]:
        """The steps a GradScaler skipped in each repeat, in order, one for each repeat at
        least; 0s where the provenance (of a file of another version, or edited by hand) lacks
        a list of whole numbers."""
        skips = self.provenance.get("skipped_steps")
        out = (list(skips) if isinstance(skips, list | tuple)
               and all(type(n) is int and n >= 0 for n in skips) else [])
        return out + [0] * (len(self.repeats) - len(out))

    def _skip_stopped_high(self) -> bool:
        """Whether a sweep stopped at ``MAX_SKIPPED_STEPS`` skips in a row with its loss scale
        still 1 or more (``provenance["skip_stopped_high"]``; no where a file lacks it)."""
        stops = self.provenance.get("skip_stopped_high")
        return isinstance(stops, list | tuple) and any(s is True for s in stops)

    def _skips_explain(self) -> dict[str, bool]:
        """:func:`for_mode`'s words on a GradScaler's skips: the sweep stopped at them with
        its loss scale still 1 or more (``scale_too_high``), or they took its points
        (``skips_took``, as :meth:`warnings` reads it; a review: 40 steps all skipped were
        told to raise num_iter, which adds only skips)."""
        stop, skips = self.curve_stop_reason, self.most_skipped()
        # (its points counted only where a step was skipped: a pass over the curve at each
        # suggest(), 7 a to_json, a final read)
        return {"scale_too_high": stop == "nan" and self._skip_stopped_high(),
                "skips_took": skips > 0 and skips_took_points(
                    stop, len(finite_prefix(self.lrs, self.losses)[0]), skips)}

    def most_skipped(self) -> int:
        """The most steps a GradScaler skipped in one repeat; 0 where the provenance (of a
        file of another version, or edited by hand) lacks a list of whole numbers."""
        return max(self._skips(), default=0)

    def stop_summary(self) -> str:
        """How the sweep stopped, in a line: ``"completed after 30 of 30 steps"``. Steps a
        GradScaler skipped ran but are no points; they are counted and named, as in
        ``"completed after 30 of 30 steps (2 skipped by GradScaler: no points)"``. With repeats
        the count is of the points all of them share, or with skipped steps, of the steps the
        repeat that stopped first ran (the curve ends where it did)."""
        skipped = self.most_skipped()
        done = self._finished_before_cut()
        if done:
            # A later repeat was cut short: say so, and what the curve shown is (the finished
            # repeats, whole), not "interrupted after" the finished curve's length. Steps, as
            # below: a step GradScaler skipped ran, but is no point.
            cut = next((c for c in self.repeats if c.stop_reason in _CUT), None)
            planned = (self.config or {}).get("repeats")
            cut_skips = self._skips()[len(done)] if cut is not None else 0
            cut_steps = (len(cut.lrs) + cut_skips) if cut is not None else 0
            done_steps = (self.num_iter if self.curve_stop_reason == "completed"
                          else min(len(self.lrs) + skipped
                                   + (self.curve_stop_reason == "nan" and not skipped),
                                   self.num_iter))
            which = ("the first repeat's" if len(done) == 1
                     else f"the mean of the {len(done)} finished repeats")
            curve = (f"the curve is {which}, {self.curve_stop_reason} after "
                     f"{done_steps} of {self.num_iter} steps"
                     + (f" (GradScaler skipped up to {skipped} steps a repeat: no points)"
                        if skipped else ""))
            if cut is None and type(planned) is int and len(done) >= planned:
                # stopped after the last sweep, before its result was put together (or in a
                # step run past its end, which the stop test read late: sync_every)
                if len(done) == 1:
                    return (f"{self.stop_reason} after the sweep had ended; the curve is whole, "
                            + curve.split(", ", 1)[1])
                return f"{self.stop_reason} after all {len(done)} repeats had finished; {curve}"
            of = f" of {planned}" if type(planned) is int and planned > len(done) else ""
            return (f"{self.stop_reason} in repeat {len(done) + 1}{of} after {cut_steps} of "
                    f"{self.num_iter} steps; {curve}")
        if not skipped:
            # the step whose loss was not finite ran, and is no point (with a GradScaler it is
            # a skipped step, counted as those are)
            ran = len(self.lrs) + (self.stop_reason == "nan")
            return f"{self.stop_reason} after {ran} of {self.num_iter} steps"
        if len(self.repeats) > 1:
            # Steps, as for one sweep (a skipped step ran): those of the repeat that stopped
            # first, whose end is the curve's (the points all repeats share): of those that
            # stopped as the curve did (one that diverged stopped before one that completed,
            # though its last point may come at a higher LR, past the completed one's skips).
            same = [r for r, c in enumerate(self.repeats) if c.stop_reason == self.stop_reason]
            _, r = min((last_lr(c), r)
                       for r, c in enumerate(self.repeats) if not same or r in same)
            c = self.repeats[r]
            run = (self.num_iter if c.stop_reason == "completed"
                   else len(c.lrs) + self._skips()[r])
            return (f"{self.stop_reason} after {min(run, self.num_iter)} of {self.num_iter} "
                    + ("steps" if self.stop_reason == "completed" else
                       "steps in the repeat that stopped first")
                    + f" (GradScaler skipped up to {skipped} steps a repeat: no points)")
        run = self.num_iter if self.stop_reason == "completed" else len(self.lrs) + skipped
        return (f"{self.stop_reason} after {min(run, self.num_iter)} of {self.num_iter} steps "
                f"({skipped} skipped by GradScaler: no points)")

    def _finished_before_cut(self) -> tuple[Curve, ...]:
        """The finished repeats, where an error or Ctrl-C then cut a later one short (the
        curve is theirs, whole); empty otherwise, and where the curve ends short of the LRs
        they all reached: a file of an older version, which cut their mean where the cut
        repeat ended (a bug bash: 60 of 300 points, read as "completed after 300 of 300
        steps" and told to raise end_lr), is the cut curve it holds."""
        if self.stop_reason not in _CUT:
            return ()
        done = self.finished_repeats()
        if done and self.lrs and all(c.lrs for c in done):
            shared = set(done[0].lrs).intersection(*(c.lrs for c in done[1:]))
            if shared and self.lrs[-1] < max(shared):
                return ()
        return done

    @property
    def curve_stop_reason(self) -> str:
        """How the curve (``lrs``, ``losses``) ended: :attr:`stop_reason`, except where an
        error or Ctrl-C cut a later repeat short after others had finished: the curve is then
        the finished repeats', and this is how they ended (the first to stop's reason, by
        :func:`stop_order`, as the range test reads it for a curve of finished repeats)."""
        done = self._finished_before_cut()
        if not done:
            return self.stop_reason
        return min(done, key=stop_order).stop_reason

    def finished_repeats(self) -> tuple[Curve, ...]:
        """The repeats that ran to their end (completed, diverged or nan), without those an
        error or Ctrl-C cut short: the sweeps :meth:`spread` and the plot's band compare."""
        return tuple(c for c in self.repeats if c.stop_reason not in _CUT)

    def warnings(self, method: str | None = None, *, pick: bool = True) -> list[str]:
        """Plain-language problems with the curve that make its suggestions unreliable, and
        with the pick of rule ``method`` (default :attr:`method`): one below the swept range
        (``minimum``'s tenth of an LR in the sweep's first decade) is an extrapolation.
        ``pick=False`` leaves the pick out (what reads only the bounds, which lie in the
        sweep)."""
        mode = (self.config or {}).get("mode")
        start = (self.config or {}).get("start_lr")
        out = curve_warnings(self.lrs, self.losses, self.curve_stop_reason, self.most_skipped(),
                             mode=mode if mode in ("exp", "linear") else None,
                             scale_too_high=self._skip_stopped_high(),
                             float16=(self.config or {}).get("amp_dtype") == "float16",
                             start_lr=float(start) if isinstance(start, int | float) and not
                             isinstance(start, bool) and 0 < start < 1e308 else None)
        # (a later repeat cut short after others finished leaves their curve whole: no warning,
        # stop_summary() says it)
        if self.curve_stop_reason in _CUT:
            # Cut short by Ctrl-C or an error: the curve ends where the sweep was stopped, not
            # where the model broke down, and no num_iter or end_lr advice reads that part
            # better; the one advice is to run the sweep to its end (also before its first
            # point, which a bug bash saw told to "raise num_iter").
            end = (self.config or {}).get("end_lr")
            # (a hand-edited 10**400 is an int no float holds: said as nothing, not a crash)
            upto = (f", short of end_lr={float(end):.3g}" if isinstance(end, int | float)
                    and not isinstance(end, bool) and abs(end) < 1e308 else "")
            reached = (f", up to lr={self.lrs[-1]:.3g}{upto}): the picks read only the LRs it "
                       "reached" if self.lrs else ") before its first point: nothing was measured")
            cut = f"the sweep was cut short ({self.stop_summary()}{reached}; run it to its end"
            out = [cut] + [
                w for w in out if w.startswith(START_WARNINGS)
                or ("num_iter" not in w and "end_lr" not in w
                    and not w.startswith("too few points"))]
        void = self._void_spread()
        if void is not None:
            out.append(void)
        short = self._short_repeat()
        if short is not None:  # (first: the rest reads a curve it cut)
            out.insert(0, short)
        picks = self._repeat_picks(method)
        none = picks.count(None)
        if len(picks) > 1 and 0 < none < len(picks):
            # (a bug bash: the spread over the others read as one over all of them)
            out.append(f"{none} of the {len(picks)} repeats gave no {self.suggest(method).method} "
                       f"pick, so the pick depends on the batches drawn more than the spread "
                       f"of the other {len(picks) - none} says; look at each repeat's curve")
        below = self._pick_warning(method) if pick else None
        return out if below is None else [*out, below]

    def _short_repeat(self) -> str | None:
        """Where one repeat stopped far short of the others (under a quarter of their median
        points, and a suggestion's worth fewer): the mean curve ends where it stopped, so does
        what is read of it (a bug bash: a diffusion loss's low first batches stopped one of 4
        repeats at its 8th point, and the pick came 4 decades below the other 3's)."""
        done = [c for c in self.repeats if c.stop_reason not in _CUT]
        if len(done) < 2:
            return None
        k = min(range(len(done)), key=lambda i: len(done[i].lrs))
        n = len(done[k].lrs)
        others = sorted(len(c.lrs) for i, c in enumerate(done) if i != k)
        typical = others[(len(others) - 1) // 2]  # (the lower median: most may have stopped)
        if not (4 * n < typical and typical - n >= MIN_POINTS):
            return None
        cut = done[k]
        where = f" at lr={cut.lrs[-1]:.3g}" if cut.lrs else ""
        return (f"repeat {self.repeats.index(cut) + 1} of {len(self.repeats)} stopped "
                f"({cut.stop_reason}) after {n} points{where}, where the others ran "
                f"{others[0]}-{others[-1]}: the mean curve, and what is read of it, ends there; "
                "look at that repeat's curve"
                + (" (a loss low on its first batches can stop a sweep at once, as diverged): "
                   "run the test again with another seed (or, in Python, raise diverge_factor)"
                   if cut.stop_reason == "diverged" else ""))

    def _pick_warning(self, method: str | None = None) -> str | None:
        """The warning :meth:`warnings` adds for the pick of rule ``method``, if any: one below
        the swept range is an extrapolation (a review: drawn solid and taken into a policy
        without a word but its reason). For a caller that needs the curve's warnings both
        with and without it, which then computes them once."""
        chosen = self.suggest(method)
        if chosen.lr is None or chosen.lr >= self.lrs[0]:
            return None
        see = ("sweep exponentially (mode='exp') from a lower start_lr"
               if self.config.get("mode") == "linear" else "lower start_lr")
        return (f"the {chosen.method} pick, lr={chosen.lr:.3g}, lies below the swept range "
                f"(from {self.lrs[0]:.3g}): an extrapolation; {see} to see the curve there")

    def _void_spread(self) -> str | None:
        """Why the repeats' spread measures nothing, or ``None`` where it measures something.

        Two or more finished repeats and losses that move (repeats alike because they are
        too short to read, a loss NaN at once, or constant, a loss that ignores the model,
        say nothing of the data's order: an audit), and either every repeat gave the very same
        curve (the data came in the same order each time), or every step trained on all of
        the data (provenance ``whole_data_steps``, read from the loader): the repeats then
        differ only by the order within a step, float rounding that training can grow until
        it moves the pick, and by any dropout or augmentation. Reviews found no tolerance
        on the losses that tells those apart (rounding grew past a genuine augmentation's
        difference), so the loader decides."""
        done = self.finished_repeats()
        first = done[0] if len(done) > 1 else None
        if first is None:
            return None
        finite = [v for v in first.losses if math.isfinite(v)]
        if len(finite) < MIN_POINTS or len(set(finite)) == 1:
            return None
        n = len(done)  # (those the spread would count: a cut repeat is left out)
        # All the data in every step first: a shuffle would not help there (a review: told to
        # shuffle, the user met the second warning next).
        if self.provenance.get("whole_data_steps") is True:
            passes = self.provenance.get("batches_a_pass")
            # (fewer micro-batches a step helps only where a pass has more than one batch)
            fewer = (", or fewer accumulation_steps than its batches a pass"
                     if isinstance(passes, int) and passes > 1 else "")
            return (f"every step trained on all of the data, so the {n} repeats can differ "
                    "only by the order within a step (float rounding) and by any dropout or "
                    "augmentation, and their spread does not measure how the pick moves with "
                    f"the batches drawn; give a step less than all of the data (a smaller "
                    f"batch{fewer})")
        # (NaN equal to NaN: repeats with one where NaN objects differ, built from arrays, were
        # told apart, and alike once read back from JSON; a bug bash)
        if all(c.lrs == first.lrs and len(c.losses) == len(first.losses) and all(
                a == b or (a != a and b != b) for a, b in zip(c.losses, first.losses,
                                                            strict=True))
               for c in done[1:]):
            return (f"the {n} repeats gave the very same curve, so their spread measures "
                    "nothing: the data came in the same order each time (a loader without "
                    "shuffle, a list of batches); shuffle it with a generator or a seeded "
                    "sampler")
        return None

    def spread(self, method: str | None = None) -> float | None:
        """How far apart the repeats' suggestions are, in decades: ``log10(max / min)``.

        Exactly ``0.0`` when every repeat picks the same step of the sweep (the repeats share
        the sweep's LRs, so picks are either equal or at least one step apart). Only the
        :meth:`finished_repeats` count: a sweep an error or Ctrl-C cut short would pick from
        the part it ran; of them, those that give a pick (:meth:`warnings` names those that
        give none). ``None`` with fewer than two of them that have a suggestion, when
        every repeat gave the very same curve (unshuffled data), and when every step trained
        on all of the data (``provenance["whole_data_steps"]``): nothing was measured there,
        and :meth:`warnings` says so.
        """
        if self._void_spread() is not None:
            return None
        found = [p for p in self._repeat_picks(method) if p is not None]
        if len(found) < 2:
            return None
        return math.log10(max(found) / min(found))

    def _repeat_picks(self, method: str | None = None) -> list[float | None]:
        """The pick of rule ``method`` of each of the :meth:`finished_repeats` (``None``: it
        gives none, or one of 0 an LR ratio cannot take)."""
        method = self.method if method is None else method
        picks = [suggest(c.lrs, c.losses, method).lr for c in self.finished_repeats()]
        return [p if p is not None and p > 0 else None for p in picks]

    def __hash__(self) -> int:
        # (the dataclass's own hashed every field, config's dict too: "unhashable type")
        return hash((self.lrs, self.losses, self.stop_reason, self.num_iter))

    # --- I/O ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly; also carries the suggestion of :attr:`method`, every rule's, the
        bounds and the warnings (derived, ignored by :meth:`from_dict`)."""
        out: dict[str, Any] = {"format": FORMAT, "version": FORMAT_VERSION}
        out.update(super().to_dict())
        out.update(
            num_iter=self.num_iter,
            config=_copied(self.config),
            provenance=_copied(self.provenance),
            repeats=[c.to_dict() for c in self.repeats],
            suggestion=self.suggest().to_dict(),
            suggestions={m: self.suggest(m).to_dict() for m in METHODS},
            bounds=[s.to_dict() for s in self.suggest_bounds()],
            warnings=self.warnings(),
        )
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RangeTestResult:
        """Rebuild a result written by :meth:`to_dict`; a malformed one raises ``ValueError``
        naming the field and its value (``repeats[1]: losses[3] must be a number or null``)."""
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise ValueError(f"not a range-test result (expected format {FORMAT!r})")
        if "version" not in data:
            raise ValueError("a range-test result needs version")
        version = data["version"]
        if isinstance(version, bool) or not isinstance(version, int) or version != FORMAT_VERSION:
            raise ValueError(
                f"unsupported range-test result version {_show(version)}; this superconverge "
                f"reads version {FORMAT_VERSION} (an int)"
            )
        if "num_iter" not in data:
            raise ValueError("a range-test result needs num_iter")
        curve = Curve.from_dict(data)
        listed = data.get("repeats", [])
        if not isinstance(listed, (list, tuple)):
            raise ValueError(f"repeats must be an array of curves, got {_show(listed)}")
        repeats = []
        for i, c in enumerate(listed):
            try:
                repeats.append(Curve.from_dict(c))
            except ValueError as exc:
                raise ValueError(f"repeats[{i}]: {exc}") from None
        return cls(
            lrs=curve.lrs,
            losses=curve.losses,
            smoothed=curve.smoothed,
            stop_reason=curve.stop_reason,
            seed=curve.seed,
            val_losses=curve.val_losses,
            num_iter=data["num_iter"],
            config=dict(_mapping("config", data.get("config", {}))),
            repeats=tuple(repeats),
            provenance=dict(_mapping("provenance", data.get("provenance", {}))),
        )

    @classmethod
    def from_exception(cls, exc: BaseException | None) -> RangeTestResult | None:
        """The curve measured before ``exc`` (a Ctrl-C, a SIGTERM, an error) cut a range test
        short: its ``partial_result``, else that of the exception it replaced (``__context__``,
        ``__cause__``: a second notebook interrupt while IPython shows the first, an error of
        one's own raised in an ``except``), else None. A typed accessor for
        ``exc.partial_result``, which typed code does not see on a built-in exception::

            except KeyboardInterrupt as exc:
                partial = RangeTestResult.from_exception(exc)
        """
        seen: set[int] = set()
        waiting = [exc]  # (both chains: an error raised from the cut one while handling
        while waiting:  # another has the cut one as its cause alone, a review)
            exc = waiting.pop(0)
            if exc is None or id(exc) in seen:  # (a cycle of contexts ends there)
                continue
            seen.add(id(exc))
            kept = getattr(exc, "partial_result", None)
            if isinstance(kept, cls):
                return kept
            waiting += [exc.__cause__, exc.__context__]
        return None

    def to_json(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_dict` to ``path`` atomically (temporary file, then rename).

        Under ``torch.distributed`` only rank 0 writes; other ranks return ``path`` untouched.
        """
        path = file_path(path)
        if not is_main_process():
            return path
        return write_text(path, self._json_text(path))

    def _json_text(self, path: Path) -> str:
        """The text :meth:`to_json` writes to ``path``, which its error names."""
        data = self.to_dict()
        try:
            text = json.dumps(data, indent=1, allow_nan=False)
        except (TypeError, ValueError) as exc:
            # (a review: "Object of type PosixPath is not JSON serializable", naming neither
            # the field nor the file)
            where = (_not_json(data["config"], "config")
                     or _not_json(data["provenance"], "provenance") or str(exc))
            raise ValueError(f"{path}: the result cannot be written as JSON: {where}; config "
                             "and provenance hold JSON values only (strings, finite numbers, "
                             "bools, None, lists and dicts of them)") from None
        return text + "\n"

    @classmethod
    def from_json(cls, path: str | os.PathLike[str] | IO[bytes]) -> RangeTestResult:
        """Read a result written by :meth:`to_json`, from a file or from a binary stream read
        to its end (``sys.stdin.buffer``); a corrupt file raises ``ValueError`` naming it (NaN
        and Infinity, which are not JSON, too). A byte-order mark at its start, as Windows'
        Notepad saves UTF-8, is read past, and one of UTF-16 or UTF-32 reads the file as that
        (PowerShell 5.1's ``>`` and Notepad's "Unicode" save UTF-16)."""
        if isinstance(path, str | os.PathLike):
            name = Path(path)
            raw = name.read_bytes()  # (once: a pipe, /dev/stdin, gives its bytes once, a review)
        else:  # a stream: named in errors as it names itself (sys.stdin.buffer: <stdin>)
            raw = path.read()
            if not isinstance(raw, bytes):
                raise TypeError(f"from_json reads bytes; {path!r} gave "
                                f"{type(raw).__name__} (pass a binary stream: "
                                "sys.stdin.buffer, open(..., 'rb'))")
            name = Path(str(getattr(path, "name", "the stream")))
        _refuse_a_plot(name, raw[:256])
        try:
            # (utf-8-sig: a hand-edited file saved with a BOM was "not a valid range-test
            # result: Unexpected UTF-8 BOM", a review)
            # (and UTF-16's, by its mark: a bug bash's file was "'utf-8' codec can't decode
            # byte 0xff")
            encoding = ("utf-32" if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE))
                        else "utf-16" if raw.startswith((codecs.BOM_UTF16_LE,
                                                         codecs.BOM_UTF16_BE))
                        else "utf-8-sig")
            data = json.loads(raw.decode(encoding), parse_constant=_reject_constant,
                              parse_float=_finite_float)
            return cls.from_dict(data)
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError,
                OverflowError, RecursionError) as exc:
            what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ValueError(f"{name} is not a valid range-test result: {what}") from exc

    def _repr_png_(self) -> bytes:
        """The plot as PNG bytes: a notebook (Jupyter, VS Code, Colab) shows a cell that ends
        in the result as its plot. Drawn on a Figure of its own, as :meth:`plot` draws."""
        from superconverge.finder.plot import png_bytes

        return png_bytes(self)

    @peer.peer_names(peer.PLOT)
    def plot(
        self,
        path_or_ax: str | os.PathLike[str] | Axes | None = None,
        *,
        method: str | None = None,
        show_bounds: bool = True,
        show_raw: bool = True,
        dpi: int = 120,
    ) -> Axes:
        """Plot the curve (see :func:`superconverge.finder.plot.plot_range_test`); returns the
        Axes. ``path_or_ax``: a file to save (PNG, SVG, PDF...), an Axes to draw on, or None."""
        from superconverge.finder.plot import plot_range_test

        return plot_range_test(self, path_or_ax, method=method, show_bounds=show_bounds,
                               show_raw=show_raw, dpi=dpi)
