"""Pure schedule math (no torch): each schedule is a frozen dataclass, ``step -> value``."""

from superconverge.schedules.base import Schedule, register
from superconverge.schedules.compose import (
    Constant,
    Join,
    StepDecay,
    boundaries_from_fractions,
    constant,
    join,
    step_decay,
    warmup,
)
from superconverge.schedules.cyclic import Cyclic, cyclic, cyclic_momentum
from superconverge.schedules.one_cycle import (
    OneCycle,
    OneCycleMomentum,
    OneCycleTwoPhase,
    OneCycleTwoPhaseMomentum,
    one_cycle,
    one_cycle_momentum,
    one_cycle_two_phase,
    one_cycle_two_phase_momentum,
)
from superconverge.schedules.policy import POLICIES, Policy, make_policy, policy_parameters
from superconverge.schedules.shapes import Ramp, cosine, exponential, linear

__all__ = [
    "POLICIES",
    "Constant",
    "Cyclic",
    "Join",
    "OneCycle",
    "OneCycleMomentum",
    "OneCycleTwoPhase",
    "OneCycleTwoPhaseMomentum",
    "Policy",
    "Ramp",
    "Schedule",
    "StepDecay",
    "boundaries_from_fractions",
    "constant",
    "cosine",
    "cyclic",
    "cyclic_momentum",
    "exponential",
    "join",
    "linear",
    "make_policy",
    "one_cycle",
    "one_cycle_momentum",
    "one_cycle_two_phase",
    "one_cycle_two_phase_momentum",
    "policy_parameters",
    "register",
    "step_decay",
    "warmup",
]
