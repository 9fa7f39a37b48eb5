"""The benchmarks run from one command: a smoke test of each, on tiny settings."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_range_test_speed_quick_runs_and_curves_agree() -> None:
    pytest.importorskip("torch_lr_finder")
    committed = BENCHMARKS / "results" / "range_test_speed.md"
    before = committed.read_bytes() if committed.exists() else None
    # Without --out a quick run prints its tables and writes nothing.
    text = subprocess.run([sys.executable, str(BENCHMARKS / "range_test_speed.py"), "--quick"],
                          check=True, capture_output=True, text=True, timeout=120).stdout
    assert "wrote" not in text
    text = text[text.rindex("# LR range test"):]  # the document, after the progress tables
    assert "## Provenance" in text and "--quick" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "exact" in line]
    assert len(rows) == 3, text  # one agreement row per case, ours restored exactly in each
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        # every run trained all steps; LRs identical; ours == torch-lr-finder and ours == bare
        # loop, bit for bit, on CPU
        assert cells[2:6] == ["yes", "yes", "0", "0"], row
        assert cells[7] == "exact", row
    assert (committed.read_bytes() if committed.exists() else None) == before


def test_suggestion_quality_quick_runs_and_scores_every_rule() -> None:
    """Without --out a quick run prints its report and leaves the committed results alone;
    the report states the settings it ran with."""
    committed = [BENCHMARKS / "results" / f"suggestion_quality.{ext}" for ext in ("md", "json")]
    before = [p.read_bytes() for p in committed]
    text = subprocess.run(
        [sys.executable, str(BENCHMARKS / "suggestion_quality.py"), "--quick", "--workers", "1"],
        check=True, capture_output=True, text=True, timeout=300,
    ).stdout
    assert "## Means over tasks" in text and "## Provenance" in text
    for rule in ("superconverge", "torch-lr-finder", "fastai valley", "fastai minimum/10",
                 "lightning"):
        assert f"| {rule} |" in text
    assert "1 worker process with 1 torch thread" in text
    assert ", 3 epochs," in text  # digits-mlp's 6 epochs at the quick run's scale of 0.5
    assert [p.read_bytes() for p in committed] == before


def test_data_loading_quick_runs_and_compares_with_the_peers() -> None:
    committed = BENCHMARKS / "results" / "data_loading.md"
    before = committed.read_bytes() if committed.exists() else None
    text = subprocess.run([sys.executable, str(BENCHMARKS / "data_loading.py"), "--quick"],
                          check=True, capture_output=True, text=True, timeout=300).stdout
    assert "wrote" not in text
    text = text[text.rindex("# Loading user data"):]
    assert "## Provenance" in text and "--quick" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 6, text  # the header, 2 CSV peers, the trailing ',', 2 image folders
    for row in rows[1:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        s, p, ratio = float(cells[2]), float(cells[4]), float(cells[5])
        assert ratio > 0, row
        if p > 0.005:  # the ratio is of the unrounded times: within the rounding's reach
            assert (s - 0.005) / (p + 0.005) - 0.005 <= ratio <= (s + 0.005) / (p - 0.005) + 0.005
    assert (committed.read_bytes() if committed.exists() else None) == before


def test_cpu_threads_quick_runs_both_settings_and_divides_them() -> None:
    """Runs real find-lr processes (10 steps each, 6 in all) with torch's default threads and
    with --threads 1; prints, does not write, and its ratios are of the times it prints."""
    committed = BENCHMARKS / "results" / "cpu_threads.md"
    before = committed.read_bytes() if committed.exists() else None
    text = subprocess.run([sys.executable, str(BENCHMARKS / "cpu_threads.py"), "--quick",
                           "--jobs", "2"],
                          check=True, capture_output=True, text=True, timeout=300).stdout
    assert "wrote" not in text
    text = text[text.rindex("# CPU threads"):]
    assert "## Provenance" in text and "--quick" in text
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith("| ") and "---" not in line][1:]
    assert [(r[0], r[1].split()[0]) for r in rows] == [("1", "default"), ("1", "1"),
                                                     ("2", "default"), ("2", "1")]
    for default, one in (rows[:2], rows[2:]):
        ratio = float(default[2]) / float(one[2])
        assert abs(float(default[4]) - ratio) <= 0.01 + 0.01 * ratio, (default, one)
    assert (committed.read_bytes() if committed.exists() else None) == before


def test_engine_overhead_quick_runs_and_compares_with_the_peers() -> None:
    """Without --out a quick run prints its three tables and writes nothing; the snapshot and
    restore table has ours and both peers, with ours / peer as a ratio of the printed times."""
    committed = BENCHMARKS / "results" / "engine_overhead.md"
    before = committed.read_bytes() if committed.exists() else None
    text = subprocess.run([sys.executable, str(BENCHMARKS / "engine_overhead.py"), "--quick"],
                          check=True, capture_output=True, text=True, timeout=120).stdout
    assert "wrote" not in text and "QUICK RUN" in text and "## Provenance" in text
    for section in ("## 1. Per step", "## 2. Snapshot and restore", "## 3. Reading"):
        assert section in text
    per_step = [line for line in text.split("## 2.")[0].splitlines() if line.startswith("| ")]
    assert [row.split("|")[1].strip() for row in per_step[2:]] == [
        "bare loop", "ours (`lr_range_test`)", "ours, each chunk read at its end"]
    snap = [line for line in text.split("## 2.")[1].split("## 3.")[0].splitlines()
            if line.startswith("| ")][2:]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in snap]
    assert [c[0] for c in cells] == [
        "ours (TrainingState)", "a tensor at a time", "torch-lr-finder's way (state dicts)"]
    ours_both = float(cells[0][3])
    for c in cells:
        took, put, both, ratio = map(float, c[1:])
        assert both == pytest.approx(took + put, abs=0.011)
        assert ratio == pytest.approx(ours_both / both, rel=0.02, abs=0.011)
    import torch

    assert ("n/a (no CUDA)" in text) is not torch.cuda.is_available()  # the query's row
    assert (committed.read_bytes() if committed.exists() else None) == before


def test_range_test_repeats_quick_runs_every_runner_and_divides_its_times() -> None:
    """A quick run on the CPU prints a row for each runner, with ratios of its printed times,
    and the verdict; it writes nothing."""
    committed = BENCHMARKS / "results" / "range_test_repeats_cpu.md"
    before = committed.read_bytes() if committed.exists() else None
    text = subprocess.run([sys.executable, str(BENCHMARKS / "range_test_repeats.py"), "--quick",
                           "--device", "cpu", "--repeats", "3"],
                          check=True, capture_output=True, text=True, timeout=120).stdout
    assert "wrote" not in text
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()
             if line.startswith("| ")][2:]
    assert [c[0] for c in cells] == [
        "bare", "ours", "ours, sync_every=50", "ours, sync_every=200"]
    bare_best, bare_median = float(cells[0][2]), float(cells[0][3])
    for c in cells:
        assert c[1] == "3"
        best, median, worst = map(float, c[2:5])
        assert best <= median <= worst
        assert float(c[5]) == pytest.approx(best / bare_best, rel=0.01, abs=0.002)
        assert float(c[6]) == pytest.approx(median / bare_median, rel=0.01, abs=0.002)
    # 3 repeats: a median, but too few for a 95% interval
    assert [c[7].endswith("(n/a)") for c in cells] == [False, True, True, True]
    assert [c[8] == "-" for c in cells] == [True, True, False, False]
    assert cells[0][9].endswith("%") and cells[1][9] == "-"
    assert "too few repeats for a 95% interval: the goal is shown neither way" in text
    assert "says nothing there" in text  # the launches' share, on a CPU
    assert (committed.read_bytes() if committed.exists() else None) == before


def test_range_test_repeats_results_are_named_by_model_and_precision() -> None:
    """A review: a ResNet-56 run's default file was the small CNN's, which it replaced."""
    name = _repeats_modules()[0].results_name
    assert name("cuda", "cnn", "fp32") == "range_test_repeats_cuda.md"
    assert name("cuda", "resnet56", "fp32") == "range_test_repeats_cuda_resnet56.md"
    assert (name("cuda", "cnn", "fp16 + GradScaler, fused SGD")
            == "range_test_repeats_cuda_fp16-gradscaler-fused-sgd.md")


def _repeats_modules() -> tuple[Any, Any]:
    import importlib

    sys.path.insert(0, str(BENCHMARKS))
    try:
        return (importlib.import_module("range_test_repeats"),
                importlib.import_module("range_test_speed"))
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_range_test_repeats_median_interval_by_order_statistics() -> None:
    rr, _ = _repeats_modules()
    values = [float(x) for x in range(20, 0, -1)]  # 20 values, given out of order
    # n = 20: the 6th smallest and the 6th largest (P(X <= 5) = 0.021 for X ~ Bin(20, 1/2))
    assert rr.median_interval(values) == (6.0, 15.0)
    assert rr.median_interval([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]) == (1.0, 6.0)  # 1 - 2/64
    assert rr.median_interval([1.0, 2.0, 3.0, 4.0, 5.0]) is None  # 2/32 > 5%


def test_range_test_repeats_figures_from_known_times() -> None:
    """The comparisons, on times written by hand: best against best, median against median,
    each repeat's own ratio, and the verdict its 95% interval decides."""
    rr, rts = _repeats_modules()
    import torch

    bare = [1.0, 2.0, 1.0, 1.0, 1.0, 1.0]
    ours = [1.1, 1.0, 1.05, 1.0, 0.95, 1.0]  # per repeat: 1.1, 0.5, 1.05, 1.0, 0.95, 1.0
    runs = {"bare": [rts.Run(s, [], [], launched=0.5 * s) for s in bare],
            "ours": [rts.Run(s, [], [], launched=s) for s in ours],
            "ours, sync_every=200": [rts.Run(s / 2, [], []) for s in ours]}
    rows = rr.summarize(runs)
    assert rows[1]["best_ratio"] == pytest.approx(0.95)
    assert rows[1]["median_ratio"] == pytest.approx(1.0)
    assert rows[1]["to_bare"]["median"] == pytest.approx(1.0)
    assert rows[1]["to_bare"]["interval"] == pytest.approx((0.5, 1.1))
    assert rows[2]["to_ours"]["median"] == pytest.approx(0.5)
    assert rows[1]["to_ours"] is None and rows[0]["launched"] == pytest.approx(0.5)
    said = rr.verdict(rows, torch.device("cuda"))
    assert "95% interval 0.500-1.100, which holds 1.02: consistent with the goal" in said[0]
    assert "median 0.500 (95% interval 0.500-0.500)." in said[1]  # resolved: not 1
    assert "the device still had the last 50% of the run's work queued" in said[2]
    for factor, word in ((1.01, "the goal is met"), (1.03, "the goal is missed")):
        runs["ours"] = [rts.Run(s * factor, [], []) for s in bare]
        assert word in rr.verdict(rr.summarize(runs), torch.device("cuda"))[0]


