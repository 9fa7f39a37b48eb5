"""What only a GPU can show: host syncs, CUDA graphs, CUDA RNG, AMP, inductor on a real device.

Skipped without CUDA (CI has none). On a GPU machine, from the repository root::

    PYTHONPATH=src python -m pytest -m cuda tests/test_cuda.py

``SUPERCONVERGE_CUDA_TESTS_DEVICE=cpu`` runs the tests that do not need CUDA's own machinery
(restore, AMP, pinned loaders, compiled models and steps) on the CPU instead, which checks the
tests themselves; the others stay skipped there.

Host syncs are counted with ``torch.cuda.set_sync_debug_mode("warn")``: torch warns at every
operation that makes the host wait for the device (a device-to-host copy, ``.item()``, a blocking
copy, a stream synchronisation). Some tests here pin down torch's own behaviour that
``docs/gpu.md`` advises on (which optimizers read a tensor hyper-parameter back to the host, which
ones a CUDA graph can capture); if torch changes it, they fail and the advice needs updating.
"""

from __future__ import annotations

import importlib
import io
import os
import warnings
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn
from torch._dynamo.utils import counters
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

import superconverge as sc
from test_range_test import assert_same_state, overflowing
from test_range_test import snapshot as range_snapshot

DEVICE = torch.device(os.environ.get("SUPERCONVERGE_CUDA_TESTS_DEVICE", "cuda"))
ON_CUDA = DEVICE.type == "cuda"
BACKEND = "inductor" if ON_CUDA else "aot_eager"

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(ON_CUDA and not torch.cuda.is_available(), reason="needs a CUDA device"),
]
needs_cuda = pytest.mark.skipif(not ON_CUDA, reason="CUDA's own machinery (syncs, graphs)")

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


# -- helpers ----------------------------------------------------------------------------------


def count_syncs(run: Callable[[], Any]) -> int:
    """Host syncs during ``run()``: the warnings of ``set_sync_debug_mode("warn")``."""
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            run()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


