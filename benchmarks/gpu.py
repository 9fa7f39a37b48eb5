"""GPU benchmarks (issue 8, "Fast on GPUs"), measured side by side in one run:

    PYTHONPATH=src python benchmarks/gpu.py [--device cuda] [--smoke] [--skip a,b,c]
                                            [--repeats N] [--compile-runs N]
                                            [--optimizers AdamW,SGD] [--out PATH]

(a) compiled optimizer step, 1cycle with cyclical momentum: ``@torch.compile(fullgraph=False)
    def step(): opt.step()`` (torch's "compiling the optimizer" pattern), a small CNN, SGD with
    momentum and AdamW, both on a tensor lr: our ``ParamScheduler(..., tensors=True)`` against
    torch's ``OneCycleLR(cycle_momentum=True)`` with the same values. Graphs compiled (dynamo's
    ``counters["stats"]["unique_graphs"]``, which counts every backend's graphs) and wall time of
    the whole run, compilation included, with fresh compiler caches (inductor's and Triton's)
    in a fresh process, so each case compiles cold.
(b) range-test speed: ours vs a bare training loop vs torch-lr-finder (the runners of
    ``range_test_speed.py``) on a small CNN and ResNet-56, batch 256, 200 steps, the same
    batches (one shuffled epoch put on the device once, keeping the loader out of the timing);
    then bf16 autocast, and fp16 with a GradScaler (ours vs bare only).
(c) ResNet-56 on synthetic 32x32 images, a fixed LR (the range test's ``suggestion()``) vs 1cycle
    (``max_lr = bounds()[1]``), same epochs: validation accuracy and time after every epoch.

Without a CUDA device it says so in one line and exits 0. ``--device cpu --smoke`` is a check
that the code runs (tiny sizes, ResNet-20 instead of 56, the ``aot_eager`` backend), not a
measurement. Prints the tables and writes ``benchmarks/results/gpu.md`` (with ``--smoke``, only
where ``--out`` says). torch-lr-finder is optional: without it its column is left out.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import gc
import importlib.metadata
import itertools
import logging
import multiprocessing
import re
import shutil
import statistics
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch._dynamo.utils import counters
from torch.nn import functional as F

import _common  # first of ours: puts ../src on sys.path
import range_test_speed as rts
import scheduler_step
import superconverge as sc
from superconverge.data import load_dataset, train_val_loaders
from superconverge.models import build_model
from superconverge.recipes.find_lr import range_steps

RESULTS = _common.RESULTS_DIR / "gpu.md"
SEED = 0
PARTS = ("a", "b", "c")
TLF = "torch-lr-finder"
# (b): end_lr 1 keeps the fp16 losses finite (a NaN would stop ours early and make the runners'
# steps differ); SGD(momentum=rts.MOMENTUM) as in range_test_speed.py.
RANGE_START_LR, RANGE_END_LR = 1e-5, 1.0
# name -> (autocast dtype, GradScaler, SGD(fused=True): the scaler goes into the fused step)
PRECISIONS: dict[str, tuple[torch.dtype | None, bool, bool]] = {
    "fp32": (None, False, False),
    "bf16 autocast": (torch.bfloat16, False, False),
    "fp16 + GradScaler": (torch.float16, True, False),
    "fp16 + GradScaler, fused SGD": (torch.float16, True, True),
}
# (c): Smith's ResNet-56 setting (SGD, momentum 0.9 / cyclical 0.95-0.85, weight decay 1e-4).
WEIGHT_DECAY = 1e-4
FALLBACK_LR = {"fixed": 0.1, "1cycle": 1.0}  # when the range test gives no suggestion
# What render() writes in place of a part's table; merge() looks for the same lines.
SKIPPED = "Skipped (`--skip {}`)."
NOT_RUN = "Not run yet."
FAILED = "Failed: not measured (the error below)."
FAILED_AFTER = ("**Failed part-way**: a later row raised (the error at the end); below is what "
                "this part measured before.")
CUT = "**Cut short**: the run stopped during this part; below is what it measured before."
MODEL_LABEL = {"cnn": "small CNN", "resnet20": "ResNet-20", "resnet56": "ResNet-56"}
OPTIMIZERS = ("AdamW", "SGD")  # (a)'s, in the order they run
ONE_SIDED = "(the other side's run was cut short)"  # an (a) row with one side's times only


@dataclass(frozen=True)
class Sizes:
    compile_steps: int  # (a) training steps with a compiled optimizer step
    compile_batch: int
    compile_repeats: int  # (a) runs of each case, each in a fresh process, order alternating
    batch: int  # (b) range test
    range_steps: int
    repeats: int
    # the small CNN's: its runs take 0.4-0.6 s on an H200, where the first GPU
    # session's repeats of one row spread 13% (ResNet-56's runs of about 5 s: 10-12%)
    small_repeats: int
    range_images: int  # images preloaded on the device (range_images // batch batches)
    range_models: tuple[str, ...]
    train_model: str  # (c)
    train_images: int
    val_images: int
    train_batch: int
    epochs: int
    finder_steps: int


# Sized for one device call (10 minutes, benchmarks/gpu_session.sh): best of 3 range-test runs
# of ResNet-56, 5 of the small CNN (whose runs are short: on the H200 of 2026-12-04, 0.4-0.6 s
# against ResNet-56's 4.6-6.9 s).
# (a): one run of each case: with fresh compiler caches in a fresh process, a run is as cold as
# the next, and inductor's compiles of the torch-scheduled AdamW (up to the recompile limit) are
# the costliest minutes of the call.
FULL = Sizes(60, 128, 1, 256, 200, 3, 5, 256 * 25, ("cnn", "resnet56"),
             "resnet56", 20000, 2000, 128, 10, range_steps("resnet56"))
SMOKE = Sizes(10, 8, 1, 4, 6, 1, 1, 4 * 4, ("cnn", "resnet20"),
              "resnet20", 64, 32, 16, 2, 8)


def quiet(device: torch.device) -> None:
    """Settings of every process of the run: one CPU thread (steadier on shared cores, as in
    range_test_speed.py), no dynamo log line per recompile (the table counts them)."""
    if device.type == "cpu":
        torch.set_num_threads(1)
    torch._logging.set_logs(dynamo=logging.ERROR)


# -- (a) compiled optimizer step ------------------------------------------------------------


def make_optimizer(kind: str, model: nn.Module, device: torch.device) -> torch.optim.Optimizer:
    """SGD(momentum) or AdamW on a tensor lr (on the device), as torch's tutorial asks for a
    compiled step with an LR scheduler. AdamW on CUDA: ``capturable=True``, which torch wants
    for tensor lr/betas outside compile (under compile dynamo sets it itself)."""
    lr = torch.tensor(0.01, device=device)
    if kind == "SGD":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    return torch.optim.AdamW(model.parameters(), lr=lr, capturable=device.type == "cuda")


SCHEDULE_GUARD = re.compile(r"\['(lr|momentum|betas|beta1)'\]|\b(lr|momentum|beta1) ==")
"""A failed guard that names a scheduled value is a recompile the schedule caused: a param
group's entry (``group['lr']``, ``['betas'][0]``), or an argument of torch's functional
optimizer that a fused step's wrapper guards on (``kwargs['beta1']``, ``momentum == 0.95``);
not ``momentum_buffer_list[0] is None`` (the optimizer's fresh state)."""


def recompile_limit() -> int:
    """dynamo's recompile limit (``cache_size_limit`` before torch renamed it)."""
    config = torch._dynamo.config
    return int(getattr(config, "recompile_limit", getattr(config, "cache_size_limit", 8)))


_OLDEST_GRAPH = re.compile(r"\s*\d+/0(?:_\d+)?:")
"""A guard failure of a frame's first graph (compile id ``frame/0``), the last of the reasons
dynamo records for one recompile: it checks every cached graph, newest first."""


def schedule_recompiles(graphs: int) -> int:
    """Recompiles whose failed guard names a scheduled hyper-parameter (as opposed to the
    optimizer creating its state, or a graph break), from dynamo's recorded guard failures.

    Each recompile records a failure for every graph cached by then, newest first (``3/2``,
    ``3/1``, ``3/0``): a group ends at the first graph's, and it is the schedule's when its
    newest graph failed on a scheduled value. (Counting every failure counted k recompiles as
    k(k+1)/2.) Where the compile ids are not found in the reasons, each failure that names a
    scheduled value counts, up to ``graphs - 1``."""
    from torch._dynamo.utils import guard_failures

    caused = 0
    for reasons in guard_failures.values():
        texts = [str(r) for r in reasons]
        if not any(_OLDEST_GRAPH.match(t) for t in texts):
            caused += sum(bool(SCHEDULE_GUARD.search(t)) for t in texts)
            continue
        newest: str | None = None
        for t in texts:
            newest = t if newest is None else newest
            if _OLDEST_GRAPH.match(t):
                caused += bool(SCHEDULE_GUARD.search(newest))
                newest = None
    return min(caused, max(graphs - 1, 0))


def compiled_one_cycle(kind: str, scheduler: str, device_name: str, sizes: Sizes,
                       backend: str, cache_dir: str | None = None) -> tuple[int, float, int]:
    """Graphs compiled, seconds, and recompiles the schedule caused, for a whole 1cycle run with
    a compiled optimizer step (``scheduler``: "ours" or "torch"). Meant to run in a fresh
    process (see :func:`part_a`); ``cache_dir``: an empty folder for inductor's and Triton's
    caches, which the caller makes and removes (a child stopped by Ctrl-C is killed, and could
    not)."""
    device = torch.device(device_name)
    quiet(device)
    if backend == "inductor":
        import os

        from torch._inductor import config as inductor_config

        inductor_config.force_disable_caches = True  # compile cold, as a first run would
        # ... and Triton's on-disk kernel cache too, which force_disable_caches leaves on: a
        # folder of this process's own (a spawned child, so no compile has run yet), or the
        # second run of a case would reuse the first one's kernels.
        fresh = cache_dir or tempfile.mkdtemp(prefix="sc-compile-")
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = fresh
        os.environ["TRITON_CACHE_DIR"] = os.path.join(fresh, "triton")
    torch._dynamo.reset()
    counters.clear()
    torch.manual_seed(SEED)
    model = build_model("cnn", (3, 32, 32), 10).to(device)
    x = torch.randn(sizes.compile_batch, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (sizes.compile_batch,), device=device)
    opt = make_optimizer(kind, model, device)
    n = sizes.compile_steps
    attach = scheduler_step.ours if scheduler == "ours" else scheduler_step.theirs
    sched = attach(opt, n, True, max_lr=0.1 if kind == "SGD" else 0.01)

    @torch.compile(backend=backend, fullgraph=False)
    def step() -> None:
        opt.step()

    # Untimed: CUDA/cuDNN start-up (an eager forward and backward, gradients dropped) and the
    # compiler's first-use costs (a trivial function, so no kernel of the step is cached).
    F.cross_entropy(model(x), y).backward()
    opt.zero_grad(set_to_none=True)
    torch.compile(lambda t: t * 2 + 1, backend=backend)(torch.ones(3, device=device))
    counters.clear()
    from torch._dynamo.utils import guard_failures

    guard_failures.clear()
    rts.sync(device)
    t0 = time.perf_counter()
    for _ in range(n):
        F.cross_entropy(model(x), y).backward()
        step()
        opt.zero_grad(set_to_none=True)
        sched.step()
    rts.sync(device)
    seconds = time.perf_counter() - t0
    graphs = counters["stats"]["unique_graphs"]
    caused = schedule_recompiles(graphs)
    torch._dynamo.reset()
    return graphs, seconds, caused


def _child(conn: Any, fn: Any, args: tuple[Any, ...]) -> None:
    try:
        conn.send((True, fn(*args)))
    except BaseException:  # the parent raises it
        import traceback

        conn.send((False, traceback.format_exc()))


def in_a_fresh_process(fn: Any, *args: Any) -> Any:
    """``fn(*args)`` in a new (spawned) process. A Ctrl-C or the session's SIGINT stops the
    child at once (a process pool would wait for its task, maybe a long compile, to finish)."""
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(send, fn, args), daemon=True)
    child.start()
    send.close()
    try:
        ok, value = receive.recv()
    except EOFError:
        child.join()
        raise RuntimeError(f"the child process died (exit code {child.exitcode})") from None
    except BaseException:  # KeyboardInterrupt: stop the child now, not after its compile
        child.kill()
        child.join()
        raise
    child.join(timeout=30)  # it sent its result and is exiting
    if child.is_alive():
        child.kill()
        child.join()
    if not ok:
        raise RuntimeError(f"in the child process:\n{value}")
    return value


