"""tests/test_cuda.py runs for real only where a session has a GPU, which can be months apart:
CI runs the part of it that does not need CUDA's own machinery on the CPU
(``SUPERCONVERGE_CUDA_TESTS_DEVICE=cpu``), so the GPU tests cannot rot unseen in between."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="with CUDA, test_cuda.py runs for real")
def test_the_cuda_tests_pass_on_the_cpu() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "cuda",
         "tests/test_cuda.py"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "SUPERCONVERGE_CUDA_TESTS_DEVICE": "cpu"},
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
