"""A loss that falls little: how the picks move with ``num_iter``, against grid-searched truth.

    python benchmarks/num_iter_shift.py [--quick] [--seeds 10] [--steps 100,200]
                                        [--accumulation 1,4] [--out PATH]

The task: a multi-label problem built from scikit-learn's digits (four binary labels per image:
even, >= 5, prime, one of 0/6/8/9), the library's MLP with four outputs, ``BCEWithLogitsLoss``,
SGD (momentum 0.9, weight decay 5e-4), batches of 64, 6 epochs at a fixed LR. Its range-test
loss starts near 0.69 and falls only about a tenth before it blows up, so the last third of the
fall, where the default rule reads its pick, spans a few points of the sweep.

1. **Truth**: train at each LR of a grid 1/8 decade apart (10^-1.25 .. 10^0.25), several seeds,
   and record the held-out mean per-label accuracy; the best grid mean is the target.
2. **Range tests** (``lr_range_test``, 1e-7 -> 10) for each step count and accumulation, one
   per seed: the default ``suggestion()`` and ``bounds()[1]`` (``max_lr``).
3. **Regret**: the best grid mean minus the grid's mean-accuracy curve (interpolated in log-LR)
   read at each pick, averaged over the seeds; also for ``max_lr`` trained as a fixed LR, which
   is a 1cycle peak, not a fixed LR.

Prints a table and writes ``benchmarks/results/num_iter_shift.md``. This is the measurement
behind the advice in docs/range_test.md to confirm a curve that falls little with a sweep of
200 steps: its pick follows where the loss turns up, which moves with ``num_iter``, and
``repeats`` (the spread between seeds) cannot show that.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

import _common  # first of ours: puts ../src on sys.path
import superconverge as sc
from superconverge.data import load_dataset, make_loader
from superconverge.finder.suggest import MIN_POINTS
from superconverge.models import build_model

RESULTS = _common.RESULTS_DIR / "num_iter_shift.md"
START_LR, END_LR = 1e-7, 10.0
BATCH, EPOCHS, LABELS = 64, 6, 4
GRID = tuple(10 ** (-1.25 + k / 8) for k in range(13))  # 0.056 .. 1.78, 1/8 decade apart


def multi_hot(y: torch.Tensor) -> torch.Tensor:
    """Four binary labels per digit: even, >= 5, prime, one of 0/6/8/9."""
    y = y.long()
    primes = torch.isin(y, torch.tensor([2, 3, 5, 7]))
    return torch.stack([y % 2 == 0, y >= 5, primes, torch.isin(y, torch.tensor([0, 6, 8, 9]))],
                       1).float()


DATA = load_dataset("digits")
X_TRAIN, Y_TRAIN = DATA.x_train, multi_hot(DATA.y_train)
X_VAL, Y_VAL = DATA.x_val, multi_hot(DATA.y_val)


def build(seed: int, lr: float) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    model = build_model("mlp", DATA.input_shape, LABELS)
    return model, torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)


def train(lr: float, seed: int) -> float:
    """Fixed-LR training; the held-out mean per-label accuracy, in %."""
    model, optimizer = build(1000 + seed, lr)
    loss_fn = nn.BCEWithLogitsLoss()
    model.train()
    # built once: its seeded generator then gives each epoch an order of its own (an audit:
    # rebuilt every epoch, every epoch saw the first one's order)
    loader = make_loader(X_TRAIN, Y_TRAIN, BATCH, True, seed)
    for _ in range(EPOCHS):
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        out = model(X_VAL)
    if not torch.isfinite(out).all():
        return 50.0  # diverged: as good as a coin per label
    return float(((out > 0).float() == Y_VAL).float().mean()) * 100


@dataclass(frozen=True)
class Picks:
    steps: int
    accumulation: int
    suggestion: list[float]
    max_lr: list[float]
    warned: int  # range tests with any curve warning


def range_tests(steps: int, accumulation: int, seeds: int) -> Picks:
    picks, tops, warned = [], [], 0
    for seed in range(seeds):
        model, optimizer = build(2000 + seed, START_LR)
        loader = make_loader(X_TRAIN, Y_TRAIN, BATCH, True, 3000 + seed)
        res = sc.lr_range_test(model, optimizer, nn.BCEWithLogitsLoss(), loader, START_LR, END_LR,
                               steps, accumulation_steps=accumulation, seed=seed, progress=False)
        suggestion, top = res.suggestion(), res.bounds()[1]
        if suggestion is None or top is None:
            raise RuntimeError(f"seed {seed}, {steps} steps: no pick ({res.warnings()})")
        picks.append(suggestion)
        tops.append(top)
        warned += bool(res.warnings())
    return Picks(steps, accumulation, picks, tops, warned)


def read(curve: list[float], lr: float) -> float:
    """The grid's mean-accuracy curve at ``lr``, interpolated in log-LR (held at its ends)."""
    return float(np.interp(math.log10(lr), [math.log10(g) for g in GRID], curve))


