"""superconverge: Leslie N. Smith's training recipe, made practical.

The schedule math (``superconverge.schedules``) imports no torch; the torch-facing names below
(``ParamScheduler``, ``lr_range_test``, ...) are loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from superconverge.schedules import (
    Schedule,
    constant,
    cosine,
    cyclic,
    cyclic_momentum,
    exponential,
    join,
    linear,
    one_cycle,
    one_cycle_momentum,
    one_cycle_two_phase,
    one_cycle_two_phase_momentum,
    step_decay,
    warmup,
)

__version__ = "0.1.0"

# name -> module that defines it; imported lazily so `import superconverge` stays light.
_LAZY = {
    "ParamScheduler": "superconverge.torch.param_scheduler",
    "tensorize_hyperparams": "superconverge.torch.param_scheduler",
    "lr_range_test": "superconverge.finder.range_test",
    "RangeTestResult": "superconverge.finder.result",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'superconverge' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names with the lazily imported ones, for tab completion and IDEs."""
    return sorted({*globals(), *_LAZY})


__all__ = [
    "Schedule",
    "__version__",
    "constant",
    "cosine",
    "cyclic",
    "cyclic_momentum",
    "exponential",
    "join",
    "linear",
    "one_cycle",
    "one_cycle_momentum",
    "one_cycle_two_phase",
    "one_cycle_two_phase_momentum",
    "step_decay",
    "warmup",
    *_LAZY,
]
