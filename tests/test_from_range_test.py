"""From a range test to a training policy, in the library and in `superconverge schedule`."""

from __future__ import annotations

import dataclasses
import json
import re
import warnings
from typing import Any

import numpy as np
import pytest

from superconverge.cli import main
from superconverge.finder import RangeTestResult
from superconverge.recipes import policy_from_range_test


def result(losses: np.ndarray) -> RangeTestResult:
    lrs = np.logspace(-7, 1, len(losses))
    return RangeTestResult(lrs=tuple(lrs), losses=tuple(losses), smoothed=tuple(losses),
                           stop_reason="diverged", num_iter=len(losses))


_T = np.linspace(-7, 1, 100)  # log10 of the LRs
VALLEY = result(2.3 - 2.0 / (1 + np.exp(-2.0 * (_T + 3)))
                + np.where(_T > -1, 5.0 * (_T + 1) ** 2, 0))


def test_each_policy_takes_the_pick_that_fits_it() -> None:
    base, top = VALLEY.bounds()
    fixed = policy_from_range_test("fixed", VALLEY, 100)
    assert fixed.lr(0) == fixed.lr(99) == VALLEY.suggestion()
    one = policy_from_range_test("one-cycle", VALLEY, 100)
    assert one.lr.max_lr == top and one.momentum is not None
    clr = policy_from_range_test("clr", VALLEY, 100, step_size=10)
    assert clr.lr(0) == pytest.approx(base) and clr.lr(10) == pytest.approx(top)
    assert policy_from_range_test("one-cycle", VALLEY, 100, max_lr=0.5).lr.max_lr == 0.5


def test_a_flat_curve_gives_a_clear_error() -> None:
    with pytest.raises(ValueError, match="suggests no LR: the loss never decreased"):
        policy_from_range_test("fixed", result(np.full(100, 2.3)), 100)
    with pytest.raises(ValueError, match="no LR bounds"):
        policy_from_range_test("one-cycle", result(np.full(100, 2.3)), 100)
    with pytest.raises(ValueError, match="policy must be one of"):
        policy_from_range_test("superconvergence", VALLEY, 100)


def test_a_sweep_cut_short_before_a_pick_is_told_to_run_to_its_end(tmp_path, capsys) -> None:
    """Ctrl-C at lr=1e-4 of a sweep to end_lr=10: the error repeated the rule's "raise end_lr
    ... or the model may already be trained", read off the flat part it had reached."""
    lrs = np.logspace(-7, -4, 30)
    cut = RangeTestResult(lrs=tuple(lrs), losses=(2.3,) * 30, smoothed=(2.3,) * 30,
                          stop_reason="interrupted", num_iter=100,
                          config={"start_lr": 1e-7, "end_lr": 10.0, "mode": "exp"})
    said = ("the sweep was cut short (interrupted after 30 of 100 steps) at an LR of 0.0001, "
            "before its curve gave one: run it to its end; or give ")
    with pytest.raises(ValueError) as caught:
        policy_from_range_test("fixed", cut, 100)
    assert str(caught.value) == "the range test suggests no LR: " + said + "lr yourself"
    with pytest.raises(ValueError) as caught:
        policy_from_range_test("clr", cut, 100)
    assert str(caught.value) == "the range test gives no LR bounds: " + said + (
        "base_lr and max_lr yourself")
    cut.to_json(tmp_path / "lr_find.partial.json")
    with pytest.raises(SystemExit):
        main(["schedule", "one-cycle", "--from-lr-find", str(tmp_path / "lr_find.partial.json"),
              "--steps", "3"])
    err = capsys.readouterr().err
    assert err.endswith("at an LR of 0.0001, before its curve gave one: run it to its end; or "
                        "give --max-lr yourself\n") and "raise end_lr" not in err


