"""The benchmarks run from one command: a smoke test of each, on tiny settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run_quick(script: str, out: Path, timeout: int) -> str:
    """``python benchmarks/<script> --quick --out <out>``; the markdown it wrote."""
    subprocess.run([sys.executable, str(BENCHMARKS / script), "--quick", "--out", str(out)],
                   check=True, capture_output=True, text=True, timeout=timeout)
    return out.read_text(encoding="utf-8")


def test_range_test_speed_quick_runs_and_curves_agree(tmp_path: Path) -> None:
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


def test_suggestion_quality_quick_runs_and_scores_every_rule(tmp_path: Path) -> None:
    out = tmp_path / "suggestion_quality.md"
    text = run_quick("suggestion_quality.py", out, timeout=300)
    assert "## Means over tasks" in text and "## Provenance" in text
    for rule in ("superconverge", "torch-lr-finder", "fastai valley", "fastai minimum/10",
                 "lightning"):
        assert f"| {rule} |" in text
    assert out.with_suffix(".json").exists()
