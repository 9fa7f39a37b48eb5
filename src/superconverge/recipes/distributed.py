"""A recipe under ``torchrun``: one process per device, joined into one process group.

``torchrun --nproc_per_node=N -m superconverge find-lr ...`` starts N copies of the command with
``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` in their
environment. :func:`torchrun_group` joins them (NCCL on CUDA, gloo on the CPU), gives each rank
its own GPU (``cuda:LOCAL_RANK``) and leaves the group when the work is done; the recipes see the
initialised group and train data-parallel (see :func:`~superconverge.recipes.find_lr`).
"""

from __future__ import annotations

import gc
import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.distributed as dist

from superconverge.recipes.common import resolve_device


def torchrun_world() -> int:
    """The number of processes ``torchrun`` started (its ``WORLD_SIZE``); 1 when not under it."""
    return _env_int("WORLD_SIZE", 1, minimum=1)


def _env_int(name: str, default: int, *, minimum: int) -> int:
    """The whole number in the environment's ``name`` (``default`` where it is not set)."""
    text = os.environ.get(name, str(default))
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"the environment's {name}={text!r} is not a whole number") from None
    if value < minimum:
        raise ValueError(f"the environment's {name} must be >= {minimum}, got {value}")
    return value


@contextmanager
def torchrun_group(device: str | None = None) -> Iterator[str | None]:
    """Under ``torchrun`` with more than one process, and no process group yet: join this
    process to the group and yield the device it trains on; leave the group afterwards.
    Otherwise yield ``device`` unchanged and do nothing.

    ``device``: ``None`` (CUDA when available, else the CPU), ``"cuda"`` or ``"cpu"``. On CUDA
    each rank takes ``cuda:LOCAL_RANK`` and the group talks NCCL; on the CPU, gloo. A device with
    an index (``cuda:1``) is refused: every rank would claim the same GPU.
    """
    world = torchrun_world()
    if world == 1 or (dist.is_available() and dist.is_initialized()):
        yield device
        return
    if not dist.is_available():
        raise RuntimeError(f"WORLD_SIZE={world} (torchrun), but this torch was built without "
                           "torch.distributed; run a single process")
    dev = resolve_device(device)
    if dev.type == "cuda":
        if dev.index is not None:
            raise ValueError(
                f"device={device!r} under torchrun: every rank would train on that one GPU; "
                "pass device='cuda' (each rank takes cuda:LOCAL_RANK)")
        local, count = _env_int("LOCAL_RANK", 0, minimum=0), torch.cuda.device_count()
        if local >= count:
            raise ValueError(f"LOCAL_RANK={local} under torchrun, but only {count} CUDA devices "
                             "are visible: start at most that many processes a node")
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
        backend = "nccl"
    elif dev.type == "cpu":
        backend = "gloo"
    else:
        raise ValueError(f"device={device!r} under torchrun: only cuda (NCCL) and cpu (gloo) "
                         "are supported")
    # torch.distributed.nn.functional's collectives take ``group=group.WORLD`` as a default,
    # read as the module is imported, and DDP imports it: imported after the group is made,
    # those ten defaults hold the group for good, destroy_process_group cannot free its
    # backend, and the backend's worker threads live into the interpreter's exit (see
    # _leave_group). Imported before, they hold None. (By name: an import statement would
    # make ``torch`` a local name of this whole function.)
    importlib.import_module("torch.distributed.nn.functional")
    dist.init_process_group(backend)  # env://, from torchrun's variables
    try:
        yield str(dev)
    finally:
        _leave_group(dev)


def _leave_group(dev: torch.device) -> None:
    """``dist.destroy_process_group()``, with the group's backend freed after it, GIL released,
    while the interpreter is whole.

    The backend must go here, not at the interpreter's exit: a gloo worker thread still
    dropping the last collective's work (its tensors' Python objects) takes the GIL, and a
    thread that takes it while the interpreter exits is ended mid-destructor: the process
    aborts ("terminate called without an active exception", exit -6), 1 run in 20 to 40 on a rank
    with no work left after its last collective. What holds the group beyond its destroy: a
    DDP model in a reference cycle (hence the collection) and torch's own default arguments
    (see torchrun_group).

    Before pytorch#154976 (in torch 2.6, not 2.13) the Python ``ProcessGroup`` holds the GIL
    while it frees its gloo backend, which joins its worker threads; a worker still dropping
    the last collective's work (a broadcast's tensor, whose Python object it must decref)
    waits for that GIL: a deadlock, ~1 run in 5 when a bad --out was broadcast just before.
    The backend's own Python object (``ProcessGroupGloo``, ``ProcessGroupNCCL``) releases the
    GIL when it frees it."""
    try:
        backend = dist.group.WORLD._get_backend(dev)  # type: ignore[union-attr]
    except (AttributeError, RuntimeError):  # (a private method: gone, or no backend for dev)
        backend = None
    gc.collect()  # a DDP model in a reference cycle holds the group's backend
    dist.destroy_process_group()
    del backend  # the last reference, where nothing else holds the group
