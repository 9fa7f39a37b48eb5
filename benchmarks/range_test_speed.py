"""Time our ``lr_range_test`` against a bare training loop and torch-lr-finder's ``LRFinder``,
in the same run, on the same initial weights, batches, optimizer and LR sweep.

    python benchmarks/range_test_speed.py [--quick] [--repeats N] [--threads 1] [--device cpu]
                                          [--out PATH]

Three runners per case:

- bare: the training steps alone — set the lr, ``zero_grad``, forward, backward, ``step``;
  each loss is kept on the device as a 0-dim tensor, stacked and read back once, at the end;
- ours: ``lr_range_test(..., diverge_factor=None, progress=False)``, snapshot and exact
  restore included;
- torch-lr-finder: ``LRFinder(...)`` (its snapshot), ``.range_test(smooth_f=0,
  diverge_th=inf)``, ``.reset()``, its printing and progress bar silenced.

Every run starts from the same initial weights, a fresh ``SGD(momentum=0.9)`` and a loader
rebuilt with the same seed, so the three train on the same batches at the same LRs
``start * (end / start) ** (i / (num_iter - 1))``. The runners alternate within each repeat (the
order rotates) and the best repeat counts. Prints the times, the ratios and how far the curves
agree, and writes ``benchmarks/results/range_test_speed.md`` with its provenance.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import importlib.metadata
import io
import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

import _common  # first of ours: puts ../src on sys.path
from superconverge import lr_range_test
from superconverge.data import load_dataset, train_val_loaders
from superconverge.models import build_model

RESULTS = _common.RESULTS_DIR / "range_test_speed.md"
SEED = 0
END_LR = 10.0
MOMENTUM = 0.9
RUNNERS = ("bare", "ours", "torch-lr-finder")


@dataclass(frozen=True)
class Case:
    """One model on one dataset; ``num_iter`` optimizer steps from ``start_lr`` to ``end_lr``."""

    label: str
    dataset: str
    model: str
    batch_size: int
    num_iter: int
    start_lr: float
    repeats: int
    data_options: tuple[tuple[str, int], ...] = ()
    end_lr: float = END_LR


# start_lr: where each curve starts flat, so the sweep shows the flat part, the descent and
# the blow-up (digits: minimum near lr 0.15, loss x100 by lr 10) rather than 1e-7's long plateau.
# The tiny MLP does almost no arithmetic per step: there the finders' per-step overhead shows.
# Repeats: ~3 minutes in all on 2 cores; the cheap cases get more to beat the noise.
FULL = (
    Case("Gaussian blobs, tiny MLP", "synthetic", "mlp", 64, 200, 1e-4, 10),
    Case("digits 8x8, small CNN", "digits", "cnn", 64, 200, 1e-5, 10),
    Case("synthetic 32x32, ResNet-20", "synthetic_images", "resnet20", 32, 60, 1e-3, 4),
)
QUICK = (
    Case("Gaussian blobs, tiny MLP", "synthetic", "mlp", 64, 20, 1e-4, 1),
    Case("digits 8x8, small CNN", "digits", "cnn", 64, 20, 1e-5, 1),
    Case("synthetic 32x32, ResNet-20", "synthetic_images", "resnet20", 16, 6, 1e-3, 1,
         (("num_train", 128), ("num_val", 16))),
)


@dataclass
class Run:
    """One runner's timed run: seconds, the LR and raw loss of every step, restore verdict."""

    seconds: float
    lrs: list[float]
    losses: list[float]
    restore: str = "n/a"
    # Steps trained (recorded or skipped by a GradScaler) and why the run ended: a run that
    # stopped early trained fewer steps than the others, so its time is not comparable.
    steps_trained: int = -1
    stop: str = "completed"
    # The bare loop's: seconds until its last launch returned, before its final read-back and
    # sync (on a GPU, the rest of ``seconds`` is the work the device still had queued then).
    # Not ours': lr_range_test returns after its last read-back, which waits for the last step.
    launched: float = math.nan


