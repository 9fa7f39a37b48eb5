"""The category of superconverge's warnings (torch-free: the schedule layer may warn too)."""

from __future__ import annotations


class SuperconvergeWarning(UserWarning):
    """What superconverge warns of about your data, model, optimizer or settings: a
    ``UserWarning``, so that ``-W error`` and filters of ``UserWarning`` still take it, and of
    its own class, so that ours alone can be filtered (``warnings.filterwarnings("ignore",
    category=superconverge.SuperconvergeWarning)``) without silencing torch's. Each points at
    your line, the one that called superconverge."""


class SuperconvergeRuntimeWarning(SuperconvergeWarning, RuntimeWarning):
    """A :class:`SuperconvergeWarning` of what happened while the range test ran (a
    GradScaler skipping steps), also a ``RuntimeWarning``, as it was before it had a class of
    its own."""
