"""How good is each LR-suggestion rule? Measured against grid-searched truth.

    python benchmarks/suggestion_quality.py            # full: 4 tasks, ~33-37 min on 2 cores
    python benchmarks/suggestion_quality.py --quick    # CI-sized smoke run
    python benchmarks/suggestion_quality.py --rescore  # the stored run, read by today's rules

For every task (a model, a dataset, an optimizer, a fixed epoch budget):

1. **Truth**: train at each LR of a log-spaced grid (13 points, 3 seeds) under two uses — a fixed
   LR, and the ``max_lr`` of a 1cycle run (``one_cycle`` + ``one_cycle_momentum``) — and record
   the final validation accuracy. The best grid mean is the target.
2. **Curves**: 5 LR range tests (``lr_range_test``, 100 steps from 1e-7 to 10; ResNet-20's
   300 steps from 1e-5) with different seeds
   (model init and batch order), raw per-step losses kept.
3. **Picks**: every rule on the same curves — ours (``suggestion()`` for the fixed LR,
   ``bounds()`` max for 1cycle) and the anchors' rules reimplemented in ``anchor_rules.py``
   (torch-lr-finder, fastai valley, fastai minimum/10, Lightning), each used for both purposes as
   their users do.
4. **Regret** = accuracy at the best grid LR − accuracy at the rule's pick (its median over the
   5 curves), both trained with the same 5 seeds, which the grid did not use: the highest of 13
   noisy grid means overstates what its LR trains to (the winner's curse), so the best grid LR is
   trained again for the comparison. In accuracy points, with its standard error from seed
   noise; **spread** =
   log10(max/min) of the rule's picks over the 5 curves, in decades. ``interp`` regret is the
   grid's mean-accuracy curve (interpolated in log-LR) read at each curve's pick, averaged over
   the 5 curves: it charges a rule for its noise.
5. **Held-out**: 20 more range tests per task, with seeds after those, scored by interp regret:
   our defaults were chosen looking at the first 5 curves, these check them on curves they were
   not chosen on.

Results go to ``benchmarks/results/suggestion_quality.md`` (tables) and ``.json`` (everything:
curves, grid accuracies, picks), with versions, seeds and the command.

``--rescore`` reads the stored JSON's curves again with today's rules, in a few seconds: every
pick and interp regret anew, the grid and the trained accuracies the stored run's. It refuses
where a rule's median pick over the 5 curves moved, whose accuracy needs training: then run the
whole benchmark. The training is not bit-reproducible across CPUs (float rounding of other
kernels), so a whole run on another machine moves every number within its seed noise, the
anchors' too; a change to the rules alone is measured on the same curves.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import math
import os
import platform
import re
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _common  # noqa: E402  (puts ../src on sys.path)
import superconverge as sc  # noqa: E402
from anchor_rules import ANCHOR_RULES  # noqa: E402
from superconverge.data import load_dataset, make_loader  # noqa: E402
from superconverge.finder import suggest, suggest_bounds  # noqa: E402
from superconverge.models import build_model  # noqa: E402
from superconverge.recipes import make_optimizer  # noqa: E402

RESULTS = _common.RESULTS_DIR
USES = ("fixed", "one-cycle")


@dataclass(frozen=True)
class Task:
    """One benchmark task: what is trained, how long, and where the LR grid lies."""

    name: str
    dataset: str
    model: str
    optimizer: str
    batch_size: int
    epochs: int
    grid: tuple[float, float]  # log10 of the lowest and highest grid LR
    weight_decay: float = 5e-4
    data_kwargs: dict[str, Any] = field(default_factory=dict)
    # Range test: steps and start LR. A test must be long enough for the loss to move at all:
    # the ResNet needs ~300 steps (as a practitioner would give it), the small models 100.
    range_iter: int = 100
    range_start_lr: float = 1e-7


TASKS = (
    Task("digits-mlp-sgd", "digits", "mlp", "sgd", 64, 6, (-3.5, 1.0)),
    Task("digits-cnn-sgd", "digits", "cnn", "sgd", 64, 4, (-3.5, 1.0)),
    Task("mnist1d-cnn1d-adamw", "mnist1d", "cnn1d", "adamw", 100, 8, (-4.5, 0.0), 1e-2),
    # ResNet-20 on 16x16 synthetic images: 32x32 costs 4x the CPU time for the same lesson.
    # 8 epochs (256 steps): at 4, seeds of one LR differed by up to 20 points (std 4-12 at the
    # best LRs), more than the regret being measured.
    Task("images16-resnet20-sgd", "synthetic_images", "resnet20", "sgd", 64, 8, (-3.5, 1.0),
         5e-4, {"image_size": 16, "num_train": 2048, "num_val": 512, "noise": 0.1}, 300, 1e-5),
)


@dataclass(frozen=True)
class Settings:
    grid_points: int = 13
    seeds: int = 3
    pick_seeds: int = 5  # seeds trained at each rule's median pick: the number being judged
    # Training seeds of the picks and of the best grid LR trained again: pick_seed_base + i,
    # apart from the grid's (0 .. seeds-1), so the best grid LR's accuracy is not the maximum
    # of the very means it was picked by.
    pick_seed_base: int = 100
    repeats: int = 5
    holdout: int = 20  # extra range tests per task, scored by interp regret only (see run_task)
    end_lr: float = 10.0
    epoch_scale: float = 1.0
    range_scale: float = 1.0  # multiplies each task's range-test steps


_DATA: dict[str, Any] = {}


def task_data(task: Task) -> Any:
    if task.name not in _DATA:
        _DATA[task.name] = load_dataset(task.dataset, **task.data_kwargs)
    return _DATA[task.name]


def build(task: Task, lr: float, seed: int) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    data = task_data(task)
    torch.manual_seed(seed)
    model = build_model(task.model, data.input_shape, data.num_classes)
    opt = make_optimizer(task.optimizer, model.parameters(), lr, momentum=0.9,
                         weight_decay=task.weight_decay)
    return model, opt


def train(task: Task, use: str, lr: float, seed: int, epoch_scale: float,
          base_lr: float = 0.0, cycles: int = 2) -> float:
    """Final validation accuracy (%) after the task's epoch budget at ``lr`` under ``use``:
    ``"fixed"``, ``"one-cycle"`` (peaking at ``lr``) or ``"clr"`` (a triangular CLR from
    ``base_lr`` to ``lr``, ``cycles`` whole cycles over the budget; clr_bounds.py's)."""
    torch.set_num_threads(1)
    data = task_data(task)
    model, opt = build(task, lr, 1000 + seed)
    loader = make_loader(data.x_train, data.y_train, task.batch_size, True, seed)
    epochs = max(1, round(task.epochs * epoch_scale))
    steps = epochs * len(loader)
    sched = None
    if use == "one-cycle":
        sched = sc.ParamScheduler(opt, lr=sc.one_cycle(lr, steps),
                                  momentum=sc.one_cycle_momentum(steps))
    elif use == "clr":
        sched = sc.ParamScheduler(opt, lr=sc.cyclic(base_lr, lr, max(1, steps // (2 * cycles))))
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        for x, y in loader:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
    model.eval()
    with torch.no_grad():
        out = model(data.x_val)
    if not torch.isfinite(out).all():
        return 100.0 / data.num_classes  # diverged: chance level
    return float((out.argmax(1) == data.y_val).float().mean()) * 100


def range_curve(task: Task, repeat: int, s: Settings) -> dict[str, list[float]]:
    """One LR range test's raw curve (seeded by ``repeat``)."""
    torch.set_num_threads(1)
    data = task_data(task)
    start = task.range_start_lr
    num_iter = max(10, round(task.range_iter * s.range_scale))
    model, opt = build(task, start, 2000 + repeat)
    loader = make_loader(data.x_train, data.y_train, task.batch_size, True, 3000 + repeat)
    res = sc.lr_range_test(model, opt, torch.nn.CrossEntropyLoss(), loader, start,
                           s.end_lr, num_iter, progress=False, seed=repeat)
    return {"lrs": list(res.lrs), "losses": list(res.losses), "stop": res.stop_reason}


# --- rules --------------------------------------------------------------------------------------

def _ours(use: str) -> Callable[[Sequence[float], Sequence[float]], float | None]:
    def rule(lrs: Sequence[float], losses: Sequence[float]) -> float | None:
        if use == "fixed":
            return suggest(lrs, losses, "default").lr
        return suggest_bounds(lrs, losses)[1].lr

    return rule


def rules_for(use: str) -> dict[str, Callable[[Sequence[float], Sequence[float]], float | None]]:
    return {"superconverge": _ours(use), **ANCHOR_RULES}


def interp_accuracy(grid_lrs: Sequence[float], mean_acc: Sequence[float], lr: float) -> float:
    """The grid's mean accuracy at ``lr``, linear in log10(LR), clamped at the grid's ends
    (a pick outside the grid scores as the nearest grid point)."""
    return float(np.interp(math.log10(lr), np.log10(grid_lrs), mean_acc))


def standard_error(values: Sequence[float]) -> float:
    """Standard error of the mean over seeds (0 for a single value: printed as n/a, by
    plus_minus)."""
    return float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else 0.0


def plus_minus(se: float, seeds: int, digits: int = 1) -> str:
    """``"± 0.8"``; with one seed there is no standard error to give (``--quick``), not 0."""
    return f"± {se:.{digits}f}" if seeds > 1 else "± n/a (1 seed)"


def interp_regret(grid_lrs: Sequence[float], mean_acc: Sequence[float],
                  picks: Sequence[float | None], chance: float) -> float | None:
    """Best grid accuracy minus the grid's accuracy read at each pick (a missing pick scores
    ``chance``), averaged over the picks; ``None`` without picks."""
    if not picks:
        return None
    read = [interp_accuracy(grid_lrs, mean_acc, p) if p else chance for p in picks]
    return max(mean_acc) - float(np.mean(read))


# --- orchestration ------------------------------------------------------------------------------

def run_jobs(pool: ProcessPoolExecutor, fn: Callable[..., Any], jobs: list[tuple]) -> list[Any]:
    futures = [pool.submit(fn, *job) for job in jobs]
    return [f.result() for f in futures]


def run_task(task: Task, s: Settings, pool: ProcessPoolExecutor) -> dict[str, Any]:
    began = time.perf_counter()
    grid = np.logspace(task.grid[0], task.grid[1], s.grid_points).tolist()
    jobs = [(task, use, lr, seed, s.epoch_scale) for use in USES for lr in grid
            for seed in range(s.seeds)]
    accs = run_jobs(pool, train, jobs)
    grid_acc: dict[str, list[list[float]]] = {}
    k = 0
    for use in USES:
        grid_acc[use] = []
        for _ in grid:
            grid_acc[use].append(accs[k : k + s.seeds])
            k += s.seeds
    curves = run_jobs(pool, range_curve, [(task, r, s) for r in range(s.repeats)])
    # Held-out curves (seeds after the repeats'): the defaults were tuned on the first curves,
    # so the rules are also scored, by interp regret, on curves nobody looked at.
    held = run_jobs(pool, range_curve,
                     [(task, r, s) for r in range(s.repeats, s.repeats + s.holdout)])

    picks: dict[str, dict[str, list[float | None]]] = {}
    held_picks: dict[str, dict[str, list[float | None]]] = {}
    for use in USES:
        rules = rules_for(use)
        picks[use] = {name: [rule(c["lrs"], c["losses"]) for c in curves]
                      for name, rule in rules.items()}
        held_picks[use] = {name: [rule(c["lrs"], c["losses"]) for c in held]
                           for name, rule in rules.items()}
    # Train at each rule's median pick (median in log-LR) and at the best grid LR, with the
    # same seeds (none of the grid's), deduplicated.
    mean_acc = {use: [float(np.mean(a)) for a in grid_acc[use]] for use in USES}
    best_i = {use: int(np.argmax(mean_acc[use])) for use in USES}  # the best grid LR's index
    best_lr = {use: grid[i] for use, i in best_i.items()}
    medians: dict[str, dict[str, float | None]] = {}
    todo: dict[tuple[str, float], None] = {}
    for use in USES:
        todo[(use, best_lr[use])] = None
        medians[use] = {}
        for name, ps in picks[use].items():
            found = [p for p in ps if p is not None and p > 0]
            med = float(10 ** np.median(np.log10(found))) if found else None
            medians[use][name] = med
            if med is not None:
                todo[(use, med)] = None
    pick_jobs = [(task, use, lr, s.pick_seed_base + i, s.epoch_scale) for (use, lr) in todo
                 for i in range(s.pick_seeds)]
    pick_accs = run_jobs(pool, train, pick_jobs)
    trained: dict[tuple[str, float], list[float]] = {}
    for i, (use, lr) in enumerate(todo):
        trained[(use, lr)] = pick_accs[i * s.pick_seeds : (i + 1) * s.pick_seeds]

    chance = 100.0 / task_data(task).num_classes
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    for use in USES:
        at_best = trained[(use, best_lr[use])]
        best, best_se = float(np.mean(at_best)), standard_error(at_best)

        rows[use] = {}
        for name, ps in picks[use].items():
            found = [p for p in ps if p is not None and p > 0]
            med = medians[use][name]
            accs_at_pick = trained[(use, med)] if med is not None else [chance]
            acc = float(np.mean(accs_at_pick))
            rows[use][name] = {
                "median_pick": med,
                "picks": ps,
                "accuracy": acc,
                "regret": best - acc,
                # standard error of the regret from seed noise (the best grid LR's and the pick's)
                "regret_se": math.hypot(best_se, standard_error(accs_at_pick)),
                "interp_regret": interp_regret(grid, mean_acc[use], ps, chance),
                "holdout_picks": held_picks[use][name],
                "holdout_interp_regret": interp_regret(grid, mean_acc[use],
                                                       held_picks[use][name], chance),
                "spread_decades": (math.log10(max(found) / min(found))
                                   if len(found) >= 2 else None),
                "no_pick": sum(p is None for p in ps),
            }
        rows[use]["_truth"] = {
            "best_lr": best_lr[use], "best_accuracy": best, "best_se": best_se,
            "best_accuracies": at_best,
            # the grid's own mean at that LR: the highest of the noisy means, biased upward
            "grid_best_accuracy": mean_acc[use][best_i[use]],
            "grid_best_se": standard_error(grid_acc[use][best_i[use]]),
        }
    return {
        "task": asdict(task),
        "grid": grid,
        "grid_accuracy": grid_acc,
        "curves": curves,
        "holdout_curves": held,
        "rows": rows,
        "seconds": round(time.perf_counter() - began, 1),
    }


# --- report -------------------------------------------------------------------------------------

def _fmt(x: float | None, spec: str) -> str:
    return "—" if x is None else format(x, spec)


def render(results: list[dict[str, Any]], s: Settings, argv: list[str], total_s: float,
           workers: int = 2, run: str | None = None) -> str:
    names = list(rules_for("fixed"))
    out = ["# LR-suggestion quality against grid-searched truth", ""]
    out.append(
        "Regret = accuracy at the best grid LR − accuracy at the rule's median pick, both "
        f"trained with the same {s.pick_seeds} seeds, none of the grid's (the grid's own mean "
        "at its best LR is the highest of its noisy means, so it overstates that LR: the "
        "winner's curse), in accuracy points, ± its standard error from seed noise; "
        f"interp = best grid mean ({s.seeds} seeds) − the grid's accuracy curve read at each "
        f"of the {s.repeats} curves' picks, averaged (a pick outside the grid is read as its "
        "nearest end's accuracy, so it is not scored worse than that end); spread = "
        "log10(max/min pick) over the "
        f"{s.repeats} range tests, in decades; held-out = interp regret on {s.holdout} more range "
        "tests per task (seeds after those), which the defaults were not tuned on. Lower is "
        "better everywhere."
    )
    out.append("")
    means: dict[str, dict[str, list[float]]] = {u: {n: [] for n in names} for u in USES}
    for r in results:
        t = r["task"]
        out.append(f"## {t['name']}")
        out.append("")
        out.append(
            f"{t['model']} on {t['dataset']}, {t['optimizer']}, batch {t['batch_size']}, "
            f"{max(1, round(t['epochs'] * s.epoch_scale))} epochs, weight decay "
            f"{t['weight_decay']}; grid 10^{t['grid'][0]}..10^{t['grid'][1]} "
            f"({len(r['grid'])} points); range tests of "
            f"{max(10, round(t['range_iter'] * s.range_scale))} steps from "
            f"{t['range_start_lr']:g} to 10; {r['seconds']} s"
        )
        out.append("")
        for use in USES:
            truth = r["rows"][use]["_truth"]
            out.append(
                f"**{use}** — best grid LR {truth['best_lr']:.3g}: accuracy "
                f"{truth['best_accuracy']:.1f}% "
                f"({plus_minus(truth['best_se'], s.pick_seeds)} standard error) trained "
                f"again with the {s.pick_seeds} pick seeds; {truth['grid_best_accuracy']:.1f}% "
                f"({plus_minus(truth['grid_best_se'], s.seeds)}) as the grid's best "
                f"{s.seeds}-seed mean"
            )
            out.append("")
            out.append("| rule | median pick | accuracy | regret | interp regret | spread | "
                       "held-out interp |")
            out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
            for n in names:
                row = r["rows"][use][n]
                means[use][n].append(row["regret"])
                means[use].setdefault(f"{n}/se", []).append(row["regret_se"])
                means[use].setdefault(f"{n}/interp", []).append(row["interp_regret"])
                if row["holdout_interp_regret"] is not None:
                    means[use].setdefault(f"{n}/held", []).append(row["holdout_interp_regret"])
                if row["spread_decades"] is not None:
                    means[use].setdefault(f"{n}/spread", []).append(row["spread_decades"])
                out.append(
                    f"| {n} | {_fmt(row['median_pick'], '.3g')} | {row['accuracy']:.1f} | "
                    f"{row['regret']:.1f} {plus_minus(row['regret_se'], s.pick_seeds)} | "
                    f"{row['interp_regret']:.1f} | "
                    f"{_fmt(row['spread_decades'], '.2f')} | "
                    f"{_fmt(row['holdout_interp_regret'], '.1f')} |"
                )
            out.append("")
    out.insert(4, summary_table(means, names, s.pick_seeds))
    out.append("## Provenance")
    out.append("")
    out += [f"- {line}" for line in provenance(argv, s, total_s, workers, run)]
    return "\n".join(out) + "\n"


def summary_table(means: dict[str, dict[str, list[float]]], names: list[str],
                  seeds: int = 2) -> str:
    lines = ["## Means over tasks", ""]
    lines.append("| rule | fixed: regret | fixed: interp | fixed: held-out | 1cycle: regret | "
                 "1cycle: interp | 1cycle: held-out | spread (decades) |")
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    def mean_se(d: dict[str, list[float]], n: str) -> str:
        # standard error of the mean over tasks, from each task's seed noise
        se = math.sqrt(sum(x * x for x in d[f"{n}/se"])) / len(d[n])
        return f"{np.mean(d[n]):.2f} {plus_minus(se, seeds, 2)}"

    for n in names:
        f, o = means["fixed"], means["one-cycle"]
        spread = f.get(f"{n}/spread", []) + o.get(f"{n}/spread", [])
        held_f, held_o = f.get(f"{n}/held"), o.get(f"{n}/held")
        lines.append(
            f"| {n} | {mean_se(f, n)} | {np.mean(f[f'{n}/interp']):.2f} | "
            f"{_fmt(float(np.mean(held_f)) if held_f else None, '.2f')} | "
            f"{mean_se(o, n)} | {np.mean(o[f'{n}/interp']):.2f} | "
            f"{_fmt(float(np.mean(held_o)) if held_o else None, '.2f')} | "
            f"{_fmt(float(np.mean(spread)) if spread else None, '.2f')} |"
        )
    return "\n".join(lines) + "\n"


def rescore(stored: dict[str, Any]) -> list[dict[str, Any]]:
    """The stored run's results with every rule's picks read again on its curves, and their
    interp regrets on its grid (see the module's docstring); a ``ValueError`` naming the rule
    whose median pick moved, where its accuracy would need training."""
    results = copy.deepcopy(stored["results"])
    for r in results:
        task = Task(**{**r["task"], "grid": tuple(r["task"]["grid"])})
        chance = 100.0 / task_data(task).num_classes
        for use in USES:
            mean_acc = [float(np.mean(a)) for a in r["grid_accuracy"][use]]
            for name, rule in rules_for(use).items():
                row = r["rows"][use][name]
                ps = [rule(c["lrs"], c["losses"]) for c in r["curves"]]
                found = [p for p in ps if p is not None and p > 0]
                med = float(10 ** np.median(np.log10(found))) if found else None
                if med != row["median_pick"]:
                    raise ValueError(
                        f"{task.name}, {use}, {name}: the median pick moved from "
                        f"{row['median_pick']} to {med}, whose accuracy needs training: run "
                        "the whole benchmark")
                held = [rule(c["lrs"], c["losses"]) for c in r["holdout_curves"]]
                row.update(
                    picks=ps, holdout_picks=held, no_pick=sum(p is None for p in ps),
                    interp_regret=interp_regret(r["grid"], mean_acc, ps, chance),
                    holdout_interp_regret=interp_regret(r["grid"], mean_acc, held, chance),
                    spread_decades=(math.log10(max(found) / min(found))
                                    if len(found) >= 2 else None))
    return results


def this_run(total_s: float) -> str:
    """When, at which commit, and how long a whole run took: kept in the JSON, so that a
    ``--rescore`` says which run's training it reads."""
    return (f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, git {_common.git_commit()}, "
            f"total {total_s:.0f} s")


def stored_run(stored: dict[str, Any], md: Path) -> str:
    """The stored run's :func:`this_run`, or, from a JSON written before it was kept, the
    date, commit and time its markdown's provenance gives."""
    if isinstance(stored.get("run"), str):
        return str(stored["run"])
    text = md.read_text() if md.exists() else ""
    date = re.search(r"^- date: (.+?) UTC; total (\d+) s", text, re.M)
    git = re.search(r"^- superconverge \S+ \(git ([^)\s]+)", text, re.M)
    if date is None or git is None:
        return "unknown"
    return f"{date.group(1)} UTC, git {git.group(1)}, total {date.group(2)} s"


def provenance(argv: list[str], s: Settings, total_s: float, workers: int = 2,
               run: str | None = None) -> list[str]:
    """The lines of the report's provenance; ``run``: the stored run a ``--rescore`` read."""
    rescored = run is not None
    return [
        f"command: `{_common.command_line('suggestion_quality.py', argv)}`",
        f"date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; total {total_s:.0f} s"
        + (f"; the picks and interp regrets read again by this commit's rules on the curves "
           f"of the stored run ({run}), its grid and trained accuracies as they were (the "
           "per-task seconds are its own)" if rescored else ""),
        f"superconverge {sc.__version__} (git {_common.git_commit()}), torch {torch.__version__}, "
        f"numpy {np.__version__}, Python {platform.python_version()}",
        f"CPU: {_common.cpu_name()}, {os.cpu_count()} cores, "
        + ("the stored run's training" if rescored else
           f"{workers} worker process{'es' if workers != 1 else ''} with 1 torch thread each"),
        f"settings: {json.dumps(asdict(s))}; training seeds 1000+i, loader seeds i (grid: "
        f"i < {s.seeds}; picks and the best grid LR: i = {s.pick_seed_base}.."
        f"{s.pick_seed_base + s.pick_seeds - 1}); range-test model seeds 2000+r, loader seeds "
        "3000+r",
        "anchor rules: benchmarks/anchor_rules.py (torch-lr-finder 0.2.2, fastai valley and "
        "minimum, Lightning >= 2.5.3), applied to our range test's raw losses",
    ]


def chosen_tasks(parser: argparse.ArgumentParser, names: str | None, quick: bool) -> list[Task]:
    """The tasks ``--tasks`` names (comma-separated; all when it is not given, the first alone
    with ``--quick``), in :data:`TASKS`' order; an unknown or empty name is the parser's error
    (a bug bash: ``--tasks ""``, an unset shell variable, ran all four, ~33 minutes)."""
    if names is None:
        return list(TASKS[:1] if quick else TASKS)
    wanted = names.split(",")
    unknown = sorted(set(wanted) - {t.name for t in TASKS})
    if unknown:
        parser.error(f"unknown tasks {unknown}; known: {[t.name for t in TASKS]}")
    return [t for t in TASKS if t.name in wanted]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="a small smoke run (CI-sized)")
    p.add_argument("--tasks", help="comma-separated task names (default: all)")
    p.add_argument("--out", type=Path, default=None,
                   help="markdown report, the JSON beside it (default: benchmarks/results/"
                   "suggestion_quality.md; with --quick: printed, not written)")
    p.add_argument("--workers", type=int, default=2,
                   help="training runs in parallel processes (default 2, one a core here)")
    p.add_argument("--rescore", action="store_true",
                   help="read the stored results' curves again with today's rules (no "
                   "training; refused where a median pick moved)")
    args = p.parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    if args.workers < 1:
        p.error(f"--workers must be >= 1, got {args.workers}")
    if args.rescore:
        if args.quick or args.tasks is not None:
            p.error("--rescore reads the whole stored run: no --quick or --tasks")
        began = time.perf_counter()
        stored_path = RESULTS / "suggestion_quality.json"
        stored = json.loads(stored_path.read_text())
        try:
            results = rescore(stored)
        except ValueError as e:
            p.exit(1, f"suggestion_quality.py: {e}\n")
        s = Settings(**stored["settings"])
        run = stored_run(stored, RESULTS / "suggestion_quality.md")
        text = render(results, s, argv, time.perf_counter() - began, run=run)
        out = args.out or RESULTS / "suggestion_quality.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        _common.write_text(out, text)
        _common.write_text(out.with_suffix(".json"), json.dumps(
            {"settings": asdict(s), "run": run, "results": results}, indent=1))
        print(text)
        return 0
    s = Settings()
    tasks = chosen_tasks(p, args.tasks, args.quick)
    if args.quick:
        s = Settings(grid_points=5, seeds=1, pick_seeds=1, repeats=2, holdout=2, epoch_scale=0.5,
                     range_scale=0.6)
    began = time.perf_counter()
    results = []
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for task in tasks:
            print(f"[{time.perf_counter() - began:6.0f} s] {task.name} ...", flush=True)
            results.append(run_task(task, s, pool))
    total = time.perf_counter() - began
    text = render(results, s, argv, total, args.workers)
    out = _common.results_path(args.out, args.quick, RESULTS / "suggestion_quality.md")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        _common.write_text(out, text)
        _common.write_text(out.with_suffix(".json"), json.dumps(
            {"settings": asdict(s), "run": this_run(total), "results": results}, indent=1))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