def part_a(device: torch.device, sizes: Sizes, backend: str, on_row: Any = None,
           kinds: tuple[str, ...] = OPTIMIZERS) -> list[dict[str, Any]]:
    """Each run in a fresh process with fresh compiler caches: no compiled code or cached
    kernel passes from one to the next (``torch._dynamo.reset()`` alone leaves the backend's
    in-memory caches). Each case ``sizes.compile_repeats`` times, ours and torch's in
    alternating order (by run, and from AdamW to SGD). AdamW first, the row with the goal;
    ``on_row(rows)`` after each row, so a call cut short keeps it. ``kinds``: the optimizers,
    a subset of :data:`OPTIMIZERS` (their order kept)."""
    rows: list[dict[str, Any]] = []
    for kind in (kind for kind in OPTIMIZERS if kind in kinds):
        k = OPTIMIZERS.index(kind)  # (the order below as the table's description gives it)
        got: dict[str, list[tuple[int, float, int]]] = {"ours": [], "torch": []}
        for r in range(sizes.compile_repeats):
            # (alternating by run and by optimizer: with one run each, ours goes first for
            # AdamW and torch's for SGD, so neither side always pays a cold disk's first loads)
            for scheduler in (("ours", "torch") if (r + k) % 2 == 0 else ("torch", "ours")):
                cache = tempfile.mkdtemp(prefix="sc-compile-") if backend == "inductor" else None
                try:
                    got[scheduler].append(in_a_fresh_process(
                        compiled_one_cycle, kind, scheduler, str(device), sizes, backend,
                        cache))
                finally:  # (also after a Ctrl-C, which kills the child at once)
                    if cache is not None:
                        shutil.rmtree(cache, ignore_errors=True)
                if on_row is not None:
                    # Every run written as it ends (with one side alone, a row of its own), so
                    # a call cut short in the next (slower, recompiling) run still keeps it.
                    on_row([*rows, {"optimizer": kind, **got, "limit": recompile_limit()}])
        rows.append({"optimizer": kind, **got, "limit": recompile_limit()})
        if on_row is not None:  # written before it is printed: what is seen is kept
            on_row(rows)
        print(f"(a) {kind}: " + ", ".join(
            f"{who} {runs[0][0]} graphs ({runs[0][2]} schedule recompiles) "
            f"{'/'.join(f'{x[1]:.2f}' for x in runs)} s" for who, runs in got.items()),
            flush=True)
    return rows