def test_lrs_given_win_even_over_a_curve_without_a_pick(tmp_path, capsys) -> None:
    """"Explicit LR options still win": a curve with no pick serves a policy whose LRs the
    user gave, and one LR given of clr's two takes only the other from the curve."""
    flat = result(np.full(100, 2.3))
    assert policy_from_range_test("one-cycle", flat, 100, max_lr=0.5).lr.max_lr == 0.5
    assert policy_from_range_test("fixed", flat, 100, lr=0.1).lr(50) == 0.1
    clr = policy_from_range_test("clr", flat, 100, base_lr=0.01, max_lr=0.1, step_size=10)
    assert clr.lr(10) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="no LR bounds"):  # base_lr still from the curve
        policy_from_range_test("clr", flat, 100, max_lr=0.1, step_size=10)
    base, _ = VALLEY.bounds()
    clr = policy_from_range_test("clr", VALLEY, 100, max_lr=0.9, step_size=10)
    assert clr.lr(0) == pytest.approx(base) and clr.lr(10) == pytest.approx(0.9)
    flat.to_json(tmp_path / "flat.json")
    assert main(["schedule", "one-cycle", "--steps", "4", "--max-lr", "0.5", "--format", "json",
                 "--from-lr-find", str(tmp_path / "flat.json")]) == 0
    assert json.loads(capsys.readouterr().out)["lr_schedule"]["max_lr"] == 0.5


def test_lrs_from_range_test_checks_the_policy_and_method() -> None:
    from superconverge.recipes import lrs_from_range_test

    assert lrs_from_range_test("one-cycle", VALLEY) == {"max_lr": VALLEY.bounds()[1]}
    with pytest.raises(ValueError, match="policy must be one of"):
        lrs_from_range_test("no-such-policy", VALLEY)
    with pytest.raises(ValueError, match="method='valley' picks the suggested LR"):
        lrs_from_range_test("one-cycle", VALLEY, method="valley")
    with pytest.raises(ValueError, match="method must be one of"):
        lrs_from_range_test("fixed", VALLEY, method="bogus")


