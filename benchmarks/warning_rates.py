"""How often the range test's warnings fire, by loss, and how far its picks move between seeds.

    python benchmarks/warning_rates.py [--quick] [--seeds 4] [--out PATH]

The suggestion rules and their warnings were tuned on cross-entropy curves. A regression's
loss behaves otherwise: an MSE's batch losses spread in proportion to their level, with heavy
tails, so a flat start is far noisier than the valley. This runs real range tests (1e-7 -> 10,
an MLP 20-64-64-out on 4,096 fixed examples) on four losses, with SGD (momentum 0.9) and Adam,
batches of 16 and 64, 100 and 300 steps, one test per seed (the seed draws the weights and the
batches' order), and reports for each case:

- the share of its curves that drew any warning, "the loss jumped ... start_lr is already too
  high", "the loss was already falling at start_lr" and "the loss fell in the sweep's first
  step" (the three warnings of a start too high, one at most per curve), "the loss fell by
  only N times its batch-to-batch noise ... may be reading noise" and "the loss stayed within
  X of its start (N times its batch-to-batch noise) over the whole sweep" (the two warnings
  that the fall may be noise);
- how far the default ``suggestion()`` and ``bounds()[1]`` (``max_lr``) lie apart between
  the seeds, in decades (log10 of the largest over the smallest): a warning that the picks may
  be unreliable is borne out where they spread, and a false alarm where they agree.

A last group starts Adam at ``start_lr=0.1``, too high: each of its curves should be warned,
of a start too high, or of too few points where the loss blew up at once.

The losses: ``cross-entropy`` (two classes, a linear rule), ``MSE`` and ``L1`` (a linear
target plus noise of sd 0.1) and ``MSE, t(2) noise`` (the same target plus Student's t noise
with 2 degrees of freedom, times 2: outliers in every batch). Prints a table and writes
``benchmarks/results/warning_rates.md``.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from collections.abc import Callable

import torch
from torch import nn

import _common  # first of ours: puts ../src on sys.path
import superconverge as sc
from superconverge.recipes import make_optimizer

RESULTS = _common.RESULTS_DIR / "warning_rates.md"
END_LR = 10.0
JUMPED = "the loss jumped"
FALLING = "the loss was already falling at"
FIRST = "the loss fell in the sweep's first step"
NOISE = "the loss fell by only"  # (... times its batch-to-batch noise ... reading noise)
WITHIN = "the loss stayed within"  # (... of its start (N times its noise) ... never diverged)


def data(loss: str) -> tuple[torch.Tensor, torch.Tensor]:
    """4,096 examples of 20 features, and the targets of ``loss``; the same on every run."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4096, 20, generator=g)
    if loss == "cross-entropy":
        return x, (x @ torch.randn(20, generator=g) > 0).long()
    y = 3 * x[:, :3].sum(1, keepdim=True) + 0.1 * torch.randn(4096, 1, generator=g)
    if loss == "MSE, t(2) noise":
        t = torch.distributions.StudentT(2.0)
        torch.manual_seed(1)  # (its sample draws from the global generator)
        y = y + 2 * t.sample((4096, 1))
    return x, y


LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "cross-entropy": nn.functional.cross_entropy,
    "MSE": nn.functional.mse_loss,
    "L1": nn.functional.l1_loss,
    "MSE, t(2) noise": nn.functional.mse_loss,
}


def sweep(loss: str, optimizer: str, batch: int, steps: int, start_lr: float,
          seed: int) -> sc.RangeTestResult:
    x, y = data(loss)
    torch.manual_seed(seed)
    out = 2 if loss == "cross-entropy" else 1
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, out))
    opt = make_optimizer(optimizer.lower(), model.parameters(),
                         1e-3 if optimizer == "Adam" else 0.1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch,
                                         shuffle=True,
                                         generator=torch.Generator().manual_seed(seed))
    return sc.lr_range_test(model, opt, LOSSES[loss], loader, start_lr=start_lr, end_lr=END_LR,
                            num_iter=steps, progress=False)


def spread_decades(values: list[float | None]) -> float | None:
    """Decades between the largest and the smallest pick; ``None`` with fewer than two."""
    got = [v for v in values if v is not None]
    return math.log10(max(got) / min(got)) if len(got) > 1 else None


def spread(values: list[float | None]) -> str:
    """:func:`spread_decades` as the table writes it, and how many seeds gave no pick."""
    decades = spread_decades(values)
    none = sum(v is None for v in values)
    return ("-" if decades is None else f"{decades:.2f}") + (f" ({none} none)" if none else "")


#: Picks that agree between seeds within this many decades: a warning that they may be
#: unreliable is a likely false alarm; beyond :data:`APART`, a likely right one.
AGREE, APART = 0.4, 1.0