def table_a(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| optimizer | graphs: ours | graphs: torch | recompiles caused by the schedule: ours "
        "| torch | ours s | torch s | ours / torch | goal | runs each |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for r in rows:
        if not all(r[who] for who in ("ours", "torch")):  # the other side was cut short
            done = next(who for who in ("ours", "torch") if r[who])
            x = r[done][0]
            lines.append(f"| {r['optimizer']} | " + " | ".join(
                [f"{x[0]}", "-", f"{x[2]}", "-", f"{x[1]:.2f}", "-"] if done == "ours"
                else ["-", f"{x[0]}", "-", f"{x[2]}", "-", f"{x[1]:.2f}"])
                + f" | - | {ONE_SIDED} | 1 |")
            continue
        cells = []
        for who in ("ours", "torch"):
            graphs = sorted({x[0] for x in r[who]})
            text = "/".join(map(str, graphs))
            if max(graphs) >= r["limit"]:
                text += f" (limit {r['limit']} hit: eager after)"
            cells.append(text)
        caused = ["/".join(map(str, sorted({x[2] for x in r[who]}))) for who in ("ours", "torch")]
        secs = {who: [x[1] for x in r[who]] for who in ("ours", "torch")}
        med = {who: statistics.median(v) for who, v in secs.items()}
        shown = {who: f"{med[who]:.2f}" + (f" ({min(v):.2f}-{max(v):.2f})" if len(v) > 1 else "")
                 for who, v in secs.items()}
        # The goal is for a schedule that makes torch's step recompile; where torch's float
        # momentum costs no recompile (SGD on its single-tensor path, the CPU's default; on CUDA
        # its default foreach step recompiles), the row is a control: ~1.
        recompiles = max(x[2] for x in r["torch"]) > 0
        goal = "<= 0.3" if recompiles else "control (torch's schedule recompiles nothing)"
        if len(r["ours"]) != len(r["torch"]):
            goal += " (the last run cut short: sides differ in runs)"
        lines.append(f"| {r['optimizer']} | {cells[0]} | {cells[1]} | {caused[0]} | {caused[1]} "
                     f"| {shown['ours']} | {shown['torch']} | {med['ours'] / med['torch']:.3f} "
                     f"| {goal} | {len(secs['ours'])} |")
    return "\n".join(lines)


# -- (b) range-test speed -------------------------------------------------------------------


def range_case(sizes: Sizes, model: str, repeats: int) -> rts.Case:
    """(b)'s range test of ``model``: synthetic 32x32 images, ``sizes.range_steps`` steps at
    batch ``sizes.batch`` (also range_test_repeats.py's)."""
    return rts.Case(
        f"synthetic 32x32, {MODEL_LABEL[model]}", "synthetic_images", model, sizes.batch,
        sizes.range_steps, RANGE_START_LR, repeats,
        (("num_train", sizes.range_images), ("num_val", sizes.batch)), end_lr=RANGE_END_LR,
    )


def part_b(device: torch.device, sizes: Sizes, with_tlf: bool, repeats: int | None,
           on_row: Any = None) -> list[tuple[str, dict[str, Any]]]:
    """Every model at every precision; ``on_row(rows)`` after each row, so a call cut short
    keeps the rows it measured. ``repeats``: of every row (None: the sizes' own, more for the
    small CNN)."""
    rows: list[tuple[str, dict[str, Any]]] = []
    for model in sizes.range_models:
        reps = repeats or (sizes.small_repeats if model == "cnn" else sizes.repeats)
        case = range_case(sizes, model, reps)
        for precision, (amp_dtype, grad_scaler, fused) in PRECISIONS.items():
            runners = rts.RUNNERS if precision == "fp32" and with_tlf else ("bare", "ours")
            runs = rts.bench(case, reps, device, runners, preload=True, amp_dtype=amp_dtype,
                             grad_scaler=grad_scaler, fused=fused)
            row = rts.summarize(case, runs)
            rows.append((precision, row))
            if on_row is not None:
                on_row(rows)
            b = row["best"]
            print(f"(b) {case.label}, {precision}: ours / bare {b['ours'] / b['bare']:.3f}"
                  + (f", ours / torch-lr-finder {b['ours'] / b['torch-lr-finder']:.3f}"
                     if "torch-lr-finder" in b
                     else "")
                  + ("" if row["same_work"] else f"  WARNING: a run stopped early "
                     f"({', '.join(row['stops'])}): unequal work"), flush=True)
    return rows


def table_b(rows: list[tuple[str, dict[str, Any]]]) -> str:
    lines = [
        "| case | precision | steps | batch | repeats | bare s | ours s | torch-lr-finder s "
        "| ours / bare (goal <= 1.02) | ours / torch-lr-finder (goal <= 1.0) "
        "| max abs loss diff ours vs bare | steps recorded (bare, ours) | every run trained "
        "every step | restore: ours | spread of repeats |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- "
        "| --- | ---: |",
    ]
    for precision, row in rows:
        c, b = row["case"], row["best"]
        tlf_s, tlf_ratio = "-", "-"
        if TLF in b:
            tlf_s, tlf_ratio = f"{b[TLF]:.3f}", f"{b['ours'] / b[TLF]:.3f}"
        lines.append(
            f"| {c.label} | {precision} | {c.num_iter} | {c.batch_size} | {row['repeats']} "
            f"| {b['bare']:.3f} | {b['ours']:.3f} | {tlf_s} | {b['ours'] / b['bare']:.3f} "
            f"| {tlf_ratio} | {row['diff_bare']:.3g} "
            f"| {row['steps']['bare']}, {row['steps']['ours']} "
            f"| {'yes' if row['same_work'] else 'NO (stopped: ' + ', '.join(row['stops']) + ')'} "
            f"| {'; '.join(row['restore']['ours'])} | {row['spread']:.0%} |"
        )
    lines += ["", "A ratio is within the noise where it differs from 1 by less than the spread "
              "of repeats; a row whose runs did not all train every step compares unequal work "
              "and is no measurement."]
    return "\n".join(lines)


# -- (c) 1cycle vs fixed LR -----------------------------------------------------------------


def accuracy(model: nn.Module, loader: Any, device: torch.device) -> float:
    model.eval()
    correct = torch.zeros((), dtype=torch.long, device=device)
    total = 0
    with torch.no_grad():
        for x, y in loader:
            y = y.to(device, non_blocking=True)
            correct += (model(x.to(device, non_blocking=True)).argmax(1) == y).sum()
            total += len(y)
    return correct.item() / total  # .item() waits for the device


def fit(model: nn.Module, opt: torch.optim.Optimizer, sched: sc.ParamScheduler | None,
        train: Any, val: Any, epochs: int, device: torch.device,
        history: list[tuple[float, float]] | None = None, on_epoch: Any = None,
        ) -> list[tuple[float, float]]:
    """(validation accuracy, seconds since the start) after each epoch, appended to
    ``history``; ``on_epoch()`` after each."""
    history = [] if history is None else history
    t0 = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for x, y in train:
            loss = F.cross_entropy(model(x.to(device, non_blocking=True)),
                                   y.to(device, non_blocking=True))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
        history.append((accuracy(model, val, device), time.perf_counter() - t0))
        if on_epoch is not None:
            on_epoch()
    return history


def part_c(device: torch.device, sizes: Sizes, on_progress: Any = None) -> dict[str, Any]:
    """The range test, then each policy's training; ``on_progress(out)`` after the range test
    and after every epoch, so a call cut short keeps the epochs it measured."""
    data = load_dataset("synthetic_images", seed=SEED, num_train=sizes.train_images,
                        num_val=sizes.val_images)

    def loaders() -> tuple[Any, Any]:  # rebuilt per run: every run sees the same batches
        return train_val_loaders(data, sizes.train_batch, seed=SEED, drop_last=True,
                                 pin_memory=device.type == "cuda")

    torch.manual_seed(SEED)
    model = build_model(sizes.train_model, data.input_shape, data.num_classes).to(device)
    init = {k: t.detach().clone() for k, t in model.state_dict().items()}

    def sgd(lr: float) -> torch.optim.Optimizer:
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9,
                               weight_decay=WEIGHT_DECAY)

    t0 = time.perf_counter()
    res = sc.lr_range_test(model, sgd(1e-5), F.cross_entropy, loaders()[0], 1e-5, 10.0,
                           sizes.finder_steps, progress=False)
    rts.sync(device)  # (the restore's copies may still be queued on the device)
    finder_s = time.perf_counter() - t0
    picked = {"fixed": res.suggestion(), "1cycle": res.bounds()[1]}
    lrs = {k: v if v is not None else FALLBACK_LR[k] for k, v in picked.items()}

    histories: dict[str, list[tuple[float, float]]] = {policy: [] for policy in lrs}
    out = {"result": res, "finder_s": finder_s, "picked": picked, "lrs": lrs,
           "histories": histories, "steps_per_epoch": len(loaders()[0])}

    def progress() -> None:
        if on_progress is not None:
            on_progress(out)

    progress()
    for policy, lr in lrs.items():
        model.load_state_dict(init)
        opt = sgd(lr)
        train, val = loaders()
        steps = sizes.epochs * len(train)
        sched = (sc.ParamScheduler(opt, lr=sc.one_cycle(lr, steps),
                                   momentum=sc.one_cycle_momentum(steps))
                 if policy == "1cycle" else None)
        fit(model, opt, sched, train, val, sizes.epochs, device, histories[policy], progress)
        acc, seconds = histories[policy][-1]
        print(f"(c) {policy} at lr {lr:.3g}: val acc {acc:.3f} after {seconds:.1f} s", flush=True)
    return out


