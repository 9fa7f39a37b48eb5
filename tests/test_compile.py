"""A torch.compile'd optimizer step keeps its graphs while ParamScheduler moves lr and momentum.

ParamScheduler fills tensor hyper-parameters in place, so a whole 1cycle with cyclical momentum
compiles no more graphs than a constant schedule. torch's OneCycleLR writes Python floats into
``betas``/``momentum`` (and ``lr`` where it is a float): dynamo specialises on each new value and
recompiles until it reaches its recompile limit (8). CPU, ``aot_eager`` backend (the float
specialisation happens there as under inductor; the plain eager backend treats floats as dynamic).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch._dynamo.testing import CompileCounterWithBackend

import superconverge as sc

pytestmark = [
    pytest.mark.skipif(not torch._dynamo.is_dynamo_supported(), reason="no torch.compile here"),
    pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"),
]

STEPS = 40


def graphs(make_opt: Callable, attach: Callable, steps: int = STEPS) -> tuple[int, float]:
    """Graphs compiled for ``opt.step`` over ``steps`` steps, and the lr at the end."""
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    opt = make_opt(model)
    sched = attach(opt)
    counter = CompileCounterWithBackend("aot_eager")
    step = torch.compile(opt.step, backend=counter)
    x = torch.randn(8, 4)
    for _ in range(steps):
        model(x).square().mean().backward()
        step()
        opt.zero_grad()
        sched.step()
    lr = float(opt.param_groups[0]["lr"])
    torch._dynamo.reset()
    return counter.frame_count, lr


OPTIMIZERS = {
    # torch wants a tensor lr for a compiled Adam; betas start as floats, tensors=True converts
    "adamw": lambda m: torch.optim.AdamW(m.parameters(), lr=torch.tensor(0.01)),
    "sgd": lambda m: torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9),
}


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_one_cycle_with_cyclical_momentum_does_not_recompile(kind: str) -> None:
    make_opt = OPTIMIZERS[kind]
    lr = sc.one_cycle(0.1, STEPS)

    constant, _ = graphs(make_opt, lambda o: sc.ParamScheduler(o, lr=0.01, momentum=0.9,
                                                                tensors=True))
    ours, last_lr = graphs(make_opt, lambda o: sc.ParamScheduler(
        o, lr=lr, momentum=sc.one_cycle_momentum(STEPS), tensors=True))
    theirs, _ = graphs(make_opt, lambda o: torch.optim.lr_scheduler.OneCycleLR(
        o, 0.1, total_steps=STEPS, cycle_momentum=True))

    assert last_lr == pytest.approx(lr(STEPS - 1), rel=1e-6)  # the schedule really ran
    assert 1 <= ours <= constant <= 2
    assert theirs > ours
    assert theirs >= 8  # dynamo's recompile limit: torch falls back to eager
