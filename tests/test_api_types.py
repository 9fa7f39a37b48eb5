"""The public API as a user who type-checks sees it, and what it refuses at runtime that its
annotations refuse (found by an audit of the typed API)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import superconverge as sc
from superconverge.data import image_shape, load_npz, make_loader
from superconverge.finder import RangeTestResult, plot_range_test
from superconverge.finder.suggest import curve_warnings, suggest, suggest_bounds
from superconverge.recipes import policy_from_range_test

USER_CODE = '''
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

import superconverge as sc
from superconverge.data import load_npz, train_val_loaders, load_dataset, train_val_split
from superconverge.recipes import find_lr, policy_from_range_test
from superconverge.finder.suggest import suggest, suggest_bounds, curve_warnings
from superconverge.report import render_policy


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.fc(x)
        return out

    def my_step(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return nn.functional.cross_entropy(self(batch[0]), batch[1])


def halve(cycle: int) -> float:
    return 0.5 ** (cycle - 1)


class MyPath(os.PathLike[str]):
    def __fspath__(self) -> str:
        return "data.npz"


def run() -> float | None:
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = sc.ParamScheduler(opt, lr=sc.one_cycle(0.1, 10),
                              momentum=sc.one_cycle_momentum(10))
    sched.step()
    lrs: list[float] = sched.get_last_lr()
    batches = [(torch.randn(4, 3), torch.tensor([0, 1, 0, 1]))] * 3
    res: sc.RangeTestResult = sc.lr_range_test(
        model, opt, None, batches, step_fn=lambda m, b: m.my_step(b), num_iter=5)
    top: float | None = res.bounds()[1]
    res.plot("x.png", method="valley", dpi=80)
    series = np.asarray(res.losses)
    suggest(np.asarray(res.lrs), series, "valley")
    suggest_bounds(np.asarray(res.lrs), series)
    curve_warnings(np.asarray(res.lrs), series, "completed")
    clr = sc.cyclic(0.1, 1.0, 10, scale_fn=halve, scale_mode="cycle")
    value: float = clr(np.int64(3))
    sc.cyclic(0.1, 1.0, 10, scale_fn="math:sqrt")
    clr.table(np.int64(4))
    train, val = train_val_loaders(load_dataset("digits"), batch_size=8)
    reveal_type(train)
    load_npz(MyPath())
    load_npz(Path("data.npz"))
    # (a bug bash: what the docs and code take and the annotations refused; a misspelt name
    # was an Any, unchecked: under --strict an ignore that ignores nothing is an error)
    sc.ParamScheduler(opt, lr=0.1, multipliers={"lr": np.geomspace(1, 0.01, 1)})
    sc.ParamScheduler(opt, lr=0.1, multipliers={"lr": torch.ones(1)})
    find_lr(dataset="synthetic", num_iter=10, device=torch.device("cpu"))
    train_val_split(["cat", "dog"] * 10)
    doubled: float = res.suggest().to_dict()["lr"] * 2
    sc.one_cylce(1.0, 10)  # type: ignore[attr-defined]
    # (a bug bash: numpy ints as a policy's steps were refused; torch's last_epoch set by hand,
    # always refused at run time, was not)
    policy = policy_from_range_test("one-cycle", res, total_steps=10)
    policy.table(np.int64(5))
    policy.columns(np.int64(5))
    render_policy(policy, np.int64(5))
    sched.last_epoch = 5  # type: ignore[assignment]
    return top + value + lrs[0] + doubled if top is not None else None
'''


@pytest.mark.skipif(shutil.which("mypy") is None and not (
    Path(sys.executable).parent / "mypy").exists(), reason="mypy is not installed")
def test_user_code_type_checks_against_the_api_under_mypy_strict(tmp_path) -> None:
    """Through `import superconverge as sc` every torch-facing name was Any (a lazy module
    __getattr__), so nothing a user wrote with them was checked; numpy arrays, a model's own
    method as step_fn, an int scale_fn or a "module:function" one, numpy ints as steps and
    os.PathLike paths were refused by the annotations while the code takes them."""
    user = tmp_path / "user.py"
    user.write_text(textwrap.dedent(USER_CODE))
    mypy = shutil.which("mypy") or str(Path(sys.executable).parent / "mypy")
    src = Path(__file__).resolve().parents[1] / "src"
    done = subprocess.run(
        [mypy, "--strict", "--no-incremental", "--follow-imports=silent", str(user)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(src)})
    lines = done.stdout.splitlines()
    errors = [line for line in lines if ": error:" in line]
    assert not errors, done.stdout
    # a loader says what its batches are (mypy before 1.20 spells the tuple builtins.tuple)
    assert any(re.search(r'Revealed type is "torch\.utils\.data\.dataloader\.DataLoader\['
                         r'(builtins\.)?tuple\[torch\._tensor\.Tensor, \.\.\.\]\]"', line)
               for line in lines), done.stdout


def test_the_lazy_names_are_in_all() -> None:
    from superconverge import _LAZY

    assert set(_LAZY) <= set(sc.__all__)
    for name in sc.__all__:
        assert getattr(sc, name) is not None


@pytest.mark.parametrize(("call", "name"), [
    (lambda: image_shape(32, grayscale="no"), "grayscale"),
    (lambda: make_loader(torch.zeros(4, 2), torch.zeros(4), 2, shuffle="no"), "shuffle"),
    (lambda: make_loader(torch.zeros(4, 2), torch.zeros(4), 2, pin_memory="no"), "pin_memory"),
    (lambda: make_loader(torch.zeros(4, 2), torch.zeros(4), 2, drop_last="no"), "drop_last"),
])
def test_a_flag_given_as_a_string_is_refused_not_taken_for_true(call, name) -> None:
    """"no" is true: grayscale="no" loaded grey images, shuffle="no" shuffled."""
    with pytest.raises(TypeError, match=f"{name} must be True or False, got 'no'"):
        call()


def test_a_strict_given_as_a_string_is_refused() -> None:
    opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    sched = sc.ParamScheduler(opt, lr=sc.one_cycle(0.1, 10))
    with pytest.raises(TypeError, match="strict must be True or False, got 'no'"):
        sched.load_state_dict(sched.state_dict(), strict="no")  # type: ignore[arg-type]


def test_file_loaders_refuse_a_name_or_header_of_the_wrong_type(tmp_path) -> None:
    np.savez(tmp_path / "d.npz", x=np.zeros((10, 2), np.float32), y=np.arange(10) % 2)
    with pytest.raises(TypeError, match="name must be a str or None, got 1"):
        load_npz(tmp_path / "d.npz", name=1)  # type: ignore[arg-type]
    from superconverge.data import load_csv

    (tmp_path / "d.csv").write_text("1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,1,0\n")
    with pytest.raises(TypeError, match="header must be True or False, got 'yes'"):
        load_csv(tmp_path / "d.csv", header="yes")  # type: ignore[arg-type]


def test_a_result_argument_that_is_no_result_is_named() -> None:
    """A path string for the result was an AttributeError from deep inside."""
    with pytest.raises(TypeError, match=r"result must be a RangeTestResult \(RangeTestResult"
                                        r"\.from_json\(path\) reads a saved one\), got str"):
        policy_from_range_test("one-cycle", "lr_find.json", 100)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="result must be a RangeTestResult"):
        plot_range_test("lr_find.json")  # type: ignore[arg-type]


def test_curve_warnings_refuses_an_unknown_stop_reason_or_mode() -> None:
    """A typo ("complete") changed the advice ("by the last finite point"), silently."""
    lrs = list(np.logspace(-5, 0, 50))
    losses = list(np.linspace(2.0, 1.0, 50))
    with pytest.raises(ValueError, match="stop_reason must be None or one of 'completed'"):
        curve_warnings(lrs, losses, "complete")
    with pytest.raises(ValueError, match="mode must be None, 'exp' or 'linear'; got 'nope'"):
        curve_warnings(lrs, losses, "completed", mode="nope")
    # numpy arrays are curves too
    assert suggest(np.asarray(lrs), np.asarray(losses)) == suggest(lrs, losses)
    assert suggest_bounds(np.asarray(lrs), np.asarray(losses)) == suggest_bounds(lrs, losses)


def test_plot_takes_only_plot_range_tests_options() -> None:
    """plot(**kwargs) let a typo through to a late TypeError; the options are named now."""
    res = RangeTestResult(list(np.logspace(-5, 0, 20)), [1.0] * 20, [1.0] * 20, "completed",
                          num_iter=20)
    with pytest.raises(TypeError, match="methd"):
        res.plot(methd="valley")  # type: ignore[call-arg]
    assert res.plot(method="valley", show_raw=False) is not None


def test_a_policys_steps_take_what_their_annotation_does() -> None:
    """A review: typed SupportsIndex (numpy ints, a bug bash), a policy's steps refused a 0-d
    tensor at run time, which Schedule.table takes; bools and floats stay refused."""
    from superconverge.report import render_policy
    from superconverge.schedules.policy import make_policy

    policy = make_policy("one-cycle", 10, max_lr=1.0)
    assert len(policy.table(torch.tensor(3))) == 3 == len(policy.columns(np.int64(3))[0])
    assert render_policy(policy, torch.tensor(2)).count("\n") == 3
    for bad in (True, 2.5):
        with pytest.raises(TypeError, match="steps must be an int"):
            policy.table(bad)  # type: ignore[arg-type]


def test_numpy_bools_pass_as_flags_and_text_is_no_number() -> None:
    opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    sched = sc.ParamScheduler(opt, lr=sc.one_cycle(0.1, 10))
    sched.load_state_dict(sched.state_dict(), strict=np.True_)  # type: ignore[arg-type]
    from superconverge.report import ascii_chart

    with pytest.raises(TypeError, match="values must be numbers: got '1'"):
        ascii_chart(["1", "2"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="values must be numbers: iteration over a 0-d array"):
        ascii_chart(np.array(1.0))  # type: ignore[arg-type]


def _public_names() -> list[tuple[str, object]]:
    import importlib

    seen: list[tuple[str, object]] = []
    for module_name in ("superconverge", "superconverge.schedules", "superconverge.torch",
                        "superconverge.finder", "superconverge.data", "superconverge.models",
                        "superconverge.recipes", "superconverge.report"):
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            seen.append((f"{module_name}.{name}", getattr(module, name)))
    return seen


def test_every_public_function_class_and_method_has_a_docstring() -> None:
    """An audit found Join.total_steps, Curve.to_dict and Suggestion.to_dict undocumented;
    a docstring inherited from a base class counts (it is what help() shows)."""
    import inspect

    missing = []
    for qualname, obj in _public_names():
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        if not inspect.getdoc(obj):
            missing.append(qualname)
        if inspect.isclass(obj) and obj.__module__.startswith("superconverge"):
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if isinstance(member, property):
                    documented = inspect.getdoc(member)
                elif inspect.isfunction(getattr(member, "__func__", member)):
                    documented = inspect.getdoc(getattr(obj, attr))  # (inherited too)
                else:
                    continue
                if not documented:
                    missing.append(f"{qualname}.{attr}")
    assert not missing, missing