def table_c(out: dict[str, Any]) -> str:
    lrs, picked, hist = out["lrs"], out["picked"], out["histories"]

    def head(policy: str, what: str) -> str:
        note = "" if picked[policy] is not None else ", fallback: no suggestion"
        return f"{policy} (lr {lrs[policy]:.3g} = {what}{note})"

    lines = [
        f"| epoch | {head('fixed', 'suggestion()')}: val acc | time s "
        f"| {head('1cycle', 'max_lr = bounds()[1]')}: val acc | time s |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    def cells(epoch: tuple[float, float] | None) -> str:  # None: not run (a run cut short)
        return "- | -" if epoch is None else f"{epoch[0]:.3f} | {epoch[1]:.1f}"

    for e, (fix, one) in enumerate(
            itertools.zip_longest(hist["fixed"], hist["1cycle"]), start=1):
        lines.append(f"| {e} | {cells(fix)} | {cells(one)} |")
    return "\n".join(lines)


# -- the run ----------------------------------------------------------------------------------


def torch_lr_finder_version() -> str | None:
    try:
        import torch_lr_finder  # noqa: F401 - imported before timing (it pulls in matplotlib)
    except ImportError:
        return None
    return importlib.metadata.version("torch-lr-finder")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda",
                    help="torch device (default cuda; a device this machine lacks is refused, "
                    "but cuda without CUDA says so and exits 0)")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny sizes (CNN, ResNet-20, a few steps): checks the code runs, on a "
                    "CPU in well under a minute; not a measurement")
    ap.add_argument("--skip", default="", help="parts to leave out, e.g. a,c")
    ap.add_argument("--repeats", type=int, default=None,
                    help="repeats of each range-test case, the best counts (default 5 for the "
                         "small CNN, 3 for ResNet-56; smoke 1)")
    ap.add_argument("--compile-runs", type=int, default=None, metavar="N",
                    help="(a): runs of each optimizer and scheduler, each in a fresh process; "
                    "the table gives the median and the range (default 1)")
    ap.add_argument("--optimizers", default=",".join(OPTIMIZERS),
                    help="(a): the optimizers to compile, a comma-separated subset of "
                    f"{','.join(OPTIMIZERS)} (default both)")
    ap.add_argument("--out", type=Path, default=None,
                    help="markdown results file (default benchmarks/results/gpu.md; with "
                    "--smoke none)")
    ap.add_argument("--merge", type=Path, nargs="+", metavar="FILE",
                    help="measure nothing: combine the results files of runs that each did "
                    "some parts (--skip) into --out, each part from the file that measured it")
    args = ap.parse_args(argv)
    if args.merge:
        texts = []
        for f in args.merge:  # (a bug bash: a missing file was a traceback)
            try:
                texts.append(f.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                ap.error(f"--merge {f}: {getattr(exc, 'strerror', None) or exc}")
        # (a bug bash: a file of no part was merged into a gpu.md of a title alone, exit 0)
        partless = [str(f) for f, t in zip(args.merge, texts, strict=True)
                    if not any(h[:3] in {f"({p})" for p in PARTS} for h in _split(t)[1])]
        if partless:
            ap.error(f"--merge {', '.join(partless)}: not a results file of benchmarks/gpu.py "
                     "(no section of part (a), (b) or (c))")
        # The committed results only from GPU measurements, as for a run (a smoke run or one
        # off CUDA writes only where --out says).
        not_gpu = [str(f) for f, t in zip(args.merge, texts, strict=True)
                   if "(SMOKE RUN on" in t.split("\n", 1)[0]
                   or not any(line.startswith("- device: cuda") for line in t.splitlines())]
        if not_gpu and args.out is None:
            ap.error(f"{', '.join(not_gpu)}: a smoke run or no GPU measurement; pass --out PATH "
                     f"to merge it anywhere but {RESULTS}")
        text = merge(texts, [str(f) for f in args.merge])
        out = args.out if args.out is not None else RESULTS
        _common.write_text(out, text)
        print(f"wrote {out}")
        return 0
    skip = {p.strip() for p in args.skip.split(",") if p.strip()}
    if not skip <= set(PARTS):
        ap.error(f"--skip takes a comma-separated subset of {','.join(PARTS)}, got {args.skip!r}")
    if args.repeats is not None and args.repeats < 1:
        ap.error(f"--repeats must be >= 1, got {args.repeats}")
    if args.compile_runs is not None and args.compile_runs < 1:
        ap.error(f"--compile-runs must be >= 1, got {args.compile_runs}")
    kinds = tuple(k.strip() for k in args.optimizers.split(",") if k.strip())
    if not kinds or not set(kinds) <= set(OPTIMIZERS):
        ap.error(f"--optimizers takes a comma-separated subset of {','.join(OPTIMIZERS)}, got "
                 f"{args.optimizers!r}")
    try:
        device = torch.device(args.device)
    except RuntimeError as exc:
        ap.error(f"--device {args.device!r}: {exc}")
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device found (torch.cuda.is_available() is False): nothing to measure; "
              "`python benchmarks/gpu.py --device cpu --smoke` checks that the code runs")
        return 0
    try:  # cuda:1 on one GPU, mps here: refused now, not in every part's traceback
        device = _common.device(args.device)
    except argparse.ArgumentTypeError as exc:
        ap.error(f"argument --device: {exc}")
    quiet(device)
    sizes = SMOKE if args.smoke else FULL
    if args.compile_runs is not None:
        sizes = dataclasses.replace(sizes, compile_repeats=args.compile_runs)
    repeats = args.repeats  # None: each model's own (Sizes)
    if device.type != "cuda" and not args.smoke and args.out is None:
        ap.error("a full run off CUDA is no GPU measurement: pass --smoke, or --out PATH to "
                 "write its figures somewhere other than benchmarks/results/gpu.md")
    out = args.out if args.out is not None or args.smoke else RESULTS
    backend = "inductor" if device.type == "cuda" else "aot_eager"
    tlf_version = torch_lr_finder_version()
    if tlf_version is None and "b" not in skip:
        print("torch-lr-finder is not installed: (b) runs without its column "
              "(pip install torch-lr-finder==0.2.2 to compare against it)")
    # torch-lr-finder reads its schedule with get_lr() outside step(), which torch warns about.
    warnings.filterwarnings("ignore", message="To get the last learning rate")
    gc.freeze()  # the imports' objects: keeps the gc.collect() before each run quick

    began = time.perf_counter()
    done: dict[str, Any] = {}

    def write(finished: bool) -> None:
        if out is not None:
            text = render(done, skip, args, argv, device, sizes, backend, tlf_version,
                          time.perf_counter() - began, finished, cut)
            _common.write_text(out, text)

    cut: set[str] = set()  # parts with results so far, not finished yet

    def so_far(part: str) -> Any:
        def keep(rows: Any) -> None:  # the part's results so far, in case of a cut
            done[part] = copy.copy(rows)
            cut.add(part)
            write(False)
        return keep

    runners = {
        "a": lambda: part_a(device, sizes, backend, so_far("a"), kinds),
        "b": lambda: part_b(device, sizes, tlf_version is not None, repeats, so_far("b")),
        "c": lambda: part_c(device, sizes, so_far("c")),
    }
    failed: dict[str, str] = {}
    for part in PARTS:
        if part in skip:
            continue
        part_began = time.perf_counter()
        try:
            done[part] = runners[part]()
            cut.discard(part)
            print(f"({part}) took {time.perf_counter() - part_began:.0f} s", flush=True)
        except Exception:  # one part failing (a compiler error, ...) must not lose the others
            import traceback

            failed[part] = traceback.format_exc()
            print(f"({part}) FAILED:\n{failed[part]}", flush=True)
            # the rows it measured before the error stay (the must-show rows come first)
            done[part] = FailedPart(failed[part], done[part] if part in cut else None)
            cut.discard(part)
        # after every part: a run cut short keeps what it measured
        write(all(p in done or p in skip for p in PARTS))
    texts = sections(sizes, backend, tlf_version)
    for part in PARTS:
        rows = done[part].rows if isinstance(done.get(part), FailedPart) else done.get(part)
        if rows is not None:
            name, table, _ = texts[part]
            print(f"\n{name}\n{table(rows)}")
            if part == "c":
                print(range_test_line(rows))
    if out is None:
        print("\n(smoke run: pass --out PATH to write the markdown)")
    else:
        print(f"wrote {out}")
    return 1 if failed else 0


