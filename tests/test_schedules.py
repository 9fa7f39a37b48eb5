"""Pure schedule math: golden tables, invariants (hypothesis), serialisation, validation."""

from __future__ import annotations

import itertools
import json
import math
import pickle
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import superconverge.schedules as S
from superconverge.schedules import Schedule

lrs = st.floats(1e-6, 10.0)
steps = st.integers(3, 400)


def approx(x: float) -> object:
    return pytest.approx(x, rel=1e-12, abs=1e-15)


def halving(cycle: float) -> float:  # module-level so it pickles and serialises
    return 0.5 ** (cycle - 1)


# --- golden tables: step 0, each boundary, the last step, past the end -------------------------


def test_one_cycle_golden_table() -> None:
    # T=100, a=0.1: peak at step 0.45*100-1 = 44, lower again at 88, final at 99.
    s = S.one_cycle(1.0, 100)
    assert s(0) == approx(0.1)
    assert s(22) == approx(0.1 + 0.9 * 22 / 44)
    assert s(44) == approx(1.0)
    assert s(66) == approx(1.0 - 0.9 * 22 / 44)
    assert s(88) == approx(0.1)
    assert s(99) == approx(0.001)
    assert s(100) == s(99) == s(10**9)


def test_one_cycle_momentum_golden_table() -> None:
    m = S.one_cycle_momentum(100)
    assert [m(i) for i in (0, 44, 88, 95, 99, 500)] == [
        approx(0.95), approx(0.85), approx(0.95), approx(0.95), approx(0.95), approx(0.95)
    ]


def test_two_phase_cosine_golden_table() -> None:
    s = S.one_cycle_two_phase(2.5, 10, warmup_fraction=0.3)  # peak at step 2, final at 9
    assert s(0) == approx(0.1)
    assert s(1) == approx(0.1 + (2.5 - 0.1) / 2)  # cosine half-way is the mean
    assert s(2) == approx(2.5)
    assert s(9) == approx(0.1 / 1e4)


def test_cyclic_golden_table() -> None:
    c = S.cyclic(1.0, 3.0, step_size=2)
    assert [c(i) for i in range(9)] == [1, 2, 3, 2, 1, 2, 3, 2, 1]
    c2 = S.cyclic(1.0, 3.0, step_size=2, mode="triangular2")
    assert [c2(i) for i in (2, 6, 10)] == [3.0, 2.0, 1.5]
    asym = S.cyclic(0.0 + 1.0, 4.0, step_size=3, step_size_down=1)
    assert [asym(i) for i in range(5)] == [approx(1), approx(2), approx(3), approx(4), approx(1)]


def test_ramps_golden() -> None:
    assert S.exponential(1e-7, 10, 9).table() == [
        (i, approx(10.0 ** (-7 + i))) for i in range(9)
    ]
    assert S.linear(0, 1, 5)(2) == 0.5
    assert S.cosine(1, 0, 3)(1) == approx(0.5)
    assert S.linear(3, 7, 1)(0) == 7.0


def test_step_decay_matches_multistep_semantics() -> None:
    d = S.step_decay(1.0, [3, 5], factor=0.1)
    expected = [1, 1, 1, approx(0.1), approx(0.1), approx(0.01), approx(0.01)]
    assert [d(i) for i in range(7)] == expected


def test_warmup_is_continuous_and_strictly_rising() -> None:
    w = S.warmup(S.one_cycle(1.0, 50), 10, start=0.0)
    vals = [w(i) for i in range(12)]
    assert vals[0] == 0.0
    assert all(b > a for a, b in itertools.pairwise(vals[:11]))
    assert w(10) == S.one_cycle(1.0, 50)(0)
    assert w.total_steps == 60


# --- invariants ---------------------------------------------------------------------------------


@given(max_lr=lrs, total=st.integers(30, 2000), div=st.floats(1, 50), final_div=st.floats(1, 1e4),
       a=st.floats(0, 0.5), anneal=st.sampled_from(["linear", "cos"]))