def table(rows: list[Picks], curve: list[float]) -> str:
    best = max(curve)
    out = [
        "| steps | accumulation | `suggestion()` median [min - max] | regret | "
        "`max_lr` median | regret of `max_lr` as a fixed LR | curves warned of |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        regret = statistics.mean(best - read(curve, p) for p in r.suggestion)
        top_regret = statistics.mean(best - read(curve, p) for p in r.max_lr)
        out.append(
            f"| {r.steps} | {r.accumulation} | {statistics.median(r.suggestion):.3g} "
            f"[{min(r.suggestion):.3g} - {max(r.suggestion):.3g}] | {regret:.2f} | "
            f"{statistics.median(r.max_lr):.3g} | {top_regret:.2f} | "
            f"{r.warned} of {len(r.suggestion)} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smoke test: 2 seeds, 100 steps, "
                    "no accumulation, unless given")
    ap.add_argument("--seeds", type=_common.positive_int, default=None,
                    help="range tests per row, and training seeds per grid LR (default 10)")
    ap.add_argument("--steps", type=_common.whole_numbers(MIN_POINTS), default=None,
                    help="range-test step counts, comma-separated (default 100,200)")
    ap.add_argument("--accumulation", type=_common.whole_numbers(1), default=None,
                    help="accumulation_steps values, comma-separated (default 1,4)")
    ap.add_argument("--out", type=Path, default=None, help="markdown results file (default: "
                    "benchmarks/results/num_iter_shift.md; with --quick: printed, not written)")
    args = ap.parse_args(argv)
    seeds = args.seeds or (2 if args.quick else 10)
    steps = args.steps or ([100] if args.quick else [100, 200])
    accumulation = args.accumulation or ([1] if args.quick else [1, 4])
    torch.set_num_threads(1)

    began = time.perf_counter()
    # The range tests first: a sweep too short to give a pick (a few steps over 8 decades)
    # fails before the grid's training, not after it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # counted through res.warnings(), not printed
        try:
            rows = [range_tests(n, k, seeds) for n in steps for k in accumulation]
        except RuntimeError as exc:
            ap.exit(1, f"{ap.prog}: error: {exc}; pass more --steps\n")
    curve = [statistics.mean(train(lr, s) for s in range(seeds)) for lr in GRID]
    elapsed = time.perf_counter() - began
    best = int(np.argmax(curve))
    grid = " · ".join(f"{lr:.3g}: {acc:.1f}" for lr, acc in zip(GRID, curve, strict=True))
    text = table(rows, curve)
    print(f"grid ({seeds} seeds, mean per-label accuracy %): {grid}\n")
    print(text)
    print(f"\n{elapsed:.0f} s")
    lines = ["# A loss that falls little: how the picks move with `num_iter`", ""]
    lines += _common.provenance(_common.command_line("num_iter_shift.py", argv))
    lines += [
        f"- task: digits with 4 binary labels per image (even, >= 5, prime, one of 0/6/8/9), "
        f"the library's MLP, `BCEWithLogitsLoss`, SGD (momentum 0.9, weight decay 5e-4), "
        f"batch {BATCH}, {EPOCHS} epochs; range tests {START_LR:g} -> {END_LR:g}, exponential, "
        f"seeds 0-{seeds - 1}; {elapsed:.0f} s",
        "",
        f"Truth: held-out mean per-label accuracy (%) at a fixed LR, the mean of {seeds} seeds "
        f"per LR; the best is {curve[best]:.1f} at {GRID[best]:.3g}.",
        "",
        grid,
        "",
        "Regret: the best grid mean minus the grid's mean-accuracy curve (interpolated in "
        "log-LR) read at each range test's pick, averaged over the range tests, in accuracy "
        "points. `max_lr` is a 1cycle peak; its column shows what training at it as a fixed "
        "LR would cost.",
        "",
        text,
        "",
    ]
    _common.save_results("\n".join(lines), args.out, args.quick, RESULTS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