def test_schedule_command_reads_lr_find_json(tmp_path, capsys) -> None:
    VALLEY.to_json(tmp_path / "lr_find.json")
    assert main(["schedule", "one-cycle", "--steps", "101", "--format", "json",
                 "--from-lr-find", str(tmp_path / "lr_find.json")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["lr_schedule"]["max_lr"] == VALLEY.bounds()[1]


def test_schedule_command_names_a_flag_the_policy_does_not_take_before_reading_the_curve(
        tmp_path, capsys) -> None:
    """A review: on a curve without a pick, --max-lr to fixed was answered "the range test
    suggests no LR ... or give --lr yourself", and --high-momentum to clr "gives no LR bounds"."""
    result(np.full(100, 2.3)).to_json(tmp_path / "flat.json")
    for argv, said in (
            (["fixed", "--max-lr", "0.5"], "policy 'fixed' does not take --max-lr; it takes "),
            (["clr", "--high-momentum", "0.9"], "policy 'clr' leaves momentum out")):
        with pytest.raises(SystemExit) as exc:
            main(["schedule", *argv, "--steps", "10", "--from-lr-find",
                  str(tmp_path / "flat.json")])
        assert exc.value.code == 2
        assert said in capsys.readouterr().err


def test_schedule_command_from_lr_find_refuses_momentum_flags_for_fixed(tmp_path, capsys) -> None:
    VALLEY.to_json(tmp_path / "lr_find.json")
    with pytest.raises(SystemExit) as exc:
        main(["schedule", "fixed", "--steps", "10", "--cycle-momentum",
              "--from-lr-find", str(tmp_path / "lr_find.json")])
    assert exc.value.code == 2
    assert "policy 'fixed' does not take --cycle-momentum/--no-momentum" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["one-cycle", "one-cycle-two-phase", "clr"])
def test_a_rule_for_a_policy_that_takes_the_bounds_is_refused(name: str) -> None:
    """The bounds depend on no rule: --method used to be accepted and change nothing."""
    with pytest.raises(ValueError, match=rf"method='minimum' picks the suggested LR, which "
                                         rf"'{name}' does not use"):
        policy_from_range_test(name, VALLEY, 100, method="minimum")
    steepest = policy_from_range_test("fixed", VALLEY, 100, method="steepest")
    minimum = policy_from_range_test("fixed", VALLEY, 100, method="minimum")
    assert steepest.lr(0) != minimum.lr(0)  # where a rule is used, it matters


def test_the_schedule_command_names_method_as_its_flag(tmp_path, capsys) -> None:
    VALLEY.to_json(tmp_path / "lr_find.json")
    with pytest.raises(SystemExit):
        main(["schedule", "one-cycle", "--steps", "10", "--method", "minimum",
              "--from-lr-find", str(tmp_path / "lr_find.json")])
    assert capsys.readouterr().err == (
        "superconverge schedule: error: --method='minimum' picks the suggested LR, which "
        "'one-cycle' does not use: it takes the range test's bounds, which no rule changes; "
        "--method applies to fixed, step-decay, cosine\n")


@pytest.mark.parametrize(("kind", "given"), [("fixed", ["--lr", "0.1"]),
                                             ("cosine", ["--max-lr", "0.3"])])
def test_a_method_whose_pick_is_given_is_refused_not_ignored(
        tmp_path, capsys, kind: str, given: list[str]) -> None:
    """--method picks the LR that --lr (--max-lr) gives: one of the two would be ignored."""
    VALLEY.to_json(tmp_path / "lr_find.json")
    with pytest.raises(SystemExit) as exc:
        main(["schedule", kind, "--steps", "10", *given, "--method", "valley",
              "--from-lr-find", str(tmp_path / "lr_find.json")])
    assert exc.value.code == 2
    assert capsys.readouterr().err == (
        f"superconverge schedule: error: --method='valley' picks {given[0]} from the range "
        f"test, but {given[0]}={float(given[1])!r} is given, which wins; drop one of them\n")
    # without --method the given LR wins, as documented
    assert main(["schedule", kind, "--steps", "10", *given,
                 "--from-lr-find", str(tmp_path / "lr_find.json")]) == 0


def test_one_clr_bound_given_on_the_wrong_side_of_the_picked_one_says_which(
        tmp_path, capsys) -> None:
    """A --max-lr below the curve's base_lr was told to "swap them, or run a range test to find
    both": the user had run one and had one bound only. And a curve with no pick names the LR
    to give instead, in flags on the command line."""
    base, top = VALLEY.bounds()
    assert base is not None and top is not None
    with pytest.raises(ValueError, match=r"the range test's lower bound .* is above the given "
                       r"max_lr=1e-06; give both bounds, or neither"):
        policy_from_range_test("clr", VALLEY, 100, max_lr=1e-6, step_size=10)
    with pytest.raises(ValueError, match=r"the range test's upper bound .* is below the given "
                       r"base_lr=50.0; give both bounds"):
        policy_from_range_test("clr", VALLEY, 100, base_lr=50.0, step_size=10)
    flat = result(np.full(100, 2.3))
    with pytest.raises(ValueError, match=r"raise end_lr if it stayed flat .*; or give lr "
                       r"yourself$"):
        policy_from_range_test("fixed", flat, 100)
    with pytest.raises(ValueError, match=r"; or give base_lr and max_lr yourself$"):
        policy_from_range_test("clr", flat, 100, step_size=10)
    VALLEY.to_json(tmp_path / "v.json")
    flat.to_json(tmp_path / "flat.json")
    for argv, said in (
        (["clr", "--from-lr-find", str(tmp_path / "v.json"), "--max-lr", "1e-6"],
         "error: the range test's lower bound"),
        (["one-cycle", "--from-lr-find", str(tmp_path / "flat.json")],
         "; or give --max-lr yourself"),
    ):
        with pytest.raises(SystemExit):
            main(["schedule", *argv, "--steps", "10"])
        assert said in capsys.readouterr().err


def test_a_given_clr_bound_that_is_no_number_is_refused_by_name() -> None:
    """The order check between a given bound and the picked one ran before validation: a string
    max_lr was Python's "'>' not supported", not "max_lr must be a real number"."""
    for bad in ("0.1", None):
        with pytest.raises(TypeError, match=r"max_lr must be a real number"):
            policy_from_range_test("clr", VALLEY, 100, max_lr=bad, step_size=10)


def test_a_policy_from_a_warned_curve_says_so_and_one_from_given_lrs_does_not() -> None:
    """A curve that never diverged gives a max_lr at the sweep's end, which its warning calls
    arbitrary: a Python user who builds a 1cycle from it is told, as the CLI tells its user.
    Where every LR is given, the curve is not read, and there is nothing to warn of."""
    t = np.linspace(-7, 1, 100)
    floor = RangeTestResult(lrs=tuple(10 ** t), losses=tuple(2.3 - 2 / (1 + np.exp(-2 * (t + 3)))),
                            smoothed=(0.0,) * 100, stop_reason="completed", num_iter=100)
    (said,) = floor.warnings()
    with pytest.warns(UserWarning) as caught:
        policy = policy_from_range_test("one-cycle", floor, 100)
    assert policy.lr.max_lr == floor.bounds()[1]
    (w,) = caught
    top = floor.bounds()[1]
    assert str(w.message) == f"one-cycle policy from a range test (max_lr={top:.4g}): {said}"
    assert w.filename == __file__  # pointing at the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        policy_from_range_test("one-cycle", floor, 100, max_lr=0.5)
        policy_from_range_test("fixed", VALLEY, 100)  # a clean curve: no warning
        # A bad value is the error, also where warnings are errors (a review: the curve's
        # warning was raised in its place)
        with pytest.raises(ValueError, match="total_steps"):
            policy_from_range_test("one-cycle", floor, 0)
    # every warning of the curve, each once: one begun inside the descent, ending on a floor
    both = RangeTestResult(lrs=tuple(10 ** t), losses=tuple(2.3 - 2 / (1 + np.exp(-2 * (t + 6.5)))),
                           smoothed=(0.0,) * 100, stop_reason="completed", num_iter=100)
    assert len(both.warnings()) == 2
    with pytest.warns(UserWarning) as caught:
        policy_from_range_test("clr", both, 100, step_size=10)
    assert [str(w.message).split("): ", 1)[1] for w in caught] == both.warnings()


def test_a_minimum_pick_below_the_sweep_is_warned_where_it_is_used(tmp_path, capsys) -> None:
    """A review: on a narrow sweep whose minimum lies in its first decade, ``minimum``'s pick
    (a tenth of it) lay below the swept range, said only in its reason: no warning, a solid
    dot on the plot, and a policy built on it without a word."""
    lrs = np.geomspace(0.01, 0.2, 100)
    t = np.log10(lrs)
    losses = 2.0 - 1 / (1 + np.exp(-25 * (t + 1.35))) + np.where(t > -1.1, 40 * (t + 1.1) ** 2, 0)
    curve = RangeTestResult(lrs=tuple(lrs), losses=tuple(losses), smoothed=tuple(losses),
                            stop_reason="diverged", num_iter=100,
                            config={"start_lr": 0.01, "end_lr": 0.2, "mode": "exp"})
    pick = curve.suggestion("minimum")
    assert pick is not None and pick < lrs[0]
    said = (f"the minimum pick, lr={pick:.3g}, lies below the swept range (from 0.01): an "
            "extrapolation; lower start_lr to see the curve there")
    assert curve.warnings() == [] and curve.warnings("minimum") == [said]
    assert curve.warnings("minimum", pick=False) == []
    with pytest.warns(UserWarning, match=re.escape(f"(lr={pick:.4g}): {said}")):
        policy_from_range_test("fixed", curve, 100, method="minimum")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        policy_from_range_test("fixed", curve, 100)  # the default pick lies in the sweep
        policy_from_range_test("one-cycle", curve, 100)  # the bounds: the pick is not read
    ax = curve.plot(tmp_path / "c.png", method="minimum")
    (dot,) = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert dot.get_markerfacecolor() == "white"  # drawn as uncertain
    (span,) = ax.patches  # the bounds lie in the sweep: not hatched (a review)
    assert not span.get_hatch() and "uncertain" not in span.get_label()
    # find-lr's report warns of the pick, and still names the one-cycle, which reads the bounds
    from argparse import Namespace

    from superconverge.cli import _find_lr_report

    args = Namespace(method="minimum", repeats=1, out=str(tmp_path), flag_names={})
    lines = _find_lr_report(curve, args)
    assert any(said in line for line in lines) and any("schedule one-cycle" in line
                                                       for line in lines), lines
    (offered,) = [line for line in lines if "any other policy" in line]
    assert "clr" in offered and not any(n in offered for n in ("fixed", "step-decay", "cosine"))
    saved = tmp_path / "lr_find.json"
    dataclasses.replace(curve, config={**curve.config, "method": "minimum"}).to_json(saved)
    main(["schedule", "fixed", "--from-lr-find", str(saved), "--steps", "10"])
    assert f"warning: {said}" in capsys.readouterr().err
    main(["schedule", "one-cycle", "--from-lr-find", str(saved), "--steps", "10"])
    assert "below the swept range" not in capsys.readouterr().err


def test_a_misspelt_parameter_is_named_before_the_curve_is_read() -> None:
    """A review: on a curve without a pick, max_Lr=0.5 was answered "the range test gives no
    LR bounds ... or give max_lr yourself", which the user believed they had done."""
    flat = result(np.full(100, 2.3))
    with pytest.raises(ValueError, match=r"policy 'one-cycle' does not take max_Lr; it takes "):
        policy_from_range_test("one-cycle", flat, 100, max_Lr=0.5)
    with pytest.raises(ValueError, match="leaves momentum out"):  # clr's momentum is off
        policy_from_range_test("clr", flat, 100, high_momentum=0.9)


def test_a_policy_cycling_momentum_above_the_tests_is_warned_of() -> None:
    """A bug bash: a range test at momentum 0 gave a 1cycle cycling momentum 0.95 to 0.85 a
    max_lr 6.7x the step it measured (heavy-ball momentum scales the step by ~1/(1 - m)): the
    loss reached 290, unwarned. The test records the momentum it ran at (SGD's, RMSprop's;
    not Adam's betas, which do not scale the step, nor a dampened one)."""
    import torch

    from superconverge.finder import lr_range_test

    model = torch.nn.Linear(4, 2)
    pairs = [(torch.randn(8, 4), torch.randint(0, 2, (8,))) for _ in range(3)]
    ce = torch.nn.functional.cross_entropy
    for opt, recorded in ((torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), 0.9),
                          (torch.optim.SGD(model.parameters(), lr=0.1), 0.0),
                          (torch.optim.RMSprop(model.parameters(), momentum=0.5), 0.5),
                          (torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9,
                                           dampening=0.9), None),
                          (torch.optim.Adam(model.parameters()), None)):
        res = lr_range_test(model, opt, ce, pairs, 1e-4, 1.0, num_iter=6, progress=False)
        assert res.config["heavy_ball_momentum"] == recorded, opt

    class Signum(torch.optim.Optimizer):  # (reviews: a momentum under a sign update, or a
        # Muon's, does not scale the steps; a LARS's, an SGD's subclass, does)
        def __init__(self, params: Any) -> None:
            super().__init__(params, {"lr": 0.1, "momentum": 0.5})

        @torch.no_grad()
        def step(self, closure: Any = None) -> None:
            for g in self.param_groups:
                for p in g["params"]:
                    if p.grad is not None:
                        p.add_(p.grad.sign(), alpha=-g["lr"])

    class LARS(torch.optim.SGD):
        pass

    for opt, recorded in ((Signum(model.parameters()), None),
                          (LARS(model.parameters(), lr=0.1, momentum=0.5), 0.5)):
        res = lr_range_test(model, opt, ce, pairs, 1e-4, 1.0, num_iter=6, progress=False)
        assert res.config["heavy_ball_momentum"] == recorded, opt
    at_0 = dataclasses.replace(VALLEY, config={"heavy_ball_momentum": 0.0})
    with pytest.warns(UserWarning, match=r"one-cycle policy from a range test \(max_lr=.*\): the "
                      r"range test ran at momentum 0, and this policy's momentum falls to 0.85 "
                      r"\(where its LR peaks\): .* 6.7x more there than in the test"):
        policy_from_range_test("one-cycle", at_0, 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for config in ({"heavy_ball_momentum": 0.9}, {"heavy_ball_momentum": None}, {}):
            policy_from_range_test("one-cycle", dataclasses.replace(VALLEY, config=config), 1000)
        policy_from_range_test("one-cycle", at_0, 1000, cycle_momentum=False)
        policy_from_range_test("one-cycle", at_0, 1000, max_lr=0.1)  # (no LR read off it)
        policy_from_range_test("fixed", at_0, 1000)  # (no momentum schedule)
    from superconverge.recipes import momentum_note
    from superconverge.schedules import make_policy

    # (a bug bash: a CLR of 1e6 steps whose cycle divided the stride of the steps looked at,
    # 500, was read at its top alone, 0.95, and warned of against a test at its trough's 0.85)
    at_85 = dataclasses.replace(VALLEY, config={"heavy_ball_momentum": 0.85})
    # (and a sawtooth's, step_size_down=0, whose trough is the step before a cycle's end)
    for step_size, down in ((250, None), (251, None), (300_000, None), (5000, 0)):
        policy = make_policy("clr", 1_000_000, base_lr=0.01, max_lr=0.1, step_size=step_size,
                             step_size_down=down, cycle_momentum=True)
        assert momentum_note(at_85, policy) is None, step_size
        assert "falls to 0.85" in (momentum_note(at_0, policy) or ""), step_size

    with pytest.raises(TypeError, match="result must be a RangeTestResult"):
        momentum_note(at_0.to_dict(), make_policy("one-cycle", 100))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="policy must be a Policy"):
        momentum_note(at_0, "one-cycle")  # type: ignore[arg-type]
