"""Loss against LR (log x axis): raw and smoothed loss, the suggestion, the bounds, the spread.

Never touches pyplot's global state: a path gets its own ``matplotlib.figure.Figure`` (Agg),
saved atomically; an Axes is drawn on as given. Always returns the Axes.
"""

from __future__ import annotations

import io
import math
import os
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import numpy as np

from superconverge._batches import process_share, processes
from superconverge.atomic import drawing, file_path, new_figure, save_figure
from superconverge.finder._dist import is_main_process
from superconverge.finder.suggest import _CUT, finite_prefix, smooth_sweep
from superconverge.schedules._validate import boolean, choice, integer

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from superconverge.finder.result import Curve, RangeTestResult


# How the notes under the plot word the arguments: the command line, around the find_lr call
# that draws lr_find.png, gives its flags' names (--num-iter for num_iter), as it prints them.
_NOTE_WORDS: ContextVar[Callable[[str], str] | None] = ContextVar("_NOTE_WORDS", default=None)


@contextmanager
def notes_worded(words: Callable[[str], str]) -> Iterator[None]:
    """Within it, the notes a plot writes under its axis (no-pick reason, warnings) pass
    through ``words`` first: the command line's flags in place of the library's names."""
    token = _NOTE_WORDS.set(words)
    try:
        yield
    finally:
        _NOTE_WORDS.reset(token)


@drawing
def png_bytes(result: RangeTestResult, method: str | None = None) -> bytes:
    """``result``'s plot as the PNG bytes :func:`plot_range_test` would save to a path: for a
    notebook's display, and for files written only once it is drawn."""
    buf = io.BytesIO()
    figure: Figure = plot_range_test(result, method=method).figure  # type: ignore[assignment]
    figure.savefig(buf, format="png", dpi="figure")  # (not a matplotlibrc's savefig.dpi)
    return buf.getvalue()


MIN_DPI = 10
"""The lowest ``dpi`` :func:`plot_range_test` draws at: below 6, the labels' text could not be
drawn."""


@drawing
def plot_range_test(
    result: RangeTestResult,
    path_or_ax: str | os.PathLike[str] | Axes | None = None,
    *,
    method: str | None = None,
    show_bounds: bool = True,
    show_raw: bool = True,
    dpi: int = 120,
) -> Axes:
    """Draw ``result`` and return the Axes.

    ``path_or_ax``: ``None`` (a new Figure, not saved; ``ax.figure`` holds it), a file path
    (saved atomically, format from the suffix; under ``torch.distributed`` only rank 0 saves),
    or a matplotlib Axes to draw on. ``method``: the suggestion rule marked with a dot
    (default: the result's own, :attr:`RangeTestResult.method`).
    ``show_bounds``: shade ``(base_lr, max_lr)``. ``show_raw``: the unsmoothed loss, faint.
    ``dpi``: the saved image's dots per inch, >= :data:`MIN_DPI`.
    With several repeats, a band spans the lowest to highest smoothed loss among them.
    The x axis spans every swept LR, also where the loss is NaN. Red text under the axis says
    why there is no pick (once: the warning that repeats it is left out) and every warning.
    """
    from superconverge.finder.result import RangeTestResult

    if not isinstance(result, RangeTestResult):
        raise TypeError(f"result must be a RangeTestResult (RangeTestResult.from_json(path) reads "
                        f"a saved one), got {type(result).__name__}")
    show_bounds = boolean("show_bounds", show_bounds)
    show_raw = boolean("show_raw", show_raw)
    # (under 6, FreeType refused the labels' size: "invalid ppem value")
    dpi = integer("dpi", dpi, minimum=MIN_DPI)
    chosen = result.method if method is None else method
    return _on_axes(path_or_ax, dpi, lambda ax, outside: _draw(
        ax, result, chosen, show_bounds, show_raw, legend_outside=outside))