def test_one_cycle_bounds_and_phase_monotonicity(max_lr, total, div, final_div, a, anneal) -> None:
    s = S.one_cycle(max_lr, total, div=div, final_div=final_div, annihilation_fraction=a,
                    anneal=anneal)
    vals = [s(i) for i in range(total)]
    tol = 1e-12 * max_lr
    assert all(s.final - tol <= x <= max_lr + tol for x in vals)
    peak = math.floor((1 - a) / 2 * total - 1)
    low = math.floor((1 - a) * total - 2)
    assert all(y >= x - tol for x, y in itertools.pairwise(vals[: peak + 1]))
    assert all(y <= x + tol for x, y in zip(vals[peak + 1 : low], vals[peak + 2 : low + 1],
                                            strict=True))
    assert all(y <= x + tol for x, y in zip(vals[low + 1 :], vals[low + 2 :], strict=False))
    assert vals[-1] == pytest.approx(s.final, rel=1e-9)
    assert s(total + 5) == vals[-1]


@given(total=st.integers(30, 2000), a=st.floats(0, 0.5))
def test_one_cycle_momentum_mirrors_lr(total, a) -> None:
    lr = S.one_cycle(1.0, total, annihilation_fraction=a)
    mom = S.one_cycle_momentum(total, annihilation_fraction=a)
    for i in range(0, total, max(1, total // 50)):
        # the momentum falls exactly as the lr rises during the cycle
        if lr(i) >= lr.lower:
            frac = (lr(i) - lr.lower) / (lr.max_lr - lr.lower)
            assert mom(i) == pytest.approx(0.95 - 0.1 * frac, abs=1e-9)
        assert 0.85 - 1e-12 <= mom(i) <= 0.95 + 1e-12


@given(base=lrs, ratio=st.floats(1.0, 100.0), step=st.integers(1, 50),
       down=st.one_of(st.none(), st.integers(1, 50)),
       mode=st.sampled_from(["triangular", "sine"]), k=st.integers(0, 500))
def test_cyclic_periodic_and_bounded(base, ratio, step, down, mode, k) -> None:
    c = S.cyclic(base, base * ratio, step, down, mode)
    assert c(k) == pytest.approx(c(k + c.cycle_length), rel=1e-9)
    assert base * (1 - 1e-12) <= c(k) <= base * ratio * (1 + 1e-12)
    assert c(c.cycle_length * (k % 7)) == pytest.approx(base, rel=1e-9)
    assert c(step) == pytest.approx(base * ratio, rel=1e-9)


@given(step=st.integers(1, 40), cycle=st.integers(1, 6))
def test_triangular2_halves_each_cycle(step, cycle) -> None:
    c = S.cyclic(1.0, 2.0, step, mode="triangular2")
    peak = lambda n: c((n - 1) * 2 * step + step)  # noqa: E731
    assert peak(cycle) - 1.0 == pytest.approx(2 * (peak(cycle + 1) - 1.0), rel=1e-9)


@given(gamma=st.floats(0.9, 0.99999), k=st.integers(0, 2000))
def test_exp_range_amplitude_decays(gamma, k) -> None:
    c = S.cyclic(1.0, 2.0, 10, mode="exp_range", gamma=gamma)
    assert c(k) - 1.0 <= gamma**k + 1e-12
    peaks = [c(10 + 20 * n) for n in range(5)]
    assert all(b < a for a, b in itertools.pairwise(peaks))


def test_sine_is_a_true_sinusoid() -> None:
    c = S.cyclic(0.0 + 1.0, 3.0, 8, mode="sine")
    for i in range(40):
        assert c(i) == pytest.approx(2.0 - math.cos(2 * math.pi * i / 16), abs=1e-12)


@given(parts=st.lists(st.tuples(st.floats(0.01, 5), st.floats(0.01, 5), st.integers(2, 30)),
                      min_size=1, max_size=4))
def test_join_places_parts_and_holds_final(parts) -> None:
    ramps = [S.linear(a, b, n) for a, b, n in parts]
    j = S.join(ramps)
    at = 0
    for r in ramps:
        assert j(at) == r(0)
        assert j(at + r.total_steps - 1) == r(r.total_steps - 1)
        at += r.total_steps
    assert j.total_steps == at
    assert j(at + 100) == ramps[-1](ramps[-1].total_steps - 1)


@settings(max_examples=50)
@given(total=steps, k=st.integers(0, 10_000))
def test_every_schedule_holds_its_final_value(total, k) -> None:
    for s in (S.one_cycle(1, max(total, 30)), S.one_cycle_momentum(max(total, 30)),
              S.linear(1, 2, total), S.exponential(1e-3, 1, total),
              S.cyclic(1, 2, 3, total_steps=total)):
        assert s(s.total_steps - 1 + k) == s(s.total_steps - 1)


# --- serialisation ------------------------------------------------------------------------------

ALL = [
    S.one_cycle(0.8, 100),
    S.one_cycle(0.8, 101, anneal="cos", div=5, final_div=10, annihilation_fraction=0.2),
    S.one_cycle_momentum(100, high=0.9, low=0.8),
    S.one_cycle_two_phase(1.0, 77),
    S.one_cycle_two_phase_momentum(77, warmup_fraction=0.25),
    S.cyclic(1e-3, 6e-3, 2000, mode="exp_range", gamma=0.9999),
    S.cyclic(1e-3, 6e-3, 20, scale_fn=halving, scale_mode="cycle", total_steps=500),
    S.cyclic_momentum(0.8, 0.9, 20),
    S.constant(0.1, 10),
    S.step_decay(0.1, [50, 75], total_steps=100),
    S.warmup(S.cosine(1.0, 0.0, 90), 10),
    S.join([S.linear(0, 1, 5), S.constant(1.0)], [5]),
]


@pytest.mark.parametrize("s", ALL, ids=lambda s: type(s).__name__)
def test_dict_json_and_pickle_round_trip(s: Schedule) -> None:
    back = Schedule.from_dict(json.loads(json.dumps(s.to_dict())))
    assert back == s
    assert pickle.loads(pickle.dumps(s)) == s
    assert [back(i) for i in range(0, 300, 7)] == [s(i) for i in range(0, 300, 7)]


def test_table_of_endless_schedule_needs_steps() -> None:
    with pytest.raises(ValueError, match="pass steps=N"):
        S.cyclic(1, 2, 3).table()
    assert len(S.cyclic(1, 2, 3).table(10)) == 10


def test_lambda_scale_fn_cannot_be_serialised_but_says_why() -> None:
    c = S.cyclic(1, 2, 3, scale_fn=lambda x: 1.0)
    with pytest.raises(TypeError, match="module-level function"):
        c.to_dict()


class _Scaler:
    def scale(self, x: float) -> float:
        return 0.5**x

    def __call__(self, x: float) -> float:
        return 0.5**x


@pytest.mark.parametrize("fn", [
    __import__("functools").partial(pow, 0.5),
    _Scaler(),
    _Scaler().scale,
], ids=["partial", "callable instance", "bound method"])
def test_a_scale_fn_that_cannot_be_found_by_name_is_refused_when_saved(fn) -> None:
    """Only what from_dict can rebuild is written: these would be saved under a name that
    resolves to something else (or nothing)."""
    c = S.cyclic(1, 2, 3, scale_fn=fn)
    assert 1.0 < c(1) < 2.0  # usable, just not saveable
    with pytest.raises(TypeError, match="partials and methods cannot be saved"):
        c.to_dict()


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: S.join([0.1, S.linear(0, 1, 5)]), TypeError, r"parts must be schedules, got 0.1"),
    (lambda: S.join(S.linear(0, 1, 5)), TypeError, r"parts must be a list of schedules"),
    (lambda: S.warmup(0.1, 5), TypeError, r"schedule must be a Schedule to warm up into"),
    (lambda: S.step_decay(0.1, 10), TypeError, r"milestones must be a list of steps, got 10"),
    (lambda: S.linear(0, 1, 5)(1.0), TypeError, r"step must be an int, got 1.0 \(float\)"),
    (lambda: S.cyclic(0.1, 1, 5, gamma=0.5), ValueError, r"gamma=0.5 is used by "
     r"mode='exp_range' only"),
    (lambda: S.cyclic(0.1, 1, 5, mode="exp_range", gamma=0.5, scale_fn=halving), ValueError,
     r"without scale_fn"),
    (lambda: S.cyclic(0.1, 1, 5, scale_mode="iterations"), ValueError,
     r"there is no scale_fn"),
])
def test_composition_arguments_are_named(call, error, match) -> None:
    with pytest.raises(error, match=match):
        call()


