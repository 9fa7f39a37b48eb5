"""RangeTestResult on constructed curves: suggestions, spread, JSON round-trips, plots."""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import math
import os
import re
import sys
import types
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from superconverge.finder.result import Curve, RangeTestResult, bias_corrected_ema
from superconverge.finder.suggest import suggest, suggest_bounds

LRS = np.logspace(-6, 1, 80)


def valley(shift: float = 0.0, noise: float = 0.0, seed: int = 0) -> list[float]:
    """Plateau, a fall centred at lr = 1e-3 * 10**shift, then a blow-up past 1e-1 * 10**shift."""
    t = np.log10(LRS) - shift
    y = 2.3 - 2.0 / (1 + np.exp(-2.0 * (t + 3))) + np.where(t > -1, 3.0 * (t + 1) ** 2, 0.0)
    return (y + np.random.default_rng(seed).normal(0, noise, len(LRS))).tolist()


def curve(losses: list[float], stop: str = "diverged", seed: int | None = None) -> Curve:
    return Curve(LRS.tolist(), losses, bias_corrected_ema(losses, 0.98), stop, seed)


def make_result(repeats: tuple[Curve, ...] = (), val: bool = False) -> RangeTestResult:
    losses = valley(noise=0.01)
    return RangeTestResult(
        lrs=LRS.tolist(),
        losses=losses,
        smoothed=bias_corrected_ema(losses, 0.98),
        stop_reason="diverged",
        val_losses=[*valley()[:-1], math.nan] if val else None,
        num_iter=100,
        config={"start_lr": 1e-6, "end_lr": 10.0, "mode": "exp"},
        repeats=repeats,
        provenance={"torch": "2.13.0", "device": "cpu", "seed": 0},
    )


def test_ema_is_bias_corrected() -> None:
    assert bias_corrected_ema([2.0, 2.0, 2.0], 0.98) == pytest.approx([2.0, 2.0, 2.0])
    s = bias_corrected_ema([1.0, 3.0], 0.5)
    assert s == pytest.approx([1.0, (0.5 * 0.5 + 0.5 * 3.0) / (1 - 0.5**2)])


def test_suggestions_come_from_the_rules_on_the_raw_losses() -> None:
    res = make_result()
    assert res.suggest() == suggest(res.lrs, res.losses)
    assert res.suggestion("minimum") == suggest(res.lrs, res.losses, "minimum").lr
    base, top = res.bounds()
    assert (base, top) == tuple(s.lr for s in suggest_bounds(res.lrs, res.losses))
    assert base is not None and top is not None and base < top
    assert res.warnings() == []


def test_warnings_name_an_unfinished_sweep() -> None:
    flat = [1.0] * 80
    res = RangeTestResult(LRS.tolist(), flat, flat, "completed", num_iter=80)
    assert any("never decreased" in w for w in res.warnings())
    # Flat from start to end_lr: not "lower start_lr" but "sweep further".
    assert any("raise end_lr" in w for w in res.warnings()), res.warnings()
    assert not any("lower start_lr" in w for w in res.warnings())
    assert res.suggestion() is None and "never decreased" in res.suggest().reason


def test_repeats_that_saw_the_same_batches_measure_no_spread() -> None:
    """A loader without shuffle: every repeat is the same sweep. The spread used to read 0.0,
    "solid", which measured nothing."""
    from torch import nn
    from torch.nn import functional as F

    from superconverge import lr_range_test

    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(16, 4, generator=g), torch.randint(0, 2, (16,), generator=g))
               for _ in range(4)]
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    res = lr_range_test(model, opt, F.cross_entropy, batches, 1e-3, 1.0, 20, repeats=3,
                        progress=False)
    assert res.spread() is None
    assert any("3 repeats gave the very same curve" in w for w in res.warnings())
    assert RangeTestResult.from_dict(res.to_dict()).spread() is None
    # A shuffling loader: the repeats differ and the spread is measured.
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.cat([b[0] for b in batches]),
                                       torch.cat([b[1] for b in batches])),
        batch_size=16, shuffle=True)
    res = lr_range_test(model, opt, F.cross_entropy, loader, 1e-3, 1.0, 20, repeats=3,
                        progress=False)
    assert not any("same curve" in w for w in res.warnings())


def test_spread_in_decades_across_repeats() -> None:
    reps = (curve(valley(0.0), seed=0), curve(valley(0.5), seed=1), curve(valley(1.0), seed=2))
    res = make_result(repeats=reps)
    picks = [suggest(c.lrs, c.losses).lr for c in reps]
    assert res.spread() == pytest.approx(math.log10(max(picks) / min(picks)))
    assert res.spread() == pytest.approx(1.0, abs=0.15)  # the curves are a decade apart
    assert make_result(repeats=reps[:1]).spread() is None


def test_curve_validation() -> None:
    with pytest.raises(ValueError, match="len\\(lrs\\)=3"):
        Curve([1, 2, 3], [1, 2], [1, 2, 3], "completed")
    with pytest.raises(ValueError, match="stop_reason must be one of"):
        Curve([1], [1], [1], "exploded")


def test_json_round_trip_is_exact(tmp_path) -> None:
    reps = (curve(valley(0.0), seed=0), curve(valley(0.3, noise=0.02), seed=1))
    res = make_result(repeats=reps, val=True)
    path = res.to_json(tmp_path / "out" / "lr_find.json")
    back = RangeTestResult.from_json(path)
    assert back.lrs == res.lrs and back.losses == res.losses and back.smoothed == res.smoothed
    assert back.repeats == res.repeats and back.config == res.config
    assert back.provenance == res.provenance and back.stop_reason == res.stop_reason
    assert back.val_losses[:-1] == res.val_losses[:-1] and math.isnan(back.val_losses[-1])
    assert RangeTestResult.from_dict(res.to_dict()).losses == res.losses
    data = json.loads(path.read_text())  # strict JSON: NaN written as null
    assert data["val_losses"][-1] is None
    assert data["suggestion"]["lr"] == res.suggestion()
    assert [b["lr"] for b in data["bounds"]] == list(res.bounds())
    assert sorted(p.name for p in path.parent.iterdir()) == ["lr_find.json"]  # no temp left


_LOOP: list[Any] = [1]
_LOOP.append(_LOOP)


@pytest.mark.parametrize(("extra", "said"), [
    ({"data": __import__("pathlib").PurePosixPath("/data/x.npz")},
     "config['data'] is of type pathlib.PurePosixPath (PurePosixPath('/data/x.npz'))"),
    ({"note": math.nan}, "config['note'] is nan, which JSON has no number for"),
    # (numpy's own names and reprs: numpy.bool_ and True before numpy 2)
    ({"seeds": [1, np.int64(3)]},
     f"config['seeds'][1] is of type numpy.int64 ({np.int64(3)!r})"),
    ({"amp": np.True_}, f"config['amp'] is of type numpy.{type(np.True_).__name__} ({np.True_!r})"),
    ({"dtypes": {"amp": torch.float16}}, "config['dtypes']['amp'] is of type torch.dtype"),
    ({"by": {math.nan: 1}}, "config['by'] has the key nan, which JSON cannot hold"),
    ({"view": __import__("types").MappingProxyType({"a": 1})},
     "config['view'] is of type mappingproxy"),
    ({"loop": _LOOP}, "config['loop'][1] holds itself (a circular reference)"),
    # what json writes (a subclass of float, of dict) is passed over, not blamed (a review)
    ({"lr": np.float64(0.1), "order": __import__("collections").OrderedDict(a=1),
      "data": __import__("pathlib").PurePosixPath("/x.npz")},
     "config['data'] is of type pathlib.PurePosixPath"),
])
def test_a_config_value_that_json_cannot_hold_is_named(tmp_path, extra, said) -> None:
    """A review: a Path or numpy number put into config passed, then to_json failed with
    json's "Object of type PosixPath is not JSON serializable", naming neither the field nor
    the file."""
    res = dataclasses.replace(make_result(), config={"start_lr": 1e-7, **extra})
    path = tmp_path / "lr_find.json"
    with pytest.raises(ValueError, match=re.escape(f"{path}: the result cannot be written as "
                                                   f"JSON: {said}")):
        res.to_json(path)
    assert list(tmp_path.iterdir()) == []


def test_a_type_is_named_by_the_public_module_that_holds_it(monkeypatch) -> None:
    """A review, on Python 3.13: a Path put into config was named
    ``pathlib._local.PosixPath``, its private module; a class that only a private module
    holds keeps that module's name."""
    from superconverge.finder.result import _not_json

    public, private = types.ModuleType("toolkit"), types.ModuleType("toolkit._impl")
    Shown = type("Shown", (), {"__module__": "toolkit._impl", "__repr__": lambda s: "Shown()"})
    Hidden = type("Hidden", (), {"__module__": "toolkit._impl", "__repr__": lambda s: "Hidden()"})
    public.Shown = private.Shown = Shown  # type: ignore[attr-defined]
    private.Hidden = Hidden  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "toolkit", public)
    monkeypatch.setitem(sys.modules, "toolkit._impl", private)
    assert _not_json(Shown(), "config['x']") == "config['x'] is of type toolkit.Shown (Shown())"
    assert _not_json(Hidden(), "config['x']") == (
        "config['x'] is of type toolkit._impl.Hidden (Hidden())")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{not json", "Expecting property name"),
        ('{"format": "something else"}', "not a range-test result"),
        ('{"format": "superconverge.lr_range_test", "version": 99}', "unsupported"),
        ('{"format": "superconverge.lr_range_test", "version": 1, "lrs": []}', "needs num_iter"),
        ("[1, 2]", "not a range-test result"),
    ],
)
def test_corrupt_json_names_the_file(tmp_path, text: str, match: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=match) as info:
        RangeTestResult.from_json(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(("suffix", "kind"), [("png", "a PNG image"), ("svg", "an SVG image"),
                                              ("pdf", "a PDF document")])
def test_a_plot_given_for_the_result_is_named_as_one(tmp_path, suffix: str, kind: str) -> None:
    """A bug bash: the .png beside lr_find.json, passed by a slip, was "'utf-8' codec can't
    decode byte 0x89 in position 0: invalid start byte"."""
    res = RangeTestResult(lrs=[1e-3, 1e-2, 1e-1], losses=[1.0, 0.8, 2.0], smoothed=[1.0, 0.9, 1.2],
                          stop_reason="completed", num_iter=3)
    plot = tmp_path / f"lr_find.{suffix}"
    res.plot(plot)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(plot))} is not a valid range-test "
                       rf"result: it is {kind} \(a plot\?\), not JSON; pass the lr_find.json"):
        RangeTestResult.from_json(plot)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_result_is_read_from_a_pipe(tmp_path) -> None:
    """A review: the plot check read the file's start before the JSON was read, so a pipe
    (``--from-lr-find /dev/stdin``, ``<(cat lr_find.json)``) gave its bytes to the check and
    an empty rest to the JSON reader."""
    import threading

    res = RangeTestResult(lrs=[1e-3, 1e-2, 1e-1], losses=[1.0, 0.8, 2.0], smoothed=[1.0, 0.9, 1.2],
                          stop_reason="completed", num_iter=3)
    res.to_json(tmp_path / "lr.json")
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    writer = threading.Thread(target=lambda: pipe.write_bytes((tmp_path / "lr.json").read_bytes()))
    writer.start()
    try:
        assert RangeTestResult.from_json(pipe).lrs == res.lrs
    finally:
        writer.join(timeout=10)


def test_plot_writes_a_png_without_touching_pyplot(tmp_path) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    open_before = plt.get_fignums()
    reps = (curve(valley(0.0), seed=0), curve(valley(0.2), seed=1))
    res = make_result(repeats=reps, val=True)
    ax = res.plot(tmp_path / "lr.png")
    png = (tmp_path / "lr.png").read_bytes()
    assert isinstance(ax, Axes) and png.startswith(b"\x89PNG") and len(png) > 1000
    assert "diverged" in ax.get_title()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(lbl.startswith("suggested lr") for lbl in labels)
    assert any(lbl.startswith("spread of 2 repeats") for lbl in labels)
    assert any(lbl.startswith("bounds") for lbl in labels)
    assert plt.get_fignums() == open_before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr.png"]


@pytest.mark.parametrize("suffix", ["svg", "svgz", "pdf", "ps", "eps", "png"])
def test_a_plot_drawn_again_is_the_same_file(tmp_path, suffix: str) -> None:
    """A bug bash: an SVG or PDF drawn again from the same result differed (its date, and an
    SVG's random ids), where a PNG did not; so did PostScript and an .svgz's gzip header."""
    import gzip

    res = make_result(repeats=(curve(valley(0.0), seed=0), curve(valley(0.2), seed=1)))
    first, second = tmp_path / f"a.{suffix}", tmp_path / f"b.{suffix}"
    res.plot(first)
    res.plot(second)
    data = first.read_bytes()
    assert data == second.read_bytes()
    text = gzip.decompress(data) if suffix == "svgz" else data
    assert not re.search(rb"<dc:date>|/CreationDate|%%CreationDate", text)
    if suffix == "svgz":
        assert data[4:8] == bytes(4)  # gzip's time


def test_a_notebook_shows_the_result_as_its_plot(tmp_path) -> None:
    """Jupyter shows an object's ``_repr_png_``: the same picture as ``plot(path)``, drawn
    without pyplot (whose figures a notebook would show a second time)."""
    import matplotlib.pyplot as plt
    from PIL import Image

    open_before = plt.get_fignums()
    res = make_result()
    png = res._repr_png_()
    assert png.startswith(b"\x89PNG") and plt.get_fignums() == open_before
    assert Image.open(io.BytesIO(png)).size == (1140, 540)  # 9.5 x 4.5 inches at 120 dpi
    assert png == res._repr_png_()  # the same bytes each time: nothing kept between draws
    res.plot(tmp_path / "lr.png")
    assert (tmp_path / "lr.png").read_bytes() == png


def test_the_plots_dpi_wins_over_a_matplotlibrc_savefig_dpi(tmp_path) -> None:
    """A style sheet's savefig.dpi = 300 made plot(path, dpi=50) a 2850 x 1350 image (and the
    notebook's and the schedule preview's at 300 dpi too): the figure's own dpi is used."""
    import matplotlib
    from PIL import Image

    from superconverge.report.schedule_preview import plot_policy
    from superconverge.schedules import make_policy

    res = make_result()
    with matplotlib.rc_context({"savefig.dpi": 300}):
        res.plot(tmp_path / "small.png", dpi=50)
        png = res._repr_png_()
        plot_policy(make_policy("one-cycle", 100, max_lr=0.1), tmp_path / "s.png")
    assert Image.open(tmp_path / "small.png").size == (475, 225)
    assert Image.open(io.BytesIO(png)).size == (1140, 540)
    assert Image.open(tmp_path / "s.png").size == (840, 420)  # 7 x 3.5 inches at 120 dpi


@pytest.mark.parametrize("rc", [{"figure.constrained_layout.use": True},
                                {"figure.autolayout": True}])
def test_a_matplotlibrc_layout_does_not_make_the_plots_warn(tmp_path, rc) -> None:
    """A matplotlibrc with constrained layout made every plot warn "The figure layout has
    changed to tight" (ours calls tight_layout), also the CLI's schedule preview, where it
    read as a warning about the schedule (a user's bug bash)."""
    import warnings

    import matplotlib

    from superconverge.report.schedule_preview import plot_policy
    from superconverge.schedules import make_policy

    res = make_result()
    with matplotlib.rc_context(rc), warnings.catch_warnings():
        warnings.filterwarnings("error", "The figure layout has changed")
        res.plot(tmp_path / "lr.png")
        res._repr_png_()
        plot_policy(make_policy("one-cycle", 100, max_lr=0.1), tmp_path / "s.png")


def test_plots_drawn_in_threads_at_once_all_draw(tmp_path) -> None:
    """matplotlib's text layout is not thread-safe: plots drawn in four threads at once failed
    with mathtext's "ParseException" (35 of 40, a user's bug bash). Ours draw one at a time."""
    from concurrent.futures import ThreadPoolExecutor

    from superconverge.report.schedule_preview import plot_policy
    from superconverge.schedules import make_policy

    res = make_result()
    policy = make_policy("one-cycle", 100, max_lr=0.1)

    def draw(i: int) -> str:
        if i % 3 == 2:
            plot_policy(policy, tmp_path / f"s{i}.png")
        else:
            res.plot(tmp_path / f"p{i}.png") if i % 3 else res._repr_png_()
        return "ok"

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(draw, range(12))) == ["ok"] * 12


def test_plot_on_a_given_axes_and_on_none() -> None:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    res = make_result()
    assert res.plot(ax) is ax
    assert ax.get_xscale() == "log" and len(ax.lines) >= 2
    assert isinstance(res.plot(), Axes)
    with pytest.raises(TypeError, match="path_or_ax"):
        res.plot(42)


def test_plot_of_an_empty_curve() -> None:
    res = RangeTestResult((), (), (), "nan", num_iter=10)
    assert "nan" in res.plot().get_title()