# (model, optimizer, batches, case, device, amp_dtype=None, scaler=None) -> Run; batches: a
# DataLoader or any re-iterable of (inputs, targets), such as a list of batches on the device.
Runner = Callable[..., Run]


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA); on the CPU, work is done when it returns."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _forever(loader: Iterable[Any]) -> Iterator[Any]:
    """The loader's batches, re-iterated (a new shuffled epoch) each time it runs out."""
    while True:
        yield from loader


def run_bare(
    model: nn.Module, optimizer: torch.optim.Optimizer, loader: Iterable[Any], case: Case,
    device: torch.device, amp_dtype: torch.dtype | None = None,
    scaler: torch.amp.GradScaler | None = None,
) -> Run:
    sync(device)  # the fresh state's copies land before the clock starts
    t0 = time.perf_counter()
    n, start = case.num_iter, case.start_lr
    lrs = [start * (case.end_lr / start) ** (i / (n - 1)) for i in range(n)]
    # A list of 0-dim device tensors, stacked once: as cheap per step as ours (writing into a
    # preallocated tensor would add a copy kernel per step to the baseline).
    losses: list[torch.Tensor] = []
    loss_fn = nn.functional.cross_entropy
    autocast = (torch.autocast(device.type, dtype=amp_dtype) if amp_dtype is not None
                else contextlib.nullcontext())
    batches = _forever(loader)
    if scaler is not None and any(g.get("fused") and g.get("momentum")
                                  for g in optimizer.param_groups):
        # As the range test does (and a careful loop must): torch's fused SGD makes its
        # momentum buffers with empty_like and fills them only on a step the scaler does not
        # skip; a skipped first step would leave the curve training on uninitialised memory.
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.requires_grad:
                    optimizer.state[p]["momentum_buffer"] = torch.zeros_like(p)
    for lr in lrs:
        x, y = next(batches)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            loss = loss_fn(model(x.to(device, non_blocking=True)),
                           y.to(device, non_blocking=True))
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        losses.append(loss.detach())
    launched = time.perf_counter() - t0
    values = torch.stack(losses).tolist()
    sync(device)
    return Run(time.perf_counter() - t0, lrs, values, steps_trained=n, launched=launched)


def run_ours(
    model: nn.Module, optimizer: torch.optim.Optimizer, loader: Iterable[Any], case: Case,
    device: torch.device, amp_dtype: torch.dtype | None = None,
    scaler: torch.amp.GradScaler | None = None, sync_every: int = 10,
) -> Run:
    """``lr_range_test`` with its defaults (``sync_every``: its read-back interval)."""
    sync(device)
    t0 = time.perf_counter()
    result = lr_range_test(
        model, optimizer, nn.CrossEntropyLoss(), loader, case.start_lr, case.end_lr,
        case.num_iter, "exp", diverge_factor=None, progress=False, amp_dtype=amp_dtype,
        scaler=scaler, sync_every=sync_every,
    )
    sync(device)
    trained = len(result.lrs) + sum(result.provenance.get("skipped_steps", [0]))
    return Run(time.perf_counter() - t0, list(result.lrs), list(result.losses),
               steps_trained=trained, stop=result.stop_reason)


def run_torch_lr_finder(
    model: nn.Module, optimizer: torch.optim.Optimizer, loader: Iterable[Any], case: Case,
    device: torch.device, amp_dtype: torch.dtype | None = None,
    scaler: torch.amp.GradScaler | None = None,
) -> Run:
    from torch_lr_finder import LRFinder, TrainDataLoaderIter

    if amp_dtype is not None or scaler is not None:
        raise ValueError("torch-lr-finder is compared without AMP only")
    if not isinstance(loader, DataLoader):  # it takes a DataLoader or this wrapper of batches
        loader = TrainDataLoaderIter(loader)
    sink = io.StringIO()
    sync(device)
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        finder = LRFinder(model, optimizer, nn.CrossEntropyLoss(), device=device)
        finder.range_test(loader, start_lr=case.start_lr, end_lr=case.end_lr,
                          num_iter=case.num_iter, step_mode="exp", smooth_f=0.0,
                          diverge_th=math.inf)
        finder.reset()
    sync(device)
    seconds = time.perf_counter() - t0
    return Run(seconds, list(finder.history["lr"]), list(finder.history["loss"]),
               steps_trained=len(finder.history["lr"]))


