"""Cyclical LRs between ``bounds()``: is the range test's ``base_lr`` a good lower bound?

    python benchmarks/clr_bounds.py            # full: 4 tasks, ~12 min on 2 cores
    python benchmarks/clr_bounds.py --quick    # a smoke run: one task, 2 seeds, fewer steps

``RangeTestResult.bounds()`` reads ``base_lr`` where the loss starts to fall (Smith's CLR
paper: where the accuracy starts to rise) and ``max_lr`` where it stops falling. On a sweep of
8 decades the two can lie from 6 to over 1,000 times apart, where the paper's own bounds were 3
to 6 times apart, and it adds a rule of thumb: ``base_lr`` a third or a quarter of ``max_lr``. A
triangle that low spends much of each cycle at LRs that hardly train. This measures what it
costs.

For each task of ``suggestion_quality.py`` (same models, data, optimizers, epoch budgets and
range tests, seeds 0-4):

1. The bounds of 5 range tests; their median in log-LR (as the suggestion benchmark takes its
   picks), and the spread of ``max_lr / base_lr`` over the 5 curves.
2. Train with a triangular CLR (``cyclic``) of two whole cycles over the budget (Smith: end
   at the end of a cycle), between: ``base_lr`` and ``max_lr`` of ``bounds()``; ``max_lr / 4``
   and ``max_lr`` (the paper's rule of thumb); ``max_lr / 10`` and ``max_lr``. And two peers on
   the same curves: a fixed LR at ``suggestion()`` (plain training), and the 1cycle at
   ``max_lr`` that the docs recommend.
3. Every variant trains with the same 5 seeds (model init and batch order, none of the range
   tests'), so each difference from the first is paired: its mean ± the standard error of the
   5 paired differences.

Results go to ``benchmarks/results/clr_bounds.md`` (tables, versions, seeds and the command)
and ``.json`` beside it (each seed's accuracy, each curve's bounds).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

import _common  # first of ours: puts ../src on sys.path
import suggestion_quality as sq
from superconverge.finder import suggest, suggest_bounds

RESULTS = _common.RESULTS_DIR / "clr_bounds.md"
CYCLES = 2
VARIANTS = ("clr bounds()", "clr max/4", "clr max/10", "fixed suggestion()", "1cycle max")


@dataclass(frozen=True)
class Run:
    """What one training run uses: a policy and its LRs."""

    policy: str  # "clr", "fixed" or "one-cycle"
    lr: float  # max_lr for clr and 1cycle, the LR for fixed
    base_lr: float = 0.0  # clr only


def train(task: sq.Task, run: Run, seed: int, epoch_scale: float) -> float:
    """Final validation accuracy (%) of ``task`` trained under ``run``; init and batch order
    from ``seed``, as ``suggestion_quality.train`` seeds them."""
    return sq.train(task, run.policy, run.lr, seed, epoch_scale, run.base_lr, CYCLES)


def _log_median(values: Sequence[float]) -> float:
    return float(10 ** np.median(np.log10(values)))


def _mean_se(values: Sequence[float]) -> tuple[float, float]:
    return float(np.mean(values)), sq.standard_error(values)


def run_task(task: sq.Task, s: sq.Settings, seeds: int, pool: ProcessPoolExecutor
             ) -> dict[str, Any]:
    began = time.perf_counter()
    curves = sq.run_jobs(pool, sq.range_curve, [(task, r, s) for r in range(s.repeats)])
    bounds = [suggest_bounds(c["lrs"], c["losses"]) for c in curves]
    fixed = [suggest(c["lrs"], c["losses"], "default").lr for c in curves]
    if any(b.lr is None or t.lr is None for b, t in bounds) or None in fixed:
        raise RuntimeError(f"{task.name}: a range test gave no bounds; "
                           f"{[(b.reason, t.reason) for b, t in bounds]}")
    base = _log_median([b.lr for b, _ in bounds])  # type: ignore[misc]
    top = _log_median([t.lr for _, t in bounds])  # type: ignore[misc]
    ratios = [t.lr / b.lr for b, t in bounds]  # type: ignore[operator]
    runs = {
        "clr bounds()": Run("clr", top, base),
        "clr max/4": Run("clr", top, top / 4),
        "clr max/10": Run("clr", top, top / 10),
        "fixed suggestion()": Run("fixed", _log_median(fixed)),  # type: ignore[arg-type]
        "1cycle max": Run("one-cycle", top),
    }
    seed_ids = [s.pick_seed_base + i for i in range(seeds)]
    jobs = [(task, run, seed, s.epoch_scale) for run in runs.values() for seed in seed_ids]
    accs = sq.run_jobs(pool, train, jobs)
    by_variant = {name: accs[i * seeds:(i + 1) * seeds] for i, name in enumerate(runs)}
    first = by_variant[VARIANTS[0]]
    rows = {}
    for name, values in by_variant.items():
        mean, se = _mean_se(values)
        diff, diff_se = _mean_se([a - b for a, b in zip(values, first, strict=True)])
        rows[name] = {"run": asdict(runs[name]), "accuracies": values, "mean": mean,
                      "se": se, "vs_bounds": diff, "vs_bounds_se": diff_se}
    return {"task": task.name, "base_lr": base, "max_lr": top, "ratios": ratios,
            "bounds_reasons": [b.reason for b, _ in bounds], "rows": rows,
            "seconds": round(time.perf_counter() - began, 1)}


def render(results: list[dict[str, Any]], seeds: int) -> list[str]:
    """The tables: a summary over tasks, then one a task."""
    out: list[str] = []
    diffs: dict[str, list[float]] = {v: [] for v in VARIANTS}
    ses: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for r in results:
        ratios = r["ratios"]
        out += [f"## {r['task']}", "",
                f"`bounds()` median over the {len(ratios)} range tests: base_lr "
                f"{r['base_lr']:.3g}, max_lr {r['max_lr']:.3g} "
                f"({r['max_lr'] / r['base_lr']:.0f}x); max/base per curve "
                f"{min(ratios):.0f}x to {max(ratios):.0f}x; {r['seconds']:.0f} s", "",
                "| variant | LRs | accuracy % | vs clr bounds() (paired) |",
                "| --- | --- | ---: | ---: |"]
        for name in VARIANTS:
            row = r["rows"][name]
            run = row["run"]
            lrs = (f"{run['base_lr']:.3g} .. {run['lr']:.3g}" if run["policy"] == "clr"
                   else f"{run['lr']:.3g}")
            vs = ("—" if name == VARIANTS[0]
                  else f"{row['vs_bounds']:+.2f} {sq.plus_minus(row['vs_bounds_se'], seeds, 2)}")
            mean = f"{row['mean']:.1f} {sq.plus_minus(row['se'], seeds)}"
            out.append(f"| {name} | {lrs} | {mean} | {vs} |")
            diffs[name].append(row["vs_bounds"])
            ses[name].append(row["vs_bounds_se"])
        out.append("")
    summary = ["## Mean over tasks", "",
               f"Accuracy points against the CLR between `bounds()`, {seeds} paired seeds a task; "
               "± the standard error of the mean over tasks.", "",
               "| variant | vs clr bounds() |", "| --- | ---: |"]
    for name in VARIANTS[1:]:
        se = math.sqrt(sum(x * x for x in ses[name])) / len(ses[name])
        summary.append(f"| {name} | {np.mean(diffs[name]):+.2f} {sq.plus_minus(se, seeds, 2)} |")
    return [*summary, "", *out]


def main(argv: list[str] | None = None) -> int:
    ap = _common.argument_parser(__doc__)
    _common.add_output_arguments(ap, RESULTS, "one task, 2 seeds, half the epochs and steps")
    ap.add_argument("--tasks", type=str, default=None,
                    help="comma-separated task names (default: all of suggestion_quality.py's)")
    ap.add_argument("--seeds", type=_common.positive_int, default=None,
                    help="training seeds per variant (default 5; 2 with --quick)")
    ap.add_argument("--workers", type=_common.positive_int, default=2,
                    help="training runs in parallel processes (default 2, one a core here)")
    args = ap.parse_args(argv)
    tasks = sq.chosen_tasks(ap, args.tasks, args.quick)
    s = sq.Settings()
    if args.quick:
        s = sq.Settings(repeats=2, epoch_scale=0.5, range_scale=0.6)
    seeds = args.seeds or (2 if args.quick else 5)
    began = time.perf_counter()
    results = []
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for task in tasks:
            print(f"[{time.perf_counter() - began:6.0f} s] {task.name} ...", flush=True)
            try:
                results.append(run_task(task, s, seeds, pool))
            except RuntimeError as exc:
                ap.exit(1, f"{ap.prog}: error: {exc}\n")
    elapsed = time.perf_counter() - began
    body = render(results, seeds)
    lines = ["# Cyclical LRs between `bounds()` against the paper's rule of thumb", "",
             f"Triangular CLR (`cyclic`), {CYCLES} whole cycles over each task's epoch budget, "
             "momentum held (SGD's 0.9, AdamW's betas); tasks, models, data, range tests and "
             "seeds as in suggestion_quality.py (range tests: seeds 0-"
             f"{s.repeats - 1}; training: seeds {s.pick_seed_base}.."
             f"{s.pick_seed_base + seeds - 1}); total {elapsed:.0f} s.", "", *body]
    text = _common.with_provenance(lines, _common.command_line("clr_bounds.py", argv))
    print(text)
    out = _common.save_results(text, args.out, args.quick, RESULTS)
    if out is not None:  # everything behind the tables: accuracies a seed, ratios, reasons
        _common.write_text(out.with_suffix(".json"), json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
