"""The LR range test: measure (``range_test``) → suggest (``suggest``) → plot (``plot``)."""

import superconverge._torch_check  # noqa: F401  (fails at once on a too-old torch)
from superconverge.finder._dist import is_main_process
from superconverge.finder.plot import plot_range_test, plot_range_tests
from superconverge.finder.range_test import MIN_ITER, lr_range_test
from superconverge.finder.result import STOP_REASONS, Curve, RangeTestResult
from superconverge.finder.suggest import (
    METHODS,
    Suggestion,
    curve_warnings,
    smooth_centered,
    suggest,
    suggest_bounds,
)

__all__ = [
    "METHODS",
    "MIN_ITER",
    "STOP_REASONS",
    "Curve",
    "RangeTestResult",
    "Suggestion",
    "curve_warnings",
    "is_main_process",
    "lr_range_test",
    "plot_range_test",
    "plot_range_tests",
    "smooth_centered",
    "suggest",
    "suggest_bounds",
]