def test_a_curve_an_error_cut_short_says_so_and_round_trips(tmp_path) -> None:
    full = make_result()
    res = dataclasses.replace(full, lrs=full.lrs[:30], losses=full.losses[:30],
                              smoothed=full.smoothed[:30], stop_reason="error")
    assert res.plot().get_title().startswith("LR range test: stopped by an error after 30 of")
    res.to_json(tmp_path / "r.json")
    assert RangeTestResult.from_json(tmp_path / "r.json").stop_reason == "error"


@pytest.mark.parametrize("mode", ["exp", "linear"])
def test_a_sweep_cut_short_keeps_its_first_steps_fall(mode: str) -> None:
    """A review: a cut sweep keeps its start's warnings whatever their advice names, but the
    first-step warning's "more than it fell after" wording was not among them, and a linear
    sweep's, whose advice names num_iter and end_lr, was dropped."""
    n = 30
    lrs = (np.logspace(-4, np.log10(0.5), n) if mode == "exp" else np.linspace(0.0167, 0.5, n))
    said: dict[str, list[str]] = {}
    for name, rest in (("never after", np.linspace(0.17, 0.5, n - 1)),
                       ("more than it fell after", 0.17 + 0.005 * np.random.default_rng(0)
                        .standard_normal(n - 1))):
        res = RangeTestResult(lrs=lrs.tolist(), losses=[0.70, *rest.tolist()], smoothed=[0.7] * n,
                              stop_reason="interrupted", num_iter=100,
                              config={"start_lr": float(lrs[0]), "end_lr": 1.0, "mode": mode})
        said[name] = res.warnings()
        assert said[name][0].startswith("the sweep was cut short ("), said
        assert any(w.startswith("the loss fell in the sweep's first step, from 0.7 to 0.1")
                   and name in w for w in said[name]), said


@pytest.mark.parametrize("stop", ["interrupted", "error"])
def test_a_curve_cut_short_before_its_first_point_is_not_told_to_raise_num_iter(stop) -> None:
    """A bug bash: Ctrl-C before the first step gave "too few points: 0 finite (need 8); raise
    num_iter or lower start_lr", where 2 points were told to run the sweep to its end."""
    full = make_result()
    res = dataclasses.replace(full, lrs=[], losses=[], smoothed=[], stop_reason=stop)
    said = res.warnings()
    assert said[0].startswith("the sweep was cut short (") and said[0].endswith(
        ") before its first point: nothing was measured; run it to its end"), said
    assert not any("num_iter" in w for w in said), said


@pytest.mark.parametrize("n", [1, 3, 5, 7])
def test_plot_of_a_curve_shorter_than_the_smoothing_kernel(n: int) -> None:
    losses = valley()[:n]
    res = RangeTestResult(LRS[:n].tolist(), losses, bias_corrected_ema(losses, 0.98), "nan",
                          num_iter=80)
    ax = res.plot()
    # Under half a decade drawn, the axis is linear: a log one labelled one tick or none.
    narrow = 1 < n and LRS[n - 1] < 10 ** 0.5 * LRS[0]
    assert ax.get_xscale() == ("linear" if narrow else "log")
    if narrow:
        ax.figure.canvas.draw()
        left, right = ax.get_xlim()
        shown = [t for t in ax.get_xticklabels() if t.get_text() and left <= t.get_position()[0]
                 <= right]
        assert len(shown) >= 3


@pytest.mark.parametrize(("start", "end"), [(0.01, 0.0102), (0.1, 0.105), (0.2, 0.25)])
def test_a_narrow_sweeps_tick_labels_do_not_run_together(start: float, end: float) -> None:
    """A user's bug bash: 0.01 to 0.0102 drew nine labels, 0.010000 to 0.010200, as one
    string."""
    lrs = np.geomspace(start, end, 20)
    losses = list(np.linspace(2.3, 1.0, 20))
    res = RangeTestResult(lrs.tolist(), losses, bias_corrected_ema(losses, 0.98), "nan",
                          num_iter=20)
    ax = res.plot()
    ax.figure.canvas.draw()
    left, right = ax.get_xlim()
    shown = [t for t in ax.get_xticklabels() if t.get_text() and left <= t.get_position()[0]
             <= right]
    boxes = sorted((t.get_window_extent() for t in shown), key=lambda b: b.x0)
    assert len(boxes) >= 3
    assert all(a.x1 < b.x0 for a, b in itertools.pairwise(boxes))


def test_a_curve_with_nan_losses_round_trips_through_json(tmp_path) -> None:
    """Results built from other tools' data may hold NaN/inf; JSON stores them as null."""
    losses = valley()
    losses[-1], losses[-2] = math.nan, math.inf
    res = RangeTestResult(LRS.tolist(), losses, bias_corrected_ema(losses, 0.98), "nan",
                          num_iter=80)
    back = RangeTestResult.from_json(res.to_json(tmp_path / "r.json"))
    assert math.isnan(back.losses[-1]) and math.isnan(back.losses[-2])
    assert back.losses[:-2] == res.losses[:-2]


def test_from_dict_names_what_is_missing() -> None:
    data = make_result().to_dict()
    del data["lrs"]
    with pytest.raises(ValueError, match="needs lrs"):
        RangeTestResult.from_dict(data)
    data = make_result().to_dict()
    del data["num_iter"]
    with pytest.raises(ValueError, match="needs num_iter"):
        RangeTestResult.from_dict(data)
    data = make_result().to_dict()
    del data["version"]
    with pytest.raises(ValueError, match="a range-test result needs version"):
        RangeTestResult.from_dict(data)


def test_repeats_must_be_curves() -> None:
    res = make_result()
    with pytest.raises(TypeError, match="repeats must be a sequence of Curve"):
        dataclasses.replace(res, repeats=(res.to_dict(),))


@pytest.mark.parametrize("bad", [0.0, -1e-3, math.nan, math.inf])
def test_lrs_must_be_positive_and_finite(bad: float) -> None:
    with pytest.raises(ValueError, match="lrs must be finite and > 0"):
        Curve([1e-3, bad], [1.0, 1.0], [1.0, 1.0], "completed")


def test_a_plot_path_without_suffix_is_a_png(tmp_path) -> None:
    make_result().plot(tmp_path / "lr_find")
    assert (tmp_path / "lr_find").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="not 'txt'"):
        make_result().plot(tmp_path / "lr_find.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr_find"]


def test_the_validation_loss_stays_in_view() -> None:
    losses = valley()
    val = [x - 0.5 for x in losses]  # below the training loss everywhere
    res = RangeTestResult(LRS.tolist(), losses, bias_corrected_ema(losses, 0.98), "diverged",
                          num_iter=80, val_losses=val)
    assert res.plot().get_ylim()[0] <= min(val)


def legend(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_the_raw_loss_stays_in_view_and_what_is_above_the_frame_is_marked() -> None:
    """The y limits came from the smoothed curve alone: the lowest raw losses, just before a
    blow-up, were cut off, and 61 points of a 5.9e5 blow-up left the plot's right side empty
    as if nothing had been recorded."""
    losses = valley()
    losses[60] = min(losses) - 0.8  # one raw point far below the smoothed curve
    losses[70:] = [1e5 * (i + 1) for i in range(10)]  # a blow-up, never stopped
    res = RangeTestResult(LRS.tolist(), losses, bias_corrected_ema(losses, 0.98), "completed",
                          num_iter=80)
    ax = res.plot()
    assert ax.get_ylim()[0] <= losses[60]
    assert any(re.fullmatch(r"\d+ above the frame \(max 1e\+06\)", t) for t in legend(ax))
    assert "above the frame" not in " ".join(legend(res.plot(show_raw=False)))


def test_a_flat_noisy_curve_is_not_zoomed_until_noise_looks_like_structure() -> None:
    y = (2.34 + np.random.default_rng(0).normal(0, 0.03, 80)).tolist()
    res = RangeTestResult(LRS.tolist(), y, bias_corrected_ema(y, 0.98), "completed",
                          num_iter=80)
    low, high = res.plot().get_ylim()
    inside = np.mean([(low <= v <= high) for v in y])
    assert inside >= 0.9, inside  # the smoothed wiggles alone framed half the points out


def test_points_between_skipped_steps_and_a_nan_stop_are_drawn() -> None:
    config = {"start_lr": float(LRS[0]), "end_lr": float(LRS[-1]), "num_iter": 80}
    keep = [i for i in range(60) if i < 20 or i % 3 == 0]  # isolated points after step 20
    losses = [valley()[i] for i in keep]
    res = RangeTestResult([float(LRS[i]) for i in keep], losses,
                          bias_corrected_ema(losses, 0.98), "nan", num_iter=80, config=config)
    ax = res.plot()
    dots = [ln for ln in ax.lines if ln.get_marker() == "."]
    assert len(dots) == 1 and len(dots[0].get_xdata()) == len([i for i in keep if i > 20])
    nan_at = [ln for ln in ax.lines
              if ln.get_label().startswith("loss or gradients not finite from lr")]
    assert len(nan_at) == 1 and nan_at[0].get_xdata()[0] == pytest.approx(LRS[58])


def test_a_short_log_axis_labels_plain_numbers_on_its_2s_and_5s() -> None:
    """Under 1.5 decades a log axis labelled 2x10^0, 3x10^0, ...; plain labels on every minor
    tick ran together ("0.070.080.09")."""
    from superconverge.finder.plot import _two_and_five

    assert [_two_and_five(v) for v in (0.02, 0.03, 0.05, 0.09, 2.0, 50.0)] == [
        "0.02", "", "0.05", "", "2", "50"]
    lrs = np.geomspace(1.0, 8.0, 40)
    losses = valley()[:40]
    res = RangeTestResult(lrs.tolist(), losses, bias_corrected_ema(losses, 0.98), "diverged",
                          num_iter=40)
    ax = res.plot()
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.xaxis.get_ticklabels(minor=True) if t.get_text()]
    assert labels and all(label.strip("0.")[0] in "25" for label in labels), labels


def test_a_linear_sweep_is_drawn_on_a_linear_axis() -> None:
    lrs = np.linspace(1e-3, 1.0, 80)
    losses = valley()
    res = RangeTestResult(lrs.tolist(), losses, bias_corrected_ema(losses, 0.98), "completed",
                          num_iter=80, config={"mode": "linear"})
    assert res.plot().get_xscale() == "linear"
    assert make_result().plot().get_xscale() == "log"


def test_the_plot_says_why_there_is_no_pick_and_what_to_distrust() -> None:
    flat = [1.0] * 80
    res = RangeTestResult(LRS.tolist(), flat, flat, "completed", num_iter=80)
    texts = " ".join(t.get_text() for t in res.plot().texts)
    assert "no suggestion: the loss never decreased" in texts
    assert texts.count("never decreased") == 1  # the matching warning is not repeated


def test_the_plot_of_an_all_nan_curve_spans_the_swept_lrs_and_says_why_once() -> None:
    nan = [math.nan] * 80
    res = RangeTestResult(LRS.tolist(), nan, nan, "completed", num_iter=80)
    ax = res.plot()
    low, high = ax.get_xlim()
    assert ax.get_xscale() == "log"
    assert low <= LRS[0] and high >= LRS[-1]  # not matplotlib's default 1-10
    assert math.log10(high / low) < math.log10(LRS[-1] / LRS[0]) + 1  # the sweep fills it
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "no suggestion: too few points: 0 finite" in texts
    assert "only 0 finite" not in texts and texts.count("too few points") == 1  # said once


def test_the_plot_spans_the_swept_lrs_where_the_loss_is_nan() -> None:
    losses = [math.nan] * 40 + valley()[40:]
    res = RangeTestResult(LRS.tolist(), losses, losses, "completed", num_iter=80)
    low, high = res.plot(show_raw=False).get_xlim()
    assert low <= LRS[0] and high >= LRS[-1]


# --- malformed results are refused, naming the field -------------------------------------------

SWAPPED = [*LRS[:10], LRS[11], LRS[10], *LRS[12:]]


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("lrs", LRS[::-1].tolist(), r"lrs must strictly increase .* lrs\[1\]=.* <= lrs\[0\]="),
        ("lrs", SWAPPED, r"lrs must strictly increase .* lrs\[11\]="),
        ("lrs", [0.01] * 80, r"lrs\[1\]=0.01 <= lrs\[0\]=0.01"),
        ("lrs", [str(x) for x in LRS], r"lrs\[0\] must be a number, got '1e-06' \(str\)"),
        ("lrs", [True, *LRS[1:]], r"lrs\[0\] must be a number, got True \(bool\)"),
        ("lrs", [None, *LRS[1:]], r"lrs\[0\] must be a number, got None"),
        ("lrs", [10**400, *LRS[1:]], r"lrs\[0\] is too large for a float: 1000"),
        ("losses", ["NaN"] * 80, r"losses\[0\] must be a number or null, got 'NaN' \(str\)"),
        ("losses", ["inf"] * 80, r"losses\[0\] must be a number or null, got 'inf'"),
        ("losses", ["2.3"] * 80, r"losses\[0\] must be a number or null, got '2.3'"),
        ("losses", [2.3, False] * 40, r"losses\[1\] must be a number or null, got False"),
        ("losses", "1" * 80, r"losses must be an array of numbers, got '1111"),
        ("smoothed", ["1.0"] * 80, r"smoothed\[0\] must be a number or null"),
        ("val_losses", [True] * 80, r"val_losses\[0\] must be a number or null"),
        ("num_iter", -5, r"num_iter must be >= 1 and >= the 80 points .*, got -5"),
        ("num_iter", 0, r"num_iter must be >= 1 .*, got 0"),
        ("num_iter", 79, r"num_iter must be >= 1 and >= the 80 points .*, got 79"),
        ("num_iter", 3.7, r"num_iter must be an int .*, got 3.7 \(float\)"),
        ("num_iter", "100", r"num_iter must be an int .*, got '100' \(str\)"),
        ("num_iter", True, r"num_iter must be an int .*, got True \(bool\)"),
        ("num_iter", None, r"num_iter must be an int .*, got None \(NoneType\)"),
        ("version", 1.0, r"unsupported range-test result version 1.0 \(float\)"),
        ("version", True, r"unsupported range-test result version True \(bool\)"),
        ("config", None, r"config must be a mapping \(a JSON object\), got None"),
        ("config", [], r"config must be a mapping .*, got \[\] \(list\)"),
        ("provenance", "x", r"provenance must be a mapping .*, got 'x' \(str\)"),
        ("repeats", None, r"repeats must be an array of curves, got None"),
        ("repeats", {"a": 1}, r"repeats must be an array of curves, got \{'a': 1\} \(dict\)"),
        ("repeats", [[1, 2, 3]], r"repeats\[0\]: a range-test curve must be a JSON object"),
        ("seed", "abc", r"seed must be an int or None, got 'abc' \(str\)"),
    ],
    ids=lambda x: str(x)[:20],
)
def test_a_malformed_result_names_the_field(tmp_path, key: str, value, match: str) -> None:
    data = make_result(repeats=(curve(valley(), seed=0),)).to_dict()
    data[key] = value
    with pytest.raises(ValueError, match=match):
        RangeTestResult.from_dict(data)
    path = tmp_path / "lr_find.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=match) as info:
        RangeTestResult.from_json(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda rep: rep.update(lrs=LRS[::-1].tolist()), r"repeats\[0\]: lrs must strictly incr"),
        (lambda rep: rep.update(losses=["1"] * 80), r"repeats\[0\]: losses\[0\] must be a num"),
        (lambda rep: rep.update(lrs=(LRS * 2).tolist()),  # another sweep's LRs
         r"repeats: none recorded every LR of the curve .* lrs\[0\]=1e-06 is not in repeats"),
        (lambda rep: rep.update(seed=1.5), r"repeats\[0\]: seed must be an int or None"),
    ],
)
def test_a_malformed_repeat_names_it(edit, match: str) -> None:
    data = make_result(repeats=(curve(valley(), seed=0),)).to_dict()
    edit(data["repeats"][0])
    with pytest.raises(ValueError, match=match):
        RangeTestResult.from_dict(data)


