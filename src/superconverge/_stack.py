"""Where a warning raised inside the package should point: the caller's line."""

from __future__ import annotations

import sys


def outside(*modules: str) -> int:
    """The ``stacklevel`` of ``warnings.warn`` called by this function's caller that points at
    the first frame outside the ``modules`` named (and ``dataclasses``, whose generated
    ``__init__`` and ``replace`` sit between a user and a dataclass): the user's line, however
    deep the package's calls under it go (a fixed level pointed into the package wherever the
    depth differed, bug bashes). The frame of :func:`superconverge._peer_names.peer_names`'s
    check, between a user and the functions it wraps, is skipped too."""
    skipped = {*modules, "dataclasses", "superconverge._peer_names"}
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__") in skipped:
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level
