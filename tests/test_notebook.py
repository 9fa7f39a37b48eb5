"""In a real Jupyter kernel: the range test's progress bar shows (a notebook's stderr is no
terminal, where tqdm would hide it), and a cell ending in the result shows its plot."""

from __future__ import annotations

import base64
import json
import sys

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

CELL = """
import torch
import superconverge as sc
from torch import nn

torch.manual_seed(0)
x = torch.randn(256, 10)
y = (x[:, :3].sum(1) > 0).long()
batches = [(x[i:i + 32], y[i:i + 32]) for i in range(0, 256, 32)]
model = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
res = sc.lr_range_test(model, optimizer, nn.CrossEntropyLoss(), batches,
                       start_lr=1e-4, end_lr=10, num_iter=20)
"""

INTERRUPTED = """
calls = []

def step_fn(model, batch):
    calls.append(1)
    if len(calls) == 12:  # as the kernel's interrupt would, in the 12th step
        raise KeyboardInterrupt
    return nn.functional.cross_entropy(model(batch[0]), batch[1])

sc.lr_range_test(model, optimizer, None, batches, start_lr=1e-4, end_lr=10, num_iter=20,
                 step_fn=step_fn)
"""

REDIRECTED = """
import contextlib, io

with contextlib.redirect_stderr(io.StringIO()) as caught:
    sc.lr_range_test(model, optimizer, nn.CrossEntropyLoss(), batches, start_lr=1e-4,
                     end_lr=10, num_iter=20)
print(repr(caught.getvalue()))
"""


def test_a_notebook_shows_the_progress_bar_and_the_plot(tmp_path, monkeypatch) -> None:
    # A kernel of this interpreter, whatever kernels the machine has installed.
    spec = tmp_path / "kernels" / "superconverge-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "superconverge test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in (
        CELL, "res", INTERRUPTED, "import sys; sys.last_value.partial_result", REDIRECTED)])
    nbclient.NotebookClient(nb, kernel_name="superconverge-test", timeout=120,
                            allow_errors=True).execute()

    run, shown, stopped, kept, redirected = nb.cells
    err = "".join(o.text for o in run.outputs if o.output_type == "stream" and o.name == "stderr")
    assert "\rLR range test:   0%" in err and "0/20 [" in err  # drawn, then redrawn by \r
    assert err.endswith("\n") and err.rstrip().split("\r")[-1].startswith("LR range test:")  # kept
    [result] = [o for o in shown.outputs if o.output_type == "execute_result"]
    assert result.data["text/plain"].startswith("RangeTestResult(")
    assert base64.b64decode(result.data["image/png"]).startswith(b"\x89PNG")
    # An interrupted test (the kernel's interrupt is a KeyboardInterrupt): the next cell finds
    # the curve measured so far, as docs/range_test.md says.
    [error] = [o for o in stopped.outputs if o.output_type == "error"]
    assert error.ename == "KeyboardInterrupt"
    if sys.version_info >= (3, 11):  # the exception's note, under the traceback
        assert "sys.last_value.partial_result" in error.traceback[-1]
    [partial] = [o for o in kept.outputs if o.output_type == "execute_result"]
    assert partial.data["text/plain"].startswith("RangeTestResult(interrupted after 11 of 20 steps")
    # stderr redirected by the cell (a log file, a StringIO): no bar in it, as in a script
    assert [o.text for o in redirected.outputs if o.output_type == "stream"] == ["''\n"]