@dataclass(frozen=True)
class FailedPart:
    """A part that raised: its section holds the traceback, after the ``rows`` it measured
    before, if any; ``--merge`` takes it only where no run measured the part (one with rows
    counts as measured, after a run that finished the part)."""

    traceback: str
    rows: Any = None


def _split(text: str) -> tuple[str, dict[str, str]]:
    """A results file's title block and its ``## `` sections by heading."""
    head, *parts = text.split("\n## ")
    return head, {p.split("\n", 1)[0]: "## " + p.rstrip() + "\n" for p in parts}


def _a_rows(section: str) -> dict[str, str]:
    """(a)'s table rows by optimizer."""
    lines = [line for line in section.splitlines() if line.startswith("| ")][2:]
    return {line.split("|")[1].strip(): line for line in lines}


def _with_rows_of(section: str, others: list[tuple[str, str]]) -> tuple[str, list[str]]:
    """``section`` of (a) with the rows it lacks, or has with one side only, taken from
    ``others`` (name, section): the first that has each with both sides, else the first with
    one side; in :data:`OPTIMIZERS`' order; and a line per row taken, naming its run. A rerun
    of one optimizer (``--optimizers SGD``) keeps the other's row. The section's own "Cut
    short" or "Failed part-way" line stays: it says how that run ended, the lines say which
    rows came from others."""
    if sum(line.startswith("| ") for line in section.splitlines()) < 2:
        return section, []  # no table to add to (a file of another layout): as it is
    rows = _a_rows(section)
    taken: dict[str, str] = {}
    for name, other in others:
        for kind, row in _a_rows(other).items():
            if kind not in rows or (ONE_SIDED in rows[kind] and ONE_SIDED not in row):
                rows[kind] = row
                taken[kind] = name
    if not taken:
        return section, []
    lines = section.splitlines()
    at = [i for i, line in enumerate(lines) if line.startswith("| ")]
    first, last = at[1] + 1, at[-1] + 1
    order = [k for k in OPTIMIZERS if k in rows] + [k for k in rows if k not in OPTIMIZERS]
    lines[first:last] = [rows[k] for k in order]
    return "\n".join(lines) + "\n", [f"{kind}'s row of (a) is from run `{taken[kind]}`."
                                      for kind in order if kind in taken]


