"""`superconverge find-lr` on built-in and user data: real (small) range tests, files written."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from superconverge.cli import main
from superconverge.finder import RangeTestResult


def test_find_lr_on_builtin_digits_writes_json_and_png(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["-q", "find-lr", "--dataset", "digits", "--model", "mlp", "--num-iter", "60",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "suggested lr (default):" in text
    doc = json.loads((out / "lr_find.json").read_text())
    assert len(doc["lrs"]) == len(doc["losses"]) > 10
    assert doc["suggestion"]["lr"] is not None
    assert doc["config"]["model"] == "mlp" and doc["config"]["dataset"] == "digits"
    assert set(doc["suggestions"]) >= {"default", "steepest", "minimum", "valley"}
    res = RangeTestResult.from_json(out / "lr_find.json")
    assert res.suggestion() == pytest.approx(doc["suggestion"]["lr"])
    assert (out / "lr_find.png").read_bytes()[:4] == b"\x89PNG"


def test_find_lr_on_user_npz(tmp_path, capsys) -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    x = rng.normal(size=(300, 5)).astype(np.float32) + y[:, None]
    np.savez(tmp_path / "mine.npz", x=x, y=y)
    out = tmp_path / "run"
    assert main(["-q", "find-lr", "--data", str(tmp_path / "mine.npz"), "--optimizer", "adam",
                 "--num-iter", "40", "--batch-size", "32", "--out", str(out)]) == 0
    doc = json.loads((out / "lr_find.json").read_text())
    assert doc["config"]["optimizer"] == "Adam"
    assert doc["config"]["model"] == "mlp"  # chosen from the flat input shape


def test_mixed_precision_runs_on_cpu(tmp_path, capsys) -> None:
    for amp in ("bf16", "fp16"):
        out = tmp_path / amp
        assert main(["-q", "find-lr", "--model", "mlp", "--num-iter", "30", "--amp", amp,
                     "--device", "cpu", "--out", str(out)]) == 0
        doc = json.loads((out / "lr_find.json").read_text())
        assert doc["config"]["amp"] == amp and doc["config"]["device"] == "cpu"
        assert doc["config"]["grad_scaler"] is (amp == "fp16")


def test_corrupt_npz_is_a_clear_error_and_nothing_is_written(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exc:
        main(["-q", "find-lr", "--data", str(bad), "--out", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "bad.npz" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--start-lr", "1", "--end-lr", "0.1"], "end_lr must be > start_lr"),
        (["--num-iter", "2"], "num_iter must be >= 5"),
        (["--batch-size", "0"], "batch_size must be >= 1"),
        (["--data", "nowhere.npz"], "no such file"),
        (["--device", "tpu9"], "device='tpu9' is not a device torch knows"),
        (["--amp", "fp8"], "invalid choice"),
    ],
)
def test_bad_arguments(tmp_path, capsys, argv, message) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["-q", "find-lr", "--out", str(tmp_path / "o"), *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_ctrl_c_keeps_the_curve_measured_so_far(tmp_path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "superconverge.cli", "-v", "find-lr", "--model", "mlp",
         "--num-iter", "1000000", "--end-lr", "1e-3", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.stderr is not None
    seen = []
    while not (seen and seen[-1].startswith("range test:")):  # logged just before the sweep
        line = proc.stderr.readline()
        assert line, f"find-lr ended before its sweep: {''.join(seen)}"
        seen.append(line)
    time.sleep(2)  # well into the sweep
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "curve measured so far" in err
    res = RangeTestResult.from_json(out / "lr_find.json")
    assert res.stop_reason == "interrupted" and len(res.lrs) > 10
    assert (out / "lr_find.png").exists()


def test_default_steps_follow_the_model(tmp_path) -> None:
    from superconverge.models import model_names
    from superconverge.recipes.find_lr import range_steps

    assert range_steps("mlp") == range_steps("cnn") == range_steps("cnn1d") == 100
    assert range_steps("resnet20") == 300 and range_steps("resnet56") == 600
    assert all(range_steps(m) >= 100 for m in model_names())
    # Without --num-iter the sweep takes the model's default (the mlp's 100 steps here).
    assert main(["-q", "find-lr", "--model", "mlp", "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "lr_find.json").read_text())["num_iter"] == 100


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop"])
def test_make_optimizer_by_name(name: str) -> None:
    from superconverge.recipes import make_optimizer
    from superconverge.recipes.common import FUSED_OPTIMIZERS

    params = [torch.nn.Parameter(torch.zeros(3))]
    opt = make_optimizer(name, params, 0.1, momentum=0.8, weight_decay=1e-4)
    group = opt.param_groups[0]
    assert group["lr"] == 0.1 and group["weight_decay"] == 1e-4
    assert (group["betas"][0] if "betas" in group else group["momentum"]) == 0.8
    assert not group.get("fused")
    if name in FUSED_OPTIMIZERS:
        assert make_optimizer(name, params, 0.1, fused=True).param_groups[0]["fused"] is True
    else:
        with pytest.raises(ValueError, match="torch has no fused rmsprop"):
            make_optimizer(name, params, 0.1, fused=True)
    with pytest.raises(TypeError, match="fused must be True or False"):
        make_optimizer(name, params, 0.1, fused="yes")  # type: ignore[arg-type]


def test_find_lr_records_whether_the_step_was_fused(tmp_path) -> None:
    """Fused on CUDA only (where it keeps an fp16 sweep free of host syncs)."""
    from superconverge.recipes.find_lr import find_lr

    res = find_lr(dataset="digits", num_iter=20, device="cpu", out=tmp_path, progress=False)
    assert res.config["fused"] is False and res.config["device"] == "cpu"