RUN: dict[str, Runner] = {
    "bare": run_bare, "ours": run_ours, "torch-lr-finder": run_torch_lr_finder,
}


def restore_verdict(model: nn.Module, optimizer: torch.optim.Optimizer,
                    init: dict[str, torch.Tensor], lr: float) -> str:
    """"exact" when weights, buffers, grads, optimizer state and lr are as before the run."""
    problems = []
    if any(not torch.equal(t, init[k]) for k, t in model.state_dict().items()):
        problems.append("weights/buffers differ")
    if any(p.grad is not None for p in model.parameters()):
        problems.append("`.grad` left set")
    if any(optimizer.state.values()):
        problems.append("optimizer state left")
    if any(g["lr"] != lr for g in optimizer.param_groups):
        problems.append("lr changed")
    return "exact" if not problems else ", ".join(problems)


def bench(
    case: Case, repeats: int, device: torch.device, runners: tuple[str, ...] = RUNNERS, *,
    preload: bool = False, amp_dtype: torch.dtype | None = None, grad_scaler: bool = False,
    fused: bool = False, table: Mapping[str, Runner] = RUN,
    on_repeat: Callable[[dict[str, list[Run]]], None] | None = None,
) -> dict[str, list[Run]]:
    """Every runner ``repeats`` times, interleaved, each from the same initial state.

    ``preload``: the batches of one shuffled epoch are put on the device once, as a list that
    every run iterates (keeps the DataLoader and host-to-device copies out of the timing);
    otherwise each run gets a loader rebuilt with the same seed. ``amp_dtype``/``grad_scaler``:
    autocast and a fresh ``torch.amp.GradScaler`` per run, for runners that take them.
    ``fused``: ``SGD(fused=True)``, which takes the scaler into its own step. ``table``: the
    runners by name (default :data:`RUN`). ``on_repeat(runs)``: after each whole repeat, with
    the runs so far (a caller stopped part-way keeps them).
    """
    data = load_dataset(case.dataset, seed=SEED, **dict(case.data_options))
    torch.manual_seed(SEED)
    model = build_model(case.model, data.input_shape, data.num_classes).to(device)
    init = {k: t.detach().clone() for k, t in model.state_dict().items()}
    batches = None
    if preload:
        loader, _ = train_val_loaders(data, case.batch_size, seed=SEED, drop_last=True)
        batches = [(x.to(device), y.to(device)) for x, y in loader]

    def fresh() -> tuple[torch.optim.Optimizer, Iterable[Any]]:
        model.load_state_dict(init)
        model.train()
        for p in model.parameters():
            p.grad = None
        gc.collect()
        loader = batches if batches is not None else train_val_loaders(
            data, case.batch_size, seed=SEED)[0]
        return torch.optim.SGD(model.parameters(), lr=case.start_lr, momentum=MOMENTUM,
                               fused=True if fused else None), loader

    def amp() -> dict[str, Any]:
        return {"amp_dtype": amp_dtype,
                "scaler": torch.amp.GradScaler(device.type) if grad_scaler else None}

    run_bare(model, *fresh(), dataclasses.replace(case, num_iter=5), device, **amp())  # warm-up
    runs: dict[str, list[Run]] = {name: [] for name in runners}
    k = len(runners)
    for r in range(repeats):
        for name in runners[r % k:] + runners[:r % k]:
            optimizer, loader = fresh()
            run = table[name](model, optimizer, loader, case, device, **amp())
            if name != "bare":
                run.restore = restore_verdict(model, optimizer, init, case.start_lr)
            runs[name].append(run)
        if on_repeat is not None:
            on_repeat(runs)
    return runs


