"""Turn a range test into a training policy: the step from "which LR?" to "train with it"."""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping
from typing import Any

from superconverge._warning import SuperconvergeWarning
from superconverge.finder import RangeTestResult
from superconverge.finder.result import _CUT
from superconverge.schedules import Policy, make_policy, policy_parameters
from superconverge.schedules.policy import check_parameter_names

# Which picks of the curve set which parameters of each policy.
_FROM_SUGGESTION = {"fixed": "lr", "step-decay": "lr", "cosine": "max_lr"}
_FROM_MAX_BOUND = {"one-cycle": "max_lr", "one-cycle-two-phase": "max_lr"}


def policy_from_range_test(
    name: str, result: RangeTestResult, total_steps: int, *, method: str | None = None,
    **params: Any,
) -> Policy:
    """Policy ``name`` over ``total_steps`` with its LRs read off a range test.

    ``fixed`` and ``step-decay`` start at ``result.suggestion(method)`` (default: the rule the
    test was run with, :attr:`RangeTestResult.method`), ``cosine`` decays from it;
    ``one-cycle`` (and the two-phase variant) peak at ``result.bounds()[1]``; ``clr`` cycles
    between both bounds. ``params`` set anything else (and override a picked LR). Raises
    ``ValueError`` naming the reason when the curve gives no pick, for a ``method`` with a
    policy that takes the bounds, which no rule changes, and for a ``method`` beside the LR it
    would pick, given in ``params`` (one of the two would be ignored).

    Where an LR is read off a curve that :meth:`RangeTestResult.warnings` warns of (a sweep that
    began inside the descent, a loss that never diverged, ...), each warning is issued as a
    ``SuperconvergeWarning`` (a ``UserWarning``), as ``superconverge schedule --from-lr-find``
    prints it: the policy is still made, but its LRs may be too high or arbitrary. Where
    ``params`` give every LR the policy takes, the curve is not read and nothing is warned.
    """
    # The names first: a misspelt max_lr would otherwise be reported as a curve without a pick
    # ("give max_lr yourself").
    check_parameter_names(name, params)
    picked = lrs_from_range_test(name, result, method=method, given=params)
    # Made before the warnings: an error in it (total_steps=0) is what the call is about, also
    # where warnings are errors.
    policy = make_policy(name, total_steps, **{**picked, **params})
    if picked:
        taken = ", ".join(f"{k}={x:.4g}" for k, x in picked.items())
        said = result.warnings(method, pick=reads_suggestion(name, params))
        note = momentum_note(result, policy)
        for w in [*said, *([note] if note else [])]:
            warnings.warn(f"{name} policy from a range test ({taken}): {w}", SuperconvergeWarning,
                          stacklevel=2)
    return policy


#: How many times the step a policy's momentum makes at its peak LR may be the step the range
#: test's momentum made, before :func:`momentum_note` says its LRs read high.
MOMENTUM_STEP_RATIO = 2.0


