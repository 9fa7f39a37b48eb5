"""What ``--threads 1`` saves when range tests share a CPU's cores, against torch's default.

    python benchmarks/cpu_threads.py [--quick] [--jobs 2] [--repeats 3] [--out PATH]

Runs ``superconverge find-lr --dataset digits`` (the README's first command, 100 steps of its
CNN) as separate processes, in the same run:

1. one alone, with torch's default thread count (a thread per core) and with ``--threads 1``;
2. ``--jobs`` of them started side by side (default: one a core), with the default threads
   each and with ``--threads 1`` each.

Each time is the wall time from starting the processes to the last one's end, the best of
``--repeats`` (the two settings alternate, who goes first changing every repeat). It prints
the ratios, default over ``--threads 1``, and writes ``benchmarks/results/cpu_threads.md``
(with ``--quick``: printed, not written). What the side-by-side ratio comes to depends on the
machine's other load: the spread of the repeats is printed beside it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # first of ours: puts ../src on sys.path

RESULTS = _common.RESULTS_DIR / "cpu_threads.md"
SRC = Path(__file__).resolve().parent.parent / "src"


def run_side_by_side(jobs: int, threads: int | None, num_iter: int, folder: Path) -> float:
    """Seconds from starting ``jobs`` find-lr processes to the end of the last one."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])])}
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # torch's default, unless --threads
        env.pop(name, None)
    flags = [] if threads is None else ["--threads", str(threads)]
    began = time.perf_counter()
    procs = [subprocess.Popen(
        [sys.executable, "-m", "superconverge", "-q", "find-lr", "--dataset", "digits",
         "--num-iter", str(num_iter), *flags, "--out", str(folder / f"run{i}")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for i in range(jobs)]
    failed = []
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode:
            failed.append(err.strip().splitlines()[-1] if err.strip() else f"rc {proc.returncode}")
    if failed:
        raise SystemExit(f"find-lr failed: {failed[0]}")
    return time.perf_counter() - began


def measure(jobs: int, num_iter: int, repeats: int, folder: Path) -> dict[str, list[float]]:
    """Times of ``jobs`` runs side by side with torch's default threads and with 1, alternating
    which goes first."""
    times: dict[str, list[float]] = {"default": [], "1": []}
    for r in range(repeats):
        order = [("default", None), ("1", 1)]
        for name, threads in (order if r % 2 == 0 else order[::-1]):
            times[name].append(run_side_by_side(jobs, threads, num_iter, folder))
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="a small smoke run (CI-sized)")
    p.add_argument("--jobs", type=_common.at_least(2), default=max(2, os.cpu_count() or 2),
                   help="runs started side by side (default: one a core, at least 2)")
    p.add_argument("--repeats", type=_common.positive_int, default=None,
                   help="times each setting runs; the best counts (default 3, --quick 1)")
    p.add_argument("--out", type=Path, default=None,
                   help="markdown report (default: benchmarks/results/cpu_threads.md; with "
                   "--quick: printed, not written)")
    args = p.parse_args(argv)
    repeats = args.repeats if args.repeats is not None else (1 if args.quick else 3)
    num_iter = 10 if args.quick else 100
    cores = os.cpu_count() or 1

    rows = ["| runs side by side | torch threads | best s | spread of repeats | default / "
            "--threads 1 |", "| ---: | --- | ---: | ---: | ---: |"]
    ratios = {}
    with tempfile.TemporaryDirectory() as tmp:
        for jobs in (1, args.jobs):
            times = measure(jobs, num_iter, repeats, Path(tmp))
            best = {k: min(v) for k, v in times.items()}
            ratios[jobs] = best["default"] / best["1"]
            for name, label in (("default", f"default (torch's; {cores} cores)"),
                                ("1", "1 (`--threads 1`)")):
                spread = max(times[name]) / best[name] - 1
                rows.append(f"| {jobs} | {label} | {best[name]:.2f} | {spread:.0%} | "
                            + (f"{ratios[jobs]:.2f} |" if name == "default" else "|"))
                print(rows[-1], flush=True)

    command = _common.command_line("cpu_threads.py", argv)
    load = os.getloadavg()[0]
    text = "\n".join([
        "# CPU threads: range tests sharing the cores",
        "",
        f"`superconverge find-lr --dataset digits --num-iter {num_iter}` as separate processes, "
        f"the wall time from starting them to the last one's end, best of {repeats} "
        "(the settings alternating). A ratio above 1: `--threads 1` finished sooner.",
        "",
        *rows,
        "",
        f"Alone, torch's default threads took {ratios[1]:.2f}x the time of one thread; "
        f"{args.jobs} side by side, {ratios[args.jobs]:.2f}x. Side by side, each process's "
        "threads wait for the others' on the shared cores; how much depends on the machine's "
        f"other load (1-minute load average at the end: {load:.1f}).",
        "",
        "## Provenance",
        "",
        *_common.provenance(command, threads="each run's own, as the table says"),
    ]) + "\n"
    print(f"\nalone: default / --threads 1 = {ratios[1]:.2f}; {args.jobs} side by side: "
          f"{ratios[args.jobs]:.2f}")
    _common.save_results(text, args.out, args.quick, RESULTS)
    if args.quick and args.out is None:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