def merge(texts: list[str], names: list[str]) -> str:
    """One results file from several runs' files: each part's section from the first file that
    measured it (not skipped, not cut short), and every run's provenance, in order. (a)'s rows
    are combined by optimizer, each from the first file, in the order given, that measured it
    (a row is whole in itself, also in a run cut short later)."""
    split = [_split(t) for t in texts]
    title = split[0][0].strip().splitlines()[0]
    body = [title, ""]
    headings = [h for h in split[0][1] if h != "Provenance"]
    missing = []
    for heading in headings:
        measured = [(name, sec[heading]) for name, (_, sec) in zip(names, split, strict=True)
                    if heading in sec and "\n" + SKIPPED.split("{", 1)[0] not in sec[heading]
                    and "\n" + NOT_RUN not in sec[heading]
                    and "\n" + FAILED not in sec[heading]]
        in_order = list(measured)  # (a)'s rows go by the order given
        # a part some run finished before one that was cut short or failed part-way in it
        measured.sort(key=lambda ns: "\n" + CUT in ns[1] or "\n" + FAILED_AFTER in ns[1])
        failed = [sec[heading] for _, sec in split
                  if heading in sec and "\n" + FAILED in sec[heading]]
        if measured and heading.startswith("(a)"):
            section, said = _with_rows_of(in_order[0][1], in_order[1:])
            body.append(section.rstrip("\n") + ("\n\n" + " ".join(said) + "\n" if said else "\n"))
        elif measured:
            body.append(measured[0][1])
        elif failed:  # its traceback, which the per-run files that held it go with
            missing.append(heading)
            body.append(failed[0])
        else:
            missing.append(heading)
            body += [f"## {heading}", "", "Not measured in any of the merged runs.", ""]
    body += ["## Provenance", "", f"Merged from {len(texts)} runs ({', '.join(names)}).", ""]
    for name, (_, sec) in zip(names, split, strict=True):
        prov = sec.get("Provenance", "## Provenance\n\n(none)\n").split("\n", 1)[1].strip()
        body += [f"Run `{name}`:", "", prov, ""]
    if missing:
        print(f"not measured in any file: {'; '.join(missing)}")
    devices = {line for _, sec in split for line in sec.get("Provenance", "").splitlines()
               if line.startswith("- device:")}
    if len(devices) > 1:
        print("WARNING: the merged runs ran on different devices or backends; the parts are "
              f"not comparable as one run: {sorted(devices)}")
        body.insert(2, "**Warning**: the merged runs did not all run on the same device (see "
                    "Provenance); compare parts with care.\n")
    return "\n".join(body)


