"""superconverge: Leslie N. Smith's training recipe, made practical.

The schedule math (``superconverge.schedules``) imports no torch; the torch-facing names below
(``ParamScheduler``, ``lr_range_test``, ...) are loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from superconverge._warning import SuperconvergeRuntimeWarning, SuperconvergeWarning
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

if TYPE_CHECKING:  # what a type checker sees of the names loaded on first use
    from superconverge.finder.range_test import lr_range_test as lr_range_test
    from superconverge.finder.result import RangeTestResult as RangeTestResult
    from superconverge.torch.param_scheduler import ParamScheduler as ParamScheduler
    from superconverge.torch.param_scheduler import (
        tensorize_hyperparams as tensorize_hyperparams,
    )

__version__ = "0.1.0"

# name -> module that defines it; imported lazily so `import superconverge` stays light.
_LAZY = {
    "ParamScheduler": "superconverge.torch.param_scheduler",
    "tensorize_hyperparams": "superconverge.torch.param_scheduler",
    "lr_range_test": "superconverge.finder.range_test",
    "RangeTestResult": "superconverge.finder.result",
}


if not TYPE_CHECKING:  # (seen by a checker, it made every misspelt name an Any: a bug bash)

    def __getattr__(name: str) -> Any:
        if name in _LAZY:
            return getattr(importlib.import_module(_LAZY[name]), name)
        raise AttributeError(f"module 'superconverge' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names with the lazily imported ones, for tab completion and IDEs."""
    return sorted({*globals(), *_LAZY})


# (ParamScheduler, RangeTestResult, lr_range_test and tensorize_hyperparams: loaded on first
# use, see _LAZY; spelt out for type checkers)
__all__ = [
    "ParamScheduler",
    "RangeTestResult",
    "Schedule",
    "SuperconvergeRuntimeWarning",
    "SuperconvergeWarning",
    "__version__",
    "constant",
    "cosine",
    "cyclic",
    "cyclic_momentum",
    "exponential",
    "join",
    "linear",
    "lr_range_test",
    "one_cycle",
    "one_cycle_momentum",
    "one_cycle_two_phase",
    "one_cycle_two_phase_momentum",
    "step_decay",
    "tensorize_hyperparams",
    "warmup",
]
