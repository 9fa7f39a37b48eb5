"""Graphs and recompiles of a ``torch.compile``d optimizer step under a 1cycle with cyclical
momentum: ours (``ParamScheduler(..., tensors=True)``) against torch's ``OneCycleLR``, for each
of torch's step implementations, in the same run, on the CPU.

    python benchmarks/compile_graphs.py [--steps 40,80] [--out PATH] [--quick]

No GPU is needed: what recompiles is decided by dynamo's guards, which are the same on every
device (``aot_eager``, which specialises floats as inductor does, keeps it quick). The step's
implementation is chosen explicitly (``foreach=True`` is torch's default for CUDA parameters,
the single-tensor step its default on the CPU), so every row is what some device runs. Each
case runs once over each length in ``--steps`` (two by default): a count that grows with the
steps is a recompile at every value (until dynamo's limit). Writes
``benchmarks/results/compile_graphs.md`` (with ``--out`` elsewhere, e.g. one file per torch).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch._dynamo.testing import CompileCounterWithBackend
from torch._dynamo.utils import guard_failures

import _common  # first of ours: puts ../src on sys.path
import gpu  # (its count of the recompiles a schedule caused)
import scheduler_step  # (ours and OneCycleLR with the same values, as gpu.py's (a) runs them)
import superconverge as sc

RESULTS = _common.RESULTS_DIR / "compile_graphs.md"

STEPS = {"single-tensor": {"foreach": False}, "foreach": {"foreach": True},
         "fused": {"fused": True}}


def optimizer(kind: str, impl: str, model: torch.nn.Module) -> torch.optim.Optimizer:
    """A tensor lr on both sides, as torch's compiled-optimizer recipe has it (a float one
    recompiles at every value by itself): what is left to recompile is the momentum."""
    if kind == "SGD":
        return torch.optim.SGD(model.parameters(), lr=torch.tensor(0.01), momentum=0.9,
                               **STEPS[impl])
    return torch.optim.AdamW(model.parameters(), lr=torch.tensor(0.01), **STEPS[impl])


# AdamW's foreach step takes a tensor lr only with capturable=True, which its eager step (run
# once dynamo's recompile limit is reached) refuses on the CPU: benchmarks/gpu.py measures it.
IMPLS = {"AdamW": ("single-tensor", "fused"), "SGD": tuple(STEPS)}


SCHEDULERS: dict[str, Callable[[torch.optim.Optimizer, int], Any]] = {
    "ours, constant": lambda o, n: sc.ParamScheduler(o, lr=0.01, momentum=0.9, tensors=True),
    "ours": lambda o, n: scheduler_step.ours(o, n, True, max_lr=0.1),
    "OneCycleLR": lambda o, n: scheduler_step.theirs(o, n, True, max_lr=0.1),
}


def count(kind: str, impl: str, scheduler: str, steps: int) -> tuple[int, int, bool] | str:
    """(graphs compiled, recompiles whose failed guard names a driven value, whether a frame
    reached dynamo's recompile limit) over ``steps`` steps of a small MLP; the first words of
    the error where building the scheduler is refused."""
    torch._dynamo.reset()
    guard_failures.clear()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    opt = optimizer(kind, impl, model)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (torch's "detected call of lr_scheduler.step()")
            sched = SCHEDULERS[scheduler](opt, steps)
    except ValueError as exc:
        return "refused: " + str(exc).split(":")[0]
    counter = CompileCounterWithBackend("aot_eager")
    step = torch.compile(opt.step, backend=counter)
    x, y = torch.randn(32, 16), torch.randint(0, 4, (32,))
    for _ in range(steps):
        torch.nn.functional.cross_entropy(model(x), y).backward()
        step()
        opt.zero_grad(set_to_none=True)
        sched.step()
    caused = gpu.schedule_recompiles(counter.frame_count)
    # Each recompile, and the check that finds the limit reached, records one failure of the
    # frame's first graph: a frame with as many as the limit has reached it.
    limit = gpu.recompile_limit()
    hit = any(sum(1 for r in reasons if gpu._OLDEST_GRAPH.match(str(r))) >= limit
              for reasons in guard_failures.values())
    torch._dynamo.reset()
    return counter.frame_count, caused, hit


def report(lengths: list[int],
           rows: list[tuple[str, str, str, list[tuple[int, int, bool] | str]]],
           command: str) -> str:
    limit = gpu.recompile_limit()
    lines = [
        "# A compiled optimizer step under a 1cycle with cyclical momentum: graphs and recompiles",
        "",
        f"torch {torch.__version__}, CPU, `aot_eager`. Each cell: graphs compiled for "
        "`opt.step`, then the recompiles whose failed guard names `lr`, `momentum`, `betas` or "
        f"`beta1`, over {' and over '.join(map(str, lengths))} steps. A count that grows with "
        f"the steps recompiles at every new value, up to dynamo's limit ({limit}), after "
        "which that frame runs eagerly: \"limit hit\" where a frame of the longest run "
        "reached it. Recompiles are counted once each, as `benchmarks/gpu.py` counts them (of "
        "frames that compiled a graph: at most one fewer than the graphs).",
        "",
        "| optimizer | step | scheduler | " + " | ".join(f"{n} steps" for n in lengths)
        + " | grows with the steps | limit hit |",
        "| --- | --- | --- | " + " | ".join("---" for _ in lengths) + " | --- | --- |",
    ]
    for kind, impl, scheduler, cells in rows:
        shown = [c if isinstance(c, str) else
                 f"{c[0]} graph{'s' * (c[0] != 1)}, {c[1]} recompile{'s' * (c[1] != 1)}"
                 for c in cells]
        counts = [c for c in cells if not isinstance(c, str)]
        grows = "-" if len(counts) < 2 else ("yes" if counts[-1][:2] != counts[0][:2] else "no")
        hit = "-" if not counts else ("yes" if counts[-1][2] else "no")
        lines.append(f"| {kind} | {impl} | {scheduler} | " + " | ".join(shown)
                     + f" | {grows} | {hit} |")
    lines += [
        "",
        "Both sides' optimizers hold a tensor `lr`; ours converts AdamW's `betas[0]` to a "
        "0-dim tensor too and fills both in place, where OneCycleLR writes floats into "
        "`momentum` and `betas`; SGD's `momentum` stays a "
        "float (torch branches on it), and ours refuses SGD's foreach step with a cycling "
        "momentum (it would recompile at every value). torch does not trace a fused step "
        "(`torch.compiler.disable`): only the code around it is compiled. Model: "
        "Linear(16, 32), ReLU, Linear(32, 4), one fixed batch of 32. AdamW's foreach step (torch's "
        "default on CUDA) is left out: with a tensor `lr` it needs `capturable=True`, which its "
        "eager step refuses on the CPU; `benchmarks/gpu.py` measures it on a GPU.",
        "",
    ]
    return _common.with_provenance(lines, command)


def main(argv: list[str] | None = None) -> None:
    ap = _common.argument_parser(__doc__)
    ap.add_argument("--steps", type=_common.whole_numbers(8, "step counts"), default=None,
                    help="comma-separated run lengths (default: 40,80; 8,16 with --quick)")
    _common.add_output_arguments(ap, RESULTS, "no single-tensor steps, shorter runs")
    args = ap.parse_args(argv)
    lengths = args.steps or ([8, 16] if args.quick else [40, 80])
    rows = []
    for kind in ("AdamW", "SGD"):
        for impl in IMPLS[kind]:
            if args.quick and impl == "single-tensor":
                continue
            for scheduler in SCHEDULERS:
                cells = [count(kind, impl, scheduler, n) for n in lengths]
                rows.append((kind, impl, scheduler, cells))
                print(f"{kind} {impl} {scheduler}: {cells}", flush=True)
    text = report(lengths, rows, _common.command_line("compile_graphs.py", argv))
    print(text)
    _common.save_results(text, args.out, args.quick, RESULTS)


if __name__ == "__main__":
    main()