def case(loss: str, optimizer: str, batch: int, steps: int, start_lr: float,
         seeds: int) -> tuple[list[str], int, float | None]:
    """The case's table row; how many of its curves were told their fall may be noise (either
    warning); the spread of its suggestions in decades."""
    warned = jumped = falling = first = noise = within = either = 0
    picks: list[float | None] = []
    tops: list[float | None] = []
    for seed in range(seeds):
        res = sweep(loss, optimizer, batch, steps, start_lr, seed)
        said = res.warnings()
        warned += bool(said)
        jumped += any(w.startswith(JUMPED) for w in said)
        falling += any(w.startswith(FALLING) for w in said)
        first += any(w.startswith(FIRST) for w in said)
        noise += any(w.startswith(NOISE) for w in said)
        within += any(w.startswith(WITHIN) for w in said)
        either += any(w.startswith((NOISE, WITHIN)) for w in said)
        picks.append(res.suggestion())
        tops.append(res.bounds()[1])
    return ([loss, optimizer, str(batch), str(steps), f"{start_lr:g}", f"{warned}/{seeds}",
             f"{jumped}/{seeds}", f"{falling}/{seeds}", f"{first}/{seeds}", f"{noise}/{seeds}",
             f"{within}/{seeds}",
             spread(picks), spread(tops)], either, spread_decades(picks))


def noise_summary(cases: list[tuple[list[str], int, float | None]], seeds: int) -> list[str]:
    """Per loss, from 1e-7: the curves told their fall may be noise, in the cases whose
    suggestions agreed between seeds (likely false alarms) and in those whose lay apart."""
    lines = [f"Told their fall may be noise (either warning), from 1e-7, by how far the case's "
             f"suggestions lay apart: within {AGREE} decades, a likely false alarm; over "
             f"{APART}, a likely right one.", "",
             f"| loss | suggestions within {AGREE} decades | between, or under 2 picks | "
             f"over {APART} decade |",
             "| --- | ---: | ---: | ---: |"]
    for loss in dict.fromkeys(cells[0] for cells, _, _ in cases):
        counts = {"agree": [0, 0], "between": [0, 0], "apart": [0, 0]}
        for cells, either, apart in cases:
            if cells[0] != loss or cells[4] != "1e-07":
                continue
            key = ("between" if apart is None else "apart" if apart > APART else
                   "agree" if apart <= AGREE else "between")
            counts[key][0] += either
            counts[key][1] += seeds
        lines.append(f"| {loss} | " + " | ".join(
            f"{n}/{total}" if total else "-" for n, total in counts.values()) + " |")
    return lines


def report(cases: list[tuple[list[str], int, float | None]], seeds: int, command: str,
           seconds: float) -> str:
    rows = [cells for cells, _, _ in cases]
    head = ["loss", "optimizer", "batch", "steps", "start_lr", "any warning", "jumped",
            "already falling", "first step", "reading noise", "within its noise",
            "suggestion spread (decades)", "max_lr spread (decades)"]
    lines = [
        "# Range-test warnings by loss, and how far the picks move between seeds",
        "",
        f"One range test per seed ({seeds} seeds), 1e-7 -> {END_LR:g} (the last rows from "
        "0.1), on an MLP 20-64-64-out and 4,096 fixed examples. \"jumped\": \"the loss "
        "jumped ... start_lr is already too high\" and \"already falling\": \"the loss was "
        "already falling at start_lr\" and \"first step\": \"the loss fell in the sweep's "
        "first step\", the three warnings of a start too high (one at most per curve); "
        "\"reading noise\": \"the loss fell by only "
        "N times its batch-to-batch noise ... may be reading noise\" and \"within its noise\": "
        "\"the loss stayed within X of its start (N times its batch-to-batch noise) over the "
        "whole sweep\", the two warnings that the fall may be noise. A spread is log10 of the "
        "largest pick over the smallest, between the seeds: where a case is warned that its "
        "picks may be unreliable and they agree within a few tenths of a decade, the warning "
        "was a false alarm.",
        "",
        "| " + " | ".join(head) + " |",
        "| " + " | ".join("---" for _ in head) + " |",
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
        *noise_summary(cases, seeds),
        "",
        f"Whole run: {seconds:.0f} s.",
        "",
    ]
    return _common.with_provenance(lines, command)


def main(argv: list[str] | None = None) -> None:
    ap = _common.argument_parser(__doc__)
    ap.add_argument("--seeds", type=_common.at_least(2), default=None,
                    help="range tests per case (default: 4; 2 with --quick)")
    _common.add_output_arguments(ap, RESULTS,
                                 "MSE and cross-entropy only, batch 64, 100 steps, 2 seeds")
    args = ap.parse_args(argv)
    seeds = args.seeds or (2 if args.quick else 4)
    losses = ["cross-entropy", "MSE"] if args.quick else list(LOSSES)
    grid = [(loss, opt, batch, steps, 1e-7) for loss, opt, batch, steps in itertools.product(
        losses, ("SGD", "Adam"), (64,) if args.quick else (16, 64),
        (100,) if args.quick else (100, 300))]
    grid += [(loss, "Adam", 64, 100, 0.1) for loss in losses]  # (a start too high)
    t0 = time.perf_counter()
    cases = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # counted through res.warnings(), not printed
        torch.set_num_threads(1)  # (small models: threads only add overhead)
        for spec in grid:
            cases.append(case(*spec, seeds))
            print(" | ".join(cases[-1][0]), flush=True)
    text = report(cases, seeds, _common.command_line("warning_rates.py", argv),
                  time.perf_counter() - t0)
    print(text)
    _common.save_results(text, args.out, args.quick, RESULTS)


if __name__ == "__main__":
    main()
