"""The argument names of the tools our users come from (torch-lr-finder, Lightning's and fastai's
``lr_find``, torch's schedulers), refused by our functions with the name of ours that is the same
setting: Python's bare "unexpected keyword argument 'step_mode'" left a user to find it (a bug
bash). Free of torch: the schedules use it too."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def peer_names(hints: Mapping[str, str]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A decorator: a keyword argument ``fn`` does not take that ``hints`` names raises
    ``TypeError`` with the hint (``"step_mode": "mode, 'exp' or 'linear' (torch-lr-finder's
    step_mode)"``; one that starts "none: " says there is no such setting, one that starts
    "pass " where it goes); other calls go through untouched, an unknown name of no hint to
    Python's own error. The signature ``help()`` and ``inspect`` show stays ``fn``'s."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        takes = frozenset(inspect.signature(fn).parameters)

        @functools.wraps(fn)
        def checked(*args: P.args, **kwargs: P.kwargs) -> R:
            if kwargs and not takes.issuperset(kwargs):
                hinted = next((k for k in kwargs if k not in takes and k in hints), None)
                if hinted is not None:
                    hint = hints[hinted]
                    said = (f"there is no such setting: {hint.removeprefix('none: ')}"
                            if hint.startswith("none: ") else hint if hint.startswith("pass ")
                            else f"ours is {hint}")
                    raise TypeError(f"{fn.__qualname__}() got an unexpected keyword argument "
                                    f"{hinted!r}; {said}")
            return fn(*args, **kwargs)

        return checked

    return wrap


#: lr_range_test's: torch-lr-finder's ``range_test``, Lightning's ``Tuner.lr_find``, fastai's
#: ``learn.lr_find``.
RANGE_TEST = {
    "step_mode": "mode, 'exp' or 'linear' (torch-lr-finder's step_mode)",
    "smooth_f": "smooth_beta = 1 - smooth_f, bias-corrected, and smooth_beta=0 for smooth_f=0, "
                "no smoothing (torch-lr-finder's smooth_f)",
    "diverge_th": "diverge_factor (torch-lr-finder's diverge_th)",
    "early_stop_threshold": "diverge_factor, None to stop only at a NaN (Lightning's "
                            "early_stop_threshold)",
    "stop_div": "diverge_factor: 4.0, the default, stops as stop_div=True does, None as "
                "stop_div=False (fastai's stop_div)",
    "min_lr": "start_lr (Lightning's min_lr)",
    "max_lr": "end_lr (Lightning's max_lr)",
    "num_training": "num_iter (Lightning's num_training)",
    "num_it": "num_iter (fastai's num_it)",
    "val_loader": "val_data (torch-lr-finder's val_loader)",
    "train_loader": "train_data (torch-lr-finder's train_loader)",
    "criterion": "loss_fn (torch-lr-finder's criterion)",
    "suggest_funcs": "none: the result's suggestion(method) after the test, 'valley', "
                     "'minimum', 'steepest' (fastai's suggest_funcs)",
    "show_plot": "none: the result's plot(path) after the test (fastai's show_plot)",
}

#: RangeTestResult.plot's: torch-lr-finder's ``LRFinder.plot``.
PLOT = {
    "suggest_lr": "none: the pick is always marked, method= chooses its rule (torch-lr-finder's "
                  "suggest_lr)",
    "skip_start": "none: the whole sweep is drawn, as the rules read it (torch-lr-finder's "
                  "skip_start)",
    "skip_end": "none: the whole sweep is drawn, as the rules read it (torch-lr-finder's "
                "skip_end)",
    "ax": "path_or_ax, the first argument (torch-lr-finder's ax)",
    "log_lr": "none: the LR axis is logarithmic for an 'exp' sweep, linear for a 'linear' one "
              "(torch-lr-finder's log_lr)",
}

_EPOCHS = "total_steps = epochs * steps_per_epoch (torch's epochs and steps_per_epoch)"
_ONE_CYCLE_COMMON = {
    "div_factor": "div (torch's div_factor)",
    "final_div_factor": "final_div (torch's final_div_factor)",
    "anneal_strategy": "anneal, 'cos' or 'linear' (torch's anneal_strategy)",
    "epochs": _EPOCHS,
    "steps_per_epoch": _EPOCHS,
    "cycle_momentum": "a schedule of its own: ParamScheduler(..., momentum="
                      "one_cycle_momentum(total_steps)) (torch's cycle_momentum)",
    "base_momentum": "one_cycle_momentum(total_steps, low=...) (torch's base_momentum)",
    "max_momentum": "one_cycle_momentum(total_steps, high=...) (torch's max_momentum)",
}

#: one_cycle's (Smith's three phases: torch's ``OneCycleLR(three_phase=True)``).
ONE_CYCLE = {
    **_ONE_CYCLE_COMMON,
    "pct_start": "annihilation_fraction = 1 - 2 * pct_start: one_cycle is torch's "
                 "three_phase=True; one_cycle_two_phase(warmup_fraction=pct_start) is torch's "
                 "default OneCycleLR",
    "three_phase": "the function: one_cycle is three_phase=True, one_cycle_two_phase "
                   "three_phase=False (torch's three_phase)",
}

#: one_cycle_two_phase's (torch's default ``OneCycleLR``).
ONE_CYCLE_TWO_PHASE = {
    **_ONE_CYCLE_COMMON,
    "pct_start": "warmup_fraction (torch's pct_start)",
    "three_phase": "the function: one_cycle_two_phase is three_phase=False, one_cycle "
                   "three_phase=True (torch's three_phase)",
    "cycle_momentum": "a schedule of its own: ParamScheduler(..., momentum="
                      "one_cycle_two_phase_momentum(total_steps)) (torch's cycle_momentum)",
    "base_momentum": "one_cycle_two_phase_momentum(total_steps, low=...) (torch's "
                     "base_momentum)",
    "max_momentum": "one_cycle_two_phase_momentum(total_steps, high=...) (torch's "
                    "max_momentum)",
}

#: one_cycle_momentum's.
ONE_CYCLE_MOMENTUM = {
    "base_momentum": "low (torch's base_momentum)",
    "max_momentum": "high (torch's max_momentum)",
    "pct_start": "annihilation_fraction = 1 - 2 * pct_start: one_cycle_momentum is torch's "
                 "three_phase=True; one_cycle_two_phase_momentum(warmup_fraction=pct_start) is "
                 "torch's default OneCycleLR's",
    "anneal_strategy": ONE_CYCLE["anneal_strategy"],
    "epochs": _EPOCHS,
    "steps_per_epoch": _EPOCHS,
}

#: one_cycle_two_phase_momentum's.
ONE_CYCLE_TWO_PHASE_MOMENTUM = {**ONE_CYCLE_MOMENTUM,
                                "pct_start": ONE_CYCLE_TWO_PHASE["pct_start"]}

#: cyclic's and cyclic_momentum's (torch's ``CyclicLR``).
CYCLIC = {
    "step_size_up": "step_size (torch's step_size_up)",
    "cycle_momentum": "a schedule of its own: ParamScheduler(..., momentum="
                      "cyclic_momentum(...)) (torch's cycle_momentum)",
    "base_momentum": "cyclic_momentum(base_momentum=...) (torch's base_momentum)",
    "max_momentum": "cyclic_momentum(max_momentum=...) (torch's max_momentum)",
}