def test_lazy_names_are_in_dir() -> None:
    import superconverge as sc

    assert {"ParamScheduler", "lr_range_test", "RangeTestResult"} <= set(dir(sc))
    assert set(sc.__all__) <= set(dir(sc))


def test_schedules_do_not_import_torch() -> None:
    code = "import sys, superconverge.schedules, superconverge; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- validation: the argument, the value, what is accepted --------------------------------------


@pytest.mark.parametrize(
    ("make", "exc", "match"),
    [
        (lambda: S.one_cycle(0, 100), ValueError, r"max_lr must be > 0, got 0"),
        (lambda: S.one_cycle(-1, 100), ValueError, r"max_lr must be > 0, got -1"),
        (lambda: S.one_cycle(float("nan"), 100), ValueError, r"max_lr must be finite, got nan"),
        (lambda: S.one_cycle(1, 2), ValueError, r"total_steps=2 is too small.*total_steps >= 3"),
        (lambda: S.one_cycle(1, 0), ValueError, r"total_steps must be >= 1, got 0"),
        (lambda: S.one_cycle(1, 10.5), TypeError, r"total_steps must be an int"),
        (lambda: S.one_cycle(1, 100, annihilation_fraction=1.0), ValueError,
         r"annihilation_fraction must be a fraction in \[0, 1\), got 1.0"),
        (lambda: S.one_cycle(1, 100, annihilation_fraction=-0.1), ValueError,
         r"annihilation_fraction"),
        (lambda: S.one_cycle(1, 100, anneal="cosine"), ValueError,
         r"anneal must be one of 'linear', 'cos'; got 'cosine'"),
        (lambda: S.one_cycle(1, 100, div=0.5), ValueError, r"div must be >= 1"),
        (lambda: S.one_cycle_two_phase(1, 100, warmup_fraction=0.0), ValueError,
         r"warmup_fraction must be a fraction in \(0, 1\)"),
        (lambda: S.one_cycle_momentum(100, high=0.8, low=0.9), ValueError, r"low must be <= high"),
        (lambda: S.one_cycle_momentum(100, high=1.2), ValueError, r"high must be in \[0, 1\)"),
        (lambda: S.cyclic(0, 1, 10), ValueError, r"base_lr must be > 0, got 0"),
        (lambda: S.cyclic(2e-3, 1e-3, 10), ValueError, r"base_lr must be <= max_lr.*swap"),
        (lambda: S.cyclic(1e-3, 1e-2, 0), ValueError, r"step_size must be >= 1, got 0"),
        (lambda: S.cyclic(1e-3, 1e-2, 10, mode="triangle"), ValueError,
         r"mode must be one of 'triangular', 'triangular2', 'exp_range', 'sine'; got 'triangle'"),
        (lambda: S.cyclic(1e-3, 1e-2, 10, mode="exp_range", gamma=1.5), ValueError,
         r"gamma must be in \(0, 1\], got 1.5"),
        (lambda: S.cyclic(True, 1e-2, 10), TypeError, r"base_lr must be a real number"),
        (lambda: S.exponential(0, 1, 10), ValueError, r"needs start > 0"),
        (lambda: S.step_decay(1, [5, 3]), ValueError, r"milestones must be strictly increasing"),
        (lambda: S.join([S.linear(0, 1, 3), S.constant(1)], [0]), ValueError,
         r"boundaries must be >= 1"),
        (lambda: S.join([S.cyclic(1, 2, 3), S.constant(1)]), ValueError, r"endless part"),
        (lambda: S.one_cycle(1, 100)(-1), ValueError, r"step must be >= 0, got -1"),
        (lambda: Schedule.from_dict({"kind": "nope"}), ValueError, r"unknown schedule kind 'nope'"),
    ],
)
def test_bad_input_is_named(make, exc, match) -> None:
    with pytest.raises(exc, match=match):
        make()


def test_fractions_to_boundaries_tolerates_float_sums() -> None:
    assert S.boundaries_from_fractions([0.7, 0.2, 0.1], 100) == (70, 90)
    with pytest.raises(ValueError, match="sum to 1"):
        S.boundaries_from_fractions([0.7, 0.2], 100)


@pytest.mark.parametrize("invert", [False, True])
def test_triangular2_runs_any_number_of_cycles(invert: bool) -> None:
    """Its amplitude halves every cycle; computed as 1 / 2 ** (cycle - 1), as torch does, it
    raised OverflowError from cycle 1026 (step 1,025,000 with step_size=500; a ParamScheduler
    with step_size=5 crashed at step 10,240). It now decays to the bound and stays there."""
    make = S.cyclic_momentum if invert else S.cyclic  # the momentum wave is the inverted one
    s = make(0.01, 0.1, 500, mode="triangular2")
    bound = 0.1 if invert else 0.01
    assert s(1_024_000) == s(10**12) == pytest.approx(bound)
    assert s(1500) == pytest.approx(0.055)  # cycle 2's peak: half the amplitude, either way