def data(n: int = 1024, batch: int = 64, device: torch.device = DEVICE,
         ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Batches of a learnable 2-class problem, already on ``device``."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 20, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return [(x[i:i + batch].to(device), y[i:i + batch].to(device)) for i in range(0, n, batch)]


def mlp(dropout: float = 0.0, norm: bool = False) -> nn.Module:
    torch.manual_seed(0)
    layers: list[nn.Module] = [nn.Linear(20, 64)]
    if norm:
        layers.append(nn.BatchNorm1d(64))
    layers += [nn.ReLU(), nn.Dropout(dropout), nn.Linear(64, 2)]
    return nn.Sequential(*layers).to(DEVICE)


def trained(model: nn.Module, opt: torch.optim.Optimizer, steps: int = 3) -> None:
    """A few steps first, so the optimizer has state (momentum buffers) to restore."""
    for x, y in data()[:steps]:
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()


def snapshot(model: nn.Module, opt: torch.optim.Optimizer) -> dict[str, Any]:
    """The range-test suite's snapshot (weights, buffers, ``.grad``, modes, optimizer state,
    CPU/numpy/python RNGs), plus the CUDA RNGs."""
    return {**range_snapshot(model, opt),
            "cuda_rng": torch.cuda.get_rng_state_all() if ON_CUDA else []}


def assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert_same_state(a, b)
    assert len(a["cuda_rng"]) == len(b["cuda_rng"])
    for ra, rb in zip(a["cuda_rng"], b["cuda_rng"], strict=True):
        assert torch.equal(ra, rb)


# -- host syncs -------------------------------------------------------------------------------


@needs_cuda
def test_the_sync_counter_sees_a_per_step_item() -> None:
    """The control: a loop that reads ``loss.item()`` every step syncs at every step."""
    model, batches = mlp(), data()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    trained(model, opt)

    def loop() -> None:
        for x, y in batches:
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            loss.item()

    assert count_syncs(loop) >= len(batches)


@needs_cuda
@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16", "fp16-clipped"])
def test_range_test_syncs_once_per_chunk(precision: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """40 more steps at ``sync_every=10`` cost 4 more waits for a chunk of losses (a CUDA
    event's, which the sync debug mode does not see, so they are counted apart) and no other
    sync: the sweep itself never waits for the GPU. fp16 with a fused Adam: GradScaler's skips
    are taken on the device, and read back with the losses. (With any other optimizer
    ``scaler.step`` itself reads its inf check at every step.) "fp16-clipped" adds
    ``max_grad_norm`` (``unscale_`` and ``clip_grad_norm_``, both on the device)."""
    clip = 1.0 if precision == "fp16-clipped" else None
    precision = precision.removesuffix("-clipped")
    batches = data()
    waits: list[int] = []
    synchronize = torch.cuda.Event.synchronize

    def counted(event: torch.cuda.Event) -> None:
        waits.append(1)
        synchronize(event)

    monkeypatch.setattr(torch.cuda.Event, "synchronize", counted)

    def sweep(n: int) -> tuple[int, int]:
        model = mlp(dropout=0.1)
        opt = (torch.optim.Adam(model.parameters(), lr=1e-4, fused=True) if precision == "fp16"
               else torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9))
        trained(model, opt)
        scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
        waits.clear()
        syncs = count_syncs(lambda: sc.lr_range_test(
            model, opt, F.cross_entropy, batches, 1e-4, 1e-2, n, diverge_factor=None,
            amp_dtype=PRECISIONS[precision], scaler=scaler, sync_every=10, progress=False,
            max_grad_norm=clip))
        return syncs, len(waits)

    (short, short_waits), (long, long_waits) = sweep(40), sweep(80)
    assert long_waits - short_waits == 4, (short_waits, long_waits)
    assert long == short, (short, long)


def test_reading_late_and_reading_at_once_give_the_same_curve(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On CUDA each chunk is copied to page-locked memory and looked at one step late; the
    curve and the stop are those of reading every chunk at once."""
    rt = importlib.import_module("superconverge.finder.range_test")
    curves = {}
    for lag in (False, True):
        monkeypatch.setattr(rt, "_lagged_read_back", lambda device, lag=lag: lag)
        model = mlp(dropout=0.1)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        res = sc.lr_range_test(model, opt, F.cross_entropy, data(), 1e-4, 1e3, 80,
                               progress=False)
        curves[lag] = (res.lrs, res.losses, res.smoothed, res.stop_reason)
    assert curves[False] == curves[True] and curves[True][3] == "diverged"


# -- restore, AMP, loaders --------------------------------------------------------------------


@pytest.mark.parametrize("precision", list(PRECISIONS))
def test_range_test_restores_everything_on_the_device(precision: str) -> None:
    """Weights, BatchNorm buffers, ``.grad``, momentum buffers, module modes and the CPU and CUDA
    RNGs are bit for bit as before, after a sweep that diverged (dropout draws from the CUDA
    RNG)."""
    model = mlp(dropout=0.2, norm=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    trained(model, opt)
    F.cross_entropy(model(data()[0][0]), data()[0][1]).backward()  # leave a .grad behind
    model.eval()
    scaler = torch.amp.GradScaler(DEVICE.type) if precision == "fp16" else None
    before = snapshot(model, opt)
    scaler_before = scaler.state_dict() if scaler is not None else None
    res = sc.lr_range_test(model, opt, F.cross_entropy, data(), 1e-5, 100.0, 60,
                           amp_dtype=PRECISIONS[precision], scaler=scaler, progress=False)
    assert 5 <= len(res.lrs) <= 60 and res.stop_reason in {"diverged", "nan", "completed"}
    assert all(x == x for x in res.losses)  # no NaN recorded
    assert_same(before, snapshot(model, opt))
    if scaler is not None:
        assert scaler.state_dict() == scaler_before


def test_a_bf16_sweep_inside_an_autocast_block_that_is_off_or_another_devices() -> None:
    """torch keeps each weight's low-precision copy until the outermost autocast block exits,
    one that is off or of another device type too: inside one, the sweep read its first step's
    weights at every step (a flat curve; a bug bash on the CPU). On a GPU, a CPU block that is on
    around a CUDA model is such a block as well; the curve is the one outside it."""
    other = "cpu" if ON_CUDA else "cuda"
    kw: dict[str, Any] = {"amp_dtype": torch.bfloat16, "progress": False}

    def sweep() -> list[float]:
        model = mlp()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        return sc.lr_range_test(model, opt, F.cross_entropy, data(), 1e-4, 10.0, 40, **kw).losses

    outside = sweep()
    assert len(set(outside)) > 20  # (a flat curve's losses repeat, one a batch)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*CUDA is not available")  # (a CPU build's)
        for block in (torch.autocast(DEVICE.type, enabled=False),
                      torch.autocast(other, dtype=torch.bfloat16)):
            with block:
                inside = sweep()
            torch.testing.assert_close(inside, outside, rtol=1e-3, atol=1e-4)


@needs_cuda
@pytest.mark.skipif(ON_CUDA and torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_a_model_on_another_device_than_the_current_one_reads_its_own_losses() -> None:
    """The losses' copy to the host is queued on their device's stream; the event the range
    test waits on must be recorded there, not on the current device's (it once was)."""
    other = torch.device("cuda:1")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 2)).to(other)
    batches = [(x.to(other), y.to(other)) for x, y in data()]
    with torch.no_grad():
        reference = [F.cross_entropy(model(x), y).item() for x, y in batches]
    with torch.cuda.device(0):
        res = sc.lr_range_test(model, torch.optim.SGD(model.parameters(), lr=0.1), F.cross_entropy,
                               batches, 1e-9, 1e-8, 40, sync_every=5, progress=False)
    # LRs too small to move the weights: each step's loss is its batch's loss at the start
    expected = [reference[i % len(batches)] for i in range(len(res.losses))]
    assert len(res.losses) == 40 and res.losses == pytest.approx(expected, rel=1e-4)


