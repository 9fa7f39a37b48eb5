"""Recipes: whole jobs on named datasets and models (what the CLI runs), built from the layers."""

from superconverge.recipes.common import OPTIMIZERS, load_data, make_optimizer, resolve_device
from superconverge.recipes.find_lr import find_lr
from superconverge.recipes.from_range_test import (
    lrs_from_range_test,
    momentum_note,
    policy_from_range_test,
)

__all__ = ["OPTIMIZERS", "find_lr", "load_data", "lrs_from_range_test", "make_optimizer",
           "momentum_note", "policy_from_range_test", "resolve_device"]