def momentum_note(result: RangeTestResult, policy: Policy) -> str | None:
    """A warning where ``policy``'s momentum at its peak LR scales the steps of SGD (or
    RMSprop) over :data:`MOMENTUM_STEP_RATIO` times more than the momentum the range test ran
    at (``result.config["heavy_ball_momentum"]``), so the LRs read off its curve are as much
    too high: heavy-ball momentum scales a step by about ``1 / (1 - momentum)`` (a bug bash: a
    test at momentum 0 gave a 1cycle cycling 0.95 to 0.85 a max_lr that took the loss to 290).
    None where the test did not record one (Adam's betas do not scale the step)."""
    if not isinstance(result, RangeTestResult):
        raise TypeError(f"result must be a RangeTestResult (RangeTestResult.from_json(path) reads "
                        f"a saved one), got {type(result).__name__}")
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a Policy (make_policy, policy_from_range_test), got "
                        f"{type(policy).__name__}")
    recorded = (result.config or {}).get("heavy_ball_momentum")
    if (policy.momentum is None or not isinstance(recorded, numbers.Real)
            or isinstance(recorded, bool) or not 0 <= (tested := float(recorded)) < 1):
        return None
    # (its lowest, where the LR peaks in a 1cycle; over at most 2,001 steps spread over the
    # policy, and its first 2,000 and a cycle's trough: a policy of 1e6 steps is made in no
    # time, and so is this. A bug bash: a CLR of 1e6 steps whose cycle divided the spread
    # steps' stride was read at its top alone, and warned of falsely)
    steps = policy.lr.total_steps or 1
    looked = {*range(0, steps, max(1, steps // 2000)), *range(min(steps, 2000))}
    trough = getattr(policy.momentum, "step_size", None)
    if type(trough) is int:  # (and the step before: a sawtooth's, step_size_down=0, a review)
        looked.update(t for t in (trough - 1, trough) if 0 <= t < steps)
    low = min(map(policy.momentum, sorted(looked)))
    if not 0 <= low < 1 or (1 - tested) <= MOMENTUM_STEP_RATIO * (1 - low):
        return None
    return (f"the range test ran at momentum {tested:g}, and this policy's momentum falls to "
            f"{low:.3g} (where its LR peaks): momentum scales the steps by about 1 / (1 - "
            f"momentum), {(1 - tested) / (1 - low):.2g}x more there than in the test, so the LRs "
            "read off its curve are about that much too high; run the range test at the "
            "momentum you train with, or train without cycling momentum, at the test's")


def reads_suggestion(name: str, given: Mapping[str, Any] | None = None) -> bool:
    """Whether policy ``name`` reads its LR off a suggestion rule's pick (``fixed``,
    ``step-decay``, ``cosine``), not off the bounds, where ``given`` leaves it to the curve."""
    key = _FROM_SUGGESTION.get(name)
    return key is not None and key not in (given or {})


def _why_none(result: RangeTestResult, reason: str | None) -> str | None:
    """Why the curve gives no pick: the rule's reason, which reads the curve alone ("raise
    end_lr", "the model may already be trained"), except for a sweep Ctrl-C or an error cut
    short, which had not reached the LRs that would have moved it."""
    if result.curve_stop_reason in _CUT and result.lrs:
        # ("an LR of", not "lr=": the CLI would read that as its flag --lr)
        return (f"the sweep was cut short ({result.stop_summary()}) at an LR of "
                f"{result.lrs[-1]:.3g}, before its curve gave one: run it to its end")
    return reason


def lrs_from_range_test(
    name: str, result: RangeTestResult, *, method: str | None = None,
    given: Mapping[str, Any] | None = None,
) -> dict[str, float]:
    """The LR parameters :func:`policy_from_range_test` reads off ``result`` for policy
    ``name`` (e.g. ``{"max_lr": 0.29}`` for ``one-cycle``), leaving out those in ``given``,
    which win; ``ValueError`` for an unknown policy, a ``method`` with a policy that takes the
    bounds, and when the curve has no pick for an LR it needs. Unlike
    :func:`policy_from_range_test` it issues no warning for a warned curve: read
    ``result.warnings()``."""
    policy_parameters(name)  # validates the name
    if not isinstance(result, RangeTestResult):
        raise TypeError(f"result must be a RangeTestResult (RangeTestResult.from_json(path) reads "
                        f"a saved one), got {type(result).__name__}")
    if method is not None and name not in _FROM_SUGGESTION:
        raise ValueError(
            f"method={method!r} picks the suggested LR, which {name!r} does not use: it takes "
            f"the range test's bounds, which no rule changes; method applies to "
            f"{', '.join(_FROM_SUGGESTION)}"
        )
    given = given or {}
    if method is not None and name in _FROM_SUGGESTION and _FROM_SUGGESTION[name] in given:
        key = _FROM_SUGGESTION[name]
        raise ValueError(
            f"method={method!r} picks {key} from the range test, but {key}={given[key]!r} is "
            f"given, which wins; drop one of them"
        )
    # The LRs the curve must give: those not given (which win), so a curve without a pick
    # still serves a policy whose LRs are all given.
    picked: dict[str, float] = {}
    if name in _FROM_SUGGESTION:
        if _FROM_SUGGESTION[name] not in given:
            pick = result.suggest(method)
            if pick.lr is None:
                raise ValueError(f"the range test suggests no LR: {_why_none(result, pick.reason)}"
                                 f"; or give {_FROM_SUGGESTION[name]} yourself")
            picked[_FROM_SUGGESTION[name]] = pick.lr
    else:
        wanted = {_FROM_MAX_BOUND.get(name, "max_lr"): 1}
        if name == "clr":
            wanted["base_lr"] = 0
        wanted = {k: i for k, i in wanted.items() if k not in given}
        if wanted:
            bounds = result.suggest_bounds()
            for key, i in wanted.items():
                lr = bounds[i].lr
                if lr is None:
                    raise ValueError(f"the range test gives no LR bounds: "
                                     f"{_why_none(result, bounds[i].reason)}; "
                                     f"or give {' and '.join(sorted(wanted))} yourself")
                picked[key] = lr
        if name == "clr" and len(picked) == 1:  # one bound given, the other from the curve
            both = {**given, **picked}
            # (a given bound that is no number is make_policy's to refuse, by name)
            if (all(isinstance(v, numbers.Real) for v in both.values())
                    and both["base_lr"] > both["max_lr"]):
                (key, lr), = picked.items()
                low = key == "base_lr"
                other = "max_lr" if low else "base_lr"
                raise ValueError(
                    f"the range test's {'lower' if low else 'upper'} bound {lr:.4g} is "
                    f"{'above' if low else 'below'} the given {other}={given[other]!r}; give "
                    "both bounds, or neither (both from the range test)"
                )
    return picked