def range_test_line(c: dict[str, Any]) -> str:
    res = c["result"]
    return (f"Range test: {res.stop_reason} after {len(res.lrs)} steps in {c['finder_s']:.1f} s; "
            f"suggestion() {c['picked']['fixed']}, bounds() {res.bounds()}; "
            f"{c['steps_per_epoch']} steps per epoch; warnings: "
            f"{'; '.join(res.warnings()) or 'none'}.")


def sections(sizes: Sizes, backend: str, tlf_version: str | None,
             ) -> dict[str, tuple[str, Any, str]]:
    """Each part's heading, table function and how it was measured."""
    return {
        "a": ("(a) Compiled optimizer step: 1cycle with cyclical momentum", table_a,
              f"{sizes.compile_steps} steps of a small CNN (`build_model('cnn')`, batch "
              f"{sizes.compile_batch}, one fixed batch) with `@torch.compile(backend="
              f"{backend!r}, fullgraph=False) def step(): opt.step()`; the optimizer holds a "
              "tensor lr. ours: `ParamScheduler(opt, lr=one_cycle(...), momentum="
              "one_cycle_momentum(...), tensors=True)` (AdamW's `betas[0]` becomes a tensor too; "
              "SGD's momentum stays a float, since torch branches on it in Python, and with it "
              "cycling `tensors=True` sets SGD's `foreach=None` to `False`: ours runs SGD's "
              "single-tensor step, torch's side keeps torch's default, the foreach step on "
              "CUDA, as a user of OneCycleLR gets it); torch: "
              "`OneCycleLR(cycle_momentum=True)` with the same values (three-phase), which fills "
              "the tensor lr in place but writes floats into momentum/betas. Graphs: dynamo's "
              "`counters['stats']['unique_graphs']` after the run, which also counts the "
              "recompile for the optimizer's fresh state and graph breaks; \"limit hit\": "
              f"dynamo's recompile limit ({recompile_limit()}) was reached and the step ran "
              "eagerly afterwards. Recompiles caused by the schedule: dynamo's recorded guard "
              "failures that name `['lr']`, `['momentum']` or `['betas']` (the goal: 0 for "
              "ours). Time: the whole run, compilation included, `torch.cuda.synchronize()` "
              "before the clock stops; median of the runs (range in brackets), ours and "
              "torch's alternating which goes first, by run and from AdamW (ours first) to "
              "SGD (torch's first); each run in a fresh process, after an "
              "untimed eager forward/backward and a trivial compile"
              + (", inductor's and Triton's caches fresh (`force_disable_caches`, and a new "
                 "`TORCHINDUCTOR_CACHE_DIR` / `TRITON_CACHE_DIR`). The goal (ours <= 0.3 x "
                 "torch's time) is for a row where torch's schedule makes the step recompile; "
                 "a row where it does not is a control." if backend == "inductor" else ".")),
        "b": ("(b) LR range test speed", table_b,
              f"SGD(momentum={rts.MOMENTUM}), exponential sweep {RANGE_START_LR:g} -> "
              f"{RANGE_END_LR:g}, `diverge_factor=None`; `load_dataset('synthetic_images', "
              f"num_train={sizes.range_images})`, one shuffled epoch of batches put on the "
              "device once and re-iterated by all runners (torch-lr-finder through its "
              "`TrainDataLoaderIter`); runners interleaved, best of the repeats; one untimed "
              "5-step warm-up of the bare loop per row. Precision: `amp_dtype=` of ours, the "
              "same `torch.autocast` (and a fresh `torch.amp.GradScaler` per run) in the bare "
              "loop; torch-lr-finder runs in fp32 only"
              + ("" if tlf_version else " and was not installed here")
              + ". Under fp16 both train the same steps; a step the scaler skipped is not a "
              "point of ours (so fewer steps may be recorded) and the loss difference is taken "
              "at the LRs both recorded (both start a fused SGD's momentum buffers at zero "
              "under a scaler). On CUDA the loss difference need not be 0: cuDNN may pick "
              "backward kernels that are not deterministic (`cudnn.deterministic` is off), so "
              "two runs of the same steps can differ in the last bits, which a sweep into a "
              "high LR amplifies, chaotically, into losses far apart by its end; the restore "
              "is checked "
              "bit for bit in its own column. With a plain SGD `scaler.step` reads its inf check "
              "back at every step in both loops; the fused SGD takes the scaler into its own "
              "step, so neither loop waits. ours reads its losses back every `sync_every=10` "
              "steps, one step late through a CUDA event, so the GPU has a step to run while it "
              "waits; the "
              "bare loop keeps its losses on the device and reads them once at the end; "
              "torch-lr-finder calls `loss.item()` every step. Times are the best of the "
              "repeats; every runner synchronizes before its clock starts and stops."),
        "c": (f"(c) {MODEL_LABEL[sizes.train_model]}: 1cycle vs fixed LR", table_c,
              f"`load_dataset('synthetic_images', num_train={sizes.train_images}, "
              f"num_val={sizes.val_images})`, batch {sizes.train_batch}, {sizes.epochs} epochs, "
              f"SGD(momentum=0.9, weight_decay={WEIGHT_DECAY:g}), fp32, the same initial weights "
              "and batches for both. LRs from one range test on the training loader "
              f"({sizes.finder_steps} steps"
              + (", `find-lr`'s length for this model"
                 if sizes.finder_steps == range_steps(sizes.train_model) else "")
              + ", 1e-5 -> 10); one run of each policy with one seed, so a difference of "
              "a point or two is within seed-to-seed noise. 1cycle: `one_cycle(max_lr, "
              "epochs * batches)` with `one_cycle_momentum` (0.95 -> 0.85 -> 0.95). Time: wall "
              "time since the start of the run at the end of each epoch, evaluation included."),
    }


