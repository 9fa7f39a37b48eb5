"""Is a start too high told? Range tests from a low and from higher ``start_lr``, side by side.

    python benchmarks/start_warnings.py [--quick] [--seeds 3] [--out PATH]

Every pick is a share of the fall measured from where the sweep began, so a sweep that begins
inside the descent (or on a spike it falls back from) picks too high. The warnings of a start
too high (``START_WARNINGS``: "the loss jumped ...", "the loss was already falling at
start_lr", "the loss fell in the sweep's first step ...") should come with every such pick,
and not with a sweep that starts flat. This runs real range tests (100 steps to 10, batch 64)
of four small models on the built-in data sets (digits' MLP and CNN, the synthetic data's MLP,
MNIST-1D's ``cnn1d``) with SGD (momentum 0.9), Adam and AdamW (weight decay 0.01), from
``start_lr`` 1e-7, 1e-4, 1e-3, 0.01 and 0.1, one test per seed (the seed draws the weights and
the batches' order), and sets each default ``suggestion()`` beside the same model's,
optimizer's and seed's from 1e-7. For each ``start_lr`` it reports the picks 5x or more above
that one and how many were told of their start, the picks within 0.1 decades of it told of
their start all the same, and the sweeps from 1e-7 told of their start. Prints a table and
writes ``benchmarks/results/start_warnings.md``.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings

import torch
from torch import nn

import _common  # first of ours: puts ../src on sys.path
import superconverge as sc
from superconverge.data import load_dataset, make_loader
from superconverge.finder.suggest import START_WARNINGS
from superconverge.models import build_model
from superconverge.recipes import make_optimizer

RESULTS = _common.RESULTS_DIR / "start_warnings.md"
MODELS = (("digits", "mlp"), ("digits", "cnn"), ("synthetic", "mlp"), ("mnist1d", "cnn1d"))
OPTIMIZERS = ("SGD", "Adam", "AdamW")
STARTS = (1e-7, 1e-4, 1e-3, 1e-2, 1e-1)
HIGH = 5.0
"""A pick this many times above the same model's from 1e-7 or more is too high."""
AGREE = 0.1
"""Decades within which a pick agrees with the same model's from 1e-7."""


def sweep(dataset: str, model_name: str, optimizer: str, start_lr: float,
          seed: int) -> sc.RangeTestResult:
    data = load_dataset(dataset)
    torch.manual_seed(seed)
    model = build_model(model_name, data.input_shape, data.num_classes)
    # (Adam's and AdamW's betas (0.9, 0.999), torch's defaults; the sweep sets the LR)
    opt = make_optimizer(optimizer.lower(), model.parameters(), 0.1 if optimizer == "SGD" else 1e-3,
                         weight_decay=0.01 if optimizer == "AdamW" else 0.0)
    loader = make_loader(data.x_train, data.y_train, 64, True, seed)
    return sc.lr_range_test(model, opt, nn.functional.cross_entropy, loader, start_lr=start_lr,
                            end_lr=10.0, num_iter=100, progress=False)


def told_of_start(res: sc.RangeTestResult) -> bool:
    return any(w.startswith(START_WARNINGS) for w in res.warnings())


def report(rows: list[tuple[str, str, str, float, float | None, bool]], seeds: int,
           command: str, seconds: float) -> str:
    """``rows``: (data set, model, optimizer, start_lr, the pick over the same sweep's from
    1e-7 or None where either gave none, told of its start)."""
    head = ["start_lr", "sweeps", f"picks {HIGH:g}x or more high", "of them told of the start",
            f"picks within {AGREE} decades told of the start", "no pick", "highest pick ratio"]
    lines = [
        "# Warnings of a start too high, on real range tests",
        "",
        f"One range test per seed ({seeds} seed{'s' if seeds != 1 else ''}) of each model "
        "(digits' MLP and CNN, the synthetic data's MLP, MNIST-1D's cnn1d) and optimizer "
        "(SGD with momentum 0.9, Adam, AdamW with weight decay 0.01), 100 steps from "
        "start_lr to 10 at batch 64. A pick's ratio is its default suggestion() over the same "
        "model's, optimizer's and seed's from 1e-7; "
        f"{HIGH:g}x or more is too high, and within {AGREE} decades agrees. \"Told of the "
        "start\": a warning of a start too high (the loss jumped, was already falling at "
        "start_lr, or fell in the sweep's first step).",
        "",
        "| " + " | ".join(head) + " |",
        "| " + " | ".join("---" for _ in head) + " |",
    ]
    for start in dict.fromkeys(r[3] for r in rows):
        mine = [r for r in rows if r[3] == start]
        ratios = [r[4] for r in mine if r[4] is not None]
        high = [r for r in mine if r[4] is not None and r[4] >= HIGH]
        agree = [r for r in mine if r[4] is not None and abs(math.log10(r[4])) <= AGREE]
        lines.append(
            f"| {start:g} | {len(mine)} | {len(high)} | {sum(r[5] for r in high)}/{len(high)} | "
            f"{sum(r[5] for r in agree)}/{len(agree)} | {len(mine) - len(ratios)} | "
            + (f"{max(ratios):.3g}" if ratios else "-") + " |")
    high = [r for r in rows if r[4] is not None and r[4] >= HIGH]
    lines += ["", "Too high, by model and optimizer:", ""]
    lines += [f"- {d} {m} {o} from {s:g}: {ratio:.3g}x, "
              + ("told of its start" if told else "**not told of its start**")
              for d, m, o, s, ratio, told in high if ratio is not None] or ["- none"]
    lines += ["", f"Whole run: {seconds:.0f} s.", ""]
    return _common.with_provenance(lines, command)


def main(argv: list[str] | None = None) -> None:
    ap = _common.argument_parser(__doc__)
    ap.add_argument("--seeds", type=_common.positive_int, default=None,
                    help="range tests per model, optimizer and start_lr (default: 3; 1 with "
                         "--quick)")
    _common.add_output_arguments(ap, RESULTS, "digits' MLP, Adam, from 1e-7 and 0.1, 1 seed")
    args = ap.parse_args(argv)
    seeds = args.seeds or (1 if args.quick else 3)
    models = MODELS[:1] if args.quick else MODELS
    optimizers = ("Adam",) if args.quick else OPTIMIZERS
    starts = (1e-7, 1e-1) if args.quick else STARTS
    t0 = time.perf_counter()
    rows: list[tuple[str, str, str, float, float | None, bool]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # counted through res.warnings(), not printed
        torch.set_num_threads(1)  # (small models: threads only add overhead)
        for (dataset, model), opt, seed in itertools.product(models, optimizers, range(seeds)):
            low = sweep(dataset, model, opt, starts[0], seed)
            base = low.suggestion()
            for start in starts:
                res = low if start == starts[0] else sweep(dataset, model, opt, start, seed)
                pick = res.suggestion()
                ratio = pick / base if pick is not None and base is not None else None
                rows.append((dataset, model, opt, start, ratio, told_of_start(res)))
                print(f"{dataset} {model} {opt} seed {seed} from {start:g}: pick {pick}, "
                      f"ratio {ratio}, told of its start: {rows[-1][5]}", flush=True)
    text = report(rows, seeds, _common.command_line("start_warnings.py", argv),
                  time.perf_counter() - t0)
    print(text)
    _common.save_results(text, args.out, args.quick, RESULTS)


if __name__ == "__main__":
    main()
