"""The range test reads values back from the device once per ``sync_every`` steps, never per step.

On a GPU every read of a tensor's value on the host (``.item()``, ``.tolist()``, ``bool(t)``,
``.cpu()``...) waits for the device to finish its queue. A CPU has no such wait, but the same
calls go through ``__torch_function__``, so a ``TorchFunctionMode`` counts them here: what these
tests count is what would stall a GPU. ``tests/test_cuda.py`` checks the same on a real device
with ``torch.cuda.set_sync_debug_mode``.
"""

from __future__ import annotations

import importlib
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

import superconverge as sc

# Tensor methods that hand a value to the host (on CUDA: a device-to-host copy, so a wait).
HOST_READS = frozenset({
    "item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__", "__index__",
    "__complex__", "nonzero", "equal", "allclose",
})


class HostReads(TorchFunctionMode):
    """Counts the calls of :data:`HOST_READS` (and ``.to`` a CPU device) made inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        # (not the restore's compare of a tensor in host memory, which it makes for those
        # alone: on a GPU it reads nothing back)
        if (name in HOST_READS and not (name == "equal" and _restore_compares())) or (
                name == "to" and _to_cpu(args[1:], kwargs)):
            self.calls[name] += 1
        return func(*args, **kwargs)

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def _restore_compares() -> bool:
    """Whether the call being counted comes from the restore's compare of a host tensor with
    its snapshot (``_unchanged``, two frames up: through the mode's own frame)."""
    frame = sys._getframe(2)
    return frame.f_code.co_name == "_unchanged" and frame.f_globals.get("__name__") == (
        "superconverge.finder._restore")


def _to_cpu(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    targets = [*args, kwargs.get("device")]
    return any(isinstance(t, (str, torch.device)) and torch.device(t).type == "cpu"
               for t in targets if t is not None)


def _data(n: int = 512, batch: int = 32) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 20, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return [(x[i:i + batch], y[i:i + batch]) for i in range(0, n, batch)]


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 2))


def reads(run: Callable[[], Any]) -> HostReads:
    with HostReads() as mode:
        run()
    return mode


def sweep(num_iter: int, tensor_lr: bool = False, **kwargs: Any) -> Callable[[], Any]:
    """A range test of ``num_iter`` steps that never stops early; the model, optimizer and
    data are built outside the counted call."""
    model, data = _model(), _data()
    lr = torch.tensor(1e-3) if tensor_lr else 1e-3
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    return lambda: sc.lr_range_test(model, opt, F.cross_entropy, data, 1e-4, 1e-2, num_iter,
                                    diverge_factor=None, progress=False, **kwargs)


def test_the_counter_sees_a_per_step_item() -> None:
    """The control: the loop torch-lr-finder runs, `loss.item()` every step: one read a step."""
    model, data = _model(), _data()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def loop() -> None:
        for x, y in data * 3:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss.item()

    assert reads(loop).calls == Counter({"item": 48})


@pytest.mark.parametrize(("kwargs", "setup"), [
    ({}, {}),
    # a tensor lr is read once, at the start, for the param groups' ratios
    ({"tensor_lr": True}, {"item": 1}),
    ({"accumulation_steps": 2}, {}),
    ({"amp_dtype": torch.bfloat16}, {}),
    ({"val_data": _data(64), "val_batches": 2}, {}),
    ({"mode": "linear"}, {}),
    ({"max_grad_norm": 0.5}, {}),
], ids=["fp32", "tensor-lr", "accumulation", "bf16-autocast", "val-loss", "linear",
        "grad-clipping"])
def test_one_host_read_per_sync_every_steps(kwargs: dict[str, Any], setup: dict[str, int]) -> None:
    """40 steps with ``sync_every=10``: four reads of the losses in all (one ``.tolist()`` per
    chunk), the restore included, in every mode that has no GradScaler."""
    calls = reads(sweep(40, sync_every=10, **kwargs)).calls
    if "max_grad_norm" in kwargs:
        # clip_grad_norm_ moves its per-device norms with .to(the parameters' device): the same
        # device, no read (which this CPU counter cannot tell; test_cuda.py checks on a GPU).
        calls.pop("to", None)
    assert calls == Counter({"tolist": 4, **setup})


def test_sync_every_sets_the_number_of_reads() -> None:
    counts = {k: reads(sweep(60, sync_every=k)).total for k in (1, 6, 20, 60, 100)}
    assert counts == {1: 60, 6: 10, 20: 3, 60: 1, 100: 1}


@pytest.mark.parametrize("tensors", [False, True], ids=["float", "tensors"])
@pytest.mark.parametrize("kind", ["SGD", "AdamW"])
def test_param_scheduler_never_reads_from_the_device(kind: str, tensors: bool) -> None:
    """Building a 1cycle ParamScheduler with cyclical momentum and stepping it through the whole
    run: no read at all (tensor hyper-parameters are filled in place from the schedule's own
    floats)."""
    model = _model()
    opt = (torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9) if kind == "SGD"
           else torch.optim.AdamW(model.parameters(), lr=0.01))

    def run() -> None:
        sched = sc.ParamScheduler(opt, lr=sc.one_cycle(0.1, 100),
                                  momentum=sc.one_cycle_momentum(100), tensors=tensors)
        for _ in range(100):
            sched.step()
        assert sched.last_step == 100

    assert reads(run).total == 0