def max_abs_diff(a: Run, b: Run) -> float:
    """The largest loss difference at the LRs both runs recorded (a step GradScaler skipped is
    not a point of ours, but is one of the bare loop's)."""
    at = {round(math.log(lr), 9): x for lr, x in zip(b.lrs, b.losses, strict=False)}
    diffs = [abs(x - at[key]) for lr, x in zip(a.lrs, a.losses, strict=False)
             if (key := round(math.log(lr), 9)) in at]
    return max(diffs, default=math.nan)


def summarize(case: Case, runs: dict[str, list[Run]]) -> dict[str, Any]:
    """Best times, spread, and how the curves agree; ``runs`` needs "bare" and "ours" (a
    missing torch-lr-finder gives NaN for its diff)."""
    best = {name: min(r.seconds for r in rs) for name, rs in runs.items()}
    first = {name: rs[0] for name, rs in runs.items()}
    ours, bare = first["ours"], first["bare"]
    tlf = first.get("torch-lr-finder")
    return {
        "case": case,
        "repeats": len(runs["ours"]),
        "best": best,
        # How noisy the machine was: the widest (slowest / fastest repeat - 1) of any runner.
        "spread": max(max(r.seconds for r in rs) / best[n] - 1 for n, rs in runs.items()),
        "steps": {name: len(r.losses) for name, r in first.items()},
        # Every run of every runner trained all num_iter steps (none stopped early), so the
        # times compare the same work.
        "same_work": all(r.steps_trained == case.num_iter for rs in runs.values() for r in rs),
        "stops": sorted({r.stop for rs in runs.values() for r in rs}),
        # (the last LR to within a bit: ours is end_lr exactly, the formula may land a bit off)
        "lrs_identical": all(r.lrs[:-1] == ours.lrs[:-1] and math.isclose(
            r.lrs[-1], ours.lrs[-1], rel_tol=1e-15) for r in first.values()),
        "diff_tlf": math.nan if tlf is None else max_abs_diff(ours, tlf),
        "diff_bare": max_abs_diff(ours, bare),
        "repeatable": all(r.losses == rs[0].losses for rs in runs.values() for r in rs),
        "restore": {name: sorted({r.restore for r in rs})
                    for name, rs in runs.items() if name != "bare"},
        "min_loss_lr": ours.lrs[min(range(len(ours.losses)), key=ours.losses.__getitem__)],
        "loss_range": (ours.losses[0], min(ours.losses), ours.losses[-1]),
    }


