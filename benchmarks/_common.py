"""What every benchmark writes beside its numbers: the command, the code and the machine.

A benchmark script imports this module first (``import _common``): it also puts ``../src`` on
``sys.path``, so the scripts run from a checkout without installing the package.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"
if str(HERE.parent / "src") not in sys.path:
    sys.path.insert(0, str(HERE.parent / "src"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import superconverge as sc  # noqa: E402
from superconverge.atomic import write_text  # noqa: E402
from superconverge.cli import _at_least  # noqa: E402

__all__ = [
    "RESULTS_DIR",
    "add_output_arguments",
    "argument_parser",
    "at_least",
    "command_line",
    "cpu_name",
    "dataset_names",
    "device",
    "device_name",
    "git_commit",
    "positive_int",
    "provenance",
    "results_path",
    "save_results",
    "whole_numbers",
    "with_provenance",
    "write_text",
]


at_least = _at_least
"""An argparse type: a whole number >= ``least`` (a count of steps, rows or repeats); the
command line's own, so the benchmarks refuse a count in the same words."""

positive_int = at_least(1)
"""An argparse type: a whole number >= 1."""


def results_path(given: Path | None, quick: bool, default: Path) -> Path | None:
    """Where a benchmark writes its results: ``--out`` when given, else ``default`` (the
    committed file), but nowhere for a ``--quick`` run: a smoke run is not a measurement, and
    never goes over the committed results."""
    return given if given is not None else (None if quick else default)


def with_provenance(lines: list[str], command: str) -> str:
    """A results file: ``lines``, then a "Provenance" section (:func:`provenance`)."""
    return "\n".join([*lines, "## Provenance", "", *provenance(command)]) + "\n"


def argument_parser(doc: str) -> argparse.ArgumentParser:
    """A benchmark's parser: the first paragraph of its docstring ``doc`` as the description,
    its line breaks kept."""
    return argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def add_output_arguments(ap: argparse.ArgumentParser, default: Path, quick: str) -> None:
    """``--out`` (where to write the results, ``default`` unless given) and ``--quick`` (a
    smoke run: ``quick`` says what it leaves out), as :func:`save_results` reads them."""
    ap.add_argument("--out", type=Path, default=None,
                    help=f"where to write the results (default: {default}; none with --quick)")
    ap.add_argument("--quick", action="store_true",
                    help=f"{quick}; writes nothing without --out")


def save_results(text: str, given: Path | None, quick: bool, default: Path) -> Path | None:
    """Write ``text`` to :func:`results_path` (atomically) and say so; the path, or None
    where a quick run wrote nothing."""
    out = results_path(given, quick, default)
    if out is not None:
        write_text(out, text)
        print(f"wrote {out}")
    return out


def whole_numbers(least: int, what: str = "whole numbers") -> Callable[[str], list[int]]:
    """An argparse type: comma-separated whole numbers, each at least ``least`` (step counts,
    accumulation steps); ``what`` names them in the error."""
    import argparse

    def parse(text: str) -> list[int]:
        try:  # an empty item ("100,$UNSET") is refused, not dropped
            values = [int(x) for x in text.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected whole numbers, got {text!r}") from None
        if not values or min(values) < least:
            raise argparse.ArgumentTypeError(f"expected {what} >= {least}, got {text!r}")
        return values

    return parse


def dataset_names(text: str) -> list[str]:
    """An argparse type: built-in dataset names, comma-separated; an unknown name or an empty
    item is refused by the parser, not met after the first datasets have run."""
    import argparse

    from superconverge.data import dataset_names as known

    names = text.split(",")
    unknown = [n for n in names if n not in known()]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown dataset(s) {', '.join(map(repr, unknown))} in {text!r}; "
            f"known: {', '.join(known())}")
    return names


def device(text: str) -> torch.device:
    """An argparse type: a torch device this machine has, checked as ``find-lr --device`` is
    (``cuda`` without CUDA, ``cuda:3`` on one GPU, ``mps`` elsewhere are refused by the
    parser, not a traceback in the middle of the run)."""
    import argparse

    from superconverge.recipes.common import resolve_device

    try:
        return resolve_device(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    """``cuda:0 (NVIDIA H100 80GB HBM3), CUDA 12.8, cuDNN 91002`` for a CUDA device; else
    the device and the CPU's name."""
    if device.type != "cuda":
        return f"{device} ({cpu_name()})"
    index = device.index if device.index is not None else torch.cuda.current_device()
    return (f"{device} ({torch.cuda.get_device_name(index)}), CUDA {torch.version.cuda}, "
            f"cuDNN {torch.backends.cudnn.version()}")


# What a benchmark run may add to a clean tree without changing the code it measures: the
# results files (one benchmark writes before the next one runs), and the GPU session's carried
# wheels and its default output folder (benchmarks/gpu_session.sh). On the GPU machine the
# copy's git did not ignore the carried .whl/ (the 2026-12-04 session's results said
# "uncommitted changes" for an unchanged tree), so they are left out here, not by git.
UNMEASURED_PATHS = ("benchmarks/results", ".whl", "gpu-session")


def git_commit(root: Path = HERE) -> str:
    """The short commit of HEAD, flagged when the working tree has uncommitted changes (but
    :data:`UNMEASURED_PATHS`); without git, ``$SUPERCONVERGE_GIT_COMMIT`` (or "unknown")."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True,
                             capture_output=True, check=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", ":/",
             *(f":(exclude,top){p}" for p in UNMEASURED_PATHS)],
            cwd=root, text=True, capture_output=True, check=True).stdout.strip()
        return out.stdout.strip() + (" (uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        # a copy of the tree without .git (a GPU machine): the commit it was copied from
        return os.environ.get("SUPERCONVERGE_GIT_COMMIT", "unknown")


def command_line(script: str, argv: list[str] | None) -> str:
    """``python benchmarks/<script>`` and its arguments (``argv``, or the real ones), quoted
    as a shell needs them to run it again (``--precision 'bf16 autocast'``)."""
    args = argv if argv is not None else sys.argv[1:]
    return shlex.join(["python", f"benchmarks/{script}", *args])


def provenance(command: str, threads: str | None = None) -> list[str]:
    """Markdown list items: command, UTC date, versions (numpy's, and Pillow's where it was
    imported) and git commit, CPU, torch threads (``threads``: what the runs used, where they
    were not this process) and the load average over 1, 5 and 15 minutes as it is written."""
    versions = f"numpy {np.__version__}"
    pil = sys.modules.get("PIL")
    if pil is not None:
        versions += f", Pillow {getattr(pil, '__version__', '?')}"
    load = (" load average (1, 5, 15 min) {:.2f} {:.2f} {:.2f};".format(*os.getloadavg())
            if hasattr(os, "getloadavg") else "")
    return [
        f"- command: `{command}`",
        f"- date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- superconverge {sc.__version__} (git {git_commit()}), torch {torch.__version__}, "
        f"{versions}, Python {platform.python_version()}",
        f"- CPU: {cpu_name()} ({os.cpu_count()} logical cores;{load} torch threads: "
        f"{threads or torch.get_num_threads()}), {platform.system()} {platform.release()}",
    ]
