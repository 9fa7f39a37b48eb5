"""What a range test measured: the curve, why it stopped, how it was run; suggestions and I/O.

``RangeTestResult`` holds plain tuples of floats (no torch), so it can be saved, loaded, compared
and plotted anywhere. Suggestions are computed on demand from the raw losses by the rules in
:mod:`superconverge.finder.suggest`; the saved JSON also carries them for readers without Python.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from superconverge.atomic import write_text
from superconverge.finder._dist import is_main_process
from superconverge.finder.suggest import (
    METHODS,
    Suggestion,
    curve_warnings,
    suggest,
    suggest_bounds,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

STOP_REASONS = ("completed", "diverged", "nan", "interrupted", "error")
"""Why a test ended: it ran all ``num_iter`` steps; the smoothed loss exceeded ``diverge_factor``
times its best; a loss was NaN/inf; Ctrl-C; an exception raised during the sweep (the last two
only in the partial result attached to the exception)."""

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


def _floats(name: str, values: Iterable[Any]) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a sequence of numbers: {exc}") from None


def _json_floats(values: Sequence[float] | None) -> list[float | None] | None:
    """JSON has no NaN/inf: write them as null."""
    if values is None:
        return None
    return [x if math.isfinite(x) else None for x in values]


def _from_json_floats(values: Sequence[float | None] | None) -> tuple[float, ...] | None:
    if values is None:
        return None
    return tuple(math.nan if x is None else float(x) for x in values)


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
        bad = {k: m for k, m in lengths.items() if m != n}
        if bad:
            raise ValueError(f"every series must have len(lrs)={n} points, got {bad}")
        if self.stop_reason not in STOP_REASONS:
            raise ValueError(
                f"stop_reason must be one of {', '.join(map(repr, STOP_REASONS))}; "
                f"got {self.stop_reason!r}"
            )

    def to_dict(self) -> dict[str, Any]:
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
        """Rebuild a curve written by :meth:`to_dict` (null losses are NaN)."""
        missing = [k for k in ("lrs", "losses", "smoothed", "stop_reason") if k not in data]
        if missing:
            raise ValueError(
                f"a range-test curve needs {', '.join(missing)}; got keys {sorted(data)}"
            )
        return cls(
            lrs=data["lrs"],
            losses=_from_json_floats(data["losses"]),  # type: ignore[arg-type]
            smoothed=_from_json_floats(data["smoothed"]),  # type: ignore[arg-type]
            stop_reason=data["stop_reason"],
            seed=data.get("seed"),
            val_losses=_from_json_floats(data.get("val_losses")),
        )


@dataclass(frozen=True)
class RangeTestResult(Curve):
    """A range test's curve (the mean over ``repeats`` when there were several), how it was run
    (``config``, ``provenance``: versions, device, seeds) and every repeat's own curve.

    ``num_iter`` is the number of steps asked for; ``len(lrs)`` is how many were recorded
    (``provenance["skipped_steps"]``: how many steps of each repeat a GradScaler skipped).
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
        ``lr=None`` and why there is none."""
        return suggest(self.lrs, self.losses, self.method if method is None else method)

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
        return suggest_bounds(self.lrs, self.losses)

    def warnings(self) -> list[str]:
        """Plain-language problems with the curve that make its suggestions unreliable."""
        out = curve_warnings(self.lrs, self.losses, self.stop_reason)
        if self._repeats_alike():
            out.append(
                f"the {len(self.repeats)} repeats gave the very same curve, so their spread "
                "measures nothing: the data came in the same order each time (a loader without "
                "shuffle, a list of batches); shuffle it with a generator or a seeded sampler"
            )
        return out

    def _repeats_alike(self) -> bool:
        """Two or more repeats, all with the same losses at the same LRs."""
        first = self.repeats[0] if len(self.repeats) > 1 else None
        return first is not None and all(
            c.lrs == first.lrs and c.losses == first.losses for c in self.repeats[1:])

    def spread(self, method: str | None = None) -> float | None:
        """How far apart the repeats' suggestions are, in decades: ``log10(max / min)``.

        Exactly ``0.0`` when every repeat picks the same step of the sweep (the repeats share
        the sweep's LRs, so picks are either equal or at least one step apart). ``None`` with
        fewer than two repeats that have a suggestion, and when every repeat gave the very same
        curve (unshuffled data: nothing was measured; :meth:`warnings` says so).
        """
        if self._repeats_alike():
            return None
        method = self.method if method is None else method
        picks = [suggest(c.lrs, c.losses, method).lr for c in self.repeats]
        found = [p for p in picks if p is not None and p > 0]
        if len(found) < 2:
            return None
        return math.log10(max(found) / min(found))

    # --- I/O ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly; also carries the suggestion of :attr:`method`, every rule's, the
        bounds and the warnings (derived, ignored by :meth:`from_dict`)."""
        out: dict[str, Any] = {"format": FORMAT, "version": FORMAT_VERSION}
        out.update(super().to_dict())
        out.update(
            num_iter=self.num_iter,
            config=dict(self.config),
            provenance=dict(self.provenance),
            repeats=[c.to_dict() for c in self.repeats],
            suggestion=self.suggest().to_dict(),
            suggestions={m: self.suggest(m).to_dict() for m in METHODS},
            bounds=[s.to_dict() for s in self.suggest_bounds()],
            warnings=self.warnings(),
        )
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RangeTestResult:
        """Rebuild a result written by :meth:`to_dict`."""
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise ValueError(f"not a range-test result (expected format {FORMAT!r})")
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"unsupported range-test result version {data.get('version')!r} "
                f"(this superconverge reads version {FORMAT_VERSION})"
            )
        if "num_iter" not in data:
            raise ValueError("a range-test result needs num_iter")
        curve = Curve.from_dict(data)
        return cls(
            lrs=curve.lrs,
            losses=curve.losses,
            smoothed=curve.smoothed,
            stop_reason=curve.stop_reason,
            seed=curve.seed,
            val_losses=curve.val_losses,
            num_iter=int(data["num_iter"]),
            config=dict(data.get("config", {})),
            repeats=tuple(Curve.from_dict(c) for c in data.get("repeats", [])),
            provenance=dict(data.get("provenance", {})),
        )

    def to_json(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_dict` to ``path`` atomically (temporary file, then rename).

        Under ``torch.distributed`` only rank 0 writes; other ranks return ``path`` untouched.
        """
        path = Path(path)
        if not is_main_process():
            return path
        return write_text(path, json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n")

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> RangeTestResult:
        """Read a result written by :meth:`to_json`; a corrupt file raises ``ValueError``
        naming it."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls.from_dict(data)
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
            what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ValueError(f"{path} is not a valid range-test result: {what}") from exc

    def plot(self, path_or_ax: Any = None, **kwargs: Any) -> Axes:
        """Plot the curve (see :func:`superconverge.finder.plot.plot_range_test`); returns the
        Axes. ``path_or_ax``: a file to save (PNG, SVG, PDF...), an Axes to draw on, or None."""
        from superconverge.finder.plot import plot_range_test

        return plot_range_test(self, path_or_ax, **kwargs)