def wide_adam() -> tuple[nn.Module, torch.optim.Optimizer]:
    """A model whose parameters (4.2M, 17 MB) outweigh its activations, with Adam state and a
    .grad: a snapshot beside it costs 4 x 17 MB of device memory."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 2048), nn.ReLU(), nn.Linear(2048, 2048), nn.ReLU(),
                          nn.Linear(2048, 2)).to(DEVICE)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    trained(model, opt)
    F.cross_entropy(model(data()[0][0]), data()[0][1]).backward()
    return model, opt


def test_a_snapshot_in_host_memory_restores_everything_and_spares_the_device() -> None:
    peaks = {}
    for where in ("device", "cpu"):
        model, opt = wide_adam()
        before = snapshot(model, opt)
        if ON_CUDA:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            start = torch.cuda.memory_allocated()
        sc.lr_range_test(model, opt, F.cross_entropy, data(), 1e-6, 1.0, 10, progress=False,
                         snapshot=where)
        if ON_CUDA:
            peaks[where] = torch.cuda.max_memory_allocated() - start
        assert_same(before, snapshot(model, opt))
        for state in opt.state.values():  # Adam's moments came back to the device, in place
            assert state["exp_avg"].device.type == DEVICE.type
        assert all(p.grad.device.type == DEVICE.type for p in model.parameters())
    if ON_CUDA:
        mb = 2**20
        assert peaks["device"] - peaks["cpu"] > 50 * mb, {k: v / mb for k, v in peaks.items()}


def test_a_frozen_backbone_is_copied_to_the_host_not_beside_it() -> None:
    """A frozen 64 MB layer the optimizer does not hold: its copy (a forward may move it) lives
    in host memory, so the device needs no room for it, and it comes back."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(),
                          nn.Linear(4096, 2)).to(DEVICE)
    for p in model[2].parameters():
        p.requires_grad_(False)
    opt = torch.optim.SGD([*model[0].parameters(), *model[4].parameters()], lr=0.01,
                          momentum=0.9)
    # cuBLAS's workspaces (32 MiB each on Hopper, one for this thread and one for autograd's)
    # come from the caching allocator at the first matmul forward and backward: made here,
    # before the peak is reset, they are not counted as the sweep's.
    F.cross_entropy(model(data()[0][0]), data()[0][1]).backward()
    model.zero_grad(set_to_none=True)
    before = {k: t.clone() for k, t in model.state_dict().items()}
    if ON_CUDA:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        start = torch.cuda.memory_allocated()
    sc.lr_range_test(model, opt, F.cross_entropy, data(), 1e-6, 1.0, 10, progress=False)
    if ON_CUDA:
        peak = torch.cuda.max_memory_allocated() - start
        assert peak < 32 * 2**20, peak / 2**20  # under half the frozen layer's 64 MB
    assert all(torch.equal(before[k], t) for k, t in model.state_dict().items())


