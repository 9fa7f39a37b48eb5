"""Two CPU processes (gloo), launched the way torchrun does, each with different data: the range
test all-reduces the loss, so both ranks record the same curve and stop at the same step, and
only rank 0 writes files."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist

from superconverge import RangeTestResult

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()), reason="needs torch.distributed+gloo"
)

WORKER = textwrap.dedent(
    """
    import json, os, sys
    import torch
    import torch.distributed as dist
    from torch import nn
    from torch.nn import functional as F
    from superconverge.finder.range_test import is_main_process, lr_range_test

    torch.set_num_threads(1)
    dist.init_process_group("gloo")  # env:// (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)
    rank = dist.get_rank()
    torch.manual_seed(0)  # the same initial model on every rank
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))
    ddp = nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.01, momentum=0.9)
    g = torch.Generator().manual_seed(100 + rank)  # different data on each rank
    x = torch.randn(256, 10, generator=g) * (1 + 2 * rank)
    y = x.sum(1, keepdim=True) * (1 + rank)
    batches = [(x[i : i + 16], y[i : i + 16]) for i in range(0, 256, 16)]
    with torch.no_grad():
        local0 = F.mse_loss(model(batches[0][0]), batches[0][1]).item() / 2
        local0 += F.mse_loss(model(batches[1][0]), batches[1][1]).item() / 2

    res = lr_range_test(
        ddp, opt, F.mse_loss, batches, 1e-4, 10.0, 60, accumulation_steps=2, sync_every=7,
        progress=False,
    )
    out = sys.argv[1]
    res.to_json(os.path.join(out, f"lr_find_rank{rank}.json"))  # a no-op except on rank 0
    res.plot(os.path.join(out, f"lr_find_rank{rank}.png"))
    with open(os.path.join(out, f"curve{rank}.txt"), "w") as f:
        json.dump({
            "lrs": res.lrs, "losses": res.losses, "stop": res.stop_reason, "local0": local0,
            "world": res.provenance["world_size"], "main": is_main_process(),
            "weight": model[0].weight.sum().item(),
        }, f)
    dist.destroy_process_group()
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


NO_SYNC_WORKER = textwrap.dedent(
    """
    import json, os, sys
    import torch
    import torch.distributed as dist
    from torch import nn
    from torch.nn import functional as F
    from superconverge.finder.range_test import lr_range_test

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    calls = {}
    for compiled in (False, True):
        torch.manual_seed(0)
        ddp = nn.parallel.DistributedDataParallel(nn.Sequential(nn.Linear(10, 8), nn.ReLU(),
                                                                nn.Linear(8, 2)))
        count = [0]

        def hook(state, bucket, count=count):
            count[0] += 1
            fut = dist.all_reduce(bucket.buffer().div_(2), async_op=True).get_future()
            return fut.then(lambda f: f.value()[0])

        ddp.register_comm_hook(None, hook)
        net = torch.compile(ddp, backend="aot_eager") if compiled else ddp
        opt = torch.optim.SGD(ddp.parameters(), lr=0.01)
        g = torch.Generator().manual_seed(rank)
        x = torch.randn(160, 10, generator=g)
        y = (x[:, 0] > 0).long()
        batches = [(x[i : i + 16], y[i : i + 16]) for i in range(0, 160, 16)]
        lr_range_test(net, opt, F.cross_entropy, batches, 1e-4, 1e-2, 6, accumulation_steps=4,
                      diverge_factor=None, progress=False)
        calls[str(compiled)] = count[0]
    with open(os.path.join(sys.argv[1], f"calls{rank}.json"), "w") as f:
        json.dump(calls, f)
    dist.destroy_process_group()
    """
)


#: What a rank prints when the rendezvous port was taken in the moment between free_port()
#: releasing it and the ranks binding it: then the ranks are run again, on another port.
PORT_RACE = ("Address already in use", "EADDRINUSE", "Connection refused")
#: A rank that torch's C++ side aborted (SIGABRT, "terminate called without an active
#: exception": a joinable std::thread destroyed) while the other rank still waited on it. Seen
#: once in a CI run of the compiled-DDP test, right after dynamo's first compile (an earlier,
#: unreported failure of the same test was likely the same), and never in 31 runs of that test
#: alone, 25 of them beside two busy loops: torch's abort, not the range test's logic, so the
#: ranks run once more; a failure that repeats still fails. The cause, found later (see
#: test_under_torchrun_the_group_s_threads_end_before_the_interpreter_does): the group's
#: backend outlives destroy_process_group (these workers keep their DDP models to the end), and
#: a gloo worker still dropping the last collective's tensors takes the GIL as the interpreter
#: exits. torchrun_group, which the command runs under, frees it; these workers do not use it.
TORCH_ABORT = ("terminate called without an active exception",)


