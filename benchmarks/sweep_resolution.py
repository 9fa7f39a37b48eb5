"""How many steps a range test needs: how far its picks move when a sweep is one step shorter.

    python benchmarks/sweep_resolution.py [--quick] [--seeds 20] [--steps 30,50,70,100,200]
                                          [--datasets digits,synthetic,mnist1d] [--out PATH]

For every dataset, seed and step count, ``find_lr`` runs one sweep of the dataset's default
model over 8 decades (``start_lr=1e-7`` to ``end_lr=10``, exponential, its seed for the initial
weights and the batch order). The default rule's suggestion and the ``max_lr`` bound are read
off the curve as recorded, and again off the same curve without its last point: the sweep
stopped one step earlier, a difference no user controls (one more or less batch before the
blow-up). A reading that a single point moves by much is a reading of that point, not of the
curve.

Prints, per step count: the LR spacing of the points (decades a step), the share of sweeps in
which either reading moved more than 0.15 decades, and the median and largest move; writes
``benchmarks/results/sweep_resolution.md`` with its provenance. This is the measurement behind
``superconverge.finder.suggest.MAX_DECADES_PER_STEP``: points farther apart than that get the
"too coarse to read" warning.
"""

from __future__ import annotations

import argparse
import itertools
import math
import statistics
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

import _common  # first of ours: puts ../src on sys.path
from superconverge.finder.suggest import MAX_DECADES_PER_STEP, MIN_POINTS, suggest, suggest_bounds
from superconverge.recipes import find_lr

RESULTS = _common.RESULTS_DIR / "sweep_resolution.md"
START_LR, END_LR = 1e-7, 10.0


@dataclass(frozen=True)
class Moves:
    """One sweep: its points' spacing and how far each reading moved without the last point
    (``None``: a reading that one of the two curves has and the other lacks)."""

    dataset: str
    seed: int
    steps: int
    points: int
    spacing: float
    suggestion: float | None
    max_lr: float | None

    @property
    def largest(self) -> float:
        """The larger move of the two readings; a reading lost or gained counts as infinite."""
        return max(math.inf if m is None else m for m in (self.suggestion, self.max_lr))


def _move(a: float | None, b: float | None) -> float | None:
    if a is None and b is None:
        return 0.0
    if a is None or b is None:
        return None
    return abs(math.log10(a / b))


def sweep(dataset: str, seed: int, steps: int) -> Moves:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the curves' own warnings are not measured here
        res = find_lr(dataset=dataset, num_iter=steps, start_lr=START_LR, end_lr=END_LR, seed=seed,
                      progress=False)
    lrs, losses = list(res.lrs), list(res.losses)
    short_lrs, short_losses = lrs[:-1], losses[:-1]
    spacing = statistics.median(math.log10(b / a) for a, b in itertools.pairwise(lrs))
    return Moves(
        dataset, seed, steps, len(lrs), spacing,
        _move(suggest(lrs, losses).lr, suggest(short_lrs, short_losses).lr),
        _move(suggest_bounds(lrs, losses)[1].lr, suggest_bounds(short_lrs, short_losses)[1].lr),
    )


def table(rows: list[Moves], steps: list[int]) -> str:
    out = [
        "| steps over 8 decades | decades a step | sweeps | a reading moved > "
        f"{MAX_DECADES_PER_STEP} decades | median move | largest move |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n in steps:
        mine = [r for r in rows if r.steps == n]
        largest = [r.largest for r in mine]
        moved = sum(m > MAX_DECADES_PER_STEP for m in largest)
        finite = [m for m in largest if math.isfinite(m)]
        lost = len(largest) - len(finite)
        spacing = statistics.median(r.spacing for r in mine)
        top = f"{max(finite):.2f}" if finite else "-"
        out.append(
            f"| {n} | {spacing:.3f} | {len(mine)} | {moved} ({100 * moved / len(mine):.0f}%)"
            f"{f', {lost} lost a pick' if lost else ''} | "
            f"{statistics.median(finite) if finite else math.nan:.3f} | {top} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smoke test: digits, 2 seeds, 30 "
                    "and 100 steps, unless given")
    ap.add_argument("--seeds", type=_common.positive_int, default=None,
                    help="sweeps per dataset and step count (default 20)")
    # (a pick needs MIN_POINTS points, on the sweep one step shorter too: 3 to 7 passed, then
    # failed after the sweeps before them, and 8 never gave a shorter sweep a pick; reviews)
    ap.add_argument("--steps", type=_common.whole_numbers(MIN_POINTS + 1, "step counts"),
                    default=None,
                    help="step counts, comma-separated (default 30,50,70,100,200: either "
                    "side of the threshold, 0.15 decades a step, and the defaults)")
    ap.add_argument("--datasets", type=_common.dataset_names, default=None,
                    help="built-in datasets, comma-separated (default digits,synthetic,mnist1d)")
    ap.add_argument("--out", type=Path, default=None, help="markdown results file (default: "
                    "benchmarks/results/sweep_resolution.md; with --quick: printed, not written)")
    args = ap.parse_args(argv)
    datasets = args.datasets or (["digits"] if args.quick else ["digits", "synthetic", "mnist1d"])
    seeds = args.seeds or (2 if args.quick else 20)
    steps = args.steps or ([30, 100] if args.quick else [30, 50, 70, 100, 200])
    torch.set_num_threads(1)

    began = time.perf_counter()
    rows = [sweep(d, s, n) for d in datasets for n in steps for s in range(seeds)]
    elapsed = time.perf_counter() - began
    text = table(rows, steps)
    print(text)
    print(f"\n{len(rows)} sweeps, {elapsed:.0f} s")
    lines = ["# Sweep resolution: how far the picks move when a sweep is one step shorter", ""]
    lines += _common.provenance(_common.command_line("sweep_resolution.py", argv))
    lines += [
        f"- datasets: {', '.join(datasets)} (each with its default model); seeds 0-{seeds - 1}; "
        f"`find_lr(start_lr={START_LR:g}, end_lr={END_LR:g})`, exponential; {elapsed:.0f} s",
        "",
        "Each sweep's default suggestion and `max_lr` bound, read off the curve and off the "
        "same curve without its last point (the sweep stopped one step earlier); a move is "
        "`|log10(a / b)|`, the larger of the two readings', a reading one curve has and the "
        "other lacks counted apart (\"lost a pick\"). The threshold is "
        f"`MAX_DECADES_PER_STEP` = {MAX_DECADES_PER_STEP}: points farther apart than that are "
        "warned of as too coarse to read.",
        "",
        text,
        "",
    ]
    _common.save_results("\n".join(lines), args.out, args.quick, RESULTS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
