"""``torch.distributed`` facts the finder needs, safe to call when it is not initialised."""

from __future__ import annotations

from typing import Any

import torch.distributed as dist


def _initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def is_main_process() -> bool:
    """True unless ``torch.distributed`` is initialised and this is not rank 0.

    Only the main process writes files or plots; every rank runs the range test itself.
    """
    return not _initialized() or dist.get_rank() == 0


def world_size(group: Any = None) -> int:
    """The number of processes in ``group`` (default: the default group; 1 when not
    distributed)."""
    return dist.get_world_size(group) if _initialized() else 1
