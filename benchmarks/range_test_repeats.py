"""The range test against the bare loop over many repeats, for a case whose runs are short.

    python benchmarks/range_test_repeats.py [--device cuda] [--model cnn] [--precision fp32]
                                            [--repeats 20] [--quick] [--out PATH]

gpu.py's part (b) takes the best of 5 repeats of the small CNN. On an H200 those runs take
about 0.45 s, and one row's repeats spread 13% to 44%: a best of 5 cannot show the goal's 2%
either way. (It read 1.099x and 1.125x the bare loop in two sessions.) This script runs the
same case many more times: synthetic 32x32 images, batch 256, 200 steps, the batches on the
device, ``SGD(momentum=0.9)``, an exponential sweep from 1e-5 to 1. The runners are
interleaved, the order rotating, as in gpu.py. Ours is compared with the bare loop three ways:

- best against best, as gpu.py does;
- median against median;
- the median of the per-repeat ratios (each run of ours against the bare run of the same
  repeat), with the quartiles of those ratios as the noise.

It also varies what could cost ours time on a short GPU step:

- ours at ``sync_every`` 10 (its default), 50 and 200 (one read-back, at the end, as the bare
  loop does);
- "launches done": each bare run's time until its loop's last launch returned, before its
  final read-back and sync. Near the whole time, the host's kernel launches bound the loop,
  and any host wait of ours would show. Well below it, the device bounds the loop. (Ours
  returns after its last read-back, which waits for the last step: the column is the bare
  loop's only.)

Prints the table and writes ``benchmarks/results/range_test_repeats_<device type>.md``
(``--quick``: a smoke test that prints only, unless ``--out`` is given). Without a CUDA device
and without ``--device``, it says so and exits 0.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import torch

import _common  # first of ours: puts ../src on sys.path
import gpu
import range_test_speed as rts

GOAL = 1.02  # issue #8: the range test <= 1.02x the bare loop on the same steps
# name -> runner; "ours" is lr_range_test with its default sync_every (10)
RUNNERS: dict[str, rts.Runner] = {
    "bare": rts.run_bare,
    "ours": rts.run_ours,
    "ours, sync_every=50": functools.partial(rts.run_ours, sync_every=50),
    "ours, sync_every=200": functools.partial(rts.run_ours, sync_every=200),
}


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """First quartile, median and third quartile (the median alone from one value)."""
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def summarize(runs: dict[str, list[rts.Run]]) -> list[dict[str, Any]]:
    """Per runner: best, median and worst seconds, the three ratios to the bare loop, and, for
    the bare loop, the median share of its time until its last launch returned."""
    bare = runs["bare"]
    best_bare = min(r.seconds for r in bare)
    median_bare = statistics.median(r.seconds for r in bare)
    rows = []
    for name, rs in runs.items():
        seconds = [r.seconds for r in rs]
        per_repeat = [r.seconds / b.seconds for r, b in zip(rs, bare, strict=True)]
        rows.append({
            "runner": name,
            "runs": len(rs),
            "best": min(seconds),
            "median": statistics.median(seconds),
            "worst": max(seconds),
            "best_ratio": min(seconds) / best_bare,
            "median_ratio": statistics.median(seconds) / median_bare,
            "per_repeat": quartiles(per_repeat),
            "launched": (statistics.median(r.launched / r.seconds for r in rs)
                         if name == "bare" else None),
        })
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| runner | runs | best s | median s | worst s | best / bare's best | median / bare's "
        "median | per-repeat ratio: median (quartiles) | launches done: share of the time "
        "(median) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for r in rows:
        q1, q2, q3 = r["per_repeat"]
        lines.append(
            f"| {r['runner']} | {r['runs']} | {r['best']:.4f} | {r['median']:.4f} | "
            f"{r['worst']:.4f} | {r['best_ratio']:.3f} | {r['median_ratio']:.3f} | "
            f"{q2:.3f} ({q1:.3f}-{q3:.3f}) | "
            f"{'-' if r['launched'] is None else format(r['launched'], '.0%')} |")
    return "\n".join(lines)


def verdict(rows: list[dict[str, Any]], device: torch.device) -> list[str]:
    """What the table says of the goal, and (on CUDA) what bounds the bare loop."""
    ours = next(r for r in rows if r["runner"] == "ours")
    bare = next(r for r in rows if r["runner"] == "bare")
    q1, q2, q3 = ours["per_repeat"]
    figures = [ours["best_ratio"], ours["median_ratio"], q2]
    met = sum(x <= GOAL for x in figures)
    lines = [
        f"ours / bare (goal <= {GOAL}): best {figures[0]:.3f}, median {figures[1]:.3f}, "
        f"per-repeat median {q2:.3f}; {met} of these 3 within the goal. The per-repeat ratios' "
        f"quartiles, {q1:.3f}-{q3:.3f}, are the noise of one comparison"
        + (f": wider than the goal's {GOAL - 1:.0%}." if q3 - q1 > GOAL - 1 else "."),
    ]
    share = bare["launched"]
    if device.type != "cuda":
        lines.append("(On a CPU every operator has run when its call returns: the launches' "
                     "share says nothing there.)")
        return lines
    lines.append(
        f"The bare loop's launches were done at {share:.0%} of its time (median): "
        + ("the host's kernel launches bound it, so any host wait of ours would show."
           if share >= 0.9 else "the device bounds it; the host runs ahead."))
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", type=_common.device, default=None,
                    help="torch device (default: cuda; without one, the script says so and "
                    "exits 0)")
    ap.add_argument("--model", choices=gpu.FULL.range_models, default="cnn",
                    help="the model of gpu.py's part (b) (default cnn, whose runs are short)")
    ap.add_argument("--precision", choices=tuple(gpu.PRECISIONS), default="fp32",
                    help="as in gpu.py's part (b) (default fp32)")
    ap.add_argument("--repeats", type=_common.at_least(2), default=None,
                    help="runs of each runner (default 20; --quick 2)")
    ap.add_argument("--quick", action="store_true",
                    help="gpu.py's smoke sizes: a check of this script, not a measurement")
    ap.add_argument("--out", type=Path, default=None, help="markdown results file (default: "
                    "benchmarks/results/range_test_repeats_<device type>.md; with --quick: "
                    "printed, not written)")
    args = ap.parse_args(argv)
    device = args.device
    if device is None:
        if not torch.cuda.is_available():
            print("no CUDA device: this benchmark is for a GPU (--device cpu runs it here)")
            return 0
        device = torch.device("cuda")
    sizes = gpu.SMOKE if args.quick else gpu.FULL
    repeats = args.repeats or (2 if args.quick else 20)
    gpu.quiet(device)
    warnings.filterwarnings("ignore", message="To get the last learning rate")
    amp_dtype, grad_scaler, fused = gpu.PRECISIONS[args.precision]
    model = args.model if not args.quick else sizes.range_models[0]
    case = rts.Case(
        f"synthetic 32x32, {gpu.MODEL_LABEL[model]}", "synthetic_images", model, sizes.batch,
        sizes.range_steps, gpu.RANGE_START_LR, repeats,
        (("num_train", sizes.range_images), ("num_val", sizes.batch)), end_lr=gpu.RANGE_END_LR,
    )
    began = time.perf_counter()
    runs = rts.bench(case, repeats, device, tuple(RUNNERS), preload=True, amp_dtype=amp_dtype,
                     grad_scaler=grad_scaler, fused=fused, table=RUNNERS)
    elapsed = time.perf_counter() - began
    same_work = all(r.steps_trained == case.num_iter for rs in runs.values() for r in rs)
    rows = summarize(runs)
    said = verdict(rows, device)
    if not same_work:
        said.append("WARNING: not every run trained every step: the times compare unequal "
                    "work and are no measurement.")
    print(table(rows), "", *said, f"({elapsed:.0f} s)", sep="\n")

    command = _common.command_line("range_test_repeats.py", argv)
    text = "\n".join([
        f"# Range test vs the bare loop over {repeats} repeats: {case.label}, "
        f"{args.precision}", "",
        table(rows), "", *said, "",
        f"{case.num_iter} steps at batch {case.batch_size}, `SGD(momentum={rts.MOMENTUM})`, "
        f"exponential sweep {case.start_lr:g} -> {case.end_lr:g}, `diverge_factor=None`; "
        f"`load_dataset('synthetic_images', num_train={sizes.range_images})`, one shuffled "
        "epoch of batches put on the device once and re-iterated by every runner (gpu.py's "
        "part (b)). Each repeat runs every runner once from the same initial weights, the "
        "order rotating; one untimed 5-step warm-up of the bare loop first. ours: "
        "`lr_range_test(..., progress=False)`, snapshot and restore included, reading its "
        "losses back every `sync_every` steps (10 by default; on CUDA one step late, through "
        "an event). bare: the same steps, its losses read back once at the end. Per-repeat "
        "ratio: a runner's time over the bare loop's in the same repeat. Launches done: the "
        "time until the runner's last launch returned (for ours, `lr_range_test` returned, "
        "its last read-back included), over its whole time; every runner synchronizes before "
        "its clock starts and stops.", "",
        "## Provenance", "",
        *_common.provenance(command),
        f"- device: {_common.device_name(device)}; seed {rts.SEED}; whole run {elapsed:.0f} s",
        "",
    ])
    default = _common.RESULTS_DIR / f"range_test_repeats_{device.type}.md"
    _common.save_results(text, args.out, args.quick, default)
    return 0 if same_work else 1


if __name__ == "__main__":
    sys.exit(main())