def with_raw(key: str, raw: str) -> str:
    """The JSON of a result with ``key``'s first entry written as ``raw``."""
    data = make_result().to_dict()
    data[key][0] = "HERE"
    return json.dumps(data).replace('"HERE"', raw, 1)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (lambda: with_raw("lrs", "1" * 401), r"lrs\[0\] is too large for a float: 1111"),
        (lambda: "[" * 100_000 + "]" * 100_000, "maximum recursion depth"),
        (lambda: with_raw("losses", "NaN"), "NaN is not JSON"),
        (lambda: with_raw("smoothed", "-Infinity"), "-Infinity is not JSON"),
        # (an audit: read as inf, where the docs promise Infinity refused)
        (lambda: with_raw("losses", "1e999"), "1e999 is beyond the largest float"),
        (lambda: with_raw("lrs", "-1.5e400"), "-1.5e400 is beyond the largest float"),
    ],
    ids=["401-digit-int", "deep", "nan", "infinity", "1e999", "-1.5e400"],
)
def test_json_python_reads_but_no_result_holds_is_one_value_error(tmp_path, body, match) -> None:
    """OverflowError and RecursionError escaped from_json (a traceback in the CLI); NaN and
    Infinity, which are not JSON and which to_json never writes, were read."""
    path = tmp_path / "lr_find.json"
    path.write_text(body())
    with pytest.raises(ValueError, match=match) as info:
        RangeTestResult.from_json(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lrs": LRS[::-1].tolist()}, r"lrs must strictly increase .* lrs\[1\]="),
        ({"lrs": [0.01] * 80}, r"lrs\[1\]=0.01 <= lrs\[0\]=0.01"),
        ({"num_iter": 0}, r"num_iter must be >= 1 .*, got 0"),
        ({"num_iter": 79}, r"num_iter must be >= 1 and >= the 80 points"),
        ({"num_iter": 80.0}, r"num_iter must be an int .*, got 80.0 \(float\)"),
        ({"num_iter": True}, r"num_iter must be an int .*, got True \(bool\)"),
        ({"losses": "1" * 80}, r"losses must be a sequence of numbers, got '1111"),
        ({"lrs": [str(x) for x in LRS]}, r"lrs\[0\] must be a number, got '1e-06' \(str\)"),
        ({"config": None}, r"config must be a mapping"),
        ({"repeats": (Curve((LRS * 2).tolist(), [1.0] * 80, [1.0] * 80, "completed"),)},
         r"repeats: none recorded every LR of the curve"),
    ],
    ids=lambda x: str(x)[:24],
)
def test_a_result_built_directly_is_checked_the_same(kwargs, match: str) -> None:
    losses = valley()
    call = {"lrs": LRS.tolist(), "losses": losses, "smoothed": losses,
            "stop_reason": "completed", "num_iter": 80, **kwargs}
    with pytest.raises(ValueError, match=match):
        RangeTestResult(**call)


def test_num_iter_must_be_given_and_numpy_ints_are_ints() -> None:
    losses = valley()
    with pytest.raises(ValueError, match=r"num_iter must be >= 1 .*, got 0"):
        RangeTestResult(LRS.tolist(), losses, losses, "completed")  # the default, 0
    res = RangeTestResult(LRS.tolist(), losses, losses, "completed", num_iter=np.int64(80))
    assert type(res.num_iter) is int and res.num_iter == 80


def test_what_the_writer_produces_is_still_read(tmp_path) -> None:
    """The cases the checks must let through: an interrupted sweep whose cut repeat is shorter
    than the mean, gaps where GradScaler skipped steps (the mean is taken at the LRs all
    finished repeats share), "completed" with fewer points than num_iter, NaN as null, and an
    empty curve."""
    y = valley()
    gap5, gap9 = [i for i in range(80) if i != 5], [i for i in range(80) if i != 9]
    shared = [i for i in range(80) if i not in (5, 9)]

    def part(ix: list[int], stop: str, seed: int) -> Curve:
        losses = [y[i] for i in ix]
        return Curve([float(LRS[i]) for i in ix], losses, bias_corrected_ema(losses, 0.98), stop,
                     seed, [math.nan if i == 40 else y[i] for i in ix])

    cut = part([i for i in range(30) if i != 3], "interrupted", 2)
    mean = part(shared, "interrupted", 0)
    res = RangeTestResult(mean.lrs, mean.losses, mean.smoothed, "interrupted", 0,
                          mean.val_losses, num_iter=80,
                          repeats=(part(gap5, "completed", 0), part(gap9, "completed", 1), cut))
    back = RangeTestResult.from_json(res.to_json(tmp_path / "partial.json"))
    assert back.lrs == res.lrs and len(back.repeats) == 3 and back.repeats[2].lrs == cut.lrs
    assert math.isnan(back.repeats[0].val_losses[39])
    empty = RangeTestResult((), (), (), "interrupted", num_iter=80,
                            repeats=(Curve((), (), (), "interrupted", 0),))
    assert RangeTestResult.from_json(empty.to_json(tmp_path / "empty.json")).lrs == ()


def test_results_assembled_as_the_range_test_does_pass_the_checks() -> None:
    """Random sweeps through the range test's own bookkeeping (skips, NaN and divergence stops,
    a repeat cut short by Ctrl-C) build and read back."""
    from superconverge.finder.range_test import _assemble, _HostCurve

    rng = np.random.default_rng(0)
    for _ in range(200):
        num_iter = int(rng.integers(5, 40))
        table = np.geomspace(1e-5, 10.0, num_iter).tolist()
        curves = []
        for r in range(int(rng.integers(1, 4))):
            host = _HostCurve(table, 0.98, 4.0, r, has_val=True)
            losses = np.where(rng.random(num_iter) < 0.02, math.nan, rng.uniform(0.1, 5, num_iter))
            n = num_iter if rng.random() < 0.7 else int(rng.integers(0, num_iter))
            host.feed(losses[:n].tolist(), losses[:n].tolist(), (rng.random(n) < 0.3).tolist())
            curves.append(host.curve(host.stop_reason or "interrupted"))
        cut = len(curves) > 1 and rng.random() < 0.5  # the last repeat is the one Ctrl-C cut
        res = _assemble(curves, num_iter, 0.98, {}, {"seed": 0},
                        **({"stop_reason": "interrupted", "mean_of": curves[:-1]} if cut else {}))
        back = RangeTestResult.from_dict(json.loads(json.dumps(res.to_dict(), allow_nan=False)))
        assert back.lrs == res.lrs and back.repeats[-1].lrs == res.repeats[-1].lrs


def test_a_result_without_num_iter_says_it_must_be_given() -> None:
    with pytest.raises(ValueError, match=r"got 0 \(its default: pass the steps the test was"):
        RangeTestResult([1e-3, 1e-2], [1.0, 0.9], [1.0, 0.9], "completed")


# ------------------------------------------------- pinned by a mutation-testing review

N200 = 200
LRS200 = tuple(np.logspace(-5, 1, N200).tolist())


def vee_losses(shift: float = 0.0) -> tuple[float, ...]:
    y = np.interp(np.arange(N200), [0, 30, 150, 170, 199], [2.0, 2.0, 0.2, 0.2, 3.0]) + shift
    return tuple(y.tolist())


def vee_result(config=None, repeats=()) -> RangeTestResult:
    y = vee_losses()
    return RangeTestResult(lrs=LRS200, losses=y, smoothed=y, stop_reason="completed",
                           num_iter=N200, config=config or {}, repeats=repeats)


def test_suggest_without_a_method_uses_the_configured_one() -> None:
    """result.suggest() follows config["method"] (find_lr --method steepest) (mutants:
    `method or "default"` in suggest and in spread)."""
    r = vee_result({"method": "steepest"})
    assert r.suggest().method == "steepest"
    assert r.suggestion() == r.suggest("steepest").lr != r.suggest("default").lr


def test_an_unknown_configured_method_falls_back_to_default() -> None:
    """A JSON written with a method this version does not know still reads (mutant: any string
    accepted, so suggest() raises ValueError)."""
    with pytest.warns(UserWarning, match=r"config\['method'\] is 'from-a-newer-version' \(str\), "
                      r"not a rule this version knows \('default', .*\): the 'default' rule is "
                      r"used"):  # (said: a hand-edited typo was the default rule unsaid)
        r = vee_result({"method": "from-a-newer-version"})
    assert r.method == "default" and r.suggest().method == "default"


def test_the_unknown_method_warning_points_at_the_callers_line(tmp_path) -> None:
    """Through from_json it pointed into result.py (a fixed stacklevel, right for a direct
    construction only: a user's bug bash); now at the line that read the file, whichever way."""
    path = vee_result({"method": "steepest"}).to_json(tmp_path / "r.json")
    data = json.loads(path.read_text())
    data["config"]["method"] = "Steepest"
    path.write_text(json.dumps(data))
    for read in (lambda: RangeTestResult.from_json(path),
                 lambda: RangeTestResult.from_dict(data),
                 lambda: dataclasses.replace(vee_result(), config={"method": "x"})):
        with pytest.warns(UserWarning, match="not a rule this version knows") as said:
            read()
        assert [Path(w.filename).name for w in said] == [Path(__file__).name]


def test_a_single_repeat_is_not_reported_as_identical_repeats() -> None:
    """_repeats_alike needs two or more repeats (mutant: `> 0`): one repeat must not warn about
    unshuffled data."""
    y = vee_losses()
    r = vee_result(repeats=(Curve(LRS200, y, y, "completed"),))
    assert not any("repeats gave the very same curve" in w for w in r.warnings())


def test_the_seed_survives_a_json_round_trip() -> None:
    """RangeTestResult.from_dict keeps the curve's seed (mutant: seed=None)."""
    y = vee_losses()
    r = RangeTestResult(lrs=LRS200, losses=y, smoothed=y, stop_reason="completed", seed=3,
                        num_iter=N200)
    assert RangeTestResult.from_dict(r.to_dict()).seed == 3


def descent_at(end: int, width: int = 60) -> tuple[float, ...]:
    return tuple(np.interp(np.arange(N200), [0, end - width, end, end + 20, 199],
                           [2.0, 2.0, 0.2, 0.2, 3.0]).tolist())


def test_spread_is_the_largest_over_the_smallest_pick() -> None:
    """log10(max / min) over the repeats whatever their order (mutant: last / first)."""
    reps = tuple(Curve(LRS200, descent_at(e), descent_at(e), "completed") for e in (100, 150, 120))
    y = vee_losses()
    r = RangeTestResult(lrs=LRS200, losses=y, smoothed=y, stop_reason="completed", num_iter=N200,
                        repeats=reps)
    picks = [r_.lr for r_ in (RangeTestResult(lrs=LRS200, losses=c.losses, smoothed=c.losses,
                                              stop_reason="completed", num_iter=N200).suggest()
                              for c in reps)]
    assert len(set(picks)) == 3 and max(picks) not in (picks[0], picks[-1])
    assert r.spread() == np.log10(max(picks) / min(picks))


def test_spread_follows_the_configured_method() -> None:
    """``spread()`` measures the picks of the result's own rule (``find-lr --method``), as
    ``suggest()`` does."""
    # Descents of different widths: two shifted copies of one would give both rules picks
    # the same number of steps apart, so the same spread (the test then read float noise).
    reps = tuple(Curve(LRS200, descent_at(e, w), descent_at(e, w), "completed")
                 for e, w in ((100, 60), (150, 20)))
    y = vee_losses()
    r = RangeTestResult(lrs=LRS200, losses=y, smoothed=y, stop_reason="completed", num_iter=N200,
                        config={"method": "steepest"}, repeats=reps)
    assert r.spread() == r.spread("steepest")
    assert abs(r.spread("steepest") - r.spread("default")) > 0.1


# --- repeats cut short, hand-built results -------------------------------------------------------


def cut_short(losses: list[float], n: int, stop: str) -> Curve:
    """The first ``n`` points of a sweep that an error or Ctrl-C stopped."""
    return Curve(LRS[:n].tolist(), losses[:n], bias_corrected_ema(losses[:n], 0.98), stop, 2)


@pytest.mark.parametrize("stop", ["error", "interrupted"])
def test_a_repeat_cut_short_counts_neither_in_the_spread_nor_in_the_band(stop: str) -> None:
    """A third sweep stopped 30 points in picks from the start of its fall; the two finished
    ones agree. The spread is theirs, and the plot's band covers their whole range."""
    from superconverge.finder.plot import spread_band

    done = (curve(valley(0.0, noise=0.01, seed=0), seed=0),
            curve(valley(0.05, noise=0.01, seed=1), seed=1))
    short = cut_short(valley(0.0, noise=0.01, seed=2), 30, stop)
    res = make_result(repeats=(*done, short))
    assert res.finished_repeats() == done
    assert res.spread() == pytest.approx(make_result(repeats=done).spread())
    assert res.spread() < 0.3  # with the short sweep: ~2.5 decades
    ax = res.plot(None)
    band = spread_band(done)
    assert band is not None and math.isclose(band[0][-1], LRS[-1])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "spread of 2 repeats (1 cut short left out)" in labels


def test_the_band_of_repeats_holds_the_curve_drawn_in_it() -> None:
    """A bug bash: the band, each repeat smoothed over its own points, did not hold the
    smoothed mean drawn in it (a smoothing of the mean is no mean of the smoothings): a mean of
    40 points beside a repeat of 80 lay outside the band at 17 points, the pick's dot too."""
    from superconverge.finder.plot import smoothed_as_seen, spread_band

    a = valley(0.0, noise=0.05, seed=3)
    b = np.asarray(valley(-0.5, noise=0.05, seed=4))
    b[38:40] = [9.0, 40.0]  # a blow-up at its end
    long, short = curve(a, "completed", seed=0), Curve(
        LRS[:40].tolist(), b[:40].tolist(), bias_corrected_ema(b[:40].tolist(), 0.98),
        "diverged", 1)
    mean = ((np.asarray(a[:40]) + b[:40]) / 2).tolist()
    res = RangeTestResult(LRS[:40].tolist(), mean, bias_corrected_ema(mean, 0.98), "diverged",
                          num_iter=80, repeats=(long, short))
    # As the plot draws them (a review: a test of spread_band alone held by construction):
    # the band's edges at each LR, and the smoothed line
    ax = res.plot(None)
    (band,) = [c for c in ax.collections if "spread of 2 repeats" in c.get_label()]
    edges = band.get_paths()[0].vertices
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "smoothed loss"]
    xs, ys = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
    assert np.array_equal(np.unique(edges[:, 0]), xs[np.isfinite(ys)])  # at the curve's LRs
    for x, y in zip(xs[np.isfinite(ys)], ys[np.isfinite(ys)], strict=True):
        at = edges[edges[:, 0] == x, 1]
        assert at.min() - 1e-12 <= y <= at.max() + 1e-12, x
    # (spread_band read at the same LRs)
    drawn = smoothed_as_seen(res)
    ours = spread_band(res.finished_repeats(), drawn=(LRS[:40], drawn))
    assert ours is not None and np.array_equal(ours[0], xs[np.isfinite(ys)])


def test_repeats_alike_but_one_cut_short_measure_no_spread() -> None:
    """Two finished repeats with the very same curve (unshuffled data) and a third an error cut
    short: the spread is None and the warning says why, not a reassuring 0."""
    same = curve(valley(0.0, noise=0.01, seed=0), seed=0)
    res = make_result(repeats=(same, same, cut_short(valley(0.3, seed=1), 30, "error")))
    assert res.spread() is None
    # the two the spread would count (a review: "the 3 repeats", the cut one too)
    assert any("the 2 repeats gave the very same curve" in w for w in res.warnings())


def test_repeats_of_data_in_one_shuffled_batch_measure_no_spread() -> None:
    """A review: 40 examples in a batch of 64, shuffled: each repeat reorders the examples
    within the one batch, its losses differ by float rounding only, and the spread read 0.0,
    "every repeat picks the same step", the reassuring 0 that measured nothing."""
    from torch import nn
    from torch.nn import functional as F

    from superconverge import lr_range_test

    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 5, generator=g)
    data = torch.utils.data.TensorDataset(x, (x[:, 0] > 0).long())
    loader = torch.utils.data.DataLoader(data, batch_size=64, shuffle=True,
                                         generator=torch.Generator().manual_seed(1))
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 32), nn.ReLU(), nn.Linear(32, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    res = lr_range_test(model, opt, F.cross_entropy, loader, 1e-4, 10.0, 100, repeats=3,
                        progress=False)
    first, second = res.repeats[0].losses, res.repeats[1].losses
    assert first != second  # not the very same curve: rounding apart
    assert res.provenance["whole_data_steps"] is True
    assert res.spread() is None
    said = [w for w in res.warnings() if "every step trained on all of the data" in w]
    assert len(said) == 1 and said[0].endswith("(a smaller batch)")
    assert not any("very same curve" in w for w in res.warnings())
    # no band named "spread" on the plot of a spread that measures nothing (a review)
    labels = [t.get_text() for t in res.plot(None).get_legend().get_texts()]
    assert not any(label.startswith("spread of") for label in labels)
    # unshuffled too: told of the whole data, not to shuffle, which would not help (a review)
    still = torch.utils.data.DataLoader(data, batch_size=64)
    res = lr_range_test(model, opt, F.cross_entropy, still, 1e-4, 10.0, 30, repeats=2,
                        progress=False)
    assert [w for w in res.warnings() if "repeats" in w] == [
        w for w in res.warnings() if "every step trained on all of the data" in w] != []
    # read back from JSON, the same
    assert RangeTestResult.from_dict(res.to_dict()).spread() is None

    # A head started at 0 gives log(C) whatever the batch for its first steps: shuffled
    # batches alike to 5e-7 there, then apart by their noise; a spread, measured (a third
    # review: "alike" read from the first 8 losses alone said it measured nothing).
    x = torch.randn(640, 20, generator=g)
    data = torch.utils.data.TensorDataset(x, (x[:, :3].sum(1) > 0).long())
    loader = torch.utils.data.DataLoader(data, batch_size=32, shuffle=True,
                                         generator=torch.Generator().manual_seed(1))
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 3))
    nn.init.zeros_(model[2].weight)
    nn.init.zeros_(model[2].bias)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    res = lr_range_test(model, opt, F.cross_entropy, loader, 1e-7, 10.0, 100, repeats=3,
                        progress=False)
    first, second = res.repeats[0].losses, res.repeats[1].losses
    assert all(math.isclose(a, b, rel_tol=1e-5) for a, b in zip(first[:8], second[:8], strict=True))
    assert not any("very same curve" in w or "all of the data" in w for w in res.warnings())
    assert res.spread() is not None

    # All the data in every step and a random augmentation: the repeats differ by it, and
    # by rounding that no tolerance tells apart from it (reviews: with Adam over 300 steps
    # rounding grew to decades by the pick, past a small augmentation's difference); the
    # loader decides, and the spread is not given
    class Noisy(torch.utils.data.Dataset):  # type: ignore[type-arg]
        def __init__(self) -> None:
            self.x = torch.randn(40, 5, generator=g)

        def __len__(self) -> int:
            return 40

        def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
            x = self.x[i]
            return x + 0.5 * torch.randn(5), (x[0] > 0).long()

    loader = torch.utils.data.DataLoader(Noisy(), batch_size=64, shuffle=True)
    model = nn.Sequential(nn.Linear(5, 32), nn.ReLU(), nn.Linear(32, 2))
    nn.init.zeros_(model[2].weight)
    nn.init.zeros_(model[2].bias)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    res = lr_range_test(model, opt, F.cross_entropy, loader, 1e-7, 10.0, 100, repeats=3,
                        progress=False, seed=0)
    assert res.provenance["whole_data_steps"] is True
    assert res.spread() is None
    assert any("every step trained on all of the data" in w for w in res.warnings())