def test_range_test_repeats_forwards_sync_every(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its rows at sync_every 50 and 200 measure those intervals, not the default."""
    rr, rts = _repeats_modules()
    seen = []
    real = rts.lr_range_test

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["sync_every"])
        return real(*args, **kwargs)

    monkeypatch.setattr(rts, "lr_range_test", spy)
    assert rr.main(["--quick", "--device", "cpu", "--repeats", "2"]) == 0
    assert sorted(set(seen)) == [10, 50, 200] and len(seen) == 6


@pytest.mark.parametrize(("stop_at", "written"), [(3, True), (2, False)])
def test_range_test_repeats_cut_short_keeps_its_whole_repeats(
        stop_at: int, written: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stopped (Ctrl-C, or gpu_session.sh's cap) in its third repeat, it writes the first
    two, marked cut short, and exits 1; in its second, it writes nothing."""
    rr, rts = _repeats_modules()
    calls = []

    def stopping(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == stop_at:
            raise KeyboardInterrupt
        return rts.run_ours(*args, **kwargs, sync_every=200)

    monkeypatch.setitem(rr.RUNNERS, "ours, sync_every=200", stopping)
    out = tmp_path / "cut.md"
    assert rr.main(["--quick", "--device", "cpu", "--repeats", "4", "--out", str(out)]) == 1
    assert out.exists() is written
    if written:
        text = out.read_text(encoding="utf-8")
        assert "**Cut short**: stopped after 2 of 4 repeats" in text
        assert "| bare | 2 |" in text and "over 2 repeats" in text


def test_range_test_repeats_unequal_work_exits_1(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    rr, rts = _repeats_modules()

    def short(*args: Any, **kwargs: Any) -> Any:
        run = rts.run_ours(*args, **kwargs)
        run.steps_trained -= 1
        return run

    monkeypatch.setitem(rr.RUNNERS, "ours, sync_every=50", short)
    out = tmp_path / "out.md"
    assert rr.main(["--quick", "--device", "cpu", "--repeats", "2", "--out", str(out)]) == 1
    assert "WARNING: not every run trained every step" in out.read_text(encoding="utf-8")


def test_range_test_repeats_without_cuda_says_so_and_exits_0() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    done = subprocess.run([sys.executable, str(BENCHMARKS / "range_test_repeats.py")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "no CUDA device" in done.stdout


def test_engine_overhead_at_once_runner_reads_each_chunk_at_its_end(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The third runner of part 1 is ours with CUDA's overlapped read turned off for its run
    only: during it the engine reads at once on any device, and afterwards as before."""
    import torch

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import engine_overhead
    from superconverge.finder import range_test as engine

    cuda = torch.device("cuda")
    before = engine._lagged_read_back
    assert before(cuda) is True
    model, opt, batches = engine_overhead.tiny_problem(torch.device("cpu"))
    seen = []

    class Watched(list):
        def __iter__(self):
            seen.append(engine._lagged_read_back(cuda))
            return super().__iter__()

    engine_overhead.at_once_runner(model, opt, Watched(batches), 12)()
    assert seen and not any(seen)
    assert engine._lagged_read_back is before


def benchmark_module(name: str) -> Any:
    """A script of benchmarks/ imported as a module (its folder on sys.path while it loads)."""
    import importlib

    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCHMARKS))


def stored_suggestion_quality() -> dict[str, Any]:
    """The committed suggestion-quality results: the curves, picks and regrets."""
    import json

    return json.loads((BENCHMARKS / "results" / "suggestion_quality.json").read_text())


def test_the_torch_lr_finder_rule_picks_what_the_package_picks_on_the_stored_curves() -> None:
    """benchmarks/anchor_rules.py reimplements torch-lr-finder's rule; here the package itself
    runs on every stored curve (a criterion that returns the curve's losses one by one), with
    its own smoothing, divergence stop (5x its best) and plot(suggest_lr=True). The rule once
    read past that stop and picked otherwise on 3 of 100 curves."""
    pytest.importorskip("torch_lr_finder")
    import contextlib
    import io

    import matplotlib
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset
    from torch_lr_finder import LRFinder

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    anchor_rules = benchmark_module("anchor_rules")
    stored = stored_suggestion_quality()
    compared = 0
    for result in stored["results"]:
        task = result["task"]
        for curve in result["curves"] + result["holdout_curves"]:
            losses = iter(curve["losses"])
            model = nn.Linear(1, 1)
            finder = LRFinder(model, torch.optim.SGD(model.parameters(), task["range_start_lr"]),
                              lambda out, y, losses=losses: out.sum() * 0 + next(losses))
            n = task["range_iter"]
            loader = DataLoader(TensorDataset(torch.zeros(n, 1), torch.zeros(n)), batch_size=1)
            fig, ax = plt.subplots()
            with contextlib.redirect_stdout(io.StringIO()), \
                    contextlib.redirect_stderr(io.StringIO()):
                finder.range_test(loader, end_lr=10, num_iter=n)
                _, picked = finder.plot(skip_start=10, skip_end=5, suggest_lr=True, ax=ax)
            plt.close(fig)
            ours = anchor_rules.torch_lr_finder(curve["lrs"], curve["losses"])
            assert ours is not None
            step = list(curve["lrs"]).index(ours)
            assert finder.history["lr"].index(picked) == step, (task["name"], step)
            compared += 1
    assert compared == 100


def test_the_committed_picks_are_what_the_rules_pick_on_the_stored_curves() -> None:
    """Every pick in the committed suggestion-quality results (5 curves and 20 held-out ones a
    task, each rule, both uses) is what today's rules pick on the stored curves: a rule, ours
    or an anchor's, changed without running the benchmark again fails here (a review found
    the Lightning rule's results standing for a rule Lightning does not have)."""

    suggestion_quality = benchmark_module("suggestion_quality")
    stored = stored_suggestion_quality()
    checked = 0
    for result in stored["results"]:
        for use, rows in result["rows"].items():
            for name, rule in suggestion_quality.rules_for(use).items():
                for key, curves in (("picks", result["curves"]),
                                    ("holdout_picks", result["holdout_curves"])):
                    now = [rule(c["lrs"], c["losses"]) for c in curves]
                    assert now == rows[name][key], (result["task"]["name"], use, name, key)
                    checked += len(now)
    assert checked == 2 * 5 * 100  # 100 curves, 5 rules, 2 uses


def test_the_committed_suggestion_quality_is_its_stored_run_read_again(tmp_path) -> None:
    """The committed tables are what ``--rescore`` reads from the committed JSON: a rule
    changed with its picks re-read on the stored curves leaves nothing stale (the picks, the
    interp and held-out regrets, the means); and a median pick that moved is refused by name,
    its accuracy needing training."""
    out = tmp_path / "sq.md"
    subprocess.run([sys.executable, str(BENCHMARKS / "suggestion_quality.py"), "--rescore",
                    "--out", str(out)], check=True, capture_output=True, text=True, timeout=300)
    committed = (BENCHMARKS / "results" / "suggestion_quality.md").read_text()
    again = out.read_text()
    assert again.split("## Provenance")[0] == committed.split("## Provenance")[0]
    assert "--rescore" in again and "of the stored run (" in again
    suggestion_quality = benchmark_module("suggestion_quality")
    stored = stored_suggestion_quality()
    stored["results"][1]["rows"]["fixed"]["fastai valley"]["median_pick"] *= 1.5
    with pytest.raises(ValueError, match=r"digits-cnn-sgd, fixed, fastai valley: the median pick "
                       r"moved from .* whose accuracy needs training"):
        suggestion_quality.rescore(stored)


def test_the_fastai_anchors_read_a_curve_cut_at_nan_as_fastai_does() -> None:
    """A bug bash: the anchors cut a curve at its first NaN and then dropped its last 5
    points, where fastai, whose 4x stop a NaN never trips, records NaN on to num_it and drops
    5 of those: fastai's minimum/10 read 2.5x low. Here fastai's post-processing (its
    AvgSmoothLoss, then lrs[num_it//10:-5] cut at the first NaN) on the sweep it would run."""
    anchor_rules = benchmark_module("anchor_rules")
    rng = np.random.default_rng(0)
    lrs = np.logspace(-7, 1, 100)
    fall = 2.3 - 2.0 / (1 + np.exp(-1.5 * (np.log10(lrs) + 3)))
    for stop in (60, 80, 94):
        raw = [*(fall[:stop] * (1 + 0.02 * rng.standard_normal(stop))), float("nan")]
        num_it = len(raw)  # (the trim of a tenth: of the points recorded, as documented)
        padded = raw + [float("nan")] * 5  # what fastai records on past the NaN
        val, smoothed = 0.0, []
        for i, x in enumerate(padded, 1):
            val = x + 0.98 * (val - x)
            smoothed.append(val / (1 - 0.98 ** i))
        kept_lrs = lrs[: len(padded)][num_it // 10 : len(padded) - 5]
        kept = np.asarray(smoothed)[num_it // 10 : len(padded) - 5]
        first_nan = int(np.argmax(np.isnan(kept)))
        kept_lrs, kept = kept_lrs[:first_nan], kept[:first_nan]
        assert first_nan == stop - num_it // 10
        expected = float(kept_lrs[int(np.argmin(kept))] / 10)
        assert anchor_rules.fastai_minimum(lrs[: len(raw)], raw) == expected, stop
    # a curve with no non-finite point: the last 5 go, as before
    raw = list(fall)
    ema = anchor_rules.ema_bias_corrected(raw)
    assert anchor_rules.fastai_minimum(lrs, raw) == float(lrs[10:-5][np.argmin(ema[10:-5])] / 10)


def test_our_valley_and_steepest_pick_below_the_peers_rules_as_the_docs_say() -> None:
    """docs/suggestions.md: on the 100 stored curves, fastai's own valley picks a median
    2.6-5.3x higher LR than our valley on each task, and torch-lr-finder's steepest slope
    2.3-6.4x higher than our steepest; higher on every curve."""
    from superconverge.finder import suggest

    anchor_rules = benchmark_module("anchor_rules")
    medians = {}
    for result in stored_suggestion_quality()["results"]:
        ratios: dict[str, list[float]] = {"valley": [], "steepest": []}
        for c in result["curves"] + result["holdout_curves"]:
            for ours, theirs in (("valley", "fastai valley"), ("steepest", "torch-lr-finder")):
                mine = suggest(c["lrs"], c["losses"], ours).lr
                peer = anchor_rules.ANCHOR_RULES[theirs](c["lrs"], c["losses"])
                assert mine is not None and peer is not None
                ratios[ours].append(peer / mine)
        assert min(ratios["valley"] + ratios["steepest"]) > 1.0, result["task"]["name"]
        medians[result["task"]["name"]] = {k: float(np.median(v)) for k, v in ratios.items()}
    assert len(medians) == 4
    assert all(2.5 <= m["valley"] <= 5.4 for m in medians.values()), medians
    assert all(2.2 <= m["steepest"] <= 6.5 for m in medians.values()), medians


def test_the_lightning_rule_picks_what_lightning_picks_on_the_stored_curves(tmp_path) -> None:
    """benchmarks/anchor_rules.py reimplements Lightning's rule; here Lightning's own
    ``Tuner.lr_find`` runs on stored curves (a training_step that returns the curve's losses
    one by one), with its own smoothing, stop (4x its best) and ``suggestion()``. A review
    found the rule scored on a correctly bias-corrected EMA, as Lightning's docs describe it,
    where Lightning's callback divides by ``1 - beta ** (global_step + 1)`` with the step
    already 1 at the first batch: it picked as Lightning did on 5 of the 100 stored curves.
    A curve our stop cut before Lightning's would stop goes on with a blow-up, where
    Lightning stops (its last point, which its rule drops)."""
    lightning = pytest.importorskip("lightning")
    version = tuple(int(p) for p in re.findall(r"\d+", lightning.__version__)[:3])
    if version < (2, 5, 3):  # (the floor's run: 2.0.0 picked one point off on a curve)
        pytest.skip(f"anchor_rules.lightning is the rule of Lightning >= 2.5.3 (gradient "
                    f"spaced by the LRs); this is {lightning.__version__}")
    import logging
    import warnings

    import lightning.pytorch as pl
    import numpy as np
    import torch
    from lightning.pytorch.tuner import Tuner
    from torch.utils.data import DataLoader

    anchor_rules = benchmark_module("anchor_rules")

    class Replay(pl.LightningModule):
        def __init__(self, losses: list[float], lr: float) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))
            self.losses, self.lr = iter(losses), lr

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            return self.w.sum() * 0 + next(self.losses)

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=self.lr)

    stored = stored_suggestion_quality()
    compared = cut = 0
    logging.getLogger("lightning").setLevel(logging.ERROR)
    for result in stored["results"]:
        n = result["task"]["range_iter"]
        for curve in result["curves"] + result["holdout_curves"]:
            lrs, raw = curve["lrs"], curve["losses"]
            model = Replay(raw + [raw[-1] * 1e6] * (n - len(raw)), lrs[0])
            trainer = pl.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False,
                                 enable_progress_bar=False, enable_model_summary=False,
                                 max_epochs=1, default_root_dir=tmp_path)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                finder = Tuner(trainer).lr_find(
                    model, train_dataloaders=DataLoader(torch.zeros(n, 1), batch_size=1),
                    min_lr=lrs[0], max_lr=stored["settings"]["end_lr"], num_training=n,
                    early_stop_threshold=4.0, update_attr=False)
            ours = anchor_rules.lightning(lrs, raw)
            recorded = finder.results["loss"]
            emulated = anchor_rules.lightning_curve(raw)
            k = min(len(recorded), len(emulated))
            assert np.allclose(recorded[:k], emulated[:k], rtol=1e-6, equal_nan=True)
            picked = finder.suggestion()
            assert ours is not None and picked is not None
            assert list(lrs).index(ours) == finder._optimal_idx, result["task"]["name"]
            compared += 1
            cut += len(raw) < n and len(emulated) == len(raw)
    assert compared == 100 and cut == 24, (compared, cut)


def refusal(script: str, argv: list[str], capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> str:
    """``script``'s ``main(argv)`` in this process (the refusal comes from its argument
    parser, before any work: no process of its own to start and no torch to import again, as
    there was with ``python script``; the quick-run tests run each script that way): it
    must exit with status 2, and what it printed to stderr comes back."""
    import importlib

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    module = importlib.import_module(script.removesuffix(".py"))
    with pytest.raises(SystemExit) as exit_:
        module.main(argv)
    assert exit_.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(("script", "args", "message"), [
    ("scheduler_step.py", ["--repeats", "0"], "argument --repeats: must be >= 1, got 0"),
    ("scheduler_step.py", ["--steps", "0"], "argument --steps: must be >= 3, got 0"),
    # a 1cycle needs 3 steps: --steps 2 passed the parser, then crashed with a traceback
    ("scheduler_step.py", ["--steps", "2"], "argument --steps: must be >= 3, got 2"),
    # a pick needs 8 points: --steps 2 (and 5 to 7) failed after the whole grid was trained
    ("num_iter_shift.py", ["--quick", "--steps", "7"], "argument --steps: expected whole "
     "numbers >= 8, got '7'"),
    ("num_iter_shift.py", ["--quick", "--steps", "100,"], "argument --steps: expected whole "
     "numbers, got '100,'"),
    # an unknown dataset ran the datasets before it, then ended in a traceback
    ("sweep_resolution.py", ["--quick", "--datasets", "digits,foo"], "argument --datasets: "
     "unknown dataset(s) 'foo' in 'digits,foo'; known: digits, "),
    ("sweep_resolution.py", ["--quick", "--datasets", "digits,"], "unknown dataset(s) ''"),
    # (a review: 3 to 7 passed, then the sweeps of the counts before them were lost)
    ("sweep_resolution.py", ["--quick", "--steps", "30,8"], "argument --steps: expected step "
     "counts >= 9, got '30,8'"),
    ("engine_overhead.py", ["--quick", "--repeats", "0"], "argument --repeats: must be >= 1"),
    ("engine_overhead.py", ["--quick", "--repeats", "-1"], "argument --repeats: must be >= 1"),
    ("data_loading.py", ["--quick", "--rows", "0"], "argument --rows: must be >= 1, got 0"),
    ("data_loading.py", ["--quick", "--repeats", "-1"], "argument --repeats: must be >= 1"),
    ("range_test_speed.py", ["--quick", "--threads", "0"], "argument --threads: must be >= 1"),
    # one repeat has no spread to report
    ("range_test_repeats.py", ["--quick", "--repeats", "1"], "argument --repeats: must be >= 2"),
    ("range_test_repeats.py", ["--quick", "--model", "mlp"], "argument --model: invalid choice"),
    ("compile_graphs.py", ["--quick", "--steps", "40,7"], "argument --steps: expected step "
     "counts >= 8, got '40,7'"),
    # one seed has no spread between seeds to report
    ("warning_rates.py", ["--quick", "--seeds", "1"], "argument --seeds: must be >= 2, got 1"),
    ("clr_bounds.py", ["--quick", "--tasks", "digits-mlp-sgd,foo"], "unknown tasks ['foo']"),
    # (a bug bash: an unset shell variable's --tasks "" ran every task, ~12 or ~33 minutes)
    ("clr_bounds.py", ["--quick", "--tasks", ""], "unknown tasks ['']"),
    ("suggestion_quality.py", ["--quick", "--tasks", ""], "unknown tasks ['']"),
    ("suggestion_quality.py", ["--quick", "--tasks", "foo,digits-mlp-sgd"],
     "unknown tasks ['foo']; known: ['digits-mlp-sgd', "),
    ("clr_bounds.py", ["--quick", "--seeds", "0"], "argument --seeds: must be >= 1, got 0"),
    ("suggestion_quality.py", ["--rescore", "--quick"], "--rescore reads the whole stored run"),
])
def test_bad_arguments_are_refused_before_any_work(script, args, message, tmp_path, capsys,
                                                    monkeypatch) -> None:
    """0 read as "not given" (a run with the default, recorded as 0), an empty min() or a
    table of inf and nan written over the committed results."""
    err = refusal(script, [*args, "--out", str(tmp_path / "out.md")], capsys, monkeypatch)
    assert message in err, err
    assert "Traceback" not in err and not (tmp_path / "out.md").exists()


@pytest.mark.parametrize("script", ["range_test_speed.py", "engine_overhead.py",
                                    "range_test_repeats.py"])
def test_a_device_this_machine_lacks_is_refused_by_name(script, tmp_path, capsys,
                                                        monkeypatch) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    for device, message in (("cuda", "device='cuda', but this torch sees no CUDA device"),
                            ("mps", "device='mps' is not usable here")):
        err = refusal(script, ["--quick", "--device", device, "--out", str(tmp_path / "out.md")],
                      capsys, monkeypatch)
        assert message in err, err
        assert not (tmp_path / "out.md").exists()


def test_scheduler_step_runs_and_writes_its_ratios(tmp_path) -> None:
    out = tmp_path / "scheduler_step.md"
    subprocess.run([sys.executable, str(BENCHMARKS / "scheduler_step.py"), "--steps", "200",
                    "--repeats", "1", "--out", str(out)], check=True, capture_output=True,
                   text=True, timeout=120)
    rows = [[c.strip() for c in line.strip("|").split("|")]
            for line in out.read_text(encoding="utf-8").splitlines()
            if line.startswith("| SGD") or line.startswith("| AdamW")]
    assert len(rows) == 8
    for *_, theirs, ours, ratio in rows:
        # (each printed to 0.01: the ratio of the rounded times may lie that far from the one
        # printed, 9.67 beside 9.65 for 2.90 / 0.30, a flaky run)
        t, o, half = float(theirs), float(ours), 0.005
        low, high = (o - half) / (t + half) - half, (o + half) / (t - half) + half
        assert low <= float(ratio) <= high, rows


def quick_run(script: str, *args: str, timeout: int = 300) -> str:
    """What ``script --quick *args`` prints, having checked that it wrote nothing (it said no
    "wrote", and its committed results are as they were) and printed its provenance."""
    committed = BENCHMARKS / "results" / f"{Path(script).stem}.md"
    before = committed.read_bytes()
    text = subprocess.run([sys.executable, str(BENCHMARKS / script), "--quick", *args],
                          check=True, capture_output=True, text=True, timeout=timeout).stdout
    assert "wrote" not in text and committed.read_bytes() == before
    assert "## Provenance" in text and "--quick" in text
    return text


def test_scheduler_step_quick_runs_and_leaves_the_committed_results_alone() -> None:
    """It was the one benchmark without --quick, and every run, a smoke run too, wrote over
    benchmarks/results/scheduler_step.md."""
    text = quick_run("scheduler_step.py", "--steps", "100", timeout=120)
    assert "best of 2 repeats" in text


def test_result_io_quick_times_ours_beside_the_peers() -> None:
    """benchmarks/result_io.py: writing, reading and plotting a result, each beside what a
    torch-lr-finder user does with its curve, as ratios, for each curve length."""
    text = quick_run("result_io.py", "--points", "100", timeout=180)
    rows = [line for line in text.splitlines() if line.startswith("| 100 |")]
    assert [row.split("|")[2].strip().split()[0] for row in rows[:3]] == [
        "to_json", "from_json", "plot(path)"]
    assert all(float(row.split("|")[-2]) > 0 for row in rows)


def test_compile_graphs_quick_counts_each_step_under_both_schedulers() -> None:
    """docs/gpu.md's table of fused steps comes from this benchmark: ours never recompiles
    more than OneCycleLR on the same step, a fused AdamW not at all, SGD's foreach step with a
    cycling momentum is refused, and torch's recompiles there grow with the steps."""
    text = quick_run("compile_graphs.py")
    rows = {tuple(c.strip() for c in line.strip("|").split("|")[:3]):
            [c.strip() for c in line.strip("|").split("|")[3:]]
            for line in text.splitlines() if line.startswith(("| AdamW", "| SGD"))}
    assert len(rows) == 9, rows

    def recompiles(cell: str) -> int:
        return int(cell.split(", ")[1].split()[0])

    for (kind, step, scheduler), cells in rows.items():
        if scheduler == "ours" and not cells[0].startswith("refused"):
            theirs = rows[(kind, step, "OneCycleLR")]
            assert all(recompiles(o) <= recompiles(t) for o, t in zip(cells[:2], theirs[:2],
                                                                       strict=True)), (kind, step)
    assert rows[("AdamW", "fused", "ours")][:2] == ["0 graphs, 0 recompiles"] * 2
    assert rows[("SGD", "foreach", "ours")][0] == "refused: tensors=True"
    assert rows[("SGD", "foreach", "OneCycleLR")][2] == "yes"  # grows with the steps


def test_sweep_resolution_quick_runs_and_reads_its_threshold(tmp_path) -> None:
    """The measurement behind MAX_DECADES_PER_STEP is a benchmark that runs (it was a script
    kept nowhere)."""
    out = tmp_path / "sweep_resolution.md"
    text = subprocess.run([sys.executable, str(BENCHMARKS / "sweep_resolution.py"), "--quick",
                           "--seeds", "1", "--out", str(out)], capture_output=True, text=True,
                          timeout=600, check=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}).stdout
    rows = [line for line in text.splitlines() if line.startswith("| 30 |")
            or line.startswith("| 100 |")]
    assert len(rows) == 2, text
    assert rows[0].split("|")[2].strip() == "0.276"  # 8 decades in 29 steps
    assert "\n2 sweeps, " in text  # --quick takes the --seeds given (it kept its 2)
    written = out.read_text()
    assert "MAX_DECADES_PER_STEP` = 0.15" in written and "- command: `python benchmarks/" in written
    committed = BENCHMARKS / "results" / "sweep_resolution.md"
    assert committed.exists(), "run python benchmarks/sweep_resolution.py and commit its result"


def test_num_iter_shift_quick_runs_and_reads_its_picks_off_the_grid(tmp_path) -> None:
    """The measurement behind the docs' "confirm a curve that falls little with 200 steps"
    runs, and its regret is the best grid mean minus the grid read at the picks."""
    out = tmp_path / "num_iter_shift.md"
    text = subprocess.run([sys.executable, str(BENCHMARKS / "num_iter_shift.py"), "--quick",
                           "--seeds", "1", "--out", str(out)], capture_output=True, text=True,
                          timeout=600, check=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}).stdout
    grid = dict(part.split(": ") for part in
                text.split("accuracy %): ", 1)[1].splitlines()[0].split(" · "))
    assert len(grid) == 13 and all(0 <= float(a) <= 100 for a in grid.values()), text
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith("| 100 | 1 |")]
    assert len(rows) == 1, text
    regret, top_regret = float(rows[0][3]), float(rows[0][5])
    assert 0 <= regret <= max(map(float, grid.values())) - 50  # never below the best, nor a coin
    assert top_regret >= 0 and rows[0][6].endswith(" of 1"), rows  # (--quick kept 2 seeds)
    written = out.read_text()
    assert "BCEWithLogitsLoss" in written and "- command: `python benchmarks/" in written
    committed = BENCHMARKS / "results" / "num_iter_shift.md"
    assert committed.exists(), "run python benchmarks/num_iter_shift.py and commit its result"


def test_warning_rates_quick_counts_the_warnings_of_real_sweeps() -> None:
    """docs/suggestions.md's rates of warnings by loss come from this benchmark: a quick run
    writes nothing, has a row for each case, and a start too high (Adam at 0.1) is warned of
    on every curve, where a cross-entropy sweep from 1e-7 at batch 64 is warned of on none."""
    text = quick_run("warning_rates.py")
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()
             if line.startswith(("| cross-entropy", "| MSE"))]
    rows = [c for c in cells if len(c) == 13]
    assert len(rows) == 6, text  # (the loop's progress lines hold no leading "| ")
    # the summary: per loss, its curves from 1e-7 told their fall may be noise, by spread
    summary = {c[0]: c[1:] for c in cells if len(c) == 4}
    assert list(summary) == ["cross-entropy", "MSE"], text
    for loss, counts in summary.items():
        told = sum(int(r[9].split("/")[0]) + int(r[10].split("/")[0]) for r in rows
                   if r[0] == loss and r[4] == "1e-07")
        assert sum(int(c.split("/")[0]) for c in counts if c != "-") == told, (loss, counts)
        assert sum(int(c.split("/")[1]) for c in counts if c != "-") == 4, (loss, counts)
    for loss, _, _, _, start_lr, warned, jumped, falling, first, *_ in rows:
        if start_lr == "0.1":
            assert warned == "2/2", rows
        elif loss == "cross-entropy":
            assert warned == jumped == falling == first == "0/2", rows
    for row in rows:  # (spreads: decades between the seeds' picks, or "-" with one pick)
        assert all(re.fullmatch(r"(\d+\.\d\d|-)( \(\d none\))?", c) for c in row[11:13]), row


def test_start_warnings_quick_sets_a_start_too_high_beside_one_from_1e7() -> None:
    """docs/suggestions.md's account of the warnings of a start too high on real sweeps comes
    from this benchmark: a quick run writes nothing, sets Adam from 0.1 beside the same model
    from 1e-7, finds its pick 5x or more high, and tells it of its start (the sweep from 1e-7
    is not told of its start)."""
    text = quick_run("start_warnings.py")
    rows = {c[0]: c[1:] for c in ([x.strip() for x in line.strip("|").split("|")]
                                  for line in text.splitlines() if line.startswith("| 1e-07")
                                  or line.startswith("| 0.1 "))}
    assert rows["1e-07"][:5] == ["1", "0", "0/0", "0/1", "0"], text
    assert rows["0.1"][:5] == ["1", "1", "1/1", "0/0", "0"], text
    assert float(rows["0.1"][5]) >= 5, text
    assert "- digits mlp Adam from 0.1: " in text and ", told of its start" in text, text


def test_engine_overhead_cut_short_keeps_its_whole_repeats(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path) -> None:
    """A GPU session stops its last stage at a time limit with SIGINT; the breakdown wrote
    nothing then. Now the whole repeats of section 1 are kept, and what was not measured is
    marked so."""
    import torch

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import engine_overhead

    calls = [0]
    real_best = engine_overhead.best

    def best(run, device, repeats):  # the SIGINT comes in the second repeat of section 1
        calls[0] += 1
        if calls[0] == 7:  # 3 runners x 2 lengths a repeat
            raise KeyboardInterrupt
        return real_best(run, device, repeats)

    monkeypatch.setattr(engine_overhead, "best", best)
    monkeypatch.setattr(engine_overhead, "snapshots", lambda *a: pytest.fail("not after a cut"))
    out = tmp_path / "eo.md"
    threads = torch.get_num_threads()  # main() sets its own
    try:
        engine_overhead.main(["--quick", "--repeats", "3", "--device", "cpu", "--out", str(out)])
    finally:
        torch.set_num_threads(threads)
    text = out.read_text(encoding="utf-8")
    assert "**Cut short (SIGINT, at a time limit): section 1 after 1 of 3 repeats.**" in text
    assert "(median of 1;" in text and text.count("Not measured: the run was cut short") == 2


def test_git_commit_flags_changes_but_not_the_wheels_results_or_session_folder(
        tmp_path: Path) -> None:
    """The GPU session carries its wheels in .whl/, which the GPU machine's copy of the tree
    did not ignore: its results said "uncommitted changes" for an unchanged tree."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from _common import git_commit
    finally:
        sys.path.remove(str(BENCHMARKS))

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                       cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", "code.py")
    git("commit", "-q", "-m", "one")
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tmp_path, text=True,
                          capture_output=True, check=True).stdout.strip()
    for path in (".whl/torch_lr_finder-0.2.2-py3-none-any.whl", "gpu-session/gpu.md",
                 "benchmarks/results/gpu.md"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("made by a benchmark run\n")
    assert git_commit(tmp_path) == head
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_commit(tmp_path) == f"{head} (uncommitted changes)"


def test_the_provenance_command_is_quoted_to_run_again() -> None:
    """The repeats' command line printed ``--precision bf16 autocast`` unquoted: pasted into a
    shell, it ran another command (``autocast`` an unknown argument)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from _common import command_line
    finally:
        sys.path.remove(str(BENCHMARKS))
    line = command_line("range_test_repeats.py", ["--precision", "bf16 autocast", "--repeats", "3"])
    assert line == "python benchmarks/range_test_repeats.py --precision 'bf16 autocast' --repeats 3"
    assert shlex.split(line)[2:] == ["--precision", "bf16 autocast", "--repeats", "3"]
    assert command_line("gpu.py", []) == "python benchmarks/gpu.py"


def test_clr_bounds_quick_trains_each_variant_on_paired_seeds() -> None:
    """benchmarks/clr_bounds.py: the CLR between ``bounds()`` beside the paper's rule of thumb
    and the two peers, each trained on the same seeds; the first row's paired difference is
    its own (none), the others' are the accuracies' differences."""
    text = quick_run("clr_bounds.py", "--seeds", "2")
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith(("| clr ", "| fixed ", "| 1cycle "))]
    table = [r for r in rows if len(r) == 4]  # (the summary's rows have two cells)
    assert [r[0] for r in table] == ["clr bounds()", "clr max/4", "clr max/10",
                                     "fixed suggestion()", "1cycle max"], text
    first = float(table[0][2].split(" ± ")[0])
    base, top = (float(x) for x in table[0][1].split(" .. "))
    assert 0 < base < top and table[0][3] == "—"
    quarter, same = (float(x) for x in table[1][1].split(" .. "))
    assert same == top and quarter == pytest.approx(top / 4, rel=0.01), table[1]
    for r in table:
        acc = float(r[2].split(" ± ")[0])
        assert 10 <= acc <= 100, r  # digits: chance is 10%
        if r is not table[0]:  # the mean of paired differences is the difference of the means
            assert abs(float(r[3].split(" ± ")[0]) - (acc - first)) < 0.06, r
    assert "max/base per curve" in text


def test_clr_bounds_with_one_seed_gives_no_standard_error() -> None:
    """A bug bash: --seeds 1 printed "± 0.00" for every standard error, which one seed has
    none of; suggestion_quality.py says n/a."""
    clr_bounds = benchmark_module("clr_bounds")
    run = {"policy": "clr", "base_lr": 0.01, "lr": 0.1}
    rows = {v: {"run": run, "mean": 90.0, "se": 0.0, "vs_bounds": 0.5, "vs_bounds_se": 0.0}
            for v in clr_bounds.VARIANTS}
    result = {"task": "t", "base_lr": 0.01, "max_lr": 0.1, "ratios": [10.0], "rows": rows,
              "seconds": 1.0}
    one = "\n".join(clr_bounds.render([result], 1))
    n = len(clr_bounds.VARIANTS)  # each accuracy, each paired difference, each summary row
    assert "± 0.0" not in one and one.count("± n/a (1 seed)") == n + 2 * (n - 1)
    assert "| clr max/4 | +0.50 ± n/a (1 seed) |" in one
    rows = {v: {**r, "se": 0.4, "vs_bounds_se": 0.25} for v, r in rows.items()}
    two = "\n".join(clr_bounds.render([{**result, "rows": rows}], 2))
    assert "n/a" not in two and "| 90.0 ± 0.4 | +0.50 ± 0.25 |" in two
