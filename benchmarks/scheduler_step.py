"""Time ``ParamScheduler.step()`` against torch's ``OneCycleLR.step()``: the same 1cycle with
cyclical momentum, on identical optimizers, in the same run.

    python benchmarks/scheduler_step.py [--steps 20000] [--repeats 7]

Each case builds a fresh optimizer and scheduler per repeat (outside the timing), steps the
scheduler ``--steps`` times without optimizer work, and keeps the best repeat; ours and torch's
alternate within a repeat. Prints a table (µs per step, ratio ours/torch; the goal is <= 1) and
writes ``benchmarks/results/scheduler_step.md`` with its provenance.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch.optim.lr_scheduler import OneCycleLR

import _common  # first of ours: puts ../src on sys.path
import superconverge as sc

RESULTS = _common.RESULTS_DIR / "scheduler_step.md"
MAX_LR, DIV, FINAL_DIV, ANNIHILATION = 1.0, 10.0, 100.0, 0.1


def make_optimizer(kind: str, groups: int, tensor_lr: bool) -> torch.optim.Optimizer:
    params = [{"params": [torch.nn.Parameter(torch.zeros(4))]} for _ in range(groups)]
    lr = torch.tensor(0.1) if tensor_lr else 0.1
    if kind == "SGD":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    return torch.optim.AdamW(params, lr=lr)


def ours(opt: torch.optim.Optimizer, steps: int, tensors: bool,
         max_lr: float = MAX_LR) -> sc.ParamScheduler:
    return sc.ParamScheduler(
        opt,
        lr=sc.one_cycle(max_lr, steps, div=DIV, final_div=FINAL_DIV,
                        annihilation_fraction=ANNIHILATION),
        momentum=sc.one_cycle_momentum(steps, annihilation_fraction=ANNIHILATION),
        tensors=tensors,
    )


def theirs(opt: torch.optim.Optimizer, steps: int, tensors: bool,
           max_lr: float = MAX_LR) -> OneCycleLR:
    """torch's ``OneCycleLR`` with the same values as :func:`ours` (``tensors`` is unused: it
    writes into a tensor lr in place and floats into momentum/betas either way)."""
    return OneCycleLR(opt, max_lr, total_steps=steps, pct_start=(1 - ANNIHILATION) / 2,
                      div_factor=DIV, final_div_factor=FINAL_DIV, three_phase=True,
                      anneal_strategy="linear")


def time_steps(build: Callable[[], object], steps: int) -> float:
    sched = build()
    step = sched.step  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return time.perf_counter() - t0


def bench(kind: str, groups: int, tensors: bool, steps: int, repeats: int) -> tuple[float, float]:
    best = {"ours": float("inf"), "torch": float("inf")}
    builders = {
        "ours": lambda: ours(make_optimizer(kind, groups, tensors), steps, tensors),
        "torch": lambda: theirs(make_optimizer(kind, groups, tensors), steps, tensors),
    }
    for r in range(repeats):
        order = ("ours", "torch") if r % 2 == 0 else ("torch", "ours")
        for name in order:
            best[name] = min(best[name], time_steps(builders[name], steps))
    return best["ours"] / steps * 1e6, best["torch"] / steps * 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 3: the fewest steps a 1cycle takes (a step in each of its three phases)
    ap.add_argument("--steps", type=_common.at_least(3), default=None,
                    help="scheduler steps per repeat (default 20000; with --quick 2000)")
    ap.add_argument("--repeats", type=_common.positive_int, default=None,
                    help="repeats; the best one counts (default 7; with --quick 2)")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: fewer steps and repeats, printed, not written")
    ap.add_argument("--out", type=Path, default=None, help="markdown results file (default: "
                    "benchmarks/results/scheduler_step.md; with --quick: printed, not written)")
    args = ap.parse_args(argv)
    if args.steps is None:
        args.steps = 2000 if args.quick else 20_000
    if args.repeats is None:
        args.repeats = 2 if args.quick else 7
    warnings.simplefilter("ignore")  # torch: "lr_scheduler.step() before optimizer.step()"
    torch.set_num_threads(1)

    cases = [(k, g, t) for t in (False, True) for k in ("SGD", "AdamW") for g in (1, 10)]
    rows = []
    for kind, groups, tensors in cases:
        us, them = bench(kind, groups, tensors, args.steps, args.repeats)
        hp = "tensor lr (ours: tensors=True)" if tensors else "float"
        rows.append((kind, groups, hp, them, us, us / them))

    header = ("| optimizer | param groups | hyper-parameters | torch OneCycleLR µs/step "
              "| ParamScheduler µs/step | ours / torch |")
    lines = [header, "| --- | ---: | --- | ---: | ---: | ---: |"]
    lines += [f"| {k} | {g} | {hp} | {them:.2f} | {us:.2f} | {ratio:.2f} |"
              for k, g, hp, them, us, ratio in rows]
    table = "\n".join(lines)
    print(table)
    worst = max(r[-1] for r in rows)
    print(f"\nworst ratio ours/torch: {worst:.2f} (goal <= 1.0)")

    lines = _common.provenance(_common.command_line("scheduler_step.py", argv))
    lines += [
        f"- {args.steps} scheduler steps per repeat, best of {args.repeats} repeats, "
        "`time.perf_counter`; fresh optimizer and scheduler per repeat; no optimizer work",
        f"- schedule: 1cycle, max_lr={MAX_LR}, div={DIV}, final_div={FINAL_DIV}, "
        f"annihilation_fraction={ANNIHILATION}, linear, with cyclical momentum 0.95 -> 0.85 "
        "(torch: three_phase=True, cycle_momentum=True)",
    ]
    report = "\n".join([
        "# ParamScheduler.step() vs torch OneCycleLR.step()", "",
        "Time per scheduler step, same 1cycle + cyclical momentum, identical optimizers. Lower is "
        "better; ours / torch <= 1 is the goal.", "",
        table, "", f"Worst ratio: {worst:.2f}.", "",
        "Tensor rows: both optimizers are built with a 0-dim tensor lr, which both schedulers "
        "`fill_` in place; ours (`tensors=True`) also keeps AdamW's `betas[0]` a tensor and fills "
        "it, where torch writes a new float tuple into `betas` every step.", "",
        "## Provenance", "", "\n".join(lines), "",
    ])
    if _common.save_results(report, args.out, args.quick, RESULTS) is None:
        print("\n" + report)  # a quick run: the whole report, and no file
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