def test_reading_a_step_late_reads_as_often(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CUDA way (each chunk looked at one step into the next), forced on the CPU."""
    rt = importlib.import_module("superconverge.finder.range_test")
    monkeypatch.setattr(rt, "_lagged_read_back", lambda device: True)
    assert reads(sweep(40, sync_every=10)).calls == Counter({"tolist": 4})


def fp16_reads(
    make_opt: Callable[[nn.Module], torch.optim.Optimizer],
) -> tuple[Counter[str], torch.optim.Optimizer]:
    """The reads of a 40-step fp16 sweep with a GradScaler at ``sync_every=10``, and the
    optimizer it ran."""
    model, data = _model(), _data()
    opt = make_opt(model)
    scaler = torch.amp.GradScaler("cpu")
    calls = reads(lambda: sc.lr_range_test(
        model, opt, F.cross_entropy, data, 1e-4, 1e-2, 40, diverge_factor=None,
        amp_dtype=torch.float16, scaler=scaler, sync_every=10, progress=False)).calls
    return calls, opt


def test_fp16_with_a_grad_scaler_adds_no_read_of_ours() -> None:
    """With a GradScaler, torch's ``scaler.step`` reads its inf check once a step (``.item()``);
    the range test reads the scaler's inf checks back with the losses, so it adds no read of
    its own per step."""
    calls, opt = fp16_reads(lambda m: torch.optim.SGD(m.parameters(), lr=1e-3, momentum=0.9))
    assert (calls["item"], calls["tolist"]) == (40, 4)
    assert not opt._optimizer_step_pre_hooks  # the hook is gone


def test_fp16_with_a_fused_optimizer_reads_nothing_per_step() -> None:
    """A fused Adam takes the scaler into its own step and skips on the device: torch reads
    nothing back, and the range test brings the scaler's inf checks back with the losses, so the
    whole fp16 sweep makes one read per chunk."""
    calls, _ = fp16_reads(lambda m: torch.optim.Adam(m.parameters(), lr=1e-3, fused=True))
    # torch's own ``.to(device, non_blocking=True)`` inside scaler.step and the fused step count
    # here (the device is the CPU); on CUDA they stay on the GPU (tests/test_cuda.py counts syncs)
    assert calls["tolist"] == 4 and set(calls) <= {"tolist", "to"}


# -- kernels: what the range test launches beside the training step's own -------------------


class Launches(TorchDispatchMode):
    """Counts the aten operators run inside it, by name: on CUDA each one that computes is a
    kernel launch, and on a step bound by the host's launches (a small model on a fast GPU;
    the H200 that ran benchmarks/gpu.py took ~1 ms a tiny-MLP step) every one shows in the wall
    time."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: Counter[str] = Counter()

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        self.ops[str(func.overloadpacket.__name__)] += 1
        return func(*args, **(kwargs or {}))


def _range_test_speed() -> Any:
    """benchmarks/range_test_speed.py, whose bare loop is the baseline of the GPU ratios:
    losses kept on the device and read once at the end."""
    bench = str(Path(__file__).resolve().parents[1] / "benchmarks")
    sys.path.insert(0, bench)
    try:
        return importlib.import_module("range_test_speed")
    finally:
        sys.path.remove(bench)


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16+scaler"])
def test_the_range_test_launches_no_kernel_a_step_beyond_a_bare_loops(precision: str) -> None:
    """Between 20 and 40 steps, ours runs the operators a bare loop runs and, per chunk of
    ``sync_every`` steps, one stack of the losses (and the scaler's inf checks, then one cat)
    and a view: nothing per step. (Before: a compare and a view of the scaler's inf check
    every fp16 step.)"""
    amp_dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16+scaler": torch.float16}[precision]
    rts = _range_test_speed()
    counts: dict[tuple[str, int], Counter[str]] = {}
    for n in (20, 40):
        for who in ("bare", "ours"):
            model, data = _model(), _data()
            opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
            scaler = torch.amp.GradScaler("cpu") if precision == "fp16+scaler" else None
            with Launches() as mode:
                if who == "bare":
                    case = rts.Case("", "", "", 32, n, 1e-4, 1, end_lr=1e-2)
                    rts.run_bare(model, opt, data, case, torch.device("cpu"), amp_dtype, scaler)
                else:
                    sc.lr_range_test(model, opt, F.cross_entropy, data, 1e-4, 1e-2, n,
                                     diverge_factor=None, amp_dtype=amp_dtype, scaler=scaler,
                                     sync_every=10, progress=False)
            counts[(who, n)] = mode.ops
    added = counts[("ours", 40)] - counts[("ours", 20)]
    added.subtract(counts[("bare", 40)] - counts[("bare", 20)])
    chunks = 2  # the 20 steps between the two lengths
    per_chunk = ({"stack": 2, "cat": 1, "view": 2} if precision == "fp16+scaler"
                 else {"stack": 1, "view": 1})
    assert {op: k for op, k in added.items() if k} == {
        op: k * chunks for op, k in per_chunk.items()}, added