def tables(rows: list[dict[str, Any]]) -> tuple[str, str]:
    timing = [
        "| case | steps | batch | repeats | bare s | ours s | torch-lr-finder s | ours / bare "
        "| ours / torch-lr-finder | µs/step over bare: ours | torch-lr-finder "
        "| spread of repeats |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    agree = [
        "| case | steps recorded (bare, ours, tlf) | every run trained all steps | LRs identical "
        "| max abs loss diff ours vs tlf | ours vs bare | same curve every repeat "
        "| restore: ours | restore: tlf |",
        "| --- | --- | --- | --- | ---: | ---: | --- | --- | --- |",
    ]
    for row in rows:
        c, b = row["case"], row["best"]
        over = {n: (b[n] - b["bare"]) / c.num_iter * 1e6 for n in ("ours", "torch-lr-finder")}
        timing.append(
            f"| {c.label} | {c.num_iter} | {c.batch_size} | {row['repeats']} | {b['bare']:.3f} "
            f"| {b['ours']:.3f} | {b['torch-lr-finder']:.3f} | {b['ours'] / b['bare']:.3f} "
            f"| {b['ours'] / b['torch-lr-finder']:.3f} | {over['ours']:.0f} "
            f"| {over['torch-lr-finder']:.0f} | {row['spread']:.0%} |"
        )
        steps = ", ".join(str(row["steps"][n]) for n in RUNNERS)
        agree.append(
            f"| {c.label} | {steps} "
            f"| {'yes' if row['same_work'] else 'NO (' + ', '.join(row['stops']) + ')'} "
            f"| {'yes' if row['lrs_identical'] else 'NO'} "
            f"| {row['diff_tlf']:.3g} | {row['diff_bare']:.3g} "
            f"| {'yes' if row['repeatable'] else 'NO'} "
            f"| {'; '.join(row['restore']['ours'])} "
            f"| {'; '.join(row['restore']['torch-lr-finder'])} |"
        )
    return "\n".join(timing), "\n".join(agree)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="tiny cases and one repeat: a smoke test, not a measurement")
    ap.add_argument("--repeats", type=_common.positive_int, default=None,
                    help="repeats of every case; the best one counts (default: per case, "
                    "10 for the cheap ones, 4 for ResNet-20; --quick 1)")
    ap.add_argument("--threads", type=_common.positive_int, default=1,
                    help="torch intra-op threads (default 1: steadier when the cores are shared)")
    ap.add_argument("--device", type=_common.device, default=torch.device("cpu"),
                    help="torch device, e.g. cuda (default cpu)")
    ap.add_argument("--out", type=Path, default=None, help="markdown results file (default: "
                    "benchmarks/results/range_test_speed.md; with --quick: printed, not written)")
    args = ap.parse_args(argv)
    device = args.device
    torch.set_num_threads(args.threads)
    # torch-lr-finder reads its schedule with get_lr() outside step(), which torch warns about.
    warnings.filterwarnings("ignore", message="To get the last learning rate")
    try:
        import torch_lr_finder  # noqa: F401 - imported before timing (it pulls in matplotlib)
    except ImportError:
        ap.error("torch-lr-finder, the peer this benchmark times, is not installed: "
                 'pip install -e ".[bench]" (torch-lr-finder==0.2.2)')

    gc.freeze()  # the imports' objects: keeps the gc.collect() before each run quick

    load_before = os.getloadavg()[0]
    began = time.perf_counter()
    rows = [summarize(case, bench(case, args.repeats or case.repeats, device))
            for case in (QUICK if args.quick else FULL)]
    elapsed = time.perf_counter() - began
    load_after = os.getloadavg()[0]

    timing, agree = tables(rows)
    print(timing, "", agree, sep="\n")
    worst_bare = max(r["best"]["ours"] / r["best"]["bare"] for r in rows)
    worst_tlf = max(r["best"]["ours"] / r["best"]["torch-lr-finder"] for r in rows)
    print(f"\nworst ours / bare: {worst_bare:.3f} (goal on GPU <= 1.02); worst ours / "
          f"torch-lr-finder: {worst_tlf:.3f} (goal <= 1.0); {elapsed:.0f} s")
    short = [r["case"].label for r in rows if len(set(r["steps"].values())) > 1]
    if short:
        print(f"WARNING: the runners recorded different numbers of steps in {short} (a NaN "
              "stops ours early): those times are not comparable")
    # (any repeat of any runner, not only the first: a later one that stopped early trained
    # fewer steps, and its time, the best, would compare less work)
    unequal = [f"{r['case'].label} (stopped: {', '.join(r['stops'])})" for r in rows
               if not r["same_work"]]
    if unequal:
        print(f"WARNING: a run stopped before num_iter in {'; '.join(unequal)}: unequal work, "
              "those times are not comparable")

    curves = "; ".join(
        f"{r['case'].label}: loss {r['loss_range'][0]:.3g} at the start, lowest "
        f"{r['loss_range'][1]:.3g} at lr {r['min_loss_lr']:.3g}, {r['loss_range'][2]:.3g} at "
        f"lr {END_LR:g}" for r in rows
    )
    # The tiny MLP's bare step, measured (a constant in the text went stale)
    mlp_ms = next((r["best"]["bare"] / r["case"].num_iter * 1e3 for r in rows
                   if r["case"].model == "mlp"), None)
    tlf_version = importlib.metadata.version("torch-lr-finder")
    lines = _common.provenance(_common.command_line("range_test_speed.py", argv))
    lines += [
        f"- torch-lr-finder {tlf_version}; device: {device}"
        f"; 1-minute load average {load_before:.2f} before, {load_after:.2f} after "
        f"({os.cpu_count()} cores; above ~{max(1, (os.cpu_count() or 2) - 1)} means another "
        "process was competing)",
        "- best of the repeats in the table, `time.perf_counter`, runners interleaved (order "
        "rotated each repeat); one untimed 5-step warm-up of the bare loop per case; "
        f"whole benchmark {elapsed:.0f} s",
        f"- SGD(momentum={MOMENTUM}), cross-entropy, exponential sweep to end_lr={END_LR:g} "
        "(start_lr per case below), model seed "
        f"{SEED}, loaders from `train_val_loaders(seed={SEED})` (shuffled, rebuilt per run)",
        *(f"- {r['case'].label}: `load_dataset({r['case'].dataset!r}"
          + "".join(f", {k}={v}" for k, v in r["case"].data_options)
          + f")`, `build_model({r['case'].model!r})`, batch {r['case'].batch_size}, "
          f"{r['case'].num_iter} steps, start_lr={r['case'].start_lr:g}" for r in rows),
        f"- curves (ours): {curves}",
    ]
    doc = "\n".join([
        "# LR range test: ours vs a bare training loop vs torch-lr-finder", "",
        "Wall time of one whole range test (snapshot, sweep, restore) against the same training "
        f"steps without a finder, and against torch-lr-finder {tlf_version} (`LRFinder`, "
        "`range_test`, `reset`; tlf below), on the same initial weights, batches, optimizer "
        "and LR sweep. Lower is better; the goals are ours / bare <= 1.02 on a GPU and "
        "ours / torch-lr-finder <= 1.",
        "",
        timing, "",
        f"Worst ours / bare: {worst_bare:.3f}; worst ours / torch-lr-finder: {worst_tlf:.3f}.",
        "",
        "Reading it: on a CPU every op runs synchronously, so torch-lr-finder's `loss.item()` "
        "per step costs no stall and all three runners are bound by the same arithmetic; what "
        "separates them is Python work per step (its LR scheduler `step()` and tqdm; our "
        "batch checks and chunked read-back) plus the snapshot and restore, about a "
        "millisecond or two for these models. The tiny MLP"
        + (f", where a whole step takes {mlp_ms:.2g} ms" if mlp_ms is not None else "")
        + " (most of it the DataLoader), shows that per-step overhead; for the CNN and ResNet-20 "
        "it is far below the machine's noise (see the spread of repeats: the slowest over the "
        "fastest repeat of any runner, minus 1), so there a ratio within a few percent of 1, "
        "or a negative overhead, is a tie. The "
        "GPU goal (ours / bare <= 1.02) is about what a CPU cannot show: ours reads losses "
        "back every `sync_every` steps where torch-lr-finder waits for the GPU every step.",
        "",
        "## Do the curves agree?", "",
        agree, "",
        "LRs identical: the three runners stepped at exactly the same float LRs (both finders "
        "compute `start * (end / start) ** (i / (num_iter - 1))`). Loss diffs are over the "
        "raw per-step losses (torch-lr-finder with `smooth_f=0`); restore: after each run, "
        "weights and buffers, `.grad`, optimizer state and lr compared with the initial ones "
        "(`torch.equal`). torch-lr-finder's `reset()` reloads the model's and optimizer's "
        "state dicts, which restores weights, buffers, optimizer state and lr exactly, but "
        "leaves the last step's gradients in `.grad` (and the RNG and loader generator "
        "advanced); ours puts those back too.",
        "",
        "## Provenance", "", "\n".join(lines), "",
    ])
    if _common.save_results(doc, args.out, args.quick, RESULTS) is None:
        print(doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
