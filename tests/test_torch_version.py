"""The oldest supported torch (2.6, where the whole suite passes) is declared once and checked at
import: an older torch fails at once with a message naming both versions, not deep in a run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from superconverge._torch_version import MIN_TORCH, TorchTooOld, check_torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("version", ["2.6.0", "2.13.0+cpu", "2.6.0a0+git1234abc", "3.0", "dev"])
def test_a_new_enough_or_unreadable_version_passes(version: str) -> None:
    check_torch(version)


@pytest.mark.parametrize("version", ["2.5.1+cu124", "2.2.2", "1.13.1"])
def test_an_older_version_is_refused_naming_both(version: str) -> None:
    with pytest.raises(TorchTooOld, match=rf"needs torch>=2\.6, found torch {re.escape(version)};"):
        check_torch(version)


def test_pyproject_declares_the_same_minimum() -> None:
    # (tomllib is Python 3.11+; the package supports 3.10)
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    deps = text.split("dependencies = [", 1)[1].split("]", 1)[0]
    assert re.findall(r'"(torch\b[^"]*)"', deps) == [f"torch>={'.'.join(map(str, MIN_TORCH))}"]


def with_torch_version(version: str, code: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter whose torch reports ``version``."""
    prelude = f"import torch; torch.__version__ = {version!r}\n"
    return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


def test_an_old_torch_fails_on_the_torch_facing_parts_only() -> None:
    done = with_torch_version("2.4.1", """
import superconverge as sc
assert sc.one_cycle(1.0, 10)(0) > 0  # the schedule math needs no torch
for name in ("ParamScheduler", "lr_range_test"):
    try:
        getattr(sc, name)
    except ImportError as exc:
        print(type(exc).__name__, exc)
""")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("TorchTooOld superconverge needs torch>=2.6, found torch 2.4.1") == 2


def test_the_cli_says_so_in_one_line() -> None:
    done = with_torch_version("2.4.1", """
from superconverge.cli import main
raise SystemExit(main(["find-lr", "--dataset", "digits"]))
""")
    assert done.returncode == 2
    assert done.stderr.strip() == ("superconverge find-lr: error: superconverge needs torch>=2.6, "
                                   "found torch 2.4.1; "
                                   "upgrade it (pip install 'torch>=2.6')")


def test_plot_needs_torch_too_and_says_so_in_its_own_name(tmp_path) -> None:
    # (a bug bash: the README's list of the parts that need torch left out a saved result's;
    # the line now names its command, as every other error line of the CLI does)
    done = with_torch_version("2.4.1", f"""
from superconverge.cli import main
raise SystemExit(main(["plot", {str(tmp_path / "lr_find.json")!r}, "--out",
                      {str(tmp_path / "p.png")!r}]))
""")
    assert done.returncode == 2
    assert done.stderr.startswith("superconverge plot: error: superconverge needs torch>=2.6, "
                                  "found torch 2.4.1;"), done.stderr


def test_the_torch_free_commands_run_on_an_old_torch() -> None:
    done = with_torch_version("2.4.1", """
from superconverge.cli import main
raise SystemExit(main(["schedule", "one-cycle", "--max-lr", "1", "--steps", "3"]))
""")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "step,lr,momentum"