def _on_axes(path_or_ax: str | os.PathLike[str] | Axes | None, dpi: int,
             draw: Callable[[Axes, bool], None], fit_legend: bool = False) -> Axes:
    """``draw(ax, legend_outside)`` on the caller's Axes (the legend inside them), or on a new
    Figure's (the legend beside the axes), saved to a path where one is given; the Axes.
    ``fit_legend``: a new Figure grows taller where its legend would run off its foot."""
    from matplotlib.axes import Axes

    if isinstance(path_or_ax, Axes):
        draw(path_or_ax, False)
        return path_or_ax
    if path_or_ax is not None and not isinstance(path_or_ax, str | os.PathLike):
        raise TypeError(
            f"path_or_ax must be a file path, a matplotlib Axes or None, got {path_or_ax!r}"
        )
    if path_or_ax is not None:
        file_path(path_or_ax)  # (a folder's path is refused before the drawing)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    # Wide enough for the legend beside the axes, where it covers no part of the curve (inside,
    # "best" could still put it over the sweep's start, which a warning may be about).
    fig = new_figure((9.5, 4.5), dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    draw(ax, True)
    legend = ax.get_legend() if fit_legend else None
    if legend is None:
        fig.tight_layout()
    else:
        # The legend's width kept beside the axes, its height none of the layout's business:
        # the figure grows taller where it would run off its foot, and the axes with it
        # (reviews: 14 entries of three settings ran off; counted in the layout, a legend
        # hanging below the axes took their height as margin, 0.6 inches of plot left)
        renderer = fig.canvas.get_renderer()
        legend.set_in_layout(False)
        room = (legend.get_window_extent(renderer).width / fig.dpi + 0.2) / fig.get_figwidth()
        fig.tight_layout(rect=(0, 0, 1 - room, 1))
        foot = legend.get_window_extent(renderer).y0 / fig.dpi
        if foot < 0.1:
            fig.set_figheight(fig.get_figheight() + 0.1 - foot)
            fig.tight_layout(rect=(0, 0, 1 - room, 1))
        # back in the layout for whoever lays it out again: a notebook's display and
        # savefig.bbox "tight" crop to what the layout holds (a review: the legend was cut
        # off), and a tight_layout() of the caller's keeps it in the figure
        legend.set_in_layout(True)
    if path_or_ax is not None and is_main_process():
        save_figure(fig, path_or_ax)
    return ax


# The config keys that label overlaid curves where they differ, first: what a search varies.
_LABEL_KEYS = ("weight_decay", "batch_size", "processes", "optimizer", "momentum", "model",
               "amp")
# ... and never: what differs between any two runs, or says nothing of the sweep.
_NOT_LABELS = {"data", "step_fn", "device"}
# ... nor where what it follows from differs too, and says it (where it does follow)
_DERIVED = {"heavy_ball_momentum": {"optimizer", "momentum"}, "fused": {"optimizer", "device"},
            "amp_dtype": {"amp"}, "grad_scaler": {"amp"}, "data_name": {"dataset", "data"},
            "num_train": {"dataset", "data", "data_options"}}


def _as_ran(result: RangeTestResult) -> dict[str, Any]:
    """A result's config as its steps ran, for its label: the batch a step took where the one
    asked is more than the examples (:func:`_batch_ran`), and ``processes``, its provenance's
    ``world_size`` (a bug bash: two runs at batch 500 and 300 of 300 examples, the same curve,
    were labelled as a batch size search; runs on 1 and on 2 processes alike), and find_lr's
    ``val_batches`` 0 as the None of no validation that older versions and lr_range_test
    record."""
    config = dict(result.config or {})
    if "dataset" in config and config.get("val_batches") == 0:
        # find_lr's 0 is no validation, lr_range_test's None (its 0 is all of val_data), as
        # older find_lr versions recorded it (a bug bash: an old and a new run were labelled
        # apart by it alone; a review: and a new find_lr's beside an lr_range_test's)
        config["val_batches"] = None
    world = (result.provenance or {}).get("world_size")
    if type(world) is int and world > 0:
        config["processes"] = world
    if "batch_size" in config:
        config["batch_size"] = _batch_ran(config, processes(result.provenance))
    return config


def _labels_from_configs(results: Sequence[RangeTestResult]) -> list[str]:
    """What tells ``results`` apart: the config values (numbers, words, None) that every one
    records and that differ, as ``key=value``, a search's keys first; each, but one whose
    values follow from another's that differs (``heavy_ball_momentum`` from ``optimizer``,
    :data:`_DERIVED`). (A bug bash: three keys at most gave two runs of other seeds one label;
    a review: keys taken only until the labels differed hid the other settings that did.)
    ``result 1``, ``result 2``, ... where none differ, and after the label of results no config
    tells apart."""
    configs = [_as_ran(r) for r in results]
    plain = (str, int, float, bool, type(None))
    def same(value: object) -> str:  # (find_lr's "sgd" is lr_range_test's "SGD", a review)
        return value.lower() if isinstance(value, str) else repr(value)

    keys = [k for k in (*_LABEL_KEYS, *sorted({k for c in configs for k in c}))
            if k not in _NOT_LABELS
            and all(k in c and isinstance(c[k], plain) for c in configs)
            and len({same(c[k]) for c in configs}) > 1]
    differ = set(keys)

    def follows(k: str) -> bool:  # (from sources that differ, and wholly: lr_range_test's
        # configs name no momentum, so SGD at 0.9 and at 0 keep their heavy_ball_momentum,
        # a review)
        sources = [s for s in _DERIVED.get(k, ()) if all(s in c for c in configs)]
        if not differ & set(sources):
            return False
        told = {tuple(same(c[s]) for s in sources) for c in configs}
        return len(told) == len({(*tuple(same(c[s]) for s in sources), same(c[k]))
                                 for c in configs})

    chosen = [k for k in dict.fromkeys(keys) if not follows(k)]
    if not chosen:
        return [f"result {i + 1}" for i in range(len(results))]
    # (6 digits: .3g labelled 1e-4 and 1.00001e-4 alike, a review; a "$" in a name is text,
    # not matplotlib's mathtext, a final read)
    labels = [", ".join(f"{k}={c[k]:g}" if isinstance(c[k], float)
                        else f"{k}={c[k]}".replace("$", r"\$") for k in chosen) for c in configs]
    alike = {x for x in labels if labels.count(x) > 1}
    return [f"{x}, result {i + 1}" if x in alike else x for i, x in enumerate(labels)]


@drawing
def plot_range_tests(
    results: Sequence[RangeTestResult] | Mapping[str, RangeTestResult],
    path_or_ax: str | os.PathLike[str] | Axes | None = None,
    *,
    method: str | None = None,
    loss: str = "train",
    dpi: int = 120,
) -> Axes:
    """Overlay several range tests' curves on one axis, each in a colour of its own (past the
    style's colours, in another line style) with its pick marked, and return the Axes: the
    picture of Smith's weight decay search (tests at several weight decays, compared), or of
    any tests that differ in one setting.

    ``results``: a sequence of :class:`RangeTestResult` (labelled by the config values that
    differ between them, such as ``weight_decay=0.0001``; ``result 1``, ... where none do) or
    a mapping of labels to them. Each is drawn as the zero-lag smoothed loss the suggestion
    rules read, its pick (rule ``method``; default: each result's own) a dot, hollow where the
    result's warnings call it uncertain; the legend gives each label with its pick.
    ``loss="val"`` draws each result's validation loss instead (of tests run with
    ``val_data``; the picks, of the training loss, marked on it): the curves to compare across
    weight decays, whose good shows on held-out data only.
    ``path_or_ax`` and ``dpi``: as :func:`plot_range_test`'s."""
    from superconverge.finder.result import RangeTestResult

    if isinstance(results, Mapping):
        labels = list(results)
        if not all(isinstance(k, str) for k in labels):
            raise TypeError(f"results: a mapping's keys are the labels, strings; got "
                            f"{next(k for k in labels if not isinstance(k, str))!r}")
        tests = list(results.values())
    elif isinstance(results, Sequence) and not isinstance(results, str | bytes):
        tests, labels = list(results), []
    else:
        raise TypeError(f"results must be a sequence of RangeTestResult or a mapping of labels "
                        f"to them, got {type(results).__name__}")
    if not tests:
        raise ValueError("results holds no RangeTestResult: nothing to draw")
    for i, r in enumerate(tests):
        if not isinstance(r, RangeTestResult):
            raise TypeError(f"results[{labels[i] if labels else i}] must be a RangeTestResult "
                            f"(RangeTestResult.from_json(path) reads a saved one), got "
                            f"{type(r).__name__}")
    loss = choice("loss", loss, ("train", "val"))
    if loss == "val":
        lacking = next((i for i, r in enumerate(tests) if r.val_losses is None), None)
        if lacking is not None:
            raise ValueError(f"loss='val': results[{labels[lacking] if labels else lacking}] "
                             "holds no validation loss; run its test with val_data=... (and "
                             "val_batches=k), or draw the training loss (loss='train')")
    labels = labels or _labels_from_configs(tests)
    hidden = next((x for x in labels if x.startswith("_")), None)
    if hidden is not None:  # (a review: matplotlib's legend leaves such labels out, unsaid)
        raise ValueError(f"the label {hidden!r} begins with '_', which matplotlib's legend "
                         "leaves out; name it otherwise")
    dpi = integer("dpi", dpi, minimum=MIN_DPI)
    if method is not None:
        tests[0].suggest(method)  # (an unknown rule refused before any drawing)
    return _on_axes(path_or_ax, dpi, lambda ax, outside: _draw_several(
        ax, tests, labels, method, legend_outside=outside, val=loss == "val"), fit_legend=True)


def _draw_several(ax: Axes, results: Sequence[RangeTestResult], labels: Sequence[str],
                  method: str | None, legend_outside: bool, val: bool = False) -> None:
    limits = []
    linear = all((r.config or {}).get("mode") == "linear" for r in results)
    positive = True
    # The style's colours, then again in other line styles (a review: C0..C9 came round
    # again at the 11th result, and at the 8th under ggplot's 7 colours)
    from matplotlib import rcParams

    colors = rcParams["axes.prop_cycle"].by_key().get("color") or [f"C{i}" for i in range(10)]
    styles = ("-", "--", ":", "-.")
    # (long labels took the axes' width, reviews; the figure grows taller for the lines)
    width = _wrap_width(ax, "small", 48)
    for i, (result, label) in enumerate(zip(results, labels, strict=True)):
        color = colors[i % len(colors)]
        style = styles[i // len(colors) % len(styles)]
        lrs = np.asarray(result.lrs, dtype=float)
        if len(lrs) == 0:
            ax.plot([], [], color=color, linestyle=style, linewidth=2,
                    label=_fill(f"{label}: no points recorded", width))
            continue
        positive = positive and float(lrs.min()) > 0
        # the x axis spans every swept LR, also where no loss is finite (a review: all-NaN
        # sweeps were drawn on matplotlib's default 1-10)
        ax.update_datalim([(float(lrs.min()), 0.0), (float(lrs.max()), 0.0)], updatey=False)
        # (the validation loss as res.plot() draws it, up to its first non-finite value)
        smoothed = (smoothed_as_seen(result) if not val else
                    _finite_head(np.asarray(result.val_losses, dtype=float)))
        ax.plot(lrs, smoothed, color=color, linestyle=style, linewidth=2,
                marker="o" if len(lrs) == 1 else None)
        rule = result.method if method is None else method
        pick = result.suggest(rule)
        warned = bool(result.warnings(rule))
        finite = int(np.isfinite(smoothed).sum())
        which = "validation loss" if val else "loss"
        lowest = f", lowest {which} {float(np.min(smoothed[:finite])):.4g}" if finite else ""
        said = (f"{label}: none{lowest}" if pick.lr is None else
                f"{label}: {pick.lr:.{_lr_digits(lrs)}g}{' (uncertain)' if warned else ''}"
                f"{lowest}")
        if pick.lr is not None and finite:
            y = float(np.interp(np.log(pick.lr), np.log(lrs[:finite]), smoothed[:finite]))
            ax.plot([pick.lr], [y], "o", color=color, markersize=8, zorder=5,
                    markerfacecolor="white" if warned else color, markeredgewidth=2)
        ax.plot([], [], color=color, linestyle=style, linewidth=2, marker="o", markersize=6,
                markerfacecolor="white" if warned or pick.lr is None else color,
                label=_fill(said, width))
        found = _frame_limits(smoothed)
        if found is not None:
            limits.append(found)
    ax.set_xscale("log" if positive and not linear else "linear")
    ax.autoscale_view(scaley=False)
    if limits:
        _set_ylim(ax, min(lo for lo, _ in limits), max(hi for _, hi in limits))
    ax.set_xlabel("learning rate")
    # (as the rules read it; longer was cut on a grid's axes)
    ax.set_ylabel("validation loss" if val else "smoothed loss")
    rules = {r.method if method is None else method for r in results}
    rule = f"rule {rules.pop()!r}" if len(rules) == 1 else "each result's own rule"
    curves = (f"{len(results)} curve{'s' if len(results) != 1 else ''}"
              + (" of the validation loss" if val else ""))
    ax.set_title(_fill(f"LR range tests: {curves}, picks by {rule}",
                       _wrap_width(ax, "medium", 100)), fontsize="medium")
    ax.grid(True, which="major", alpha=0.3)
    # (handles long enough to show a dashed style: a review saw result 11's as result 1's;
    # smaller past 10 entries, which fill the figure's height)
    _legend(ax, legend_outside, crowded=len(results) > 10, title="suggested lr",
            handlelength=4)


def _finite_head(values: np.ndarray) -> np.ndarray:
    """``values`` up to the first non-finite one, NaN from there (as the smoothed loss is)."""
    bad = ~np.isfinite(values)
    out = values.copy()
    if bad.any():
        out[int(np.argmax(bad)):] = np.nan
    return out


def _legend(ax: Axes, outside: bool, crowded: bool = False, **options: Any) -> None:
    """The legend: beside the axes where the figure is ours (over nothing), else inside the
    caller's axes, smaller on a small one (a grid's); smaller where ``crowded`` either way.
    ``options`` go to ``ax.legend``."""
    if outside:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                  fontsize="x-small" if crowded else "small", framealpha=0.6, **options)
    else:
        small = _inches_wide(ax) < 4 or crowded
        ax.legend(loc="best", fontsize="x-small" if small else "small", framealpha=0.6,
                  **options)


def spread_band(curves: tuple[Curve, ...], points: int = 200,
                drawn: tuple[np.ndarray, np.ndarray] | None = None,
                ) -> tuple[np.ndarray, ...] | None:
    """``(lrs, low, high)``: the lowest and highest smoothed loss (zero-lag, as the suggestion
    rules see it) among ``curves``, on a common log-spaced LR grid over the range they all
    cover; ``None`` with fewer than two curves.

    ``drawn``: the LRs and smoothed loss of their mean as the plot draws it. The band is then
    read at its LRs, each curve smoothed over those LRs alone, and holds the drawn curve: the
    smoothing of a mean is no mean of the smoothings (a running median, a width that is a
    share of each curve's points), and a mean of 39 points drawn beside repeats smoothed over
    100 lay outside their band at 17 of them (a bug bash)."""
    # Each curve as the rules see it: smoothed up to its first non-finite loss.
    seen = [finite_prefix(c.lrs, c.losses) for c in curves]
    finite = np.isfinite(drawn[1]) if drawn is not None else np.zeros(0, dtype=bool)
    if drawn is not None and finite.any():
        end = float(drawn[0][finite][-1]) * (1 + 1e-12)
        seen = [(x[kept], y[kept]) for x, y in seen for kept in [x <= end]]
    usable = [(x, smooth_sweep(x, y)) for x, y in seen if len(x) >= 2]
    if len(usable) < 2:
        return None
    lo = max(float(x[0]) for x, _ in usable)
    hi = min(float(x[-1]) for x, _ in usable)
    if not 0 < lo < hi:
        return None
    grid = np.geomspace(lo, hi, points)
    if drawn is not None:
        at = finite & (drawn[0] >= lo) & (drawn[0] <= hi)
        if at.sum() >= 2:
            grid = np.asarray(drawn[0], dtype=float)[at]
    ys = [np.interp(np.log(grid), np.log(x), y) for x, y in usable]
    if drawn is not None:
        ys.append(np.interp(np.log(grid), np.log(drawn[0][finite]), drawn[1][finite]))
    both = np.array(ys)
    return grid, both.min(axis=0), both.max(axis=0)


def smoothed_as_seen(result: RangeTestResult) -> np.ndarray:
    """The zero-lag smoothing the suggestion rules read: of the curve up to its first
    non-finite loss (NaN after it), so that a NaN does not smear into the points before."""
    x, y = finite_prefix(result.lrs, result.losses)
    out = np.full(len(result.lrs), np.nan)
    out[:len(y)] = smooth_sweep(x, y)
    return out


def _setting(config: Mapping[str, Any] | None,
             provenance: Mapping[str, Any] | None = None, width: int | None = None) -> str:
    """What a result's config says its steps ran with, as its plot's title and find-lr's report
    name it: ``"SGD, weight decay 0.0005, batch 64"``, of the pieces the config holds ("" where
    none: autocast's dtype, a GradScaler and ``max_grad_norm`` too), and the processes of
    ``provenance``'s ``world_size``: ``"... batch 64 on each of 2 processes"``. A batch past
    the examples (``num_train``, find_lr's) is said as it ran: ``"batch all 300 (500
    asked)"``. (Bug bashes: range tests at several weight decays drew
    alike-titled plots and printed alike reports; a run on 2 processes was titled as one on 1,
    whose steps are half as large; one at batch 500 of 300 examples as if its batches were
    of 500.) ``width``: the line at most this long, its autocast, clipping and processes left
    out from the last as needed, then "" (a final read: on a grid's small axes, where the
    line is one line or none, the longer line was dropped whole)."""
    config = config or {}
    world = processes(provenance)
    words = []
    name = config.get("optimizer")
    if isinstance(name, str) and name.strip():
        words.append(name.strip())
    decay = config.get("weight_decay")
    if isinstance(decay, (int, float)) and not isinstance(decay, bool):
        words.append(f"weight decay {decay:g}")
    size, k = config.get("batch_size"), config.get("accumulation_steps")
    k = k if type(k) is int and k > 1 else 1
    if type(size) is int and size > 0:
        ran = _batch_ran(config, world)
        words.append(f"batch {size if ran == size else f'all {ran} ({size} asked)'}"
                     + (f" x {k} accumulated" if k > 1 else ""))
    elif k > 1:
        words.append(f"{k} batches accumulated a step")
    # (a bug bash: runs under autocast or clipping were titled as plain ones; overlays label
    # them)
    extra = []
    amp = config.get("amp_dtype")
    if amp in ("bfloat16", "float16"):
        extra.append(f"{amp} autocast" + (" with a GradScaler" if config.get("grad_scaler") is True
                                          else ""))
    clip = config.get("max_grad_norm")
    if isinstance(clip, (int, float)) and not isinstance(clip, bool):
        extra.append(f"gradient norm clipped at {clip:g}")
    each = f"on each of {world} processes" if world > 1 else ""

    def said(pieces: list[str], each: str) -> str:
        return " ".join(x for x in (", ".join(pieces), each) if x)

    if width is None:
        return said(words + extra, each)
    shorter = [said(words + extra[:k], each) for k in range(len(extra), -1, -1)]
    return next((x for x in [*shorter, said(words, "")] if len(x) <= width), "")


def _batch_ran(config: Mapping[str, Any], world: int) -> Any:
    """``config["batch_size"]``, or the examples of a process's share where it is more than
    them (``num_train``, find_lr's): a batch of all of them."""
    size, share = config.get("batch_size"), process_share(config.get("num_train"), world)
    if type(size) is int and share is not None and 0 < share < size:
        return share
    return size


def _stopped(result: RangeTestResult) -> str:
    """The stop reason as the title says it."""
    return "stopped by an error" if result.stop_reason == "error" else result.stop_reason


def _inches_wide(ax: Axes) -> float:
    """The width of ``ax`` in inches (in a figure or a subfigure)."""
    return float(ax.bbox.width) / float(ax.figure.dpi)


class _Wrapper(textwrap.TextWrapper):
    """Breaks lines between words only, so a note's flag (``--end-lr``) or a hyphenated word
    stays on one line (a review: "--end-" / "lr=0.01"); a word longer than a line starts a line
    of its own and is cut at its last hyphen that fits, not anywhere in it (a review of the
    first version: "--m" / "ax-grad-norm-cli")."""

    def __init__(self, width: int) -> None:
        super().__init__(width, break_on_hyphens=False)

    def _handle_long_word(self, reversed_chunks: list[str], cur_line: list[str], cur_len: int,
                          width: int) -> None:
        if cur_line:  # (nothing taken: the line ends, and the word comes back on the next)
            return
        self.break_on_hyphens = True  # (read there only to cut a word too long for a line)
        try:
            super()._handle_long_word(reversed_chunks, cur_line, cur_len, width)
        finally:
            self.break_on_hyphens = False


def _fill(text: str, width: int) -> str:
    """``text`` wrapped at ``width`` characters (see :class:`_Wrapper`)."""
    return _Wrapper(width).fill(text)


def _wrap_width(ax: Axes, size: str, most: int) -> int:
    """Characters a line of text of font ``size`` holds across ``ax`` (about 0.55 em a
    character), at least 16 and at most ``most``: a title or a note wrapped to a fixed width ran
    into its neighbours on a grid of small axes and off the figure's edge."""
    from matplotlib.font_manager import FontProperties

    points = FontProperties(size=size).get_size_in_points()
    width = _inches_wide(ax)
    return max(16, min(most, int(width * 72 / (0.55 * points))))


def _lr_digits(lrs: np.ndarray, least: int = 2) -> int:
    """Significant digits that tell the swept LRs apart in labels: 2 over a decade or more,
    one more for each tenfold narrower span (a sweep over 1.000e-7..1.007e-7, cut short,
    read "bounds 1e-07 - 1e-07" at 2)."""
    finite = lrs[np.isfinite(lrs) & (lrs > 0)]
    if finite.size < 2 or finite.max() <= finite.min():
        return least
    span = math.log10(float(finite.max()) / float(finite.min()))  # decades
    return int(min(6, max(least, 2 + math.ceil(-math.log10(span)) if span < 1 else least)))


def _draw(
    ax: Axes, result: RangeTestResult, method: str, show_bounds: bool, show_raw: bool,
    legend_outside: bool,
) -> None:
    lrs = np.asarray(result.lrs)
    if len(lrs) == 0:
        ax.text(0.5, 0.5, "no points recorded", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(f"LR range test: {_stopped(result)} before the first point")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        return
    # The suggestion rules read a zero-lag smoothing of the raw loss; the EMA the stop rule uses
    # lags ~beta/(1-beta) steps, so the picks are drawn on the curve the rules saw.
    smoothed = smoothed_as_seen(result)
    g = _lr_digits(lrs)  # significant digits of the LRs in labels
    finite = int(np.isfinite(smoothed).sum())  # the points the rules read
    # Steps a GradScaler skipped are no points: the raw loss shows them as gaps.
    gx, graw = _with_gaps(result, lrs, np.asarray(result.losses, dtype=float))
    # With repeats the curve is their pointwise mean (of those that finished), and says so.
    mean_of = len(result.finished_repeats())
    if mean_of and result.stop_reason in _CUT and not result._finished_before_cut():
        # (an older version's file: the mean of every repeat, cut where the last stopped, a
        # review)
        mean_of = len(result.repeats)
    if show_raw:
        ax.plot(gx, graw, color="C0", alpha=0.25, linewidth=1,
                label=f"loss (mean of {mean_of} repeats)" if mean_of > 1 else "loss")
        # A point between two skipped steps is a line of one point, which draws nothing.
        alone = _isolated(graw)
        if alone.any():
            ax.plot(gx[alone], graw[alone], ".", color="C0", alpha=0.4, markersize=4)
    # (one point is a line that draws nothing: a dot of its own)
    ax.plot(lrs, smoothed, color="C0", linewidth=2, label="smoothed loss",
            marker="o" if len(lrs) == 1 else None)
    ax.plot(
        lrs, result.smoothed, color="C7", linewidth=1, linestyle=":", label="EMA (stop rule)"
    )
    # A sweep an error or Ctrl-C cut short is no repeat of the others (nor in spread()).
    finished = result.finished_repeats()
    # (no band named "spread" where the result says the spread measures nothing, a review)
    band = (spread_band(finished, drawn=(lrs, smoothed)) if result._void_spread() is None
            else None)
    also = []  # other curves the y range keeps in view (their low points)
    if band is not None:
        grid, low, high = band
        left_out = len(result.repeats) - len(finished)
        ax.fill_between(
            grid, low, high, color="C0", alpha=0.15, linewidth=0,
            label=f"spread of {len(finished)} repeats"
            + (f" ({left_out} cut short left out)" if left_out else ""),
        )
        also.append(low)
    if result.val_losses is not None:
        ax.plot(lrs, result.val_losses, color="C2", linestyle="--", label="validation loss")
        also.append(np.asarray(result.val_losses, dtype=float))

    # A pick the warnings call uncertain is drawn so: a hollow dot, a hatched span. The bounds
    # lie in the sweep: a pick below it (minimum's) is no doubt of theirs (a review).
    of_curve = result.warnings(method, pick=False)
    below = result._pick_warning(method)
    warned = of_curve if below is None else [*of_curve, below]
    unsure = ", uncertain" if of_curve else ""
    if show_bounds:
        base, top = result.bounds()
        if base is not None and top is not None and top > base:
            ax.axvspan(base, top, facecolor="C1" if not of_curve else "none",
                       alpha=0.35 if of_curve else 0.12,
                       edgecolor="C1", hatch="//" if of_curve else None, linewidth=0,
                       label=f"bounds {base:.{g}g} – {top:.{g}g}{unsure}")
    pick = result.suggest(method)
    if pick.lr is not None:
        y = float(np.interp(np.log(pick.lr), np.log(lrs[:finite]), smoothed[:finite]))
        ax.plot(
            [pick.lr], [y], "o", color="C3", markersize=8, zorder=5,
            markerfacecolor="white" if warned else "C3", markeredgewidth=2,
            label=f"suggested lr {pick.lr:.{g}g} ({method}{', uncertain' if warned else ''})",
        )
        ax.annotate(
            f"{pick.lr:.{g}g}", (pick.lr, y), xytext=(6, 8), textcoords="offset points",
            color="C3",
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.7,
                  "linewidth": 0},
        )
    # What a reader must not miss: why there is no pick, and what makes a pick uncertain.
    # Without a pick, the warning that says why says it once, in the curve's own words, which
    # the reason's generic advice would replace (a bug bash: the plot dropped the warning's
    # "raise num_iter" for the reason's "lower start_lr"; another, "too few points"' word of
    # the steps a GradScaler skipped).
    said = [] if pick.lr is not None else [
        w for w in warned if "never decreased" in w or "too few points" in w]
    why = next((w for w in said if "never decreased" in w), next(iter(said), pick.reason))
    notes = [] if pick.lr is not None else [f"no suggestion: {why}"]
    notes += [f"warning: {w}" for w in warned if w not in said]
    words = _NOTE_WORDS.get()
    if words is not None:
        notes = [words(n) for n in notes]
    if notes:  # below the x axis, where no curve or legend can cover them
        ax.annotate("\n".join(_fill(n, _wrap_width(ax, "x-small", 110)) for n in notes),
                    xy=(0, 0),
                    xycoords="axes fraction", xytext=(0, -34), textcoords="offset points",
                    va="top", ha="left", fontsize="x-small", color="C3", annotation_clip=False)

    # A linear sweep on a log axis would spend most of the width on its first step.
    linear = (result.config or {}).get("mode") == "linear"
    ax.set_xscale("log" if lrs.min() > 0 and not linear else "linear")
    # The x axis spans every swept LR, also where no loss is finite to draw (an all-NaN curve
    # would otherwise get matplotlib's default 1-10).
    ax.update_datalim([(float(lrs.min()), 0.0), (float(lrs.max()), 0.0)], updatey=False)
    ax.autoscale_view(scaley=False)
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    raw = np.asarray(result.losses, dtype=float)
    _frame(ax, smoothed, also, raw if show_raw else None,
           drawn=[np.asarray(result.smoothed, dtype=float), *(
               [] if result.val_losses is None else [np.asarray(result.val_losses, dtype=float)])])
    if show_raw:
        _mark_off_scale(ax, lrs, raw)
    if result.curve_stop_reason == "nan":
        _mark_nan(ax, result, lrs)
    # How it stopped in stop_summary()'s words, which the command line and the log print too
    # (steps GradScaler skipped are counted as steps run, and named: they are no points).
    summary = result.stop_summary()
    if result.stop_reason == "error":
        summary = "stopped by an error" + summary[len("error"):]
    title = (
        f"LR range test: {summary}, last lr {lrs[-1]:.{max(g, 3)}g}"
        # a result built or edited by hand may keep points past a non-finite loss
        + (f", loss not finite from lr {lrs[finite]:.{max(g, 3)}g}" if finite < len(lrs)
           else ""))
    width = _wrap_width(ax, "medium", 100)
    # (a line of its own: how it stopped reads first; on a caller's axes only where it fits on
    # one: on a small grid's it wrapped to two more lines, which collapsed a constrained
    # layout, a review, and left out there the grid's plots were titled alike, another)
    ran = _setting(result.config, result.provenance, None if legend_outside else width)
    ax.set_title(_fill(title, width) + (f"\n{_fill(ran, width)}" if ran else ""),
                 fontsize="medium")
    ax.grid(True, which="major", alpha=0.3)
    _legend(ax, legend_outside)
    left, right = ax.get_xlim()
    if ax.get_xscale() == "log" and 0 < lrs.min() < lrs.max() < 10 ** 0.5 * lrs.min():
        # Under half a decade swept, a log axis has one labelled tick, or none (a sweep that
        # diverged after its first steps): a linear one, which looks the same there, labels
        # several.
        ax.set_xscale("linear")
        ax.set_xlim(left, right)
        # at most 7 ticks: the labels of a narrow sweep are long, 0.010025, and 9 of them ran
        # together (a user's bug bash: 0.01 to 0.0102)
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    elif ax.get_xscale() == "log" and 0 < left < right < left * 10 ** 1.5:
        # Under ~1.5 decades drawn, a log axis labels minor ticks 2x10^0, 3x10^0, ...: plain
        # numbers read better, on the 2s and 5s only so that they do not run together.
        from matplotlib.ticker import FuncFormatter

        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(FuncFormatter(_two_and_five))


def _sweep(result: RangeTestResult) -> tuple[float, float, int, bool] | None:
    """``(start_lr, end_lr, num_iter, linear)`` of the sweep, from the result's config; None
    where the config does not say (a result built by hand) or says something unusable."""
    from superconverge.finder.range_test import MODES

    cfg = result.config or {}
    try:
        start, end, n = float(cfg["start_lr"]), float(cfg["end_lr"]), int(cfg["num_iter"])
        linear = cfg.get("mode") == "linear"
        if n < 2 or not 0 < start < end:
            return None
        MODES["linear" if linear else "exp"](start, end, n)  # a sweep the range test could run
    except (KeyError, TypeError, ValueError, OverflowError):  # (a hand-edited 1e999: inf)
        return None
    return start, end, n, linear


def _with_gaps(
    result: RangeTestResult, lrs: np.ndarray, ys: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``lrs`` and ``ys`` with a NaN (a break in the line) wherever the sweep's grid has a step
    missing: one GradScaler skipped. The grid comes from the config (start_lr, end_lr,
    num_iter, mode); without it the curve is drawn as it is."""
    sweep = _sweep(result)
    if sweep is None or len(lrs) < 2:
        return lrs, ys
    start, end, n, linear = sweep
    if linear:
        steps = np.diff(lrs) / ((end - start) / (n - 1))
    else:
        steps = np.diff(np.log(lrs)) / (math.log(end / start) / (n - 1))
    gaps = np.flatnonzero(steps > 1.5) + 1  # a missing grid point before these indices
    if gaps.size == 0:
        return lrs, ys
    return (np.insert(lrs.astype(float), gaps, np.nan), np.insert(ys, gaps, np.nan))


def _frame(ax: Axes, smoothed: np.ndarray, also: list[np.ndarray] | None = None,
           raw: np.ndarray | None = None, drawn: Sequence[np.ndarray] = ()) -> None:
    """Set the y limits :func:`_frame_limits` finds (none where nothing is finite)."""
    found = _frame_limits(smoothed, also, raw, drawn)
    if found is not None:
        _set_ylim(ax, *found)


def _frame_limits(smoothed: np.ndarray, also: list[np.ndarray] | None = None,
                  raw: np.ndarray | None = None, drawn: Sequence[np.ndarray] = (),
                  ) -> tuple[float, float] | None:
    """Y limits from the smoothed curve: everything up to its minimum, and a blow-up after it
    only to 25% of the fall above the starting plateau, so a loss of 1e6 at divergence does not
    flatten the part of the curve that matters. A curve that never climbs past its plateau by
    more than a tenth of the plateau's level has no blow-up and is framed whole, so a flat one
    stays in view; one with no fall to speak of (under 1% of its level: it only rises) is
    framed up to twice its starting level. The low points of ``also`` (validation loss, the
    repeats' band) stay in view, and so does the raw loss: its lowest point, and its noise up
    to where the smoothed curve passes the cut (2nd-98th percentile), so a flat, noisy curve
    is not zoomed until its noise looks like structure. ``drawn``: the other curves drawn (the
    stop rule's EMA, the validation loss), framed where no smoothed point is finite."""
    finite = smoothed[np.isfinite(smoothed)]
    if finite.size == 0:
        # (no smoothed point, its smoothing overflowed: the range of the curves drawn, held
        # within what matplotlib's ticks can count; left to autoscale, losses of 1e308 failed
        # in matplotlib, reviews. Ours only: a caller's axes may hold lines of its own.)
        curves = [c for c in (raw, *(also or []), *drawn) if c is not None]
        seen = np.concatenate([c[np.isfinite(c)] for c in curves]) if curves else finite
        return (float(seen.min()), float(seen.max())) if seen.size else None
    m = int(np.argmin(finite))
    low = float(finite[m])
    plateau = float(finite[: m + 1].max())
    fall = plateau - low
    # (a curve that only rose was framed on its first point's noise, or up to its 1e36)
    room = 0.25 * fall if fall > 0.01 * abs(plateau) else abs(plateau)
    cut = min(float(finite.max()), plateau + room)
    high = cut
    if float(finite[m:].max()) <= plateau + 0.1 * abs(plateau):
        # (a sweep cut short after a 1% dip had every later point cut out of view)
        high = float(finite.max())
    for other in also or []:
        seen = np.asarray(other, dtype=float)
        seen = seen[np.isfinite(seen)]
        if seen.size:
            low = min(low, float(seen.min()))
            if float(seen.min()) > high:
                # All of it above the frame (a validation loss far above a fine-tuned model's
                # training loss: none of it was drawn, a bug bash): up to its own cut, as the
                # smoothed curve's is found, so that its valley is seen. Read on a 5-point
                # running median, its ends mirrored: the raw loss let one noisy pass stretch
                # the frame to 42, the curves a line at its foot; a median of all of it cut a
                # third off a steady fall; smooth_centered, which then repeated the first point,
                # left a spike at the first pass its own median (reviews).
                level = (np.median(np.lib.stride_tricks.sliding_window_view(
                    np.pad(seen, 2, mode="reflect"), 5), axis=1) if len(seen) >= 5 else seen)
                k = int(np.argmin(level))
                top = float(level[: k + 1].max())
                high = max(high, min(float(seen.max()), top + 0.25 * (top - float(level[k]))))
    if raw is not None and len(raw) == len(smoothed):
        seen = raw[np.isfinite(raw)]
        if seen.size:
            low = min(low, float(seen.min()))
            # The raw noise up to where the smoothed curve passes the cut (not the spikes or
            # the blow-up after; framed whole, a curve's later spikes took the frame to 14).
            inside = np.flatnonzero(np.isfinite(smoothed) & (smoothed <= cut))
            part = raw[: inside[-1] + 1] if inside.size else raw[:0]
            part = part[np.isfinite(part)]
            if part.size >= 5:
                high = max(high, float(np.percentile(part, 98)))
    return low, high


def _set_ylim(ax: Axes, low: float, high: float) -> None:
    """Y limits from ``low`` to ``high`` and 5% of the span on either side, within what
    matplotlib's ticks can count."""
    if ax.get_yscale() == "log" and 0 < low <= high <= np.finfo(float).max / 4:
        # (the caller's log axis: 5% of the span in decades, not below 0, which matplotlib
        # ignored with a warning of a limit the caller had not set, a bug bash; read in logs,
        # as high / low overflows, and within the float range, a review)
        pad = math.exp(0.05 * (math.log(high) - math.log(low))) if high > low else 1.05
        tiny, limit = np.finfo(float).tiny, np.finfo(float).max / 4
        ax.set_ylim(max(low / pad, tiny), min(high * pad, limit))
        return
    # (each scaled before they meet: a loss near the float limit made high - low inf)
    pad = (0.05 * high - 0.05 * low) or 0.05 * abs(high) or 0.05
    limit = np.finfo(float).max / 4  # room for matplotlib's ticks to be computed
    bottom, top = max(low - pad, -limit), min(high + pad, limit)
    if not bottom < top:  # all of it beyond that (losses of 1e308): the frame's edge, not a crash
        bottom, top = (limit / 2, limit) if low > 0 else (-limit, -limit / 2)
    ax.set_ylim(bottom, top)


def _isolated(ys: np.ndarray) -> np.ndarray:
    """Finite points with no finite neighbour (a line through them draws nothing)."""
    ok = np.isfinite(ys)
    left = np.concatenate([[False], ok[:-1]])
    right = np.concatenate([ok[1:], [False]])
    return ok & ~left & ~right


def _mark_off_scale(ax: Axes, lrs: np.ndarray, raw: np.ndarray) -> None:
    """A small triangle on the top edge at each raw loss above the frame, and how high the
    highest went: a blow-up cut off by the y limits must not look like missing data."""
    top = ax.get_ylim()[1]
    above = np.isfinite(raw) & (raw > top)
    if not above.any():
        return
    from matplotlib.transforms import blended_transform_factory

    edge = blended_transform_factory(ax.transData, ax.transAxes)
    ax.plot(lrs[above], np.full(int(above.sum()), 0.985), "^", color="C0", alpha=0.5,
            markersize=4, transform=edge, clip_on=False,
            label=f"{int(above.sum())} above the frame (max {float(raw[above].max()):.3g})")


def _mark_nan(ax: Axes, result: RangeTestResult, lrs: np.ndarray) -> None:
    """A dashed red line at the LR of the step after the last point, where the loss was not
    finite, or the gradients at every loss scale (GradScaler's skips in a row); the title says
    "nan" and the x axis ends at the last finite point."""
    from superconverge.schedules import exponential, linear

    sweep = _sweep(result)
    if sweep is None:
        return
    start, end, n, is_linear = sweep
    # The first of the sweep's own LRs (as the range test computes them) past the last point,
    # by bisection: num_iter may be large in a file, and the LRs only grow.
    lr = (linear if is_linear else exponential)(start, end, n)
    last = float(lrs[-1]) * (1 + 1e-9)
    lo, hi = 0, n  # lr(i) <= last for i < lo; lr(i) > last for i >= hi
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if lr(mid) <= last else (lo, mid)
    if lo == n:
        return
    after = lr(lo)
    ax.axvline(after, color="C3", linestyle="--", linewidth=1,
               label=f"loss or gradients not finite from lr {after:.2g}")


def _two_and_five(v: float, _: object = None) -> str:
    """A minor tick's label on a short log axis: the 2s and 5s of each decade, plainly."""
    if v <= 0:
        return ""
    mantissa = v / 10 ** math.floor(math.log10(v))
    return f"{v:g}" if min(abs(mantissa - 2), abs(mantissa - 5)) < 1e-6 else ""