def run_ranks(tmp_path: Path, worker: str, attempts: int = 2) -> None:
    """Run ``worker`` as ranks 0 and 1 (env:// like torchrun), with ``tmp_path`` as argv[1].

    A failure shows both ranks' output (the failing rank is not always the one that says why).
    """
    script = tmp_path / "worker.py"
    script.write_text(worker)
    src = str(Path(__file__).resolve().parents[1] / "src")
    for attempt in range(attempts):
        env = {
            **os.environ,
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(free_port()),
            "WORLD_SIZE": "2",
            "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]),
        }
        procs = [
            subprocess.Popen(
                [sys.executable, str(script), str(tmp_path)],
                env={**env, "RANK": str(rank), "LOCAL_RANK": str(rank)},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for rank in (0, 1)
        ]
        outs: list[str] = []
        try:
            for p in procs:
                outs.append(p.communicate(timeout=240)[0])
                if p.returncode != 0:
                    break  # the other rank may wait for this one for good
        finally:
            for p in procs[len(outs):]:
                running = p.poll() is None
                p.kill()
                note = "\n(killed: the other rank had failed)" if running else ""
                outs.append(p.communicate()[0] + note)
        if all(p.returncode == 0 for p in procs):
            return
        report = "\n".join(f"--- rank {r} (exit {p.returncode}):\n{out}"
                           for r, (p, out) in enumerate(zip(procs, outs, strict=True)))
        if attempt + 1 < attempts and any(m in report for m in PORT_RACE + TORCH_ABORT):
            continue
        raise AssertionError(report)


RUN_EACH = textwrap.dedent(
    """
    import os, runpy, sys
    import torch.distributed as dist

    # Each worker starts and ends the process group as if it ran alone: the first start and
    # the last end are the real ones.
    init, destroy = dist.init_process_group, dist.destroy_process_group
    dist.init_process_group = lambda *a, **k: None if dist.is_initialized() else init(*a, **k)
    dist.destroy_process_group = lambda *a, **k: None
    root = sys.argv[1]
    for name in NAMES:
        sys.argv = [os.path.join(root, name + ".py"), os.path.join(root, name)]
        runpy.run_path(sys.argv[0], run_name="__main__")
        dist.barrier()  # every rank done with this worker before the next one starts
    destroy()
    """
)


DTENSOR_LOSS_WORKER = textwrap.dedent(
    """
    import json, os, sys
    import torch
    import torch.distributed as dist
    from torch import nn
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor.parallel import ColwiseParallel, loss_parallel, parallelize_module
    from torch.nn import functional as F
    from superconverge.finder.range_test import lr_range_test

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    mesh = init_device_mesh("cpu", (2,))
    torch.manual_seed(0)
    # torch's loss-parallel recipe: the output layer's columns sharded, its output a DTensor
    model = parallelize_module(nn.Sequential(nn.Linear(8, 6)), mesh,
                               {"0": ColwiseParallel(use_local_output=False)})
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(1)  # (the same batches on both ranks, as TP needs)
    batches = [(torch.randn(4, 8, generator=g), torch.randint(0, 6, (4,), generator=g))
               for _ in range(10)]
    with loss_parallel():
        with torch.no_grad():
            first = float(F.cross_entropy(model(batches[0][0]), batches[0][1]))
        res = lr_range_test(model, opt, F.cross_entropy, batches, 1e-4, 1.0, 10,
                            progress=False, sync_every=3)
    with open(os.path.join(sys.argv[1], f"dt{rank}.json"), "w") as f:
        json.dump({"first": first, "losses": res.losses, "stop": res.stop_reason}, f)
    dist.destroy_process_group()
    """
)


FSDP1_WORKER = textwrap.dedent(
    """
    import json, os, sys, warnings
    import torch
    import torch.distributed as dist
    from torch import nn
    from torch.nn import functional as F
    from superconverge.finder.range_test import lr_range_test

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    out = {}
    try:
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
        torch.manual_seed(0)
        model = FSDP(nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2)),
                     device_id=torch.device("cpu"))
    except Exception as exc:  # (a torch whose FSDP1 does not run on the CPU)
        out["unsupported"] = repr(exc)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        g = torch.Generator().manual_seed(100 + rank)
        batches = [(torch.randn(4, 8, generator=g) * 3, torch.randint(0, 2, (4,), generator=g))
                   for _ in range(15)]
        before = [p.detach().clone() for p in model.parameters()]
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            res = lr_range_test(model, opt, F.cross_entropy, batches, 1e-3, 5.0, 15,
                                progress=False, max_grad_norm=0.1, diverge_factor=None)
        out["warned"] = [str(w.message) for w in said if "wrote into" in str(w.message)]
        out["restored"] = all(torch.equal(a, p) for a, p in zip(before, model.parameters()))
        # the same steps in a loop that clips as FSDP1 says to: the norm over every shard
        ref = []
        for (x, y), lr in zip(batches, res.lrs):
            opt.param_groups[0]["lr"] = lr
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            model.clip_grad_norm_(0.1)
            opt.step()
            mean = loss.detach().clone()
            dist.all_reduce(mean)
            ref.append(mean.item() / 2)
        out["curve"], out["ref"] = res.losses, ref
    with open(os.path.join(sys.argv[1], f"fsdp{rank}.json"), "w") as f:
        json.dump(out, f)
    dist.destroy_process_group()
    """
)


@pytest.fixture(scope="module")
def ranks_ran(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The workers of the tests below, run one after the other in one launch of two ranks
    (each launch costs ~4.5 s of start-up, most of what a worker took); each worker's argv[1]
    is its own folder, whose path comes back under its name. A worker that fails stops the
    launch: every test reading this fails, with both ranks' output."""
    workers = {"curve": WORKER, "no_sync": NO_SYNC_WORKER, "after_end": AFTER_END_WORKER,
               "subgroup": SUBGROUP_WORKER, "zero": ZERO_WORKER,
               "bucket_view": BUCKET_VIEW_WORKER, "mismatch": MISMATCH_WORKER,
               "dtensor_loss": DTENSOR_LOSS_WORKER, "fsdp1": FSDP1_WORKER,
               "sharded": SHARDED_SUBGROUP_WORKER, "cut_backward": CUT_BACKWARD_WORKER}
    root = tmp_path_factory.mktemp("ranks")
    for name, worker in workers.items():
        (root / f"{name}.py").write_text(worker)
        (root / name).mkdir()
    run_ranks(root, RUN_EACH.replace("NAMES", repr(tuple(workers))))
    return {name: root / name for name in workers}


@pytest.mark.slow
def test_two_ranks_record_the_same_curve_and_only_rank_0_writes(
        ranks_ran: dict[str, Path]) -> None:
    out = ranks_ran["curve"]
    r0, r1 = (json.loads((out / f"curve{r}.txt").read_text()) for r in (0, 1))
    assert r0["world"] == r1["world"] == 2 and r0["main"] and not r1["main"]
    assert r0["local0"] != pytest.approx(r1["local0"], rel=0.1)  # the ranks' data differ...
    assert r0["losses"] == r1["losses"] and r0["lrs"] == r1["lrs"]  # ...their curves do not
    assert r0["losses"][0] == pytest.approx((r0["local0"] + r1["local0"]) / 2, rel=1e-5)
    assert r0["stop"] == r1["stop"] == "diverged" and len(r0["lrs"]) < 60
    assert r0["weight"] == r1["weight"]  # restored to the same (identical) initial model
    written = sorted(p.name for p in out.iterdir() if p.name.startswith("lr_find"))
    assert written == ["lr_find_rank0.json", "lr_find_rank0.png"]


@pytest.mark.slow
def test_accumulation_all_reduces_once_per_step_also_under_torch_compile(
        ranks_ran: dict[str, Path]) -> None:
    """6 steps of 4 micro-batches: one gradient all-reduce per step (no_sync() on the first
    three), for DDP(model) and for torch.compile(DDP(model)), whose wrapper is no DDP."""
    out = ranks_ran["no_sync"]
    for rank in (0, 1):
        calls = json.loads((out / f"calls{rank}.json").read_text())
        assert calls == {"False": 6, "True": 6}


AFTER_END_WORKER = textwrap.dedent(
    """
    import json, os, sys
    import torch
    import torch.distributed as dist
    from torch import nn
    from torch.nn import functional as F
    from superconverge.finder.range_test import lr_range_test

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(0)
    ddp = nn.parallel.DistributedDataParallel(nn.Sequential(nn.Linear(10, 32), nn.ReLU(),
                                                            nn.Linear(32, 1)))
    opt = torch.optim.SGD(ddp.parameters(), lr=0.01, momentum=0.9)
    g = torch.Generator().manual_seed(100 + rank)
    x = torch.randn(256, 10, generator=g)
    batches = [(x[i : i + 16], x[i : i + 16].sum(1, keepdim=True)) for i in range(0, 256, 16)]
    calls = [0]

    def step_fn(m, batch):
        # a model that checks its weights, and a NaN loss on rank 1 only at step 21: the
        # averaged gradient makes every rank's weights NaN, so the next step raises on both
        calls[0] += 1
        if not all(torch.isfinite(p).all() for p in m.parameters()):
            raise RuntimeError("weights are not finite")
        loss = F.mse_loss(m(batch[0]), batch[1])
        return loss * float("nan") if rank == 1 and calls[0] == 21 else loss

    try:
        res = lr_range_test(ddp, opt, None, batches, 1e-4, 1e-2, 60, step_fn=step_fn,
                            progress=False, sync_every=10, diverge_factor=None)
        outcome = f"returned {res.stop_reason} after {len(res.lrs)}"
    except RuntimeError as exc:
        outcome = f"raised {exc}"
    with open(os.path.join(sys.argv[1], f"outcome{rank}.txt"), "w") as f:
        f.write(outcome)
    dist.destroy_process_group()
    """
)


@pytest.mark.slow
def test_a_step_that_raises_after_a_nan_seen_by_one_rank_raises_on_every_rank(
        ranks_ran: dict[str, Path]) -> None:
    """The rank that saw the NaN used to keep its curve (its own unread losses ended it) while
    the other raised: the ranks must end the same way."""
    out = ranks_ran["after_end"]
    outcomes = [(out / f"outcome{r}.txt").read_text() for r in (0, 1)]
    assert outcomes == ["raised weights are not finite"] * 2, outcomes


MISMATCH_WORKER = textwrap.dedent(
    """
    import json, os, signal, sys
    import torch
    import torch.distributed as dist
    from torch import nn
    from torch.nn import functional as F
    from superconverge.finder.range_test import lr_range_test

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(0)
    ddp = nn.parallel.DistributedDataParallel(nn.Linear(10, 1))
    opt = torch.optim.SGD(ddp.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(100 + rank)
    x = torch.randn(256, 10, generator=g) * (1 + 2 * rank)
    batches = [(x[i : i + 16], x[i : i + 16].sum(1, keepdim=True)) for i in range(0, 256, 16)]
    calls = [0]

    def step_fn(m, b):
        calls[0] += 1
        if calls[0] == 15:  # a Ctrl-C reaching every rank, as torchrun forwards it
            raise KeyboardInterrupt
        return F.mse_loss(m(b[0]), b[1])

    out = {}
    try:
        lr_range_test(ddp, opt, None, batches, 1e-5, 1e-3, 50, step_fn=step_fn, sync_every=10,
                      progress=False)
    except KeyboardInterrupt as exc:
        out["cut"] = list(exc.partial_result.losses)
    # A real Ctrl-C that lands on rank 1 just after the second chunk's all-reduce returns (and
    # before its read), and on rank 0 in the step after that read: rank 1 ended a chunk short.
    reduce, chunks = dist.all_reduce, [0]

    def all_reduce(t, *args, **kwargs):
        done = reduce(t, *args, **kwargs)
        if t.dtype == torch.float32 and t.numel() == 7:  # a chunk's losses (sync_every=7)
            chunks[0] += 1
            if rank == 1 and chunks[0] == 2:
                signal.raise_signal(signal.SIGINT)
        return done

    def late(m, b):
        calls[0] += 1
        if rank == 0 and calls[0] == 15:
            signal.raise_signal(signal.SIGINT)
        return F.mse_loss(m(b[0]), b[1])

    dist.all_reduce, calls[0] = all_reduce, 0
    try:
        lr_range_test(ddp, opt, None, batches, 1e-5, 1e-3, 50, step_fn=late, sync_every=7,
                      progress=False)
    except KeyboardInterrupt as exc:
        out["signal"] = [list(exc.partial_result.losses), exc.partial_result.stop_reason]
    # ... and one that lands while the all-reduce fails (another rank gone) was swallowed
    def failing(t, *args, **kwargs):
        done = reduce(t, *args, **kwargs)
        if rank == 1 and t.dtype == torch.float32 and t.numel() == 7:
            signal.raise_signal(signal.SIGINT)
            raise RuntimeError("Connection closed by peer")
        return done

    dist.all_reduce = failing
    try:
        out["failed"] = lr_range_test(ddp, opt, F.mse_loss, batches, 1e-5, 1e-3, 7, sync_every=7,
                                      progress=False).stop_reason
    except KeyboardInterrupt as exc:
        out["failed"] = [type(exc).__name__, str(exc.__context__)]
    dist.all_reduce = reduce
    # ... and one that lands while signals_deferred puts the handlers back, after the held
    # signals were read, was lost: the sweep went on to its end (a review)
    install, restores = signal.signal, [0]

    def signal_(sig, handler):
        if sig == signal.SIGINT and handler is signal.default_int_handler:
            restores[0] += 1
            if restores[0] == 3:  # chunk 3's read (sync_every=1), to the holding handler
                signal.raise_signal(signal.SIGINT)
        return install(sig, handler)

    signal.signal = signal_
    try:
        out["restoring"] = lr_range_test(ddp, opt, F.mse_loss, batches, 1e-5, 1e-3, 10,
                                         sync_every=1, progress=False).stop_reason
    except KeyboardInterrupt as exc:
        out["restoring"] = len(exc.partial_result.losses)
    signal.signal = install
    try:  # "rank 0 validates": val_data on one rank only
        lr_range_test(ddp, opt, F.mse_loss, batches, 1e-5, 1e-3, 20,
                      val_data=batches[:2] if rank == 0 else None, progress=False)
    except ValueError as exc:
        out["val"] = str(exc)
    # validation batches of another count on each rank: a DDP model's forward under no_grad
    # is no collective, so they are taken (a review: the first check for sharded models, whose
    # forward is one, refused them here too)
    # (and the validation loss is the mean over both ranks' examples, 48 beside 36, where it
    # was the mean of the ranks' means)
    val = batches[:3 - rank] + ([(x[:4], x[:4].sum(1, keepdim=True))] if rank else [])
    with torch.no_grad():
        out["own_val"] = [sum(F.mse_loss(ddp.module(a), b, reduction="sum").item()
                              for a, b in val), sum(len(a) for a, _ in val)]
    res = lr_range_test(ddp, opt, F.mse_loss, batches, 1e-5, 1e-3, 6, val_data=val,
                        val_batches=0, progress=False)
    out["uneven"], out["val0"] = res.stop_reason, res.val_losses[0]
    # where one rank cannot count its batches' examples (no tensor with a length), every
    # batch weighs the same, as on one rank (a review: its count of batches was added to the
    # other's of examples); batches of no examples give NaN, not a ZeroDivisionError

    class Box:  # (a batch with no tensor of a length: the step_fn unpacks it)
        def __init__(self, x, y):
            self.x, self.y = x, y

    boxed = [Box(a, b) for a, b in val] if rank else val
    with torch.no_grad():
        out["own_batches"] = [sum(F.mse_loss(ddp.module(a), b).item() for a, b in val), len(val)]

    def unbox(m, batch):
        a, b = (batch.x, batch.y) if isinstance(batch, Box) else batch
        return F.mse_loss(m(a), b)

    out["mixed0"] = lr_range_test(ddp, opt, None, batches, 1e-5, 1e-3, 6, val_data=boxed,
                                  step_fn=unbox, progress=False).val_losses[0]
    empty = [(x[:0], x[:0].sum(1, keepdim=True))]
    res = lr_range_test(ddp, opt, F.mse_loss, batches, 1e-5, 1e-3, 6, val_data=empty,
                        progress=False)
    out["empty"] = [res.stop_reason, str(res.val_losses[0])]
    # a disabled GradScaler is none (a review: refused beside None, and one enabled on rank 0
    # alone passed the check, then aborted in gloo)
    off = torch.amp.GradScaler("cpu", enabled=False) if rank else None
    out["off"] = lr_range_test(ddp, opt, F.mse_loss, batches, 1e-5, 1e-3, 8, scaler=off,
                               progress=False).stop_reason
    try:
        lr_range_test(ddp, opt, F.mse_loss, batches, 1e-5, 1e-3, 8, progress=False,
                      scaler=torch.amp.GradScaler("cpu", enabled=rank == 0))
    except ValueError as exc:
        out["on"] = str(exc)
    try:  # the stop is decided on every rank: a diverge_factor on one alone hung the other
        lr_range_test(ddp, opt, F.mse_loss, batches, 1e-5 * (1 + rank), 1e-3, 8,
                      diverge_factor=None if rank else 4.0, progress=False)
    except ValueError as exc:
        out["stop"] = str(exc)
    with open(os.path.join(sys.argv[1], f"mismatch{rank}.json"), "w") as f:
        json.dump(out, f)
    dist.destroy_process_group()
    """
)


@pytest.mark.slow
def test_ctrl_c_keeps_only_points_every_rank_shares_and_a_val_data_on_one_rank_is_named(
        ranks_ran: dict[str, Path]) -> None:
    """A Ctrl-C put this rank's own unread losses (not the mean) at the end of each rank's
    partial curve, so the ranks' curves (and find-lr's lr_find.partial.json) differed in their
    last points; val_data on rank 0 alone aborted a rank inside gloo, naming nothing. The
    validation loss of ranks with other numbers of examples is the mean over all of them."""
    out = ranks_ran["mismatch"]
    r0, r1 = (json.loads((out / f"mismatch{r}.json").read_text()) for r in (0, 1))
    assert r0["cut"] == r1["cut"] and len(r0["cut"]) == 10
    assert r0["signal"] == r1["signal"] == [r0["signal"][0], "interrupted"]
    assert len(r0["signal"][0]) == 14
    assert r0["failed"] == "completed"
    assert r0["restoring"] == r1["restoring"] == 3
    assert r1["failed"] == ["KeyboardInterrupt", "Connection closed by peer"]
    assert r0["val"] == r1["val"]
    assert r0["val"].startswith("under torch.distributed every rank must call lr_range_test "
                                "with the same val_data: they differ between the 2 ranks")
    assert r0["uneven"] == r1["uneven"] == "completed"
    assert r0["own_val"][1] == 48 and r1["own_val"][1] == 36
    assert r0["val0"] == r1["val0"] == pytest.approx(
        (r0["own_val"][0] + r1["own_val"][0]) / (48 + 36), rel=1e-5)
    assert r0["mixed0"] == r1["mixed0"] == pytest.approx(
        (r0["own_batches"][0] + r1["own_batches"][0]) / (3 + 3), rel=1e-5)
    assert r0["empty"] == r1["empty"] == ["completed", "nan"]
    assert r0["off"] == r1["off"] == "completed"
    assert r0["on"] == r1["on"] and "with the same scaler: they differ" in r0["on"]
    assert r0["stop"] == r1["stop"]
    assert "with the same start_lr, diverge_factor: they differ" in r0["stop"]


SUBGROUP_WORKER = textwrap.dedent(
    """
    import json, os, sys
    import torch
    import torch.distributed as dist
    from torch import nn
    from torch.nn import functional as F
    from superconverge.finder.range_test import lr_range_test

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    groups = [dist.new_group([0]), dist.new_group([1])]  # every rank makes every group
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 1))
    ddp = nn.parallel.DistributedDataParallel(model, process_group=groups[rank])
    g = torch.Generator().manual_seed(100 + rank)
    x = torch.randn(160, 10, generator=g) * (1 + 5 * rank)
    batches = [(x[i : i + 16], x[i : i + 16].sum(1, keepdim=True)) for i in range(0, 160, 16)]
    with torch.no_grad():
        own0 = F.mse_loss(model(batches[0][0]), batches[0][1]).item()
    res = lr_range_test(ddp, torch.optim.SGD(ddp.parameters(), lr=0.01), F.mse_loss, batches,
                        1e-6, 1e-5, 10, progress=False)
    with open(os.path.join(sys.argv[1], f"sub{rank}.json"), "w") as f:
        json.dump({"first": res.losses[0], "own0": own0,
                   "world": res.provenance["world_size"]}, f)
    dist.destroy_process_group()
    """
)


SHARDED_SUBGROUP_WORKER = textwrap.dedent(
    """
    import json, os, sys
    import torch
    import torch.distributed as dist
    from torch import nn
    from torch.nn import functional as F
    from superconverge.finder.range_test import lr_range_test

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    g = torch.Generator().manual_seed(100 + rank)
    batches = [(torch.randn(4, 8, generator=g) * (1 + 3 * rank),
                torch.randint(0, 2, (4,), generator=g)) for _ in range(10)]

    def net():
        torch.manual_seed(0)  # the same initial model on every rank
        return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))

    with torch.no_grad():
        own0 = F.cross_entropy(net()(batches[0][0]), batches[0][1]).item()
    out = {"own0": own0}

    def first(model, evaluated=False):
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        if evaluated:  # a forward without a backward leaves FSDP2's unsharded parameters in
            with torch.no_grad():
                model(batches[0][0])
        res = lr_range_test(model, opt, F.cross_entropy, batches, 1e-6, 1e-5, 10,
                            progress=False)
        return [res.losses[0], res.provenance["world_size"]]

    subgroup = [dist.new_group([0]), dist.new_group([1])][rank]  # every rank makes both
    everyone = dist.new_group([0, 1])
    # (only the sharding's own construction may fail, on a torch whose FSDP does not run on
    # the CPU: a failure of the test's is the test's, a review)
    try:
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import fully_shard
        mesh = init_device_mesh("cpu", (2, 1), mesh_dim_names=("replicate", "shard"))
        probe = fully_shard(net())  # (torch 2.6's FSDP2 fails its first forward on the CPU)
        F.cross_entropy(probe(batches[0][0]), batches[0][1]).backward()
        sharded = {}
        for name, on in (("fsdp2_slice", mesh["shard"]), ("hsdp2", mesh),
                         ("fsdp2_evaluated", None)):
            sharded[name] = fully_shard(net(), **({} if on is None else {"mesh": on}))
    except Exception as exc:
        out["fsdp2_unsupported"] = repr(exc)
    else:
        for name, model in sharded.items():
            out[name] = first(model, evaluated=name == "fsdp2_evaluated")
        evaluated = fully_shard(net())
        with torch.no_grad():  # and the optimizer built after: told how to build it
            evaluated(batches[0][0])
        try:
            first(evaluated)
        except ValueError as exc:
            out["optimizer_after"] = str(exc)
        # An error in the backward pass of a nested FSDP2 model: the next training steps are
        # an untested twin's (a bug bash: a layer's gathered weights were left pending, the
        # sweep's, and the next forward used them over the restored shards)
        class Fails(nn.Module):
            calls = 0

            def forward(self, x):
                self.calls += 1
                if self.calls == 7:
                    x = x.clone()
                    x.register_hook(lambda grad: (_ for _ in ()).throw(RuntimeError("cut")))
                return x

        def nested(fails=None):
            torch.manual_seed(0)
            m = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), fails or nn.Identity(),
                              nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2))
            for layer in (m[0], m[3], m[5]):
                fully_shard(layer)
            return fully_shard(m)

        def trained(m):
            opt = torch.optim.SGD(m.parameters(), lr=0.01)
            if isinstance(m[2], Fails):
                try:
                    lr_range_test(m, opt, F.cross_entropy, batches, 1e-4, 1.0, 10,
                                  progress=False)
                except RuntimeError:
                    pass
                m[2].calls = -10**6
            losses = []
            for x, y in batches[:3]:
                opt.zero_grad()
                loss = F.cross_entropy(m(x), y)
                loss.backward()
                opt.step()
                losses.append(loss.item())
            return losses

        out["after_a_cut_backward"] = [trained(nested(Fails())), trained(nested())]
        # validation batches of another count on one rank: each forward of a sharded model
        # all-gathers, and gloo aborted a rank (a bug bash); taken where k is within the fewest,
        # and a loader over an IterableDataset, which has no length, is not counted (a review)
        from torch.utils.data import DataLoader, IterableDataset

        class Stream(IterableDataset):
            def __iter__(self):
                return iter([(x[0], y[0]) for x, y in batches[:4]])

        for name, val, k in (("uneven0", batches[:3 - rank], 0), ("uneven1", batches[:3 - rank], 1),
                             ("stream", DataLoader(Stream(), batch_size=2), 0)):
            m = nested()
            try:
                out[name] = lr_range_test(m, torch.optim.SGD(m.parameters(), lr=0.01),
                                          F.cross_entropy, batches, 1e-6, 1e-5, 6, val_data=val,
                                          val_batches=k, progress=False).stop_reason
            except ValueError as exc:
                out[name] = str(exc)
        try:  # a model that is none is named as such (it was an AttributeError here)
            lr_range_test("not a model", torch.optim.SGD(net().parameters(), lr=0.01),
                          F.cross_entropy, batches, 1e-6, 1e-5, 10, progress=False)
        except TypeError as exc:
            out["not_a_model"] = str(exc)
    try:
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP, ShardingStrategy
        apart = FSDP(net(), process_group=subgroup, device_id=torch.device("cpu"))
        hybrid = FSDP(net(), process_group=(subgroup, everyone),
                      sharding_strategy=ShardingStrategy.HYBRID_SHARD,
                      device_id=torch.device("cpu"))
    except Exception as exc:
        out["fsdp1_unsupported"] = repr(exc)
    else:
        out["fsdp1_subgroup"], out["fsdp1_hybrid"] = first(apart), first(hybrid)
    with open(os.path.join(sys.argv[1], f"sharded{rank}.json"), "w") as f:
        json.dump(out, f)
    dist.destroy_process_group()
    """
)


@pytest.mark.slow
def test_a_sharded_model_averages_its_losses_over_the_ranks_that_train_it(
        ranks_ran: dict[str, Path]) -> None:
    """FSDP2 on a slice of a mesh and FSDP1 on a subgroup train apart from the other ranks:
    each curve is its own data's (they were the mean over every rank's). Hybrid sharding, FSDP2
    over a 2D mesh and FSDP1 over a shard and a replicate group, averages over both ranks; an
    FSDP2 model evaluated under no_grad first is taken (it was refused: its parameters were
    the unsharded ones, which the optimizer does not hold)."""
    got = [json.loads((ranks_ran["sharded"] / f"sharded{r}.json").read_text()) for r in (0, 1)]
    mean0 = (got[0]["own0"] + got[1]["own0"]) / 2
    assert got[0]["own0"] != pytest.approx(got[1]["own0"], rel=0.1)  # (data apart enough)
    cases = {"fsdp2": (["fsdp2_slice"], ["hsdp2", "fsdp2_evaluated"]),
             "fsdp1": (["fsdp1_subgroup"], ["fsdp1_hybrid"])}
    for kind, (apart, together) in cases.items():
        if f"{kind}_unsupported" in got[0]:
            continue
        for rank in (0, 1):
            for name in apart:  # [first loss, world size]
                assert got[rank][name] == pytest.approx([got[rank]["own0"], 1], rel=1e-5), name
            for name in together:
                assert got[rank][name] == pytest.approx([mean0, 2], rel=1e-5), name
    if "fsdp2_unsupported" not in got[0]:
        assert got[0]["not_a_model"] == "model must be a torch.nn.Module, got str"
        after, twin = got[0]["after_a_cut_backward"]
        from torch.distributed.fsdp import FSDPModule

        if hasattr(FSDPModule, "reset_iter_state"):  # (torch's recovery for a cut pass)
            assert after == twin
        assert got[0]["uneven1"] == got[0]["stream"] == "completed"
        assert got[0]["uneven0"] == got[1]["uneven0"] == (
            "under torch.distributed every rank must score as many validation batches, and "
            "val_data gives 2 to 3 on the 2 ranks (each validation forward of a sharded model "
            "is a collective); give each rank's val_data as many batches "
            "(DistributedSampler's shards are of one size), or val_batches=k with k at most the "
            "fewest any rank has")
        assert got[0]["optimizer_after"].endswith(
            "an FSDP2 model run forward without a backward, under torch.no_grad(), before its "
            "optimizer was built gave it the unsharded parameters: build the optimizer first, "
            "or after model.reshard())")
    if "fsdp2_unsupported" in got[0] and "fsdp1_unsupported" in got[0]:
        pytest.skip(f"neither FSDP runs on this torch's CPU: {got[0]['fsdp2_unsupported']}")


@pytest.mark.slow
def test_a_ddp_model_on_a_subgroup_averages_its_losses_over_that_group(
        ranks_ran: dict[str, Path]) -> None:
    """Each rank's DDP model trains in a group of its own: its curve is its own data's, not the
    mean over the default group's ranks (which it was)."""
    out = ranks_ran["subgroup"]
    for rank in (0, 1):
        got = json.loads((out / f"sub{rank}.json").read_text())
        assert got["first"] == pytest.approx(got["own0"], rel=1e-5) and got["world"] == 1


@pytest.mark.slow
def test_a_dtensor_loss_is_read_as_its_whole_value(ranks_ran: dict[str, Path]) -> None:
    """Tensor parallelism's loss_parallel makes the loss a DTensor: the range test failed to
    read it back ("tolist() is not supported for tensor subclasses"; under two ranks its
    all-reduce, "c10d.allreduce_.default does not have a sharding strategy"), a user's bug
    bash. Its whole value is read now, the same on both ranks."""
    got = [json.loads((ranks_ran["dtensor_loss"] / f"dt{r}.json").read_text()) for r in (0, 1)]
    assert got[0]["losses"] == got[1]["losses"] and len(got[0]["losses"]) == 10
    assert got[0]["losses"][0] == pytest.approx(got[0]["first"], rel=1e-6)


@pytest.mark.slow
def test_fsdp1_clips_by_the_norm_over_every_shard_and_warns_of_nothing(
        ranks_ran: dict[str, Path]) -> None:
    """A user's bug bash, FSDP1 on two CPU ranks: max_grad_norm clipped each rank's shard by
    its own norm (the curve differed from a loop that clips with the model's
    clip_grad_norm_), and every rank warned that the test "wrote into" the layers' weight and
    bias, views of FSDP's flat parameter, which the restore put back bit for bit."""
    got = [json.loads((ranks_ran["fsdp1"] / f"fsdp{r}.json").read_text()) for r in (0, 1)]
    if "unsupported" in got[0]:
        pytest.skip(f"FSDP1 does not run on this torch's CPU: {got[0]['unsupported']}")
    for rank in got:
        assert rank["restored"] and rank["warned"] == []
        assert rank["curve"] == pytest.approx(rank["ref"], rel=1e-6)


def classifier_worker(ddp: str, optimizer: str, body: str) -> str:
    """A worker with a DDP classifier (``DistributedDataParallel(net, <ddp>)``), ``opt`` built
    by ``optimizer``, 16 batches of this rank's own data and ``train(steps)``; it runs ``body``,
    then writes ``ok<rank>`` into argv[1]."""
    head = textwrap.dedent(
        """
        import os, sys
        import torch
        import torch.distributed as dist
        from torch import nn
        from torch.distributed.optim import ZeroRedundancyOptimizer
        from torch.nn import functional as F
        from superconverge.finder.range_test import lr_range_test

        torch.set_num_threads(1)
        dist.init_process_group("gloo")
        rank = dist.get_rank()
        torch.manual_seed(0)
        model = nn.parallel.DistributedDataParallel(
            nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2)), DDP_ARGS)
        opt = OPTIMIZER
        g = torch.Generator().manual_seed(100 + rank)
        x = torch.randn(256, 10, generator=g)
        batches = [(x[i : i + 16], (x[i : i + 16, 0] > 0).long()) for i in range(0, 256, 16)]

        def train(steps):
            for xb, yb in batches[:steps]:
                opt.zero_grad()
                F.cross_entropy(model(xb), yb).backward()
                opt.step()

        """
    ).replace("DDP_ARGS", ddp).replace("OPTIMIZER", optimizer)
    tail = textwrap.dedent(
        """
        with open(os.path.join(sys.argv[1], f"ok{rank}"), "w") as f:
            f.write("ok")
        dist.destroy_process_group()
        """
    )
    return head + textwrap.dedent(body) + tail


ZERO_WORKER = classifier_worker(
    "", "ZeroRedundancyOptimizer(model.parameters(), optimizer_class=torch.optim.Adam, lr=1e-3)",
    """
    train(2)
    inner = opt.optim
    before = {p: {k: v.clone() for k, v in s.items()} for p, s in inner.state.items()}
    lr_range_test(model, opt, F.cross_entropy, batches, 1e-5, 1.0, 20, progress=False)
    assert inner.state.keys() == before.keys(), (len(inner.state), len(before))
    for p, s in before.items():
        for k, v in s.items():
            assert torch.equal(inner.state[p][k], v), k
    assert [g["lr"] for g in inner.param_groups] == [1e-3]
    # A group added during the test (a step_fn that unfreezes) goes, from ZeRO's groups and
    # its shard's, and ZeRO's partition is made again (a review: state_dict failed on it).
    body = ZeroRedundancyOptimizer(list(model.module[0].parameters()),
                                   optimizer_class=torch.optim.SGD, lr=0.1)
    calls = [0]

    def unfreeze(m, batch):
        calls[0] += 1
        if calls[0] == 3:
            body.add_param_group({"params": list(model.module[2].parameters())})
        return F.cross_entropy(m(batch[0]), batch[1])

    lr_range_test(model, body, None, batches, 1e-5, 1.0, 10, step_fn=unfreeze, progress=False)
    assert len(body.param_groups) == 1 and len(body.optim.param_groups) == 1
    body.consolidate_state_dict(0)
    if rank == 0:
        assert len(body.state_dict()["param_groups"]) == 1
    # tensors=True's tensors stay the same objects across ZeRO's load_state_dict, in its
    # groups and its shard's (a bug bash: ZeRO copied the loaded floats over them after the
    # hooks had put them back, and a compiled step recompiled at every value)
    import superconverge as sc

    def scheduled(tensors):
        o = ZeroRedundancyOptimizer(model.parameters(), optimizer_class=torch.optim.AdamW,
                                    lr=0.01)
        return o, sc.ParamScheduler(o, lr=sc.one_cycle(0.05, 30),
                                    momentum=sc.one_cycle_momentum(30), tensors=tensors)

    old, old_sched = scheduled(False)
    F.cross_entropy(model(batches[0][0]), batches[0][1]).backward()
    old.step()
    old_sched.step()
    old.consolidate_state_dict(0)
    saved = [old.state_dict() if rank == 0 else None]
    dist.broadcast_object_list(saved, 0)
    new, new_sched = scheduled(True)
    lr, beta = new.param_groups[0]["lr"], new.param_groups[0]["betas"][0]
    new.load_state_dict(saved[0])
    new_sched.load_state_dict(old_sched.state_dict())
    new_sched.step()
    for group in (new.param_groups[0], new.optim.param_groups[0]):
        assert group["lr"] is lr and group["betas"][0] is beta, group
    old_sched.step()  # (the step the loaded one took)
    assert abs(float(lr) / old.param_groups[0]["lr"] - 1) < 1e-6, (float(lr), old.param_groups)
    # ... and the wrapped load holds the optimizer weakly: a bound method kept it alive past
    # del until the cyclic GC ran (a bug bash)
    import gc, weakref
    gc.disable()
    gone = weakref.ref(new)
    del new, new_sched, group
    assert gone() is None
    gc.enable()
    """,
)


@pytest.mark.slow
def test_the_state_zero_keeps_in_its_inner_optimizer_is_restored(
        ranks_ran: dict[str, Path]) -> None:
    """ZeroRedundancyOptimizer keeps each rank's shard of the state in its inner .optim (its
    own .state is empty): the sweep's Adam moments and step counts stayed there, so training
    after the test differed from training without it."""
    out = ranks_ran["zero"]
    assert (out / "ok0").exists() and (out / "ok1").exists()


BUCKET_VIEW_WORKER = classifier_worker(
    "gradient_as_bucket_view=True",
    "torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)",
    """
    train(2)  # a loop leaves its last step's .grad in place
    params = list(model.parameters())
    for where in ("device", "cpu"):
        grads = [p.grad for p in params]
        values = [g.clone() for g in grads]
        storages = {g.untyped_storage().data_ptr() for g in grads}
        lr_range_test(model, opt, F.cross_entropy, batches, 1e-5, 1.0, 20, snapshot=where,
                      progress=False)
        assert all(torch.equal(p.grad, v) for p, v in zip(params, values)), where
        # still the views of DDP's buckets: DDP writes the next gradients there
        assert {p.grad.untyped_storage().data_ptr() for p in params} == storages, where
    train(4)
    """,
)


CUT_BACKWARD_WORKER = classifier_worker(
    "", "torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)",
    """
    import copy

    class Cut(torch.autograd.Function):  # raises in a backward, after a layer's hooks fired
        calls = 0

        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            Cut.calls += 1
            if Cut.calls == 6:
                raise RuntimeError("a backward cut short")
            return g

    twin = nn.parallel.DistributedDataParallel(copy.deepcopy(model.module))
    opt_twin = torch.optim.SGD(twin.parameters(), lr=0.01, momentum=0.9)
    handle = model.module[1].register_forward_hook(lambda m, inputs, out: Cut.apply(out))
    try:
        lr_range_test(model, opt, F.cross_entropy, batches, 1e-5, 1.0, 20, progress=False)
    except RuntimeError as exc:
        assert "a backward cut short" in str(exc), exc
    else:
        raise AssertionError("the cut did not raise")
    handle.remove()

    def steps(m, o, n):
        for xb, yb in batches[:n]:
            o.zero_grad()
            F.cross_entropy(m(xb), yb).backward()
            o.step()

    steps(model, opt, 3)  # failed: "Expected to have finished reduction in the prior iteration"
    steps(twin, opt_twin, 3)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), twin.parameters()))
    # A ZeroRedundancyOptimizer(SGD) records group 0's momentum on every rank, whichever
    # shard holds its first parameter (a bug bash: None on rank 0, whose shard lacked it)
    zero = ZeroRedundancyOptimizer(list(reversed(list(twin.parameters()))),
                                   optimizer_class=torch.optim.SGD, lr=0.01, momentum=0.0)
    res = lr_range_test(twin, zero, F.cross_entropy, batches, 1e-5, 1.0, 10, progress=False)
    assert res.config["heavy_ball_momentum"] == 0.0, res.config["heavy_ball_momentum"]
    """,
)


@pytest.mark.slow
def test_a_ddp_backward_cut_short_leaves_a_model_that_trains_on(
        ranks_ran: dict[str, Path]) -> None:
    """A bug bash: an error that cut a DDP backward short (after some gradient hooks fired) left
    DDP's reducer waiting; the restored model's next training step failed on "Expected to have
    finished reduction in the prior iteration", blaming unused parameters. The reducer is reset
    (as FSDP2's iteration state is); training goes on as an untested twin's."""
    out = ranks_ran["cut_backward"]
    assert (out / "ok0").exists() and (out / "ok1").exists()


@pytest.mark.slow
def test_grads_that_are_views_of_ddps_buckets_come_back_in_them(
        ranks_ran: dict[str, Path]) -> None:
    """DDP(gradient_as_bucket_view=True): each .grad is a view of a bucket that DDP writes the
    sweep's gradients into; the values come back there, for either snapshot, and training
    goes on."""
    out = ranks_ran["bucket_view"]
    assert (out / "ok0").exists() and (out / "ok1").exists()


CLI_WORKER = textwrap.dedent(
    """
    import contextlib, io, os, sys
    import torch
    from superconverge.cli import main

    torch.set_num_threads(1)
    out, rank = sys.argv[1], os.environ["RANK"]
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        code = main(["find-lr", "--dataset", "digits", "--num-iter", "20", "--device", "cpu",
                     "--out", os.path.join(out, "run"), "-q"])
    with open(os.path.join(out, f"said{rank}.txt"), "w") as f:
        f.write(f"{code}\\n{said.getvalue()}")
    # The command left the process group it joined: the process can start another.
    import torch.distributed as dist
    assert not dist.is_initialized()
    """
)


@pytest.mark.slow
def test_find_lr_under_torchrun_trains_on_every_rank_and_rank_0_reports(tmp_path: Path) -> None:
    """``torchrun --nproc_per_node=2 -m superconverge find-lr``: the command joins the ranks
    into one group, each trains on its own half of the examples, the curve is their mean, and
    only rank 0 prints and writes."""
    from superconverge.data import make_loader
    from superconverge.models import build_model
    from superconverge.recipes import load_data

    run_ranks(tmp_path, CLI_WORKER)
    said0, said1 = ((tmp_path / f"said{r}.txt").read_text() for r in (0, 1))
    assert said0.startswith("0\nrange test: cnn on digits, sgd, weight decay 0, batch 64 on "
                            "each of 2 processes\nstopped: completed after 20 of 20 steps")
    assert said1 == "0\n"
    saved = json.loads((tmp_path / "run" / "lr_find.json").read_text())
    assert saved["provenance"]["world_size"] == 2 and saved["config"]["batch_size"] == 64
    # Step 0's loss is the initial model's on each rank's first batch, averaged: rank r's
    # batches come from the examples r, r + 2, r + 4, ...
    ds = load_data("digits", seed=0)
    torch.manual_seed(0)
    model = build_model("cnn", ds.input_shape, ds.num_classes)
    with torch.no_grad():
        # (each share in an order of its own by seed and rank, which the loader then shuffles:
        # in the data's order, each step paired neighbours, a bug bash)
        orders = [torch.from_numpy(np.random.default_rng([0, r]).permutation(len(ds.x_train) // 2))
                  for r in (0, 1)]
        firsts = [next(iter(make_loader(ds.x_train[r::2][orders[r]], ds.y_train[r::2][orders[r]],
                                        64, shuffle=True, seed=0))) for r in (0, 1)]
        each = [torch.nn.functional.cross_entropy(model(x), y).item() for x, y in firsts]
        whole = next(iter(make_loader(ds.x_train, ds.y_train, 64, shuffle=True, seed=0)))
        alone = torch.nn.functional.cross_entropy(model(whole[0]), whole[1]).item()
    assert saved["losses"][0] == pytest.approx(sum(each) / 2, rel=1e-5)
    assert saved["losses"][0] != pytest.approx(alone, rel=1e-3)  # not one process's curve


def test_torchrun_group_is_a_no_op_outside_torchrun(monkeypatch: pytest.MonkeyPatch) -> None:
    from superconverge.recipes.distributed import torchrun_group

    for world in (None, "1"):
        if world is None:
            monkeypatch.delenv("WORLD_SIZE", raising=False)
        else:
            monkeypatch.setenv("WORLD_SIZE", world)
        with torchrun_group("cpu") as device:
            assert device == "cpu" and not dist.is_initialized()
        with torchrun_group(None) as device:
            assert device is None


def test_leaving_the_group_frees_the_backend_by_its_own_handle(tmp_path: Path) -> None:
    """On torch 2.6 a rank hung in destroy_process_group after a broadcast_object_list (a bad
    --out, broadcast by rank 0), 5 runs in 25: the group freed its gloo backend holding the GIL
    that a worker thread needed. The backend is now freed by its own handle, which lets go of
    the GIL; its private getter must exist for that (else the plain destroy is back)."""
    from superconverge.recipes.distributed import _leave_group

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0,
                            world_size=1)
    try:
        assert dist.group.WORLD._get_backend(torch.device("cpu")) is not None
        dist.broadcast_object_list(["ok"], src=0)  # (the collective before it in the hang)
    finally:
        _leave_group(torch.device("cpu"))
    assert not dist.is_initialized()


THREADS_WORKER = textwrap.dedent(
    """
    import os, sys
    import torch.distributed as dist
    from superconverge.cli import main

    def threads():
        return set(os.listdir("/proc/self/task"))

    born = set()  # the threads the group started: gloo's workers, its loop, the store's
    init = dist.init_process_group

    def watched(*args, **kwargs):
        before = threads()
        init(*args, **kwargs)
        born.update(threads() - before)

    dist.init_process_group = watched
    code = main(sys.argv[1:])
    print(code, len(born), len(born & threads()))
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/task")
def test_under_torchrun_the_group_s_threads_end_before_the_interpreter_does(
        tmp_path: Path) -> None:
    """In CI a rank 1 that had nothing left to do after its last collective aborted (exit -6,
    "terminate called without an active exception"), 1 run in 20 to 40 here: the group's
    backend outlived destroy_process_group, and a gloo worker still dropping that collective's
    tensors took the GIL as the interpreter exited. torch's own default arguments held the
    group (torch.distributed.nn.functional, imported by DDP after the group was made) on both
    ranks, and a DDP model in a reference cycle on rank 0. Now every thread the group started
    has ended when the command returns."""
    ranks = run_cli_ranks(tmp_path, ["find-lr", "--num-iter", "10", "--device", "cpu", "--model",
                                     "mlp", "-q", "--out", str(tmp_path / "run")],
                          worker=THREADS_WORKER)
    assert [code for code, _, _ in ranks] == [0, 0], [err for _, _, err in ranks]
    for _, said, _ in ranks:
        code, born, alive = map(int, said.split()[-3:])
        assert code == 0 and born >= 2 and alive == 0


@pytest.mark.parametrize(("name", "value", "message"), [
    ("WORLD_SIZE", "two", "WORLD_SIZE='two' is not a whole number"),
    ("WORLD_SIZE", "0", "WORLD_SIZE must be >= 1, got 0"),
])
def test_find_lr_names_a_bad_torchrun_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    name: str, value: str, message: str,
) -> None:
    from superconverge.cli import main

    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exit_:
        main(["find-lr", "--num-iter", "20", "--out", str(tmp_path / "run"), "-q"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_under_torchrun_a_device_of_its_own_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every rank would claim the one device named; each takes cuda:LOCAL_RANK instead, and a
    device that is neither cuda nor cpu has no backend here."""
    from superconverge.recipes import distributed

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr(distributed, "resolve_device", torch.device)  # no CUDA on this machine
    with pytest.raises(ValueError, match=r"device='cuda:1' under torchrun: every rank would "):
        with distributed.torchrun_group("cuda:1"):
            pass
    with pytest.raises(ValueError, match=r"device='xpu' under torchrun: only cuda \(NCCL\) and "):
        with distributed.torchrun_group("xpu"):
            pass
    assert not dist.is_initialized()


def test_under_torchrun_rank_0_alone_says_what_is_wrong_with_the_arguments(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Every rank parses the same command line. Rank 1's copy of the error was unmarked, so
    the same line read twice, as if from one process; then marked, and a user's bug bash read
    it once per rank, --help too. Rank 0 now speaks for all, with the same exit status."""
    from superconverge.cli import main

    monkeypatch.setenv("WORLD_SIZE", "2")
    for argv, code, said in ((["find-lr", "--num-iter", "3"], 2, "superconverge find-lr: "
                              "error: argument --num-iter: must be >= 8"),
                             (["find-lr", "--bogus"], 2, "unrecognized arguments: --bogus"),
                             (["find-lr", "--help"], 0, "usage: superconverge find-lr")):
        for rank in ("0", "1"):
            monkeypatch.setenv("RANK", rank)
            with pytest.raises(SystemExit) as stop:
                main(argv)
            assert stop.value.code == code
            shown = capsys.readouterr()
            assert (said in shown.out + shown.err) if rank == "0" else shown == ("", "")


EARLY_FAILURE = """
import sys
from superconverge import cli

def failing(parser, args, rank):  # an error before any point: no curve, no line of its own
    raise RuntimeError("injected failure on this rank\\nsecond line")

cli._run = failing
cli.main(["find-lr"])
"""


@pytest.mark.parametrize("rank", ["0", "1"])
def test_under_torchrun_an_error_with_no_curve_is_a_traceback_tagged_by_rank(
        tmp_path: Path, rank: str) -> None:
    """Audit: a rank that failed in the first chunk of steps (no point recorded yet) printed
    an untagged traceback, and so did its peer (the connection it closed): two tracebacks
    that named no rank beside torchrun's own report."""
    script = tmp_path / "worker.py"
    script.write_text(EARLY_FAILURE)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "RANK": rank, "WORLD_SIZE": "2"})
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0] == f"[rank {rank}] Traceback (most recent call last):", done.stderr
    assert all(line.startswith(f"[rank {rank}] ") for line in lines), done.stderr
    assert lines[-2:] == [f"[rank {rank}] RuntimeError: injected failure on this rank",
                          f"[rank {rank}] second line"]


def test_under_torchrun_more_ranks_than_gpus_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from superconverge.recipes import distributed

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(distributed, "resolve_device", torch.device)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match=r"LOCAL_RANK=1 under torchrun, but only 1 CUDA devices"):
        with distributed.torchrun_group("cuda"):
            pass
    monkeypatch.setenv("LOCAL_RANK", "-1")
    with pytest.raises(ValueError, match=r"LOCAL_RANK must be >= 0, got -1"):
        with distributed.torchrun_group("cuda"):
            pass


def run_cli_ranks(tmp_path: Path, argv: list[str], worker: str | None = None,
                  env: dict[str, str] | None = None) -> list[tuple[int, str, str]]:
    """``python -m superconverge ARGV`` (or ``worker``, a script given ARGV) as ranks 0 and 1,
    launched as torchrun does; each rank's exit status, stdout and stderr. A rank still
    running when the other has failed is given 60 s (torchrun would stop it)."""
    src = str(Path(__file__).resolve().parents[1] / "src")
    base = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()),
            "WORLD_SIZE": "2", "OMP_NUM_THREADS": "1", **(env or {}),
            "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "superconverge"]
    if worker is not None:
        (tmp_path / "worker.py").write_text(worker)
        command = [sys.executable, str(tmp_path / "worker.py")]
    procs = [subprocess.Popen([*command, *argv], env={**base, "RANK": str(r),
                                                      "LOCAL_RANK": str(r)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in (0, 1)]
    out = []
    for p in procs:
        try:
            said, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            said, err = p.communicate()
        out.append((p.returncode, said, err))
    return out


@pytest.mark.slow
def test_under_torchrun_a_bad_out_is_refused_by_every_rank_in_one_line(tmp_path: Path) -> None:
    """Only rank 0 checked --out: the other rank went on to train, and died in a collective
    with a traceback when rank 0 left."""
    (tmp_path / "afile").write_text("")
    ranks = run_cli_ranks(tmp_path, ["find-lr", "--num-iter", "20", "--device", "cpu",
                                     "--out", str(tmp_path / "afile" / "x")])
    afile = tmp_path / "afile"
    message = f"cannot make the out folder {afile / 'x'}: {afile} is a file"
    prog = f"{os.path.basename(sys.executable)} -m superconverge"  # (as -m names itself)
    assert [(code, err) for code, _, err in ranks] == [
        (2, f"{prog} find-lr: error: {message}\n"),
        (2, f"[rank 1] {prog} find-lr: error: {message}\n")]


@pytest.mark.slow
def test_under_torchrun_rank_0_alone_logs_and_one_example_a_rank_is_refused(
        tmp_path: Path) -> None:
    ranks = run_cli_ranks(tmp_path, ["-v", "find-lr", "--num-iter", "10", "--device", "cpu",
                                     "--model", "mlp", "--out", str(tmp_path / "run")])
    assert [code for code, _, _ in ranks] == [0, 0]
    assert "range test: mlp on digits" in ranks[0][2] and "2 processes" in ranks[0][2]
    assert ranks[1][1] == ranks[1][2] == ""  # rank 1: no report, no log, no warning
    # ... also none of the library's logged warnings (a cache folder that cannot be made)
    (tmp_path / "cache").write_text("a file, not a folder")
    ranks = run_cli_ranks(tmp_path, ["find-lr", "--num-iter", "10", "--device", "cpu",
                                     "--dataset", "mnist1d", "--model", "mlp", "--out",
                                     str(tmp_path / "m")],
                          env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert [code for code, _, _ in ranks] == [0, 0] and "cache" in ranks[0][2]
    assert ranks[1][1] == ranks[1][2] == ""
    # 3 examples over 2 ranks: one rank's single example failed mid-sweep in a BatchNorm
    x = np.random.default_rng(0).normal(size=(3, 1, 4, 4)).astype(np.float32)
    np.savez(tmp_path / "tiny.npz", x=x, y=np.array([0, 1, 0]), x_val=x, y_val=[0, 1, 0])
    ranks = run_cli_ranks(tmp_path, ["find-lr", "--num-iter", "10", "--device", "cpu", "--data",
                                     str(tmp_path / "tiny.npz"), "--out", str(tmp_path / "t")])
    said = ("3 training examples cannot be shared by 2 processes with at least 2 each; use "
            "fewer processes")
    assert [(code, said in err) for code, _, err in ranks] == [(2, True), (2, True)]
    # 5 over 2: each rank holds 2, the last example left out (rank 0 held 3, and its passes
    # ran apart from rank 1's, a review); a batch of 3 is all of a share, which rank 0 warns
    # of (an audit: it said nothing)
    x = np.random.default_rng(0).normal(size=(5, 1, 4, 4)).astype(np.float32)
    np.savez(tmp_path / "five.npz", x=x, y=np.array([0, 1, 0, 1, 0]), x_val=x[:2], y_val=[0, 1])
    ranks = run_cli_ranks(tmp_path, ["find-lr", "--num-iter", "10", "--device", "cpu", "--data",
                                     str(tmp_path / "five.npz"), "--batch-size", "3",
                                     "--out", str(tmp_path / "f")], worker=SHARES_WORKER)
    assert [code for code, _, _ in ranks] == [0, 0]
    assert ("--batch-size=3 is more than the 2 training examples (each process's share of the 5 "
            "over 2 processes, 1 left out): every step is each process's whole share, all 4 "
            "examples, so the LRs found are for a step of 4, not 6 (2 x 3)") in ranks[0][2]
    assert [err.count("trains on 2 examples") for _, _, err in ranks] == [1, 1]


OUT_ON_RANK_0_WORKER = textwrap.dedent(
    """
    import hashlib, os, sys
    import torch
    import superconverge.recipes  # noqa: F401
    from superconverge.recipes import find_lr
    from superconverge.recipes.distributed import torchrun_group

    torch.set_num_threads(1)
    recipe = sys.modules["superconverge.recipes.find_lr"]
    make = recipe.make_loader

    def said(x, y, batch_size, **options):  # the order of each rank's share, on its stderr
        if options.get("shuffle"):
            digest = hashlib.sha256(x.numpy().tobytes()).hexdigest()
            rows = hashlib.sha256(x.sort(dim=0).values.numpy().tobytes()).hexdigest()
            print(f"order {digest} rows {rows}", file=sys.stderr)
        return make(x, y, batch_size, **options)

    recipe.make_loader = said
    with torchrun_group("cpu"):
        res = find_lr(model="mlp", num_iter=10, progress=False, data=sys.argv[2],
                      out=sys.argv[1] if os.environ["RANK"] == "0" else None)
    print(len(res.losses))
    """
)


@pytest.mark.slow
def test_under_torchrun_out_on_rank_0_alone_writes_there_and_pairs_no_neighbours(
        tmp_path: Path) -> None:
    """Two bug bashes. ``out`` on rank 0 alone (a script's habit) hung both ranks: rank 0's
    check of it waited in a broadcast the other rank never made. And every rank's loader,
    which the range test seeds alike, shuffled its share in one order, so each step paired the
    examples side by side in the file: stored twice in a row, a step of 2 x 64 was 64
    examples, the curve of one process at batch 64 to the last digit. (A review: a share in
    one order on every rank, other than the file's, pairs them too; its loader then shuffles
    the ranks' same examples alike.)"""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    np.savez(tmp_path / "twice.npz", x=np.repeat(x, 2, axis=0), y=np.repeat(y, 2),
             x_val=x[:16], y_val=y[:16])
    np.savez(tmp_path / "once.npz", x=x, y=y, x_val=x[:16], y_val=y[:16])
    ranks = run_cli_ranks(tmp_path, [str(tmp_path / "run"), str(tmp_path / "twice.npz")],
                          worker=OUT_ON_RANK_0_WORKER)
    assert [(code, said) for code, said, _ in ranks] == [(0, "10\n"), (0, "10\n")], ranks
    assert (tmp_path / "run" / "lr_find.json").is_file()
    orders = [re.findall(r"order (\w+) rows (\w+)", err) for _, _, err in ranks]
    assert [len(o) for o in orders] == [1, 1], ranks
    (order0, rows0), (order1, rows1) = orders[0][0], orders[1][0]
    assert rows0 == rows1 and order0 != order1  # the same examples, each rank's own order
    from superconverge.recipes import find_lr

    paired = find_lr(model="mlp", num_iter=10, progress=False, data=str(tmp_path / "once.npz"))
    two = RangeTestResult.from_json(tmp_path / "run" / "lr_find.json")
    assert max(abs(a / b - 1) for a, b in zip(two.losses, paired.losses, strict=True)) > 1e-3


SHARES_WORKER = textwrap.dedent(
    """
    import sys
    import torch
    from superconverge.cli import main

    torch.set_num_threads(1)
    import superconverge.recipes  # noqa: F401
    recipe = sys.modules["superconverge.recipes.find_lr"]
    make = recipe.make_loader

    def said(x, y, batch_size, **options):  # each rank's training examples, on its stderr
        if options.get("shuffle"):
            print(f"trains on {len(x)} examples", file=sys.stderr)
        return make(x, y, batch_size, **options)

    recipe.make_loader = said
    sys.exit(main(sys.argv[1:]))
    """
)


FAILING_RANK_WORKER = textwrap.dedent(
    """
    import atexit, faulthandler, os, sys, time
    # A rank that does not exit: its stacks, in its stderr, for the failure message (in loaded
    # CI runs, rank 1 printed its line and was still running 90-120 s later, in C code at
    # exit). A failing rank leaves at once, skipping the teardown at exit, which this models
    # as an exit handler that never returns.
    faulthandler.dump_traceback_later(90, exit=True)
    if os.environ["RANK"] == "1":
        atexit.register(time.sleep, 3600)
    import torch
    from superconverge.cli import main

    torch.set_num_threads(1)
    import superconverge.recipes  # noqa: F401
    recipe = sys.modules["superconverge.recipes.find_lr"]
    build = recipe.build_model

    class Breaks(torch.nn.Module):  # rank 1's forward fails at its 13th call
        def __init__(self, inner):
            super().__init__()
            self.inner, self.calls = inner, 0

        def forward(self, x):
            self.calls += 1
            if os.environ["RANK"] == "1" and self.calls > 12:
                raise RuntimeError("the batch is corrupt")
            return self.inner(x)

    recipe.build_model = lambda *a, **k: Breaks(build(*a, **k))
    sys.exit(main(sys.argv[1:]))
    """
)


@pytest.mark.slow
def test_under_torchrun_a_rank_that_fails_midway_says_so_in_one_line(tmp_path: Path) -> None:
    """It printed a traceback: only rank 0 writes the partial curve, whose note decided. Rank
    1's line named lr_find.partial.json when an older run's was there: it names only a file
    its own run wrote, and rank 0 writes this run's."""
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "lr_find.partial.json").write_text('{"stale": true}')
    ranks = run_cli_ranks(tmp_path, ["find-lr", "--num-iter", "40", "--device", "cpu",
                                     "--model", "mlp", "--out", str(tmp_path / "run")],
                          worker=FAILING_RANK_WORKER)
    code, _, err = ranks[1]
    assert code == 1 and err == ("[rank 1] superconverge find-lr: RuntimeError: the batch is "
                                 "corrupt\n"), err
    assert ranks[0][0] != 0 and "Traceback" not in ranks[0][2]
    assert "the curve measured so far is in" in ranks[0][2]
    written = RangeTestResult.from_json(tmp_path / "run" / "lr_find.partial.json")
    assert written.stop_reason == "error" and written.lrs