@pytest.mark.parametrize("fused_adam", [False, True], ids=["sgd", "fused-adam"])
def test_fp16_step_the_scaler_skips_is_not_a_point(fused_adam: bool) -> None:
    """SGD: scaler.step does not call the optimizer when it skips; a fused Adam takes the
    scaler into its own step; either way the scaler's inf check comes back with the losses."""
    model = mlp()
    opt = (torch.optim.Adam(model.parameters(), lr=1e-3, fused=True) if fused_adam
           else torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
    scaler = torch.amp.GradScaler(DEVICE.type)
    lrs_seen: list[float] = []
    huge_at = 5

    def step(m: nn.Module, batch: Any) -> torch.Tensor:
        lrs_seen.append(float(opt.param_groups[0]["lr"]))
        loss = F.cross_entropy(m(batch[0]), batch[1])
        # the same loss, but its gradients overflow at the 2**16 loss scale
        return overflowing(loss.float(), m) if len(lrs_seen) == huge_at else loss

    res = sc.lr_range_test(model, opt, None, data(), 1e-4, 0.1, 12, step_fn=step,
                           amp_dtype=torch.float16, scaler=scaler, progress=False)
    assert len(lrs_seen) == 12 and len(res.lrs) == 11  # the skipped step is a gap
    assert lrs_seen[huge_at - 1] not in res.lrs and res.provenance["skipped_steps"] == [1]
    assert max(res.losses) < 1e3
    assert not opt._optimizer_step_pre_hooks


def test_fp16_blow_up_that_overflows_the_gradients_still_diverges() -> None:
    """The steps that show a blow-up are the ones whose fp16 gradients overflow: the test must
    stop "diverged" there, as in float32, not call the sweep "completed"."""
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    calls: list[int] = []

    def step(m: nn.Module, batch: Any) -> torch.Tensor:
        calls.append(1)
        loss = F.cross_entropy(m(batch[0]), batch[1]).float()
        # the last 5 steps: fewer than the skips that bring the scale low enough to let them by
        return overflowing(loss * 100, m) if len(calls) >= 36 else loss

    res = sc.lr_range_test(model, opt, None, data(), 1e-4, 1e-2, 40, step_fn=step,
                           amp_dtype=torch.float16, scaler=torch.amp.GradScaler(DEVICE.type),
                           progress=False)
    assert res.stop_reason == "diverged" and res.losses[-1] > 50, res.losses
    assert len(res.lrs) == 36 and res.provenance["skipped_steps"] == [0]


def test_pinned_loader_gives_the_curve_of_an_unpinned_one() -> None:
    """``non_blocking`` copies from pinned memory change nothing but the speed."""
    host = data(device=torch.device("cpu"))
    dataset = TensorDataset(torch.cat([b[0] for b in host]), torch.cat([b[1] for b in host]))
    model = mlp(dropout=0.1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    curves = [
        sc.lr_range_test(model, opt, F.cross_entropy,
                         DataLoader(dataset, batch_size=64, pin_memory=pin and ON_CUDA),
                         1e-4, 10, 30, progress=False).losses
        for pin in (True, False)
    ]
    assert curves[0] == curves[1] and len(curves[0]) > 5


# -- torch.compile ----------------------------------------------------------------------------


def test_range_test_on_a_compiled_model_restores_the_module() -> None:
    torch._dynamo.reset()
    model = mlp(norm=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    trained(model, opt)
    before = snapshot(model, opt)
    compiled = torch.compile(model, backend=BACKEND)
    res = sc.lr_range_test(compiled, opt, F.cross_entropy, data(), 1e-4, 10, 30, progress=False)
    assert len(res.lrs) > 5
    assert_same(before, snapshot(model, opt))
    torch._dynamo.reset()


@needs_cuda
def test_range_test_on_a_model_compiled_with_cuda_graphs() -> None:
    """``mode="reduce-overhead"`` replays the model in CUDA graphs whose outputs the next replay
    overwrites: the recorded losses are the eager model's (the range test keeps no graph output
    past its step), and the restore is exact."""
    model = mlp(norm=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    trained(model, opt)
    before = snapshot(model, opt)
    eager = sc.lr_range_test(model, opt, F.cross_entropy, data(), 1e-4, 0.1, 40,
                             diverge_factor=None, seed=0, progress=False)
    torch._dynamo.reset()
    compiled = torch.compile(model, mode="reduce-overhead")
    res = sc.lr_range_test(compiled, opt, F.cross_entropy, data(), 1e-4, 0.1, 40,
                           diverge_factor=None, seed=0, progress=False)
    torch._dynamo.reset()
    assert len(res.lrs) == 40 and all(x == x for x in res.losses)
    # inductor's kernels round differently; a loss read from an overwritten output would not
    # be off by a little but be another step's loss
    torch.testing.assert_close(torch.tensor(res.losses), torch.tensor(eager.losses),
                               rtol=1e-2, atol=1e-3)
    assert len(set(res.losses)) == 40
    assert_same(before, snapshot(model, opt))


@needs_cuda
def test_range_test_keeps_losses_a_cuda_graph_returns_and_scores_validation_safely() -> None:
    """A step_fn whose compiled ("reduce-overhead") module returns the loss itself: each replay
    overwrites the last one's output, so the test keeps a copy of every step's loss (and of the
    first validation batch's); and the validation pass, itself a graph, runs before the step's
    training forward, not between its backward and the optimizer step, whose gradients live in
    the graphs' memory."""

    class WithLoss(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = mlp(norm=True)

        def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return F.cross_entropy(self.net(x), y)

    def step(m: nn.Module, batch: Any) -> torch.Tensor:
        return m(*batch)

    model = WithLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    trained(model.net, opt)
    before = snapshot(model, opt)
    kwargs: dict[str, Any] = dict(step_fn=step, val_data=data()[-4:], val_batches=2,
                                  diverge_factor=None, seed=0, progress=False)
    eager = sc.lr_range_test(model, opt, None, data(), 1e-4, 0.1, 40, **kwargs)
    torch._dynamo.reset()
    compiled = torch.compile(model, mode="reduce-overhead")
    res = sc.lr_range_test(compiled, opt, None, data(), 1e-4, 0.1, 40, **kwargs)
    torch._dynamo.reset()
    assert len(res.lrs) == 40 and len(set(res.losses)) == 40
    torch.testing.assert_close(torch.tensor(res.losses), torch.tensor(eager.losses),
                               rtol=1e-2, atol=1e-3)
    assert res.val_losses is not None and eager.val_losses is not None
    torch.testing.assert_close(torch.tensor(res.val_losses), torch.tensor(eager.val_losses),
                               rtol=1e-2, atol=1e-3)
    assert_same(before, snapshot(model, opt))


@pytest.mark.parametrize("kind", ["sgd-fused", "adamw-fused", "adamw-capturable"])
def test_tensor_hyperparameters_under_a_float64_default_dtype(kind: str) -> None:
    """torch's fused CUDA kernels read a tensor lr as float32: the tensors tensors=True makes
    are float32 whatever torch.get_default_dtype() says."""
    model = mlp().double()
    if kind == "sgd-fused":
        opt: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9,
                                                     fused=True)
    elif kind == "adamw-fused":
        opt = torch.optim.AdamW(model.parameters(), lr=0.01, fused=True)
    elif not ON_CUDA:
        pytest.skip("capturable needs an accelerator")
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=0.01, capturable=True, foreach=False)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        lr = sc.one_cycle(0.01, 10)
        sched = sc.ParamScheduler(opt, lr=lr, momentum=sc.one_cycle_momentum(10),
                                  tensors=True)
        assert opt.param_groups[0]["lr"].dtype == torch.float32
        for i, (x, y) in zip(range(10), data(), strict=False):
            F.cross_entropy(model(x.double()), y).backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            sched.step()
            assert float(opt.param_groups[0]["lr"]) == pytest.approx(lr(i + 1), rel=1e-6)
    finally:
        torch.set_default_dtype(default)
    assert all(p.isfinite().all() for p in model.parameters())


def test_compiled_adamw_step_keeps_its_graph_through_a_1cycle() -> None:
    """1cycle with cyclical momentum (``betas[0]``) through a compiled AdamW step: the
    schedule causes no recompile (torch's OneCycleLR recompiles until dynamo's limit)."""
    torch._dynamo.reset()
    model, batches = mlp(), data()
    opt = torch.optim.AdamW(model.parameters(), lr=0.01, capturable=ON_CUDA)
    steps = 30
    sched = sc.ParamScheduler(opt, lr=sc.one_cycle(0.01, steps),
                              momentum=sc.one_cycle_momentum(steps), tensors=True)
    lr, beta1 = opt.param_groups[0]["lr"], opt.param_groups[0]["betas"][0]
    assert lr.device.type == DEVICE.type and beta1.device.type == DEVICE.type

    @torch.compile(backend=BACKEND, fullgraph=False)
    def step() -> None:
        opt.step()

    counters.clear()
    for i in range(steps):
        x, y = batches[i % len(batches)]
        F.cross_entropy(model(x), y).backward()
        step()
        opt.zero_grad(set_to_none=True)
        sched.step()
    assert counters["stats"]["unique_graphs"] <= 2, dict(counters["stats"])
    assert opt.param_groups[0]["lr"] is lr and opt.param_groups[0]["betas"][0] is beta1
    torch._dynamo.reset()


@pytest.mark.parametrize("kind", ["sgd", "adamw-capturable"])
def test_range_test_repeats_add_no_graph_to_a_compiled_step(kind: str) -> None:
    """Between repeats the state the sweep made is zeroed in place (the same tensors, on
    whose identity the compiled step guards), not made anew at every repeat: 4 repeats
    compile the step into as many graphs as one, under inductor on the GPU."""
    def graphs(repeats: int) -> int:
        torch._dynamo.reset()
        model, batches = mlp(), data()
        lr = torch.tensor(0.01, device=DEVICE)  # filled in place as the LR sweeps
        opt = (torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9) if kind == "sgd"
               else torch.optim.AdamW(model.parameters(), lr=lr, capturable=ON_CUDA))
        opt.step = torch.compile(opt.step, backend=BACKEND)  # type: ignore[method-assign]
        counters.clear()
        sc.lr_range_test(model, opt, F.cross_entropy, batches, 1e-4, 0.1, 12,
                         repeats=repeats, diverge_factor=None, progress=False)
        assert len(opt.state) == 0  # as it began
        found = counters["stats"]["unique_graphs"]
        torch._dynamo.reset()
        return int(found)

    assert graphs(4) == graphs(1) <= 2


def test_compiled_sgd_step_at_its_defaults_keeps_its_graph_through_a_1cycle() -> None:
    """SGD built at its defaults (on CUDA: the foreach step, which hands the momentum to torch
    as a Python number) with a cycling momentum: tensors=True puts it on the single-tensor path,
    and the compiled step keeps its graphs; the scheduler stepped inside the compiled function
    runs outside the graph."""
    torch._dynamo.reset()
    model, batches = mlp(), data()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    steps = 30
    sched = sc.ParamScheduler(opt, lr=sc.one_cycle(0.1, steps),
                              momentum=sc.one_cycle_momentum(steps), tensors=True)
    assert opt.param_groups[0]["foreach"] is False

    @torch.compile(backend=BACKEND, fullgraph=False)
    def step() -> None:
        opt.step()
        sched.step()

    counters.clear()
    for i in range(steps - 1):
        x, y = batches[i % len(batches)]
        F.cross_entropy(model(x), y).backward()
        step()
        opt.zero_grad(set_to_none=True)
    assert counters["stats"]["unique_graphs"] <= 2, dict(counters["stats"])
    assert opt.param_groups[0]["momentum"] == pytest.approx(sc.one_cycle_momentum(steps)(29))
    torch._dynamo.reset()


# -- CUDA graphs ------------------------------------------------------------------------------


def _graph_runs(make_opt: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
                momentum: bool, steps: int = 20) -> dict[str, list[torch.Tensor]]:
    """An optimizer driven by a ``ParamScheduler(tensors=True)`` 1cycle (with cyclical momentum
    when ``momentum``), several times from the same weights and the same gradients (precomputed,
    as torch's own graph tests do, so only the optimizer step differs): "graph" captures
    ``opt.step()`` once in a CUDA graph and replays it; "eager" calls it; "frozen" calls it
    without ever stepping the scheduler. "restarted" is "graph" that half way, as a restarted job
    does, saves a checkpoint, builds a new optimizer and scheduler, loads the checkpoint into them
    (``torch.load(map_location="cpu")``, then each one's ``load_state_dict``) and captures a new
    graph. Returns each run's final parameters."""
    model = mlp()
    g = torch.Generator(device=DEVICE).manual_seed(1)
    grads = [[torch.randn(p.shape, device=DEVICE, generator=g) for p in model.parameters()]
             for _ in range(steps + 3)]
    kw = {"momentum": sc.one_cycle_momentum(steps)} if momentum else {}

    def build(params: list[torch.Tensor]) -> tuple[torch.optim.Optimizer, sc.ParamScheduler]:
        opt = make_opt(params)
        return opt, sc.ParamScheduler(opt, lr=sc.one_cycle(0.05, steps), tensors=True, **kw)

    def capture(opt: torch.optim.Optimizer) -> torch.cuda.CUDAGraph:
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            opt.step()
        return graph

    def run(kind: str) -> list[torch.Tensor]:
        params = [p.detach().clone().requires_grad_() for p in model.parameters()]
        opt, sched = build(params)
        lr = opt.param_groups[0]["lr"]
        for p in params:
            p.grad = torch.zeros_like(p)
        # three warm-up steps (they create the optimizer's state), on a side stream as torch asks
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for w in range(3):
                for p, gr in zip(params, grads[w], strict=True):
                    p.grad.copy_(gr)
                opt.step()
        torch.cuda.current_stream().wait_stream(side)
        graph = capture(opt) if kind in ("graph", "restarted") else None
        for i in range(steps):
            if kind == "restarted" and i == steps // 2:
                buf = io.BytesIO()
                torch.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, buf)
                buf.seek(0)
                saved = torch.load(buf, map_location="cpu", weights_only=True)
                opt, sched = build(params)
                lr = opt.param_groups[0]["lr"]
                opt.load_state_dict(saved["opt"])
                sched.load_state_dict(saved["sched"])
                # the scheduler's tensor, on the device: what the new graph reads
                assert opt.param_groups[0]["lr"] is lr and lr.device.type == "cuda"
                graph = capture(opt)
            for p, gr in zip(params, grads[3 + i], strict=True):
                p.grad.copy_(gr)
            if graph is not None:
                graph.replay()
            else:
                opt.step()
            if kind != "frozen":
                sched.step()
        torch.cuda.synchronize()
        assert opt.param_groups[0]["lr"] is lr  # the scheduler filled the same tensor all along
        return [p.detach() for p in params]

    return {kind: run(kind) for kind in ("graph", "eager", "frozen", "restarted")}


@needs_cuda
@pytest.mark.parametrize(("name", "make_opt", "momentum"), [
    # lr and betas[0] are read as tensors inside the step: a 1cycle with cyclical momentum
    ("Adam capturable, single-tensor",
     lambda ps: torch.optim.Adam(ps, lr=0.01, capturable=True, foreach=False), True),
    # lr only (a tensor betas[0] would be turned into a number: not capturable)
    # (torch refuses to capture a step whose param groups are not capturable=True)
    ("Adam fused", lambda ps: torch.optim.Adam(ps, lr=0.01, fused=True, capturable=True),
     False),
    ("SGD fused", lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9, fused=True), False),
], ids=["adam-capturable", "adam-fused", "sgd-fused"])
def test_cuda_graph_replays_follow_the_schedule(name: str, make_opt: Any, momentum: bool) -> None:
    """Every replay of the captured step sees the values the scheduler filled in: the replayed
    training equals the eager one through a whole 1cycle, also across a checkpoint loaded with
    ``map_location="cpu"`` into a new optimizer, and differs from a run whose schedule never
    moved (the control). The table in docs/gpu.md rests on this."""
    runs = _graph_runs(make_opt, momentum)
    for kind in ("graph", "restarted"):
        for pg, pe in zip(runs[kind], runs["eager"], strict=True):
            torch.testing.assert_close(pg, pe, msg=f"{name}: {kind}")
    assert any(not torch.allclose(pg, pf, rtol=1e-3, atol=1e-4)
               for pg, pf in zip(runs["graph"], runs["frozen"], strict=True)), name


