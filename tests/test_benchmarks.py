"""The benchmarks run from one command: a smoke test of each, on tiny settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_range_test_speed_quick_runs_and_curves_agree() -> None:
    pytest.importorskip("torch_lr_finder")
    committed = BENCHMARKS / "results" / "range_test_speed.md"
    before = committed.read_bytes() if committed.exists() else None
    # Without --out a quick run prints its tables and writes nothing.
    text = subprocess.run([sys.executable, str(BENCHMARKS / "range_test_speed.py"), "--quick"],
                          check=True, capture_output=True, text=True, timeout=120).stdout
    assert "wrote" not in text
    text = text[text.rindex("# LR range test"):]  # the document, after the progress tables
    assert "## Provenance" in text and "--quick" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "exact" in line]
    assert len(rows) == 3, text  # one agreement row per case, ours restored exactly in each
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        # LRs identical; ours == torch-lr-finder and ours == bare loop, bit for bit, on CPU
        assert cells[2:5] == ["yes", "0", "0"], row
        assert cells[6] == "exact", row
    assert (committed.read_bytes() if committed.exists() else None) == before


def test_suggestion_quality_quick_runs_and_scores_every_rule() -> None:
    """Without --out a quick run prints its report and leaves the committed results alone;
    the report states the settings it ran with."""
    committed = [BENCHMARKS / "results" / f"suggestion_quality.{ext}" for ext in ("md", "json")]
    before = [p.read_bytes() for p in committed]
    text = subprocess.run(
        [sys.executable, str(BENCHMARKS / "suggestion_quality.py"), "--quick", "--workers", "1"],
        check=True, capture_output=True, text=True, timeout=300,
    ).stdout
    assert "## Means over tasks" in text and "## Provenance" in text
    for rule in ("superconverge", "torch-lr-finder", "fastai valley", "fastai minimum/10",
                 "lightning"):
        assert f"| {rule} |" in text
    assert "1 worker process with 1 torch thread" in text
    assert ", 3 epochs," in text  # digits-mlp's 6 epochs at the quick run's scale of 0.5
    assert [p.read_bytes() for p in committed] == before


def test_data_loading_quick_runs_and_compares_with_the_peers() -> None:
    committed = BENCHMARKS / "results" / "data_loading.md"
    before = committed.read_bytes() if committed.exists() else None
    text = subprocess.run([sys.executable, str(BENCHMARKS / "data_loading.py"), "--quick"],
                          check=True, capture_output=True, text=True, timeout=300).stdout
    assert "wrote" not in text
    text = text[text.rindex("# Loading user data"):]
    assert "## Provenance" in text and "--quick" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 5, text  # the header and 2 CSV peers, 2 image folders
    for row in rows[1:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        s, p, ratio = float(cells[2]), float(cells[4]), float(cells[5])
        assert ratio > 0, row
        if p > 0.005:  # the ratio is of the unrounded times: within the rounding's reach
            assert (s - 0.005) / (p + 0.005) - 0.005 <= ratio <= (s + 0.005) / (p - 0.005) + 0.005
    assert (committed.read_bytes() if committed.exists() else None) == before