def test_every_step_on_all_of_the_data_is_told_from_the_loader_alone() -> None:
    """A review: a batch count at most accumulation_steps was read as "every step trains on all
    of the data", but a sampler drawing with replacement or a subsample, drop_last, or 3
    batches accumulated 4 at a time give each step other examples."""
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

    from superconverge.finder._restore import unwrapped_loaders
    from superconverge.finder.range_test import _whole_data_steps

    data = TensorDataset(torch.arange(40.0))

    class Wrapper:  # a notebook's DeviceDataLoader: no len() of its own
        def __init__(self, dl: DataLoader) -> None:
            self.dl = dl

        def __iter__(self):  # type: ignore[no-untyped-def]
            return iter(self.dl)

    def whole(loader: object, steps: int = 1) -> bool:
        return _whole_data_steps(loader, unwrapped_loaders(loader), steps) is not None

    assert whole(DataLoader(data, batch_size=64, shuffle=True))
    assert whole(DataLoader(data, batch_size=40))
    assert whole(DataLoader(data, batch_size=10, shuffle=True), 4)
    assert whole(DataLoader(data, batch_size=10, shuffle=True), 8)  # two passes a step
    assert whole(Wrapper(DataLoader(data, batch_size=64, shuffle=True)))
    assert whole(DataLoader(data, batch_size=20, drop_last=True), 2)  # drops nothing
    assert whole(DataLoader(data, batch_size=16), 3)  # 3 batches, 3 a step
    # ... but shuffled, the last batch of 8 weighs as much as a batch of 16, and which 8 it
    # draws changes each step's loss (a bug bash: picks 0.12 decades apart, said alike)
    assert not whole(DataLoader(data, batch_size=16, shuffle=True), 3)
    assert whole(DataLoader(data, batch_size=20, shuffle=True), 2)
    assert not whole(DataLoader(data, batch_size=16, shuffle=True), 2)
    assert not whole(DataLoader(data, batch_size=14, shuffle=True), 4)  # 3 a pass
    assert not whole(DataLoader(data, batch_size=32, drop_last=True))  # 8 left out
    assert not whole(DataLoader(data, batch_size=40, sampler=RandomSampler(
        data, replacement=True)))
    assert not whole(DataLoader(data, batch_size=32, sampler=RandomSampler(
        data, num_samples=32)))
    assert whole(DataLoader(data, batch_sampler=BatchSampler(RandomSampler(data), 40, False)))
    assert not whole([next(iter(DataLoader(data, batch_size=40)))])  # a list: no loader
    assert not whole(DataLoader(data, batch_size=10, shuffle=True), 1)
    # (a fourth review) what may subsample: a collate_fn, a subclass, a sampler over part of
    # the data, a wrapper whose own len() cuts a pass
    from torch.utils.data import SequentialSampler, default_collate

    def half(batch: list) -> object:  # type: ignore[type-arg]
        return default_collate(batch[: len(batch) // 2])

    class Loader(DataLoader):  # type: ignore[type-arg]
        pass

    class Cut(Wrapper):
        def __len__(self) -> int:
            return 1

    assert not whole(DataLoader(data, batch_size=40, collate_fn=half))
    assert not whole(Loader(data, batch_size=40))
    assert not whole(DataLoader(data, batch_size=40, sampler=SequentialSampler(range(10))))
    assert not whole(Cut(DataLoader(data, batch_size=20)), 2)
    assert whole(Cut(DataLoader(data, batch_size=40)))
    # accumulated whole passes: the advice names accumulation_steps too
    from torch.nn import functional as F

    from superconverge import lr_range_test

    x = torch.randn(40, 4, generator=torch.Generator().manual_seed(0))
    pairs = TensorDataset(x, (x[:, 0] > 0).long())
    model = torch.nn.Linear(4, 2)
    res = lr_range_test(model, torch.optim.SGD(model.parameters(), lr=0.1), F.cross_entropy,
                        DataLoader(pairs, batch_size=10, shuffle=True), 1e-3, 1.0, 10,
                        accumulation_steps=4, repeats=2, progress=False)
    assert res.provenance["whole_data_steps"] is True and res.spread() is None
    assert any(w.endswith("(a smaller batch, or fewer accumulation_steps than its batches a "
                          "pass)") for w in res.warnings())
    assert res.provenance["batches_a_pass"] == 4


def test_repeats_alike_because_empty_or_constant_say_nothing_of_the_data_order() -> None:
    """An audit: repeats of a loss NaN at once, or of a constant loss, are alike whatever the
    data's order, and were told their loader did not shuffle (it did)."""
    flat = curve([0.5] * len(LRS), "completed")
    empty = Curve([], [], [], "nan")
    for same in (flat, empty):
        res = RangeTestResult(lrs=same.lrs, losses=same.losses, smoothed=same.smoothed,
                              stop_reason=same.stop_reason, num_iter=len(LRS),
                              repeats=(same, same, same))
        assert not any("very same curve" in w for w in res.warnings()), res.warnings()


def test_an_lr_range_under_half_a_decade_is_drawn_on_a_linear_axis() -> None:
    lrs = np.geomspace(1e-3, 2.9e-3, 40)
    losses = list(np.linspace(2.0, 1.0, 40))
    res = RangeTestResult(lrs=lrs, losses=losses, smoothed=losses, stop_reason="completed",
                          num_iter=40)
    assert res.plot().get_xscale() == "linear"


def test_a_nan_tail_is_drawn_as_the_rules_read_it() -> None:
    """Points past the first NaN (a hand-built or converted result): the smoothed line and the
    suggestion's dot are those of the finite part, and the title says where it ends."""
    i = np.arange(len(LRS))
    losses = np.where(i < 50, 2.3 - 0.0005 * i**2, np.nan).tolist()
    res = RangeTestResult(lrs=LRS.tolist(), losses=losses, smoothed=losses, stop_reason="nan",
                          num_iter=len(LRS), config={"method": "steepest"})
    ax = res.plot(None)
    lines = {line.get_label(): np.asarray(line.get_ydata(), float) for line in ax.get_lines()}
    assert np.isfinite(lines["smoothed loss"]).sum() == 50
    dot = next(v for k, v in lines.items() if k.startswith("suggested lr"))
    assert np.isfinite(dot).all()
    assert f"loss not finite from lr {LRS[50]:.3g}" in ax.get_title()


@pytest.mark.parametrize("skipped", [3, [1, None], ["a"], "7", [-5]])
def test_a_malformed_skipped_steps_is_ignored_by_the_plot_as_by_warnings(skipped) -> None:
    res = dataclasses.replace(make_result(), provenance={"skipped_steps": skipped})
    assert res.most_skipped() == 0
    assert "GradScaler" not in res.plot(None).get_title()


def test_a_numpy_seed_is_kept_as_an_int_and_written(tmp_path) -> None:
    res = dataclasses.replace(make_result(), seed=np.int64(3))
    assert type(res.seed) is int
    assert RangeTestResult.from_json(res.to_json(tmp_path / "r.json")).seed == 3


def test_the_nan_line_of_a_huge_num_iter_is_found_without_tabulating_the_sweep() -> None:
    """A file may say num_iter=10**9: the dashed line's LR is found by bisection, not from a
    table of 10**9 LRs (which took the machine's memory)."""
    from superconverge.schedules import exponential

    n = 10**9
    sweep = exponential(1e-6, 10.0, n)
    lrs = [sweep(k) for k in range(0, 40)]
    losses = [2.0 - 0.01 * k for k in range(40)]
    res = RangeTestResult(lrs=lrs, losses=losses, smoothed=losses, stop_reason="nan",
                          num_iter=n, config={"start_lr": 1e-6, "end_lr": 10.0, "num_iter": n,
                                              "mode": "exp"})
    ax = res.plot(None)
    nan_line = next(line for line in ax.get_lines()
                    if str(line.get_label()).startswith("loss or gradients not finite"))
    assert nan_line.get_xdata()[0] == pytest.approx(sweep(40))


def test_the_legend_is_beside_a_figure_of_ours_and_inside_a_callers_axes() -> None:
    """Inside, "best" could still cover the sweep's start (which a warning may be about)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ax = make_result().plot()
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    beside = ax.get_legend().get_window_extent(renderer)
    assert beside.x0 >= ax.get_window_extent(renderer).x1
    assert beside.x1 <= ax.figure.bbox.x1  # and not cut off by the figure's edge
    fig = Figure()
    FigureCanvasAgg(fig)
    own = fig.add_subplot()
    make_result().plot(own)
    fig.canvas.draw()
    inside = own.get_legend().get_window_extent(fig.canvas.get_renderer())
    assert own.get_window_extent(fig.canvas.get_renderer()).contains(inside.x0 + 1, inside.y0 + 1)


def test_a_result_prints_as_one_line_that_says_what_it_found() -> None:
    """print(result) was every value of every series (a screenful for 100 steps)."""
    res = make_result()
    text = repr(res)
    assert "\n" not in text and len(text) < 200, text
    assert text.startswith(f"RangeTestResult({res.stop_summary()}, {len(res.lrs)} points, lr ")
    assert f"suggestion={res.suggestion():.3g} (default)" in text
    assert repr(Curve(res.lrs[:2], res.losses[:2], res.smoothed[:2], "completed", seed=3)) == (
        f"Curve(2 points, lr {res.lrs[0]:.3g}..{res.lrs[1]:.3g}, completed, seed=3)")
    empty = RangeTestResult((), (), (), "error", num_iter=5)
    assert repr(empty) == ("RangeTestResult(error after 0 of 5 steps, no points, no suggestion, "
                           "seed=None)")
    assert str(res) == text


def test_labels_tell_apart_the_lrs_of_a_narrow_sweep() -> None:
    """A sweep cut short over 1.000e-7..1.007e-7 read "bounds 1e-07 – 1e-07" and "suggested lr
    1e-07" at two digits; the digits grow as the span narrows, and stay 2 over decades."""
    t = np.linspace(-3, 3, 60)
    losses = (2.0 - 1.0 / (1 + np.exp(-2 * t)) + np.where(t > 2, 3 * (t - 2) ** 2, 0)).tolist()
    narrow = RangeTestResult(lrs=np.geomspace(1e-7, 1.007e-7, 60).tolist(), losses=losses,
                             smoothed=losses, stop_reason="diverged", num_iter=60)
    base, top = narrow.bounds()
    assert base is not None and top is not None and f"{base:.2g}" == f"{top:.2g}"
    labels = [t.get_text() for t in narrow.plot(None).get_legend().get_texts()]
    bounds = next(t for t in labels if t.startswith("bounds "))
    low, high = bounds.removeprefix("bounds ").split(" – ")
    assert low != high and float(low) == pytest.approx(base, rel=1e-4), bounds
    wide = make_result()
    labels = [t.get_text() for t in wide.plot(None).get_legend().get_texts()]
    pick = wide.suggestion()
    assert pick is not None and f"suggested lr {pick:.2g} (default)" in labels


def test_title_and_notes_wrap_to_the_width_of_the_axes() -> None:
    """On a grid of small axes the title (wrapped at 100 characters) ran into the next panel's
    and the red notes (at 110) off the figure; both now wrap to the axes' own width."""
    from matplotlib.figure import Figure

    lrs = LRS[:20].tolist()
    coarse = RangeTestResult(lrs=lrs, losses=valley()[:20], smoothed=valley()[:20],
                             stop_reason="completed", num_iter=20)
    assert coarse.warnings()
    fig = Figure(figsize=(6.4, 4.8))
    small = fig.subplots(2, 2)[0, 0]
    coarse.plot(small)
    width = small.bbox.width / fig.dpi
    notes = [t.get_text() for t in small.texts if t.get_text().startswith("warning: ")]
    assert notes and width < 3
    assert max(map(len, small.get_title().splitlines())) <= 13 * width + 1
    assert max(map(len, notes[0].splitlines())) <= 19 * width + 1
    own = coarse.plot(None)  # our own figure keeps its wide lines
    assert max(map(len, own.get_title().splitlines())) > 40


def test_the_legend_says_the_loss_is_the_mean_of_the_repeats() -> None:
    """With repeats the drawn loss is their pointwise mean, which the legend did not say."""
    done = (curve(valley(0.0, noise=0.01, seed=0), seed=0),
            curve(valley(0.05, noise=0.01, seed=1), seed=1))
    labels = [t.get_text() for t in make_result(repeats=done).plot(None).get_legend().get_texts()]
    assert "loss (mean of 2 repeats)" in labels
    labels = [t.get_text() for t in make_result().plot(None).get_legend().get_texts()]
    assert "loss" in labels


def test_a_one_point_curve_is_a_dot_and_no_points_still_label_the_axes() -> None:
    one = RangeTestResult(lrs=[1e-3], losses=[2.0], smoothed=[2.0], stop_reason="diverged",
                          num_iter=10)
    ax = one.plot(None)
    assert any(line.get_marker() == "o" and len(line.get_xdata()) == 1 for line in ax.lines)
    none = RangeTestResult(lrs=[], losses=[], smoothed=[], stop_reason="interrupted",
                           num_iter=10)
    ax = none.plot(None)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("learning rate", "loss")


def test_a_later_repeat_cut_short_counts_steps_not_points_and_knows_when_all_finished() -> None:
    """With GradScaler skips the cut-short summary counted points as steps ("completed after 98
    of 100"); and a Ctrl-C after the last sweep named a repeat that never was."""
    losses = valley(noise=0.01)
    n = len(LRS)
    done = Curve(LRS[:-2].tolist(), losses[:-2], bias_corrected_ema(losses[:-2], 0.98),
                 "completed", 0)  # two steps skipped: no points
    cut = cut_short(valley(0.0, noise=0.01, seed=2), 30, "interrupted")
    res = RangeTestResult(
        lrs=done.lrs, losses=done.losses, smoothed=done.smoothed, stop_reason="interrupted",
        num_iter=n, config={"repeats": 5}, repeats=(done, cut),
        provenance={"seed": 0, "skipped_steps": [2, 1]})
    back = RangeTestResult.from_dict(res.to_dict())
    for r in (res, back):
        assert r.stop_summary() == (
            f"interrupted in repeat 2 of 5 after 31 of {n} steps; the curve is the first "
            f"repeat's, completed after {n} of {n} steps (GradScaler skipped up to 2 steps a "
            "repeat: no points)")
    every = RangeTestResult(
        lrs=done.lrs, losses=done.losses, smoothed=done.smoothed, stop_reason="interrupted",
        num_iter=n, config={"repeats": 2}, repeats=(done, done), provenance={"seed": 0})
    assert every.stop_summary().startswith(
        "interrupted after all 2 repeats had finished; the curve is the mean of the 2")


def test_an_old_file_s_mean_cut_where_a_later_repeat_stopped_is_read_as_cut() -> None:
    """A bug bash: versions before the finished repeats' whole mean was kept stored their
    mean cut at the cut repeat's length; read now as the finished repeats' curve, 60 of 300
    points were "completed after 300 of 300 steps" and told to raise end_lr."""
    losses = valley(noise=0.01)
    n = len(LRS)
    done = [Curve(LRS.tolist(), losses, bias_corrected_ema(losses, 0.98), "completed", s)
            for s in (0, 1)]
    cut = cut_short(valley(0.0, noise=0.01, seed=2), 30, "interrupted")
    old = RangeTestResult(
        lrs=cut.lrs, losses=losses[:len(cut.lrs)], smoothed=cut.smoothed,
        stop_reason="interrupted", num_iter=n, config={"repeats": 5},
        repeats=(*done, cut), provenance={"seed": 0})
    back = RangeTestResult.from_dict(old.to_dict())
    for r in (old, back):
        assert r.curve_stop_reason == "interrupted"
        assert r.stop_summary() == f"interrupted after {len(cut.lrs)} of {n} steps"
        assert r.warnings()[0].startswith(f"the sweep was cut short (interrupted after "
                                          f"{len(cut.lrs)} of {n} steps, up to lr=")
    import matplotlib.pyplot as plt

    try:  # (a review: the legend called it the finished repeats' mean; it is all three's)
        labels = [line.get_label() for line in old.plot(None).get_lines()]
        assert "loss (mean of 3 repeats)" in labels, labels
    finally:
        plt.close("all")
    new = dataclasses.replace(old, lrs=done[0].lrs, losses=done[0].losses,
                              smoothed=done[0].smoothed)
    try:
        assert "loss (mean of 2 repeats)" in [x.get_label() for x in new.plot(None).get_lines()]
    finally:
        plt.close("all")
    assert new.curve_stop_reason == "completed"
    assert new.stop_summary().startswith(f"interrupted in repeat 3 of 5 after {len(cut.lrs)} of "
                                         f"{n} steps; the curve is the mean of the 2 finished")


def test_repeats_with_skipped_steps_count_steps_as_one_sweep_does() -> None:
    """An audit: one sweep with 4 of 20 steps skipped said "completed after 20 of 20 steps",
    the same sweep repeated twice "completed after 16 of 20 steps" (its points); a diverged
    pair counted the shared points, not the steps the first to stop ran."""
    losses = valley(noise=0.01)
    n = len(LRS)

    def first(k: int, stop: str, seed: int) -> Curve:  # the curve's first k points
        return Curve(LRS[:k].tolist(), losses[:k], bias_corrected_ema(losses[:k], 0.98), stop,
                     seed)

    done = first(n - 4, "completed", 0)
    res = RangeTestResult(lrs=done.lrs, losses=done.losses, smoothed=done.smoothed,
                          stop_reason="completed", num_iter=n, repeats=(done, done),
                          provenance={"seed": 0, "skipped_steps": [4, 4]})
    assert res.stop_summary() == (f"completed after {n} of {n} steps (GradScaler skipped up "
                                  "to 4 steps a repeat: no points)")
    early, late = first(60, "diverged", 1), first(70, "diverged", 2)
    res = RangeTestResult(lrs=early.lrs, losses=early.losses, smoothed=early.smoothed,
                          stop_reason="diverged", num_iter=n, repeats=(late, early),
                          provenance={"seed": 0, "skipped_steps": [1, 3]})
    assert res.stop_summary() == (f"diverged after 63 of {n} steps in the repeat that stopped "
                                  "first (GradScaler skipped up to 3 steps a repeat: no points)")


@pytest.mark.parametrize("mode", ["linear", "exp"])
def test_a_skipped_step_breaks_the_line_in_either_sweep_mode(mode: str) -> None:
    """The grid is the config's: a linear sweep's steps are equal in LR, not in log-LR (read
    as log steps, a linear sweep's early points would all look like gaps)."""
    from superconverge.schedules import exponential, linear

    n = 30
    sweep = (linear if mode == "linear" else exponential)(1e-3, 1.0, n)
    kept = [k for k in range(n) if k != 12]  # step 12 skipped by a GradScaler
    lrs = [sweep(k) for k in kept]
    losses = [2.0 - 0.01 * k for k in kept]
    config = {"start_lr": 1e-3, "end_lr": 1.0, "num_iter": n, "mode": mode}
    res = RangeTestResult(lrs, losses, losses, "completed", num_iter=n, config=config)
    raw = next(line for line in res.plot(None).get_lines() if line.get_label() == "loss")
    xs = np.asarray(raw.get_xdata(), float)
    assert np.isnan(xs).sum() == 1 and xs[12] != xs[12]  # the break where step 12 would be
    whole = RangeTestResult([sweep(k) for k in range(n)], [2.0] * n, [2.0] * n, "completed",
                            num_iter=n, config=config)
    raw = next(line for line in whole.plot(None).get_lines() if line.get_label() == "loss")
    assert not np.isnan(np.asarray(raw.get_xdata(), float)).any()


def test_no_nan_line_past_the_end_of_the_sweep() -> None:
    """A "nan" stop at the sweep's last LR has no step after it to mark."""
    from superconverge.schedules import linear

    n = 20
    lrs = [linear(1e-3, 1.0, n)(k) for k in range(n)]
    res = RangeTestResult(lrs, [1.0] * n, [1.0] * n, "nan", num_iter=n,
                          config={"start_lr": 1e-3, "end_lr": 1.0, "num_iter": n,
                                  "mode": "linear"})
    labels = [str(line.get_label()) for line in res.plot(None).get_lines()]
    assert not any(label.startswith("loss or gradients not finite") for label in labels)


def test_a_validation_loss_above_the_whole_frame_is_brought_into_view() -> None:
    """A bug bash: a fine-tuned model's training loss near 0.003 and its validation loss near
    0.63: the frame was the training curve's, and none of the validation loss was drawn. Its
    valley is in view now; a validation loss that dips into the frame keeps the old frame."""
    lrs = np.logspace(-5, 0, 60)
    t = np.log10(lrs)
    train = 0.003 - 0.002 / (1 + np.exp(-3 * (t + 2))) + np.where(t > -0.5, 0.05 * (t + 0.5), 0)
    val = 0.66 - 0.03 / (1 + np.exp(-3 * (t + 2))) + np.where(t > -0.5, 0.5 * (t + 0.5), 0)
    res = RangeTestResult(lrs.tolist(), train.tolist(), bias_corrected_ema(train, 0.98),
                          "completed", num_iter=60, val_losses=val.tolist())
    low, high = res.plot(None).get_ylim()
    assert low <= train.min() and high >= val[: int(np.argmin(val)) + 1].max()
    near = RangeTestResult(lrs.tolist(), train.tolist(), bias_corrected_ema(train, 0.98),
                           "completed", num_iter=60, val_losses=(val - 0.65).tolist())
    assert near.plot(None).get_ylim()[1] < 0.05
    # (one noisy pass does not stretch the frame, reviews: to 42; and a steady fall is seen
    # whole, where a median of it cut a third off)
    spiked, first = val.copy(), val.copy()
    spiked[5] = first[0] = 42.0  # (at the first pass too: its own median once, a review)
    falling = 3.0 - 2.0 * np.minimum(np.arange(60), 40) / 40 + np.where(
        np.arange(60) > 40, 0.1 * (np.arange(60) - 40), 0)
    for v, least, most in ((spiked, val[:20].max(), 5.0), (first, val[:20].max(), 5.0),
                           (falling, 3.0, 4.0)):
        res = RangeTestResult(lrs.tolist(), train.tolist(), bias_corrected_ema(train, 0.98),
                              "completed", num_iter=60, val_losses=v.tolist())
        high = res.plot(None).get_ylim()[1]
        assert least <= high <= most, (high, least)


def test_the_plot_on_a_callers_log_axis_pads_in_decades() -> None:
    """A bug bash: drawn into the caller's log-y Axes, the 5% pad below the lowest loss went
    below 0, and matplotlib ignored it with a warning of a limit the caller had not set."""
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    ax.set_yscale("log")
    losses = np.geomspace(2.3, 1e-3, 40).tolist()
    res = RangeTestResult(np.logspace(-5, 0, 40).tolist(), losses,
                          bias_corrected_ema(losses, 0.98), "completed", num_iter=40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res.plot(ax)
    low, high = ax.get_ylim()
    assert 0 < low < 1e-3 and high > 2.3 and ax.get_yscale() == "log"
    # (limits read in logs, within the float range: a review's overflow to inf)
    for losses in ([1e-5] + [1.7e308] * 19, [1e-300] + [1.7e308] * 19, [1.7e308] * 20):
        ax = Figure().add_subplot()
        ax.set_yscale("log")
        res = RangeTestResult(np.logspace(-5, 0, 20).tolist(), losses,
                              [min(x, 1e308) for x in losses], "completed", num_iter=20)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (matplotlib's of a log axis at the float limit)
            res.plot(ax)
        low, high = ax.get_ylim()
        assert low < high < np.inf, losses[0]


def test_a_curve_that_hardly_falls_is_framed_whole() -> None:
    """An interrupted sweep's flat, noisy curve: its smoothed loss dipped 1% at the start, and
    the frame (25% of that dip above the start) cut every later point out of view."""
    losses = [0.729, 0.719, 0.722, 0.728, 0.776, 0.784, 0.804, 0.737, 0.776, 0.808, 0.675,
              0.748, 0.735, 0.788, 0.736, 0.741, 0.82, 0.758, 0.742, 0.782, 0.78, 0.719, 0.746,
              0.736]  # an MLP's first 24 of 50 steps, Ctrl-C at the 25th
    lrs = np.logspace(-5, -2.2, 24).tolist()
    res = RangeTestResult(lrs, losses, bias_corrected_ema(losses, 0.98), "interrupted",
                          num_iter=50)
    low, high = res.plot(None).get_ylim()
    from superconverge.finder.suggest import smooth_centered

    shown = smooth_centered(np.asarray(losses))
    assert low <= shown.min() and shown.max() <= high
    assert high - low < 0.3  # still framed on the curve, not on 0


def test_a_curve_that_only_rises_shows_its_start_not_its_blow_up() -> None:
    """With diverge_factor=None a sweep from too high a start_lr rose to 1e36, and the frame
    reached up there: the whole curve a flat line at 0."""
    losses = [0.729, 0.708, 4.18, 8.24, 4.31, 22.5, 232, 3.11e3, 1.85e4, 3.86e5, 3.13e6,
              1.39e7, 8.12e9, 9.63e11, 4.28e13, 5.24e14, 1.86e17, 6.22e19, 2.36e22, 4.81e25]
    lrs = np.logspace(0.5, 2.4, len(losses)).tolist()
    res = RangeTestResult(lrs, losses, bias_corrected_ema(losses, 0.98), "completed",
                          num_iter=len(losses))
    ax = res.plot(None)
    low, high = ax.get_ylim()
    assert low < 0.708 and high < 5  # the first points, and the rise leaving the frame
    labels = [str(t.get_text()) for t in ax.get_legend().get_texts()]
    assert any(label.endswith("above the frame (max 4.81e+25)") for label in labels)


@pytest.mark.parametrize(("name", "level", "fall"), [
    ("cross-entropy that falls 3%", 2.30, 0.08),
    ("a negative log-likelihood", -50.0, 2.0),
])
@pytest.mark.parametrize("stop", ["diverged", "interrupted", "completed"])
def test_a_small_fall_before_a_blow_up_fills_most_of_the_frame(name, level, fall, stop) -> None:
    """The blow-up is cut by the fall's size, not the loss's level: room of a tenth of the
    level (tried for flat curves) left a 0.08 fall at 2.3 a fifth of the frame."""
    from superconverge.finder.suggest import smooth_centered

    rng = np.random.default_rng(0)
    descent = level - fall * np.r_[np.zeros(30), np.linspace(0, 1, 40)]
    losses = np.r_[descent + rng.normal(0, 0.005, 70),
                   (level - fall) + abs(level) * (np.exp(np.linspace(0.05, 6, 25)) - 1)]
    lrs = np.logspace(-5, 1, len(losses)).tolist()
    # (Ctrl-C while the loss climbs, or a climb under the divergence factor, is a blow-up too)
    res = RangeTestResult(lrs, losses.tolist(), bias_corrected_ema(losses.tolist(), 0.98),
                          stop, num_iter=len(losses))
    low, high = res.plot(None).get_ylim()
    shown = smooth_centered(losses[:70])
    assert (shown.max() - shown.min()) / (high - low) > 0.5, name


@pytest.mark.parametrize("stop", ["completed", "interrupted"])
def test_a_curve_with_no_fall_that_rises_is_framed_on_its_rise(stop) -> None:
    """No fall to cut a blow-up by: the cut sat on the first point, and the whole rise was
    triangles above a frame of the first point's noise."""
    rng = np.random.default_rng(0)
    losses = (np.linspace(2.3, 3.0, 60) + rng.normal(0, 0.01, 60)).tolist()
    res = RangeTestResult(np.logspace(-5, 0, 60).tolist(), losses,
                          bias_corrected_ema(losses, 0.98), stop, num_iter=60)
    low, high = res.plot(None).get_ylim()
    assert low < 2.31 and high > 2.95


@pytest.mark.parametrize("mode", ["exp", "linear"])
def test_a_sweep_cut_short_keeps_the_warnings_about_its_start(mode) -> None:
    """A cut-short sweep drops the advice its cut makes moot (num_iter, end_lr), and dropped a
    linear sweep's "start_lr is already too high" with it, whose advice reads "raise num_iter"
    (an audit: the exp sweep kept it)."""
    lrs = np.logspace(-7, 1, 100) if mode == "exp" else np.linspace(1e-3, 10, 100)
    t = np.log10(np.logspace(-7, 1, 100))
    loss = 2.3 - 2.0 / (1 + np.exp(-2.0 * (t + 3)))
    loss[1:4] = [10.5, 8.3, 3.4]  # blows up at once, then falls back below its start
    cut = RangeTestResult(lrs=list(lrs[:60]), losses=list(loss[:60]),
                          smoothed=list(loss[:60]), stop_reason="interrupted", num_iter=100,
                          config={"mode": mode, "end_lr": float(lrs[-1])})
    warned = cut.warnings()
    assert warned[0].startswith("the sweep was cut short") and any(
        w.startswith("the loss jumped from 2.3 to 10.5") for w in warned), warned


@pytest.mark.parametrize("config", [{"num_iter": float("inf")}, {"num_iter": 10**40},
                                    {"end_lr": 1e308}, {"end_lr": float("inf")}])
def test_a_config_no_sweep_could_have_is_drawn_without_its_grid(tmp_path, config) -> None:
    """A hand-edited config (num_iter 1e999, end_lr 1e308) read, then failed the plot with
    OverflowError or the ramp's own error; the plot falls back, as for any unusable config."""
    lrs = list(np.logspace(-4, 1, 30))
    losses = list(np.linspace(2, 1, 25)) + [float("nan")] * 5
    cfg = {"start_lr": 1e-4, "end_lr": 10.0, "num_iter": 30, "mode": "exp", **config}
    result = RangeTestResult(lrs=lrs, losses=losses, smoothed=losses, stop_reason="nan",
                             num_iter=30, config=cfg)
    result.plot(tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 0


@pytest.mark.parametrize(("options", "error", "said"), [
    ({"dpi": 0}, ValueError, "dpi must be >= 10, got 0"),
    ({"dpi": 5}, ValueError, "dpi must be >= 10"),  # FreeType: "invalid ppem value"
    ({"dpi": 1.5}, TypeError, "dpi must be an int"),
    ({"dpi": True}, TypeError, "dpi must be an int"),
    ({"show_bounds": "no"}, TypeError, "show_bounds must be"),
    ({"show_raw": 1.0}, TypeError, "show_raw must be"),
])
def test_plot_options_are_checked_by_name(tmp_path, options, error, said) -> None:
    """An audit: dpi=0 was a ZeroDivisionError, 1.5 a FreeType error, "no" a true flag."""
    with pytest.raises(error, match=said):
        make_result().plot(tmp_path / "p.png", **options)
    assert list(tmp_path.iterdir()) == []


def test_a_sweep_cut_short_while_flat_is_not_told_to_lower_start_lr() -> None:
    """find-lr --num-iter 100000 stopped after 1361 steps, its loss still flat at lr 1e-7:
    beside "run it to its end" it was told "the loss never decreased: lower start_lr". One cut
    short after its loss rose clearly from the start is still told so."""
    lrs = tuple(np.geomspace(1e-7, 1.3e-7, 40).tolist())
    config = {"start_lr": 1e-7, "end_lr": 10.0, "num_iter": 1000, "mode": "exp"}
    for reason in ("interrupted", "error"):
        flat = tuple(np.linspace(2.300, 2.302, 40).tolist())
        said = RangeTestResult(lrs=lrs, losses=flat, smoothed=flat, stop_reason=reason,
                               num_iter=1000, config=config).warnings()
        assert len(said) == 1 and said[0].startswith("the sweep was cut short"), said
        rose = tuple(np.linspace(2.3, 3.5, 40).tolist())
        said = RangeTestResult(lrs=lrs, losses=rose, smoothed=rose, stop_reason=reason,
                               num_iter=1000, config=config).warnings()
        assert said[1:] == ["the loss never decreased: lower start_lr or check the data and "
                            "loss"], said


def test_a_config_end_lr_no_float_holds_is_left_unsaid(tmp_path) -> None:
    """A hand-edited end_lr of 10**400 (an int JSON keeps) loaded, then warnings(), to_dict(),
    plot() and `schedule --from-lr-find` failed with a bare OverflowError."""
    lrs = tuple(np.geomspace(1e-4, 1.0, 30).tolist())
    losses = tuple(np.linspace(2.3, 1.0, 30).tolist())
    res = RangeTestResult(lrs=lrs, losses=losses, smoothed=losses, stop_reason="interrupted",
                          num_iter=100, config={"start_lr": 1e-4, "end_lr": 10**400,
                                                "num_iter": 100, "mode": "exp"})
    assert res.warnings()[0].startswith("the sweep was cut short (interrupted after 30 of 100 "
                                        "steps, up to lr=1): ")
    res.to_json(tmp_path / "r.json")
    res.plot(tmp_path / "r.png")
    assert RangeTestResult.from_json(tmp_path / "r.json").warnings() == res.warnings()


def test_a_repeat_that_diverged_at_its_end_stopped_before_one_whose_last_steps_were_skipped(
) -> None:
    """Two repeats: one completed with GradScaler skipping its last 3 steps (its last point 3
    LRs short of end_lr), one diverged at its last step. The mean took the stop reason of the
    curve whose last point came first, "completed", and its warnings read it so."""
    from superconverge.finder.range_test import _assemble, _HostCurve

    num_iter = 40
    table = np.geomspace(1e-4, 1.0, num_iter).tolist()
    falling = np.linspace(2.3, 0.5, num_iter)
    done = _HostCurve(table, 0.98, 4.0, 0, has_val=False)
    done.feed(falling.tolist(), None, [False] * (num_iter - 3) + [True] * 3)
    blew = _HostCurve(table, 0.98, 4.0, 1, has_val=False)
    blew.feed([*falling[:-1].tolist(), 1e6])
    curves = [done.curve(done.stop_reason or "completed"),
              blew.curve(blew.stop_reason or "completed")]
    assert [c.stop_reason for c in curves] == ["completed", "diverged"]
    assert curves[0].lrs[-1] < curves[1].lrs[-1]
    for order in (curves, curves[::-1]):
        assert _assemble(list(order), num_iter, 0.98, {}, {"seed": 0}).stop_reason == "diverged"
    assert _assemble(curves[:1], num_iter, 0.98, {}, {"seed": 0}).stop_reason == "completed"
    res = _assemble(curves, num_iter, 0.98, {}, {"seed": 0, "skipped_steps": [3, 0]})
    assert res.stop_summary() == ("diverged after 40 of 40 steps in the repeat that stopped "
                                  "first (GradScaler skipped up to 3 steps a repeat: no points)")
    # The same two finished before Ctrl-C cut a third: the curve is theirs, and it ended as
    # the diverged one did (curve_stop_reason read the lowest last LR alone: "completed").
    cut = _HostCurve(table, 0.98, 4.0, 2, has_val=False)
    cut.feed(falling[:5].tolist())
    res = _assemble([*curves, cut.curve("interrupted")], num_iter, 0.98, {}, {"seed": 0},
                    stop_reason="interrupted", mean_of=curves)
    assert res.stop_reason == "interrupted" and res.curve_stop_reason == "diverged"


def test_a_result_keeps_copies_of_its_config_and_provenance_and_is_hashable() -> None:
    """A review: changing the dict to_dict returned, or the one a result was read from, changed
    the result (its skipped steps, what stop_summary said); hash() raised on its dicts."""
    res = dataclasses.replace(make_result(), provenance={"skipped_steps": [0], "seeds": [1]})
    d = res.to_dict()
    d["provenance"]["skipped_steps"][0] = 7
    d["config"]["mode"] = "linear"
    assert res.most_skipped() == 0 and res.config["mode"] == "exp"
    src = res.to_dict()
    again = RangeTestResult.from_dict(src)
    src["provenance"]["seeds"].append(2)
    assert again.provenance["seeds"] == [1] and again == res
    given = {"mode": "exp", "nested": {"a": [1]}}
    built = dataclasses.replace(res, config=given)
    given["nested"]["a"].append(2)
    assert built.config["nested"] == {"a": [1]}
    assert hash(res) == hash(again) and len({res, again, built}) == 2
    # The containers are copied, not the objects in them: a user's object in memory keeps its
    # identity, and two results built from it stay equal (a review of the first version,
    # which deep-copied everything).
    tag = object()
    odd = dataclasses.replace(res, provenance={"run": tag, "runs": [tag, (tag, {"t": tag})]})
    assert odd.provenance["run"] is tag and odd.provenance["runs"][1][1]["t"] is tag
    assert dataclasses.replace(odd) == odd
    # ... of their own types, and what cannot be rebuilt is kept (a review of the second
    # version: sys.version_info raised, an OrderedDict came back a dict)
    import collections
    import sys

    counts = collections.defaultdict(list, {"a": [1]})
    kinds = dataclasses.replace(res, provenance={
        "python": sys.version_info, "order": collections.OrderedDict(b=1, a=2),
        "counts": counts, "pair": collections.namedtuple("P", "x y")(1, [2])})
    p = kinds.provenance
    assert p["python"] is sys.version_info and type(p["order"]) is collections.OrderedDict
    assert p["counts"]["new"] == [] and p["counts"] is not counts and "new" not in counts
    assert type(p["pair"]).__name__ == "P" and p["pair"].y == [2]
    assert tuple(kinds.to_dict()["provenance"]["python"]) == tuple(sys.version_info)
    # filled through dict's own methods: a Counter's update counts pairs (a review of the
    # third version); a dict whose __copy__ gives back itself was emptied
    class Same(dict):
        def __copy__(self):
            return self

    theirs = Same(a=[1])
    counted = dataclasses.replace(res, provenance={
        "counts": collections.Counter(cat=2, dog=1), "same": theirs})
    assert counted.provenance["counts"] == {"cat": 2, "dog": 1}
    assert type(counted.provenance["counts"]) is collections.Counter
    assert theirs == {"a": [1]} and counted.provenance["same"] == {"a": [1]}

    class Proxied(dict):  # (a __copy__ that gives another kind of mapping: a plain copy)
        def __copy__(self):
            return types.MappingProxyType(dict(self))

    cache = {"k": "cache"}

    class Cached(dict):  # (a __copy__ that gives back a dict it keeps: not refilled)
        def __copy__(self):
            return cache

    assert dataclasses.replace(res, provenance={"c": Cached(a=[1])}).provenance["c"] == {
        "a": [1]} and cache == {"k": "cache"}
    shared = [1]
    proxied = Proxied(a=shared)
    proxied["me"] = shared
    kept = dataclasses.replace(res, provenance={"p": proxied, "b": shared}).provenance
    assert kept["p"] == {"a": [1], "me": [1]} and kept["p"]["a"] is kept["b"]
    assert counted.to_dict()["provenance"]["counts"] == {"cat": 2, "dog": 1}


def test_a_result_saved_again_with_a_byte_order_mark_is_read(tmp_path) -> None:
    """A review: the JSON re-saved by Notepad (UTF-8 with a BOM) was "not a valid range-test
    result: Unexpected UTF-8 BOM (decode using utf-8-sig)"."""
    res = make_result()
    path = res.to_json(tmp_path / "r.json")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert RangeTestResult.from_json(path) == res


def test_the_plots_notes_break_lines_between_words_only() -> None:
    """A review: textwrap broke the notes at hyphens, so a flag the note advised was split over
    two lines ("--end-" / "lr=0.01")."""
    from superconverge.finder.plot import notes_worded

    losses = (2.3 + 0.01 * np.random.default_rng(0).standard_normal(40)).tolist()
    res = RangeTestResult(lrs=np.logspace(-6, -2, 40).tolist(), losses=losses,
                          smoothed=bias_corrected_ema(losses, 0.98), stop_reason="completed",
                          num_iter=40)
    # (words of many lengths between the flags: a flag meets the end of some line at every
    # width from 60 to 160 characters)
    spaced = " ".join(f"{'a' * (i * i % 11 + 1)} --end-lr=0.01" for i in range(80))
    with notes_worded(lambda note: spaced):
        ax = res.plot()
    lines = [line for t in ax.texts for line in t.get_text().splitlines()]
    whole = sum(line.count("--end-lr=0.01") for line in lines)
    assert whole > 0 and whole % 80 == 0, lines  # every flag whole on its line
    assert not [line for line in lines if line.rstrip().endswith("-")]


def test_a_linear_sweeps_no_pick_reason_says_what_the_warning_says() -> None:
    """A review: in linear mode the reason said "lower start_lr if it rose from the start"
    while the warning below it said a linear sweep's first LRs do not move with start_lr."""
    losses = np.linspace(2.3, 4.0, 20).tolist()  # rose from the start
    lrs = np.linspace(0.05, 1.0, 20).tolist()
    for mode, said in (("linear", "sweep exponentially (mode='exp') or raise num_iter if it "
                        "rose from the start (a linear sweep's first LRs are end_lr / "
                        "(num_iter - 1) apart whatever start_lr is)"),
                       ("exp", "lower start_lr if it rose from the start")):
        res = RangeTestResult(lrs=lrs, losses=losses, smoothed=bias_corrected_ema(losses, 0.98),
                              stop_reason="completed", num_iter=20, config={"mode": mode})
        picks = [res.suggest(), *res.suggest_bounds(), res.suggest("valley")]
        assert all(p.lr is None and said in p.reason for p in picks), (mode, picks)
        assert res.to_dict()["suggestion"]["reason"] == res.suggest().reason
        if mode == "linear":
            assert not any("lower start_lr" in x for x in [*res.warnings(), res.suggest().reason])


def test_a_word_longer_than_a_line_starts_its_own_and_is_cut_at_a_hyphen() -> None:
    """A review of the first fix: a long flag was cut anywhere ("--m" / "ax-grad-norm-cli");
    it starts a line of its own and is cut at its last hyphen that fits."""
    from superconverge.finder.plot import _fill

    assert _fill("noise: raise --max-grad-norm-clip", 16).splitlines() == [
        "noise: raise", "--max-grad-norm-", "clip"]
    assert _fill("use a one-cycle-two-phase", 16).splitlines() == [
        "use a", "one-cycle-two-", "phase"]
    assert _fill("short of --end-lr=0.01 here", 16).splitlines() == [
        "short of", "--end-lr=0.01", "here"]
    lines = _fill("a " + "x" * 40 + " b", 16).splitlines()  # no hyphen: cut at the width
    assert lines[0] == "a" and all(len(line) <= 16 for line in lines)


@pytest.mark.parametrize("mode", ["exp", "linear"])
def test_too_few_points_of_a_completed_sweep_are_told_to_raise_num_iter_alone(mode) -> None:
    """A bug bash: lr_range_test takes num_iter from 5, the rules need 8 points, and a sweep
    of 7 that ran every step was told to "raise num_iter or lower start_lr" (lower end_lr in a
    linear one): no LR adds a point."""
    torch = pytest.importorskip("torch")
    import superconverge as sc

    torch.manual_seed(0)
    m = torch.nn.Linear(10, 2)
    batches = [(torch.randn(16, 10), torch.randint(0, 2, (16,))) for _ in range(8)]
    res = sc.lr_range_test(m, torch.optim.SGD(m.parameters(), lr=1e-3),
                           torch.nn.CrossEntropyLoss(), batches, 1e-7, 10, num_iter=7,
                           mode=mode, progress=False)
    advice = ("raise num_iter: a sweep that ran every step has a point a step (less those a "
              "GradScaler skipped), whatever its start_lr and end_lr")
    assert res.warnings() == [f"too few points: 7 finite (need 8); {advice}"]
    for pick in (res.suggest(), *res.suggest_bounds()):
        assert pick.lr is None and pick.reason == f"only 7 finite points (need 8); {advice}"


def test_a_linear_sweeps_other_advice_on_start_lr_is_for_its_mode_too() -> None:
    """A review: "only N finite points ...; raise num_iter or lower start_lr" and the
    extrapolated pick's "lower start_lr to see the curve there" were still an exponential
    sweep's advice on a linear one."""
    lrs = np.linspace(0.1, 1.0, 10).tolist()
    short = [2.3, 2.2, 2.0, 1.8, 1.7, math.nan, math.nan, math.nan, math.nan, math.nan]
    for mode, said in (("linear", "raise num_iter or lower end_lr (a linear sweep's LRs are "
                        "end_lr / (num_iter - 1) apart whatever start_lr is)"),
                       ("exp", "raise num_iter or lower start_lr")):
        res = RangeTestResult(lrs=lrs, losses=short, smoothed=short, stop_reason="nan",
                              num_iter=10, config={"mode": mode})
        assert res.suggest().reason == f"only 5 finite points (need 8); {said}"
        # ... and the warning says the same (a review: "lower start_lr" beside "lower end_lr"),
        # after the data, which a NaN out of a falling loss points at first (a bug bash)
        (warned,) = res.warnings()
        assert warned.startswith("too few points: 5 finite (need 8) before the loss was NaN")
        assert warned.endswith(f"if they are sound, {said}")
    # the minimum rule's pick a tenth of the minimum's LR, below a linear sweep's first LR
    losses = [2.3, 2.0, 1.6, 1.65, 1.9, 2.2] + [2.5 + 0.3 * i for i in range(14)]
    res = RangeTestResult(lrs=np.linspace(0.05, 1.0, 20).tolist(), losses=losses,
                          smoothed=losses, stop_reason="completed", num_iter=20,
                          config={"mode": "linear"})
    assert res.suggest("minimum").lr < res.lrs[0]
    assert any(w.endswith("an extrapolation; sweep exponentially (mode='exp') from a lower "
                          "start_lr to see the curve there") for w in res.warnings("minimum"))


def test_identical_repeats_with_a_nan_are_said_alike_before_and_after_json() -> None:
    """A bug bash: repeats identical up to a NaN loss (separate NaN objects) were told apart,
    spread 0.0 and no warning, and alike once read back from JSON (one NaN object)."""
    import json

    lrs = np.logspace(-7, 1, 100)
    t = np.log10(lrs)
    y = 2.3 - 2 / (1 + np.exp(-2 * (t + 3))) + np.where(t > -1, 5 * (t + 1) ** 2, 0)
    y[-1] = np.nan
    reps = tuple(Curve(lrs=tuple(lrs), losses=tuple(y), smoothed=tuple(y), stop_reason="nan",
                       seed=s) for s in range(3))
    res = RangeTestResult(lrs=tuple(lrs), losses=tuple(y), smoothed=tuple(y),
                          stop_reason="nan", num_iter=100, repeats=reps)
    again = RangeTestResult.from_dict(json.loads(json.dumps(res.to_dict())))
    for r in (res, again):
        assert r.spread() is None
        assert any("gave the very same curve" in w for w in r.warnings())


# --- the ninth bug bash ------------------------------------------------------------------------


def _built(curves: list[list[float]], lrs: list[float]) -> RangeTestResult:
    reps = [Curve(lrs=lrs, losses=c, smoothed=bias_corrected_ema(c, 0.98),
                  stop_reason="completed", seed=i) for i, c in enumerate(curves)]
    mean = [sum(v) / len(curves) for v in zip(*curves, strict=True)]
    return RangeTestResult(lrs=lrs, losses=mean, smoothed=bias_corrected_ema(mean, 0.98),
                           stop_reason="completed", num_iter=len(lrs), repeats=reps,
                           config={"repeats": len(curves)})


def _falling(lrs: list[float], shift: float) -> list[float]:
    return [2.3 - 2.0 / (1 + math.exp(-(math.log10(lr) + shift) * 2))
            + (0 if lr < 1 else 5 * math.log10(lr) ** 2) for lr in lrs]


def test_a_repeat_without_a_pick_is_warned_of_and_not_counted_in_the_spread() -> None:
    """Of three repeats one never decreased: the spread of the other two (0.44 decades) read
    as one over three, without a word."""
    lrs = list(np.logspace(-6, 1, 80))
    flat = [2.3 + (0 if lr < 0.1 else 3 * (math.log10(lr) + 1) ** 2) + 0.001 * math.sin(i)
            for i, lr in enumerate(lrs)]
    res = _built([_falling(lrs, 2), _falling(lrs, 1.5), flat], lrs)
    assert res._repeat_picks()[2] is None and res.spread() == pytest.approx(0.443, abs=1e-3)
    assert ("1 of the 3 repeats gave no default pick, so the pick depends on the batches drawn "
            "more than the spread of the other 2 says") in " ".join(res.warnings())
    both = _built([_falling(lrs, 2), _falling(lrs, 1.5)], lrs)
    assert not any("gave no" in w for w in both.warnings())
    # and the one-line print says the pick is uncertain, as the plot's legend does
    assert "(default, uncertain)" in repr(res) and "uncertain" not in repr(both)


def test_the_plot_of_no_pick_gives_the_curves_own_advice() -> None:
    """A curve flat, then rising: the plot gave the reason's generic "lower start_lr if it rose
    from the start" and dropped the warning's "a lower start_lr would only make that flat
    stretch longer: raise num_iter"."""
    import matplotlib

    matplotlib.use("Agg")
    lrs = list(np.logspace(-5, 1, 60))
    losses = [2.3 + 0.001 * math.sin(i) + (0 if lr < 0.2 else 4 * math.log10(lr / 0.2) ** 2)
              for i, lr in enumerate(lrs)]
    res = _built([losses], lrs)
    assert res.suggestion() is None
    ax = res.plot()
    notes = " ".join(t.get_text() for t in ax.texts).replace("\n", " ")
    said = [w for w in res.warnings() if "never decreased" in w]
    assert said and "would only make that flat stretch longer" in said[0]
    assert f"no suggestion: {said[0]}" in notes and notes.count("never decreased") == 1


def test_a_repeat_stopped_far_short_of_the_others_is_warned_of() -> None:
    """One of 4 repeats stopped "diverged" at its 8th point (a diffusion loss whose first
    batches were low), cutting the mean curve there: a pick 4 decades below the other 3's, and
    no warning said why."""
    lrs = list(np.logspace(-7, 1, 100))
    full = [_falling(lrs, s) for s in (2.0, 2.2, 1.8)]
    cut = [Curve(lrs[:8], full[0][:8], bias_corrected_ema(full[0][:8], 0.98), "diverged",
                 seed=0)]
    reps = cut + [Curve(lrs, c, bias_corrected_ema(c, 0.98), "completed", seed=i + 1)
                  for i, c in enumerate(full)]
    mean = [float(np.mean([c.losses[i] for c in reps])) for i in range(8)]
    res = RangeTestResult(lrs[:8], mean, bias_corrected_ema(mean, 0.98), "diverged",
                          num_iter=100, repeats=tuple(reps), config={"repeats": 4})
    said = res.warnings()
    assert said[0].startswith("repeat 1 of 4 stopped (diverged) after 8 points at lr=3.68e-07, "
                              "where the others ran 100-100: the mean curve, and what is read "
                              "of it, ends there"), said
    assert "run the test again with another seed" in said[0]
    # (a review: most stopped early, one ran on: the lower median reads the others, no warning)
    for lengths in ((20, 22, 90), (20, 22, 24, 90, 95)):
        reps = [Curve(lrs[:n], full[0][:n], bias_corrected_ema(full[0][:n], 0.98),
                      "diverged", seed=i) for i, n in enumerate(lengths)]
        some = RangeTestResult(lrs[:20], full[0][:20], bias_corrected_ema(full[0][:20], 0.98),
                               "diverged", num_iter=100, repeats=tuple(reps))
        assert not any(w.startswith("repeat ") for w in some.warnings()), lengths
    whole = _built(full, lrs)  # (repeats alike in length: not said)
    assert not any(w.startswith("repeat ") for w in whole.warnings())


def test_a_sweep_cut_short_with_too_few_points_is_told_to_run_to_its_end() -> None:
    """A bug bash: a Ctrl-C after 3 points (or before the first) was told "raise num_iter or
    lower start_lr" by the pick's reason, the bounds', the plot and the CLI, beside the
    warning "run it to its end"; its warnings said it twice."""
    from superconverge.recipes import policy_from_range_test

    for n in (0, 3):
        cut = RangeTestResult(LRS[:n].tolist(), valley()[:n], valley()[:n], "interrupted",
                              num_iter=80)
        for pick in (cut.suggest(), *cut.suggest_bounds()):
            assert pick.lr is None and pick.reason.endswith(
                "; the sweep was cut short (Ctrl-C or an error) before it had them: run it to "
                "its end") and "num_iter" not in pick.reason
        said = cut.warnings()
        assert len(said) == 1 and said[0].startswith("the sweep was cut short"), said
        with pytest.raises(ValueError, match="run it to its end; or give lr yourself"):
            policy_from_range_test("fixed", cut, 100)
    done = RangeTestResult(LRS[:3].tolist(), valley()[:3], valley()[:3], "completed",
                           num_iter=3)
    assert "raise num_iter:" in done.suggest().reason  # (a finished one: as before)


def test_the_plot_says_why_too_few_points_in_the_warnings_words() -> None:
    """A bug bash: the plot put the pick's generic reason where the "too few points" warning
    said more (the steps a GradScaler skipped, the data a NaN points at)."""
    losses = [2.3, 2.2, 2.1, 2.0, 1.9, math.nan]
    res = RangeTestResult(LRS[:6].tolist(), losses, losses, "nan", num_iter=80)
    texts = " ".join(t.get_text() for t in res.plot().texts).replace("\n", " ")
    assert f"no suggestion: {res.warnings()[0]}" in texts and "check the data" in texts
    assert texts.count("too few points") == 1


def test_from_json_reads_a_binary_stream_and_names_it_in_errors() -> None:
    """For ``--from-lr-find -``: a stream is read to its end; a text stream is told to be a
    binary one, and a bad stream's error names it."""
    res = RangeTestResult(LRS.tolist(), valley(), valley(), "completed", num_iter=80)
    text = res.to_dict()
    stream = io.BytesIO(json.dumps(text).encode("utf-16"))
    assert RangeTestResult.from_json(stream) == res
    with pytest.raises(TypeError, match=r"from_json reads bytes; .* gave str \(pass a binary"):
        RangeTestResult.from_json(io.StringIO(json.dumps(text)))  # type: ignore[arg-type]
    named = io.BytesIO(b"\x89PNG\r\n\x1a\n...")
    named.name = "<stdin>"
    with pytest.raises(ValueError, match=r"^<stdin> is not a valid range-test result: it is a "
                       "PNG image"):
        RangeTestResult.from_json(named)
    with pytest.raises(ValueError, match=r"^the stream is not a valid range-test result"):
        RangeTestResult.from_json(io.BytesIO(b"{"))


def test_a_result_saved_as_utf16_and_numpy_values_in_a_dict_are_read() -> None:
    """A bug bash: a file saved as UTF-16 (PowerShell 5.1's `>`, Notepad's "Unicode") was
    "'utf-8' codec can't decode byte 0xff"; from_dict refused numpy's float32 values and
    arrays the constructor takes."""
    import tempfile

    res = RangeTestResult(LRS.tolist(), valley(), valley(), "completed", num_iter=80)
    with tempfile.TemporaryDirectory() as folder:
        text = res.to_json(Path(folder) / "lr_find.json").read_text(encoding="utf-8")
        for encoding in ("utf-16", "utf-16-be", "utf-32"):
            path = Path(folder) / f"{encoding}.json"
            bom = b"\xfe\xff" if encoding == "utf-16-be" else b""
            path.write_bytes(bom + text.encode(encoding))
            assert RangeTestResult.from_json(path) == res
    data = res.to_dict()
    data["losses"] = np.asarray(data["losses"], dtype=np.float32)
    data["lrs"] = np.asarray(data["lrs"])
    back = RangeTestResult.from_dict(data)
    assert back.losses == tuple(float(x) for x in np.asarray(valley(), dtype=np.float32))
    assert back.lrs == res.lrs
    with pytest.raises(ValueError, match=r"losses\[0\] must be a number or null"):
        RangeTestResult.from_dict({**data, "losses": [np.bool_(True)] * 80})
    # (a review: object arrays of numbers, a None for NaN, are read as the constructor reads
    # them; datetimes, which tolist() gives as ints, are no numbers)
    objects = RangeTestResult.from_dict(
        {**data, "lrs": np.asarray(res.lrs, dtype=object),
         "losses": np.asarray([None, *valley()[1:]], dtype=object)})
    assert objects.lrs == res.lrs and math.isnan(objects.losses[0])
    with pytest.raises(ValueError, match="lrs must be an array of numbers"):
        RangeTestResult.from_dict({**data, "lrs": np.arange(80).astype("datetime64[s]")})


@pytest.mark.parametrize(("steps", "points", "scale_advice"),
                         [(3, 0, False), (12, 0, True), (40, 2, True), (40, 7, True),
                          (12, 7, False), (7, 1, False)])
def test_the_picks_and_the_warnings_read_a_gradscalers_skips_alike(
        steps: int, points: int, scale_advice: bool) -> None:
    """A final read: the picks' reasons and the warnings tested "the skips took the points" two
    ways. 3 steps, all skipped, were told "lower its init_scale" beside a warning of "raise
    num_iter"; 40 steps with 2 points the other way round. Now one test: the skips took more
    points than they left, and without them the sweep had had enough."""
    lrs = np.logspace(-4, -1, points).tolist()
    losses = [2.3 - 0.01 * i for i in range(points)]
    res = RangeTestResult(lrs, losses, bias_corrected_ema(losses, 0.98) if points else [],
                          "completed", num_iter=steps,
                          config={"start_lr": 1e-4, "end_lr": 1.0, "mode": "exp"},
                          provenance={"skipped_steps": [steps - points]})
    said = res.warnings()
    assert len(said) == 1 and said[0].startswith(f"too few points: {points} finite"), said
    scale = "lower its init_scale or use bfloat16 autocast"
    for pick in (res.suggest(), *res.suggest_bounds()):
        assert pick.lr is None
        assert pick.reason.endswith(scale) is scale_advice, pick.reason
        assert ("raise num_iter" in pick.reason) is not scale_advice, pick.reason
    assert said[0].endswith(scale) is scale_advice, said
    assert ("raise num_iter" in said[0]) is not scale_advice, said


def test_several_range_tests_overlaid_each_in_its_colour_with_its_pick(tmp_path) -> None:
    """A bug bash: range tests at several weight decays (Smith's search, by hand) drawn with
    res.plot(ax) on one Axes came out in one colour, 7 legend entries each, and the last
    one's title; plot_range_tests overlays them, labelled by what differs."""
    import matplotlib.pyplot as plt
    from torch.nn import functional as F

    from superconverge import lr_range_test
    from superconverge.finder import plot_range_tests
    from superconverge.finder.plot import smoothed_as_seen

    x = torch.randn(256, 8, generator=torch.Generator().manual_seed(0))
    y = (x[:, 0] + x[:, 1] > 0).long()
    batches = [(x[i:i + 32], y[i:i + 32]) for i in range(0, 256, 32)]
    results = []
    for wd in (1e-2, 1e-4, 0.0):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(),
                                    torch.nn.Linear(16, 2))
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=wd)
        results.append(lr_range_test(model, opt, F.cross_entropy, batches, 1e-4, 10.0, 60,
                                     progress=False, seed=0))
    open_before = plt.get_fignums()
    ax = plot_range_tests(results, tmp_path / "wd.png")
    assert (tmp_path / "wd.png").read_bytes().startswith(b"\x89PNG")
    assert plt.get_fignums() == open_before
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert [t.split(":")[0] for t in texts] == [
        "weight_decay=0.01", "weight_decay=0.0001", "weight_decay=0"]
    for text, res in zip(texts, results, strict=True):
        smoothed = [v for v in smoothed_as_seen(res) if math.isfinite(v)]
        assert f": {res.suggestion():.2g}" in text and text.endswith(
            f", lowest loss {min(smoothed):.4g}"), text
    # one colour a result: its curve, its pick's dot (at the pick) and its legend entry
    drawn = [line for line in ax.get_lines() if len(line.get_xdata())]
    assert len(drawn) == 6
    for i, res in enumerate(results):
        curve_line, dot = drawn[2 * i], drawn[2 * i + 1]
        assert curve_line.get_color() == dot.get_color()
        assert list(dot.get_xdata()) == [res.suggestion()]
    assert len({line.get_color() for line in drawn}) == 3
    assert ax.get_xscale() == "log" and "3 curves, picks by rule 'default'" in ax.get_title()
    # labels given as a mapping's keys; another rule; the caller's Axes drawn on
    fig, mine = plt.subplots()
    try:
        got = plot_range_tests({"heavy": results[0], "none": results[2]}, mine,
                               method="steepest")
        assert got is mine
        texts = [t.get_text() for t in mine.get_legend().get_texts()]
        assert texts[0].startswith(f"heavy: {results[0].suggestion('steepest'):.2g}")
        assert texts[1].startswith("none: ") and "rule 'steepest'" in mine.get_title()
    finally:
        plt.close(fig)
    # nothing differs in the configs: numbered; one with no points: said so
    same = make_result()
    empty = RangeTestResult((), (), (), "nan", num_iter=10)
    texts = [t.get_text() for t in plot_range_tests([same, same, empty]).get_legend().get_texts()]
    assert texts[0].startswith("result 1: ") and texts[1].startswith("result 2: ")
    assert texts[2] == "result 3: no points recorded"
    # (a review) past the style's colours, other line styles: 12 results, 12 looks
    many = [dataclasses.replace(same, config={"weight_decay": 10.0 ** -k}) for k in range(12)]
    ax = plot_range_tests(many)
    looks = [(line.get_color(), line.get_linestyle()) for line in ax.get_lines()
             if len(line.get_xdata()) > 1]
    assert len(looks) == 12 == len(set(looks))
    # ... in the legend too, whose handles are long enough to show a dash (a review), and
    # which fits in the figure (a review: 12 entries wrapped ran off its foot)
    legend = ax.get_legend()
    assert legend.handlelength >= 4
    shown = getattr(legend, "legend_handles", None) or legend.legendHandles  # (matplotlib 3.6)
    handles = [(h.get_color(), h.get_linestyle()) for h in shown]
    assert len(set(handles)) == 12
    ax.figure.canvas.draw()
    box, whole = legend.get_window_extent(), ax.figure.bbox
    assert box.y0 >= whole.y0 and box.x1 <= whole.x1 + 1, (box, whole)
    # (a review) 16 labels of three settings, wrapped: the figure grows taller to hold them
    # (16 results that take all three keys to tell apart)
    three = [dataclasses.replace(same, config={
        "weight_decay": 10.0 ** -(k % 4), "batch_size": 32 * (k // 4 % 2 + 1),
        "optimizer": "sgd" if k // 8 else "adamw"}) for k in range(16)]
    for count in (3, 16, 32):
        with warnings.catch_warnings():  # (a review: "Tight layout not applied" at 18 or more)
            warnings.simplefilter("error")
            figure = plot_range_tests((three * 2)[:count], tmp_path / "many.png").figure
        figure.canvas.draw()
        legend, axes = figure.axes[0].get_legend(), figure.axes[0].get_window_extent()
        assert legend.get_window_extent().y0 >= 0, count
        # ... and the plot keeps its height (a review: the growth went to a margin below it,
        # 0.6 inches of plot left at 16 entries)
        assert axes.height / figure.dpi >= 3.2, (count, axes.height / figure.dpi)
        assert bool(figure.get_figheight() == 4.5) is (count == 3)
        # ... and the legend back in the layout: a notebook's display and savefig.bbox
        # "tight" crop to it (a review: the legend was cut off)
        renderer = figure.canvas.get_renderer()
        assert legend.get_in_layout()
        assert figure.get_tightbbox(renderer).x1 * figure.dpi >= (
            legend.get_window_extent(renderer).x1 - 1)
    # ... the x axis spans the sweeps also where no loss is finite (it was 1 to 10)
    nan = dataclasses.replace(same, losses=[math.nan] * len(same.lrs),
                              smoothed=[math.nan] * len(same.lrs), stop_reason="nan")
    low, high = plot_range_tests([nan, nan]).get_xlim()
    assert low <= same.lrs[0] and high >= same.lrs[-1]
    # ... find_lr's "sgd" is lr_range_test's "SGD"; 6 digits tell close values apart
    labels = [t.get_text().split(":")[0] for t in plot_range_tests([
        dataclasses.replace(same, config={"optimizer": "sgd", "weight_decay": 1e-4}),
        dataclasses.replace(same, config={"optimizer": "SGD", "weight_decay": 1.00001e-4}),
    ]).get_legend().get_texts()]
    assert labels == ["weight_decay=0.0001", "weight_decay=0.000100001"]


@pytest.mark.parametrize(("results", "kwargs", "error", "message"), [
    ([], {}, ValueError, "results holds no RangeTestResult: nothing to draw"),
    ("a.json", {}, TypeError, "results must be a sequence of RangeTestResult or a mapping"),
    (["a.json"], {}, TypeError, r"results\[0\] must be a RangeTestResult \(RangeTestResult"),
    ({1: None}, {}, TypeError, "a mapping's keys are the labels, strings; got 1"),
    # (a review: matplotlib's legend leaves such a label out)
    ("_hidden", {}, ValueError, "the label '_hidden' begins with '_', which matplotlib's"),
    (None, {"method": "best"}, ValueError, "method must be one of"),
    (None, {"dpi": 5}, ValueError, "dpi"),
    (None, {"path_or_ax": 3}, TypeError, "path_or_ax must be a file path, a matplotlib Axes"),
])
def test_plot_range_tests_refuses_what_it_cannot_draw(tmp_path, results, kwargs, error,
                                                      message) -> None:
    from superconverge.finder import plot_range_tests

    if results == "_hidden":
        results = {"_hidden": make_result(), "shown": make_result()}
    with pytest.raises(error, match=message):
        plot_range_tests([make_result()] if results is None else results, **kwargs)


@pytest.mark.parametrize(("config", "line"), [
    ({}, None),
    ({"optimizer": "SGD", "weight_decay": 0.0005}, "SGD, weight decay 0.0005"),
    ({"optimizer": "adamw", "weight_decay": 0.0, "batch_size": 32, "accumulation_steps": 4},
     "adamw, weight decay 0, batch 32 x 4 accumulated"),
    ({"optimizer": "Adam", "accumulation_steps": 2}, "Adam, 2 batches accumulated a step"),
    # (an older file, without weight_decay; odd values left out)
    ({"optimizer": "SGD", "weight_decay": True, "batch_size": "64"}, "SGD"),
])
def test_the_title_says_what_the_steps_ran_with(config, line) -> None:
    """A bug bash's leftover: plots of range tests at several weight decays (Smith's search by
    hand) were titled alike; the title's last line names the optimizer, weight decay and batch
    the config holds, and how it stopped still reads first."""
    res = dataclasses.replace(make_result(), config=config)
    title = res.plot(None).get_title().splitlines()
    assert title[0].startswith(f"LR range test: {res.stop_summary()}")
    if line is None:
        assert len(title) == 1
    else:
        assert title[-1] == line and len(title) == 2
    # ... and on a caller's axes (a grid's) where it fits on one line (a review: on a 2 x 2
    # grid it wrapped to two more, and a constrained layout collapsed; left out, the grid's
    # plots were titled alike, another)
    import matplotlib.pyplot as plt

    fig, grid = plt.subplots(2, 2, layout="constrained")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            # (matplotlib 3.6 with pyparsing 3.3: its own deprecated calls, nothing of ours)
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="matplotlib")
            for ax in grid.flat:
                res.plot(ax)
            fig.canvas.draw()
        shown = ax.get_title()
        assert shown.replace("\n", " ").startswith(res.plot(None).get_title().splitlines()[0])
        if line is not None and len(line) < 28:  # (the axes hold about 30 characters a line)
            assert shown.endswith(f"\n{line}")
        elif line is not None:
            assert line not in shown.replace("\n", " ")
    finally:
        plt.close(fig)


def test_overlay_labels_take_the_keys_that_tell_the_results_apart() -> None:
    """A bug bash: three keys at most gave two runs of other seeds one label (weight_decay,
    optimizer and heavy_ball_momentum, which the optimizer already told); every key that
    differs is taken, but one whose values follow from another's that differs too."""
    from superconverge.finder.plot import _labels_from_configs, plot_range_tests

    def res(**config: Any) -> RangeTestResult:
        return dataclasses.replace(make_result(), config=config)

    sgd = {"optimizer": "SGD", "heavy_ball_momentum": 0.9, "weight_decay": 1e-4}
    adam = {"optimizer": "Adam", "heavy_ball_momentum": None, "weight_decay": 0.0}
    tests = [res(**sgd, seed=0), res(**sgd, seed=1), res(**adam, seed=0)]
    assert _labels_from_configs(tests) == [
        "weight_decay=0.0001, optimizer=SGD, seed=0", "weight_decay=0.0001, optimizer=SGD, seed=1",
        "weight_decay=0, optimizer=Adam, seed=0"]
    # four keys where four are needed
    many = [res(weight_decay=1e-4, batch_size=b, momentum=m, model="mlp", seed=s)
            for b, m, s in ((32, 0.9, 0), (64, 0.9, 0), (64, 0.8, 0), (64, 0.8, 1))]
    assert _labels_from_configs(many) == [
        "batch_size=32, momentum=0.9, seed=0", "batch_size=64, momentum=0.9, seed=0",
        "batch_size=64, momentum=0.8, seed=0", "batch_size=64, momentum=0.8, seed=1"]
    # ... and all that differ, where one alone would tell them apart (a review: labelled by the
    # weight decay alone, the legend read as if only it had changed)
    four = [res(weight_decay=wd, batch_size=b, optimizer=o, seed=s)
            for wd, b, o, s in ((1e-4, 32, "adam", 0), (1e-3, 64, "sgd", 1))]
    assert _labels_from_configs(four) == [
        "weight_decay=0.0001, batch_size=32, optimizer=adam, seed=0",
        "weight_decay=0.001, batch_size=64, optimizer=sgd, seed=1"]
    # results no config tells apart are numbered after their label
    assert _labels_from_configs([res(**sgd), res(**sgd), res(**adam)]) == [
        "weight_decay=0.0001, optimizer=SGD, result 1",
        "weight_decay=0.0001, optimizer=SGD, result 2", "weight_decay=0, optimizer=Adam"]
    # (lr_range_test's configs name no momentum: where the optimizer is the same, its own;
    # and where SGDs at two momenta beside an Adam, not told by the optimizer, a review)
    assert _labels_from_configs([res(optimizer="SGD", heavy_ball_momentum=m)
                                 for m in (0.9, 0.5)]) == [
        "heavy_ball_momentum=0.9", "heavy_ball_momentum=0.5"]
    assert _labels_from_configs([res(optimizer=o, heavy_ball_momentum=m)
                                 for o, m in (("SGD", 0.9), ("SGD", 0.0), ("Adam", None))]) == [
        "optimizer=SGD, heavy_ball_momentum=0.9", "optimizer=SGD, heavy_ball_momentum=0",
        "optimizer=Adam, heavy_ball_momentum=None"]
    assert _labels_from_configs([res(**sgd), res(**sgd)]) == ["result 1", "result 2"]
    ax = plot_range_tests(tests[:1])
    assert ax.get_title().startswith("LR range tests: 1 curve, picks by ")


def test_titles_and_labels_say_the_batch_and_the_processes_as_they_ran() -> None:
    """Two bug bashes: a run at batch 500 of 300 examples was titled and labelled "batch 500"
    (its steps were all 300, the curve of a run at 300, labelled apart as a batch size
    search); a run on 2 processes was titled as one on 1, whose steps are half as large, and
    the two overlaid as "result 1" and "result 2"."""
    import matplotlib.pyplot as plt

    from superconverge.finder.plot import _labels_from_configs, _setting

    assert _setting({"optimizer": "sgd", "weight_decay": 0, "batch_size": 500,
                     "num_train": 300}) == "sgd, weight decay 0, batch all 300 (500 asked)"
    assert _setting({"optimizer": "sgd", "batch_size": 64, "accumulation_steps": 2},
                    {"world_size": 2}) == "sgd, batch 64 x 2 accumulated on each of 2 processes"
    assert _setting({"batch_size": 500, "num_train": 301}, {"world_size": 2}) == (
        "batch all 150 (500 asked) on each of 2 processes")
    assert _setting({"batch_size": 150, "num_train": 301}, {"world_size": 2}) == (
        "batch 150 on each of 2 processes")
    assert _setting({}, {"world_size": 4}) == "on each of 4 processes"
    assert _setting({"batch_size": 64}, {"world_size": 1}) == "batch 64"
    # ... and autocast and clipping, which overlays label (a bug bash)
    assert _setting({"optimizer": "SGD", "amp_dtype": "float16", "grad_scaler": True,
                     "max_grad_norm": 1.0}) == (
        "SGD, float16 autocast with a GradScaler, gradient norm clipped at 1")
    assert _setting({"amp_dtype": "bfloat16", "grad_scaler": False, "max_grad_norm": None}) == (
        "bfloat16 autocast")
    # ... on a caller's axes, one line or none: the pieces past the batch left out from the
    # last as needed (a final read: the longer line was dropped whole from a grid's titles)
    clipped = {"optimizer": "SGD", "weight_decay": 0.001, "amp_dtype": "bfloat16",
               "max_grad_norm": 1.0}
    assert _setting(clipped, {"world_size": 2}, 200) == (
        "SGD, weight decay 0.001, bfloat16 autocast, gradient norm clipped at 1 on each of 2 "
        "processes")
    assert _setting(clipped, {"world_size": 2}, 70) == (
        "SGD, weight decay 0.001, bfloat16 autocast on each of 2 processes")
    assert _setting(clipped, {"world_size": 2}, 46) == (
        "SGD, weight decay 0.001 on each of 2 processes")
    assert _setting(clipped, {"world_size": 2}, 45) == "SGD, weight decay 0.001"
    assert _setting(clipped, None, 30) == "SGD, weight decay 0.001"
    assert _setting(clipped, None, 10) == ""

    def res(provenance: dict[str, Any] | None = None, **config: Any) -> RangeTestResult:
        return dataclasses.replace(make_result(), config=config, provenance=provenance or {})

    assert _labels_from_configs([res(batch_size=500, num_train=300),
                                 res(batch_size=300, num_train=300)]) == ["result 1", "result 2"]
    assert _labels_from_configs([res(batch_size=500, num_train=600),
                                 res(batch_size=300, num_train=600)]) == [
        "batch_size=500", "batch_size=300"]
    # find_lr's no validation: None in older versions' configs, 0 in newer ones (a bug bash),
    # and lr_range_test's None (a review); lr_range_test's 0 (all of val_data) differs
    assert _labels_from_configs([res(dataset="digits", val_batches=None, weight_decay=0.0),
                                 res(dataset="digits", val_batches=0, weight_decay=1e-4),
                                 res(val_batches=None, weight_decay=1e-3)]) == [
        "weight_decay=0", "weight_decay=0.0001", "weight_decay=0.001"]
    assert _labels_from_configs([res(val_batches=None), res(val_batches=0)]) == [
        "val_batches=None", "val_batches=0"]
    assert _labels_from_configs([res(dataset="digits", val_batches=0),
                                 res(dataset="digits", val_batches=4)]) == [
        "val_batches=None", "val_batches=4"]
    assert _labels_from_configs([res({"world_size": 1}, batch_size=64),
                                 res({"world_size": 2}, batch_size=64)]) == [
        "processes=1", "processes=2"]
    two = res({"world_size": 2}, optimizer="sgd", batch_size=64)
    try:
        assert two.plot(None).get_title().endswith("\nsgd, batch 64 on each of 2 processes")
    finally:
        plt.close("all")


def test_the_overlay_draws_the_validation_loss_where_asked(tmp_path, capsys) -> None:
    """A docs audit: the overlay of training curves, the only one there was, favours the
    smaller weight decays, whose good shows on held-out data only; loss="val" (plot --loss val)
    overlays the validation loss of tests run with val_data."""
    from superconverge.cli import main
    from superconverge.finder.plot import plot_range_tests

    low = dataclasses.replace(make_result(val=True), config={"weight_decay": 1e-3})
    high = dataclasses.replace(low, config={"weight_decay": 0.0},
                               val_losses=[v + 0.1 for v in low.val_losses])
    ax = plot_range_tests([low, high], loss="val")
    drawn = [line for line in ax.get_lines() if len(line.get_xdata()) > 1]
    want = np.asarray(low.val_losses, dtype=float)
    np.testing.assert_allclose(drawn[0].get_ydata(), want, equal_nan=True)
    assert ax.get_ylabel() == "validation loss" and "of the validation loss" in ax.get_title()
    texts = [t.get_text().replace("\n", " ") for t in ax.get_legend().get_texts()]
    assert texts[0].endswith(f"lowest validation loss {np.nanmin(want):.4g}"), texts
    with pytest.raises(ValueError, match=r"loss='val': results\[1\] holds no validation loss; "
                                         r"run its test with val_data="):
        plot_range_tests([low, make_result()], loss="val")
    with pytest.raises(ValueError, match="loss must be one of"):
        plot_range_tests([low], loss="validation")
    low.to_json(tmp_path / "a.json")
    high.to_json(tmp_path / "b.json")
    assert main(["plot", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--loss", "val",
                 "--out", str(tmp_path / "v.png")]) == 0
    assert (tmp_path / "v.png").read_bytes().startswith(b"\x89PNG")
    make_result().to_json(tmp_path / "c.json")
    with pytest.raises(SystemExit) as refused:
        main(["plot", str(tmp_path / "c.json"), "--loss", "val", "--out", str(tmp_path / "w.png")])
    assert refused.value.code == 2
    assert (f"--loss val: {tmp_path / 'c.json'} holds no validation loss; run find-lr with "
            "--val-batches N for it, or draw the training loss (--loss train)"
            in capsys.readouterr().err)


# Pinned by a mutation pass (bug bash 19): each test fails on a change of the rule's
# boundary or guard that the tests above let through.


def _nan_stopped(flag: object) -> RangeTestResult:
    """Three points of a sweep a NaN stopped after a GradScaler skipped 40 steps, whose
    provenance says ``skip_stopped_high=flag``."""
    lrs, losses = [1e-5, 2e-5, 4e-5], [2.0, 1.9, 1.85]
    return RangeTestResult(
        lrs=lrs, losses=losses, smoothed=bias_corrected_ema(losses, 0.98), stop_reason="nan",
        num_iter=100, config={"start_lr": 1e-5, "end_lr": 10.0, "mode": "exp"},
        provenance={"skipped_steps": [40], "skip_stopped_high": flag})


@pytest.mark.parametrize("flag", [["yes"], [1], ["false"]])
def test_only_true_in_skip_stopped_high_says_the_scale_was_too_high(flag: object) -> None:
    """``skip_stopped_high`` is a list of bools; a file of another version, or edited by hand,
    with other values there says nothing (as ``skipped_steps`` of other than whole numbers):
    the advice stays num_iter's (mutant: any truthy value, so "false" told to lower
    init_scale)."""
    assert "init_scale" in _nan_stopped([True]).suggest().reason
    reason = _nan_stopped(flag).suggest().reason
    assert "init_scale" not in reason and reason.endswith("raise num_iter or lower start_lr")


def test_a_scale_stop_in_the_provenance_is_read_only_for_a_nan_stopped_curve() -> None:
    """``scale_too_high``: "the sweep stopped at them [skips in a row] with its loss scale
    still 1 or more": only a curve that stopped "nan" did; a completed one's too few points
    are num_iter's (mutant: ``stop == "nan" and`` dropped, which told it to lower
    init_scale)."""
    lrs, losses = [1e-5, 2e-5, 4e-5], [2.0, 1.9, 1.85]
    res = RangeTestResult(
        lrs=lrs, losses=losses, smoothed=bias_corrected_ema(losses, 0.98),
        stop_reason="completed", num_iter=3, config={"start_lr": 1e-5, "mode": "exp"},
        provenance={"skipped_steps": [0], "skip_stopped_high": [True]})
    reason = res.suggest().reason
    assert "init_scale" not in reason and "raise num_iter: a sweep that ran every step" in reason


def _falling(lrs: list[float], shift: float) -> list[float]:
    return [2.3 - 2.0 / (1 + math.exp(-(math.log10(lr) + shift) * 2))
            + (0 if lr < 1 else 5 * math.log10(lr) ** 2) for lr in lrs]


@pytest.mark.parametrize(("short", "told"), [(8, True), (10, False)])
def test_a_repeat_is_far_short_under_a_quarter_of_the_others_points(short: int,
                                                                     told: bool) -> None:
    """``_short_repeat``: "under a quarter of their median points": 8 of 35 is, 10 of 35
    (29%) is not (mutant: ``3 * n``, which warned of 10 of 35)."""
    lrs = list(np.logspace(-7, 1, 35))
    full = [_falling(lrs, s) for s in (2.0, 2.2)]
    cut = Curve(lrs[:short], full[0][:short], bias_corrected_ema(full[0][:short], 0.98),
                "diverged", seed=0)
    reps = (cut, *(Curve(lrs, c, bias_corrected_ema(c, 0.98), "completed", seed=i + 1)
                   for i, c in enumerate(full)))
    mean = [float(np.mean([c.losses[i] for c in reps])) for i in range(short)]
    res = RangeTestResult(lrs[:short], mean, bias_corrected_ema(mean, 0.98), "diverged",
                          num_iter=35, repeats=reps, config={"repeats": 3})
    said = [w for w in res.warnings() if w.startswith("repeat 1 of 3 stopped")]
    assert bool(said) is told, res.warnings()


def test_a_minimum_pick_at_exactly_start_lr_is_no_extrapolation() -> None:
    """``minimum`` picks a tenth of the valley's LR; at exactly the sweep's first LR that lies
    in the swept range, unwarned (mutant: ``chosen.lr > lrs[0]``, which warned that lr=0.1
    "lies below the swept range (from 0.1)")."""
    lrs = [0.1 * 10 ** (k / 10) for k in range(31)]
    lrs[10] = 1.0  # (exactly ten times the first)
    t = np.log10(lrs)
    losses = (2.3 - 1.0 / (1 + np.exp(-4.0 * (t + 0.5))) + np.where(t > 0, 3.0 * t ** 2, 0.0))
    res = RangeTestResult(lrs, losses.tolist(), bias_corrected_ema(losses, 0.98), "diverged",
                          num_iter=31, config={"start_lr": 0.1, "mode": "exp"})
    pick = res.suggest("minimum")
    assert pick.lr == lrs[0] == 0.1
    assert not any("below the swept range" in w for w in res.warnings("minimum"))
