"""Time a range test's result on disk and on screen against what a torch-lr-finder user does
with its curve: our ``to_json`` / ``from_json`` / ``plot`` beside ``json.dump`` / ``json.load``
of the bare ``{"lr", "loss"}`` history and torch-lr-finder's ``LRFinder.plot``, in one run.

    python benchmarks/result_io.py [--points 100,1000,10000,100000] [--repeats 3]

Ours does more on each: ``to_json`` writes every rule's pick, the bounds and the warnings
(the analysis), ``from_json`` checks every number, ``plot`` draws the smoothed curve, the
picks, the bounds and the notes; torch-lr-finder's ``plot`` draws the curve and its steepest
point. The ratios say what that costs. The curves are a noisy valley (a fall, a floor, a
blow-up) of the given numbers of points; the best of ``--repeats`` counts, each side
alternating first. Prints a table and writes ``benchmarks/results/result_io.md``.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import matplotlib
import numpy as np
import torch

import _common  # first of ours: puts ../src on sys.path
from superconverge.finder.result import RangeTestResult, bias_corrected_ema

RESULTS = _common.RESULTS_DIR / "result_io.md"
DPI = 100


def valley(n: int, seed: int = 0) -> tuple[list[float], list[float]]:
    """A range test's LRs (1e-6 to 10) and losses: a fall around 1e-3, a floor, a blow-up."""
    lrs = np.geomspace(1e-6, 10.0, n)
    t = np.log10(lrs)
    losses = (2.3 - 2.0 / (1 + np.exp(-2.0 * (t + 3))) + np.where(t > -1, 3.0 * (t + 1) ** 2, 0)
              + np.random.default_rng(seed).normal(0, 0.03, n))
    return lrs.tolist(), losses.tolist()


def best_of(repeats: int, run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best


def peer_plot(lrs: list[float], losses: list[float], path: Path) -> None:
    """torch-lr-finder's plot of the same curve, saved as ours is."""
    import matplotlib.pyplot as plt
    from torch_lr_finder import LRFinder

    model = torch.nn.Linear(1, 1)
    finder = LRFinder(model, torch.optim.SGD(model.parameters(), lr=0.1), torch.nn.MSELoss(),
                      device="cpu")
    finder.history = {"lr": lrs, "loss": losses}
    fig, ax = plt.subplots()
    with contextlib.redirect_stdout(io.StringIO()):  # (its "Suggested LR: ..." lines)
        finder.plot(skip_start=0, skip_end=0, ax=ax, suggest_lr=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def measure(n: int, repeats: int, folder: Path) -> dict[str, tuple[float, float]]:
    """(ours, peer) seconds for writing, reading and plotting an ``n``-point curve."""
    lrs, losses = valley(n)
    result = RangeTestResult(lrs, losses, bias_corrected_ema(losses, 0.98), "completed",
                             num_iter=n)
    ours_json, peer_json = folder / "ours.json", folder / "peer.json"

    def peer_write() -> None:
        with open(peer_json, "w") as f:
            json.dump({"lr": lrs, "loss": losses}, f)

    def peer_read() -> None:
        with open(peer_json) as f:
            json.load(f)

    pairs = {
        "write": (lambda: result.to_json(ours_json), peer_write),
        "read": (lambda: RangeTestResult.from_json(ours_json), peer_read),
        "plot": (lambda: result.plot(folder / "ours.png", dpi=DPI),
                 lambda: peer_plot(lrs, losses, folder / "peer.png")),
    }
    out = {}
    for name, (ours, peer) in pairs.items():
        ours(), peer()  # (once each first: imports, caches, the files to read)
        best = {"ours": float("inf"), "peer": float("inf")}
        for r in range(repeats):
            for side, run in (("ours", ours), ("peer", peer))[:: 1 if r % 2 == 0 else -1]:
                best[side] = min(best[side], best_of(1, run))
        out[name] = (best["ours"], best["peer"])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = _common.argument_parser(__doc__)
    ap.add_argument("--points", type=_common.whole_numbers(8, "point counts"), default=None,
                    help="curve lengths (default 100,1000,10000,100000; with --quick 100,1000)")
    ap.add_argument("--repeats", type=_common.positive_int, default=None,
                    help="repeats of each; the best counts (default 3; with --quick 1)")
    _common.add_output_arguments(ap, RESULTS, "100- and 1000-point curves, once each")
    args = ap.parse_args(argv)
    points = args.points or ([100, 1000] if args.quick else [100, 1000, 10_000, 100_000])
    repeats = args.repeats or (1 if args.quick else 3)
    matplotlib.use("Agg")  # (pyplot, for torch-lr-finder's plot: no window)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")  # (the curves' own warnings: not what is timed)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in points:
            for name, (ours, peer) in measure(n, repeats, Path(tmp)).items():
                rows.append((n, name, ours, peer))
    labels = {"write": "to_json vs json.dump of {lr, loss}",
              "read": "from_json vs json.load",
              "plot": "plot(path) vs LRFinder.plot + savefig"}
    lines = ["| points | what | ours (ms) | peer (ms) | ours / peer |",
             "| ---: | --- | ---: | ---: | ---: |"]
    lines += [f"| {n:,} | {labels[name]} | {ours * 1e3:.1f} | {peer * 1e3:.1f} | "
              f"{ours / peer:.2f} |" for n, name, ours, peer in rows]
    table = "\n".join(lines)
    print(table)

    notes = _common.provenance(_common.command_line("result_io.py", argv))
    notes += [f"- best of {repeats} repeat(s), `time.perf_counter`, sides alternating first; "
              f"plots at dpi={DPI}, PNG"]
    report = "\n".join([
        "# A result on disk and on screen: ours vs a torch-lr-finder user's", "",
        "Seconds to write, read and plot one range test's curve. Ours writes and checks more "
        "(every rule's pick, the bounds, the warnings; every number read back is checked) and "
        "draws more (smoothed curve, picks, bounds, notes); the ratios are what that costs.", "",
        table, "", "## Provenance", "", "\n".join(notes), "",
    ])
    if _common.save_results(report, args.out, args.quick, RESULTS) is None:
        print("\n" + report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