def render(done: dict[str, Any], skip: set[str], args: argparse.Namespace,
           argv: list[str] | None, device: torch.device, sizes: Sizes, backend: str,
           tlf_version: str | None, elapsed: float, finished: bool,
           cut: set[str] | frozenset[str] = frozenset()) -> str:
    """The markdown of the parts measured so far; the others are skipped or still to come."""
    texts = sections(sizes, backend, tlf_version)
    title = "# GPU benchmarks: compiled 1cycle, range-test speed, 1cycle vs fixed LR"
    if args.smoke:
        title += f" (SMOKE RUN on {device}: tiny sizes, not a measurement)"
    body = [title, ""]
    if not finished:
        body += ["**Run not finished**: the parts below marked \"not run yet\" were still to "
                 "come when this file was written.", ""]
    for part in PARTS:
        name, table, how = texts[part]
        body += [f"## {name}", ""]
        if part in skip:
            body += [SKIPPED.format(args.skip), ""]
        elif part not in done:
            body += [NOT_RUN, ""]
        elif isinstance(done[part], FailedPart) and done[part].rows is None:
            body += [FAILED, "", "```", done[part].traceback.rstrip(), "```", ""]
        else:
            # A finished part, or one whose later row raised: its rows, then the traceback.
            failed = done[part] if isinstance(done[part], FailedPart) else None
            rows = failed.rows if failed is not None else done[part]
            if failed is not None:
                body += [FAILED_AFTER, ""]
            elif part in cut:
                body += [CUT, ""]
            body += [table(rows), "", how, ""]
            if part == "c":
                body += [range_test_line(rows), ""]
            if failed is not None:
                body += ["```", failed.traceback.rstrip(), "```", ""]
    lines = _common.provenance(_common.command_line("gpu.py", argv))
    lines += [
        f"- device: {_common.device_name(device)}; torch.compile backend for (a): {backend}",
        f"- torch-lr-finder: {tlf_version or 'not installed'}; seed {SEED}; "
        f"{'whole run' if finished else 'run so far'} {elapsed:.0f} s",
    ]
    body += ["## Provenance", "", "\n".join(lines), ""]
    return "\n".join(body)

if __name__ == "__main__":
    raise SystemExit(main())