@needs_cuda
def test_tensor_hyperparameters_torch_reads_back_every_step() -> None:
    """Where torch turns a tensor hyper-parameter into a Python number (a host sync in eager
    mode, an error while a CUDA graph captures): SGD's tensor ``lr`` (``alpha=-lr``), unless
    fused, and the foreach Adam's tensor ``betas[0]`` (``_foreach_lerp_``'s scalar weight).
    The single-tensor capturable Adam takes both as tensors. The table in ``docs/gpu.md``
    follows this."""
    batches = data()

    def syncs_per_step(opt_of: Callable[[nn.Module], torch.optim.Optimizer]) -> float:
        model = mlp()
        opt = opt_of(model)
        sc.tensorize_hyperparams(opt)  # lr, and betas[0] for Adam
        trained(model, opt)

        def steps() -> None:
            for x, y in batches[:8]:
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(model(x), y).backward()
                opt.step()

        return count_syncs(steps) / 8

    def sgd(fused: bool) -> Callable[[nn.Module], torch.optim.Optimizer]:
        return lambda m: torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, fused=fused)

    def adam(**kw: bool) -> Callable[[nn.Module], torch.optim.Optimizer]:
        return lambda m: torch.optim.Adam(m.parameters(), lr=0.01, **kw)

    assert syncs_per_step(sgd(fused=False)) >= 1
    assert syncs_per_step(sgd(fused=True)) == 0
    assert syncs_per_step(adam(capturable=True, foreach=True)) >= 1
    assert syncs_per_step(adam(fused=True)) >= 1
    assert syncs_per_step(adam(capturable=True, foreach=False)) == 0


# -- the find-lr recipe (what `superconverge find-lr` runs) -------------------------------------


@pytest.mark.parametrize("amp", [None, "bf16", "fp16"])
def test_find_lr_recipe_on_the_device(amp: str | None, tmp_path: Any) -> None:
    """The CLI's recipe on the device, with each precision: a curve, a suggestion, the files."""
    from superconverge.recipes.find_lr import find_lr

    res = find_lr(dataset="digits", num_iter=60, device=str(DEVICE), amp=amp, out=tmp_path,
                  progress=False)
    assert res.config["device"].startswith(DEVICE.type) and res.config["amp"] == amp
    assert res.config["fused"] is ON_CUDA  # fp16 on CUDA: GradScaler goes into the fused step
    assert len(res.lrs) >= 20 and all(x == x for x in res.losses)
    assert res.suggestion() is not None
    assert (tmp_path / "lr_find.json").exists() and (tmp_path / "lr_find.png").exists()
