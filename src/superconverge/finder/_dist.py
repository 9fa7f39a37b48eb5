"""``torch.distributed`` facts the finder needs, safe to call when it is not initialised."""

from __future__ import annotations

import contextlib
import math
from typing import Any

import torch
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


def loss_groups(model: Any) -> tuple[Any, ...]:
    """The process groups over whose ranks a step's loss is averaged (all-reduced over each in
    turn): those of the ranks that train ``model`` together. A DDP model's ``process_group``; an
    FSDP1 model's, with hybrid sharding's replicate group; where the model's DTensor parameters
    (FSDP2's ``fully_shard``, tensor parallelism) lie on one mesh that spans fewer ranks than
    the default group (a slice of a larger mesh: each slice trains apart), each of its
    dimensions' groups; else the default group, ``(None,)``. A compiled model is looked into.
    (A model built on a subgroup averaged over every rank's losses, its curve a mean of
    models that train apart: a review.)"""
    if not _initialized():
        return (None,)
    inner = getattr(model, "_orig_mod", model)
    if isinstance(inner, torch.nn.parallel.DistributedDataParallel):
        return (inner.process_group,)
    from torch.distributed.fsdp import FullyShardedDataParallel

    if isinstance(inner, FullyShardedDataParallel):
        replicate = getattr(inner, "_inter_node_pg", None)  # (hybrid sharding's alone)
        return (inner.process_group,) if replicate is None else (inner.process_group, replicate)
    from torch.distributed.tensor import DTensor

    meshes = {id(p.device_mesh): p.device_mesh for p in inner.parameters()
              if isinstance(p, DTensor)}
    if len(meshes) == 1:
        (mesh,) = meshes.values()
        if mesh.size() < dist.get_world_size():
            return tuple(mesh.get_group(d) for d in range(mesh.ndim))
    return (None,)


def forward_is_collective(model: object) -> bool:
    """Whether every forward pass of ``model`` under ``torch.no_grad()`` takes part in
    collectives of its own, so that every rank must run as many: an FSDP1 or FSDP2 model's
    all-gathers, a tensor-parallel model's (DTensor parameters). Not a DDP model's: it
    broadcasts its buffers at most at the first such pass after a training step, which every
    rank runs."""
    if not _initialized() or not isinstance(model, torch.nn.Module):
        return False
    from torch.distributed.fsdp import FullyShardedDataParallel
    from torch.distributed.tensor import DTensor

    return any(isinstance(m, FullyShardedDataParallel) for m in model.modules()) or any(
        isinstance(p, DTensor) for p in model.parameters()) or bool(fsdp2_modules(model))


def groups_size(groups: tuple[Any, ...]) -> int:
    """How many ranks ``groups`` (a :func:`loss_groups`) span together; 1 when not
    distributed."""
    return math.prod(world_size(g) for g in groups)


def all_reduce(tensor: torch.Tensor, groups: tuple[Any, ...],
               op: Any = None) -> None:
    """``dist.all_reduce`` of ``tensor`` over each of ``groups`` in turn (a SUM by default):
    over every rank they span together, as they are the dimensions of one mesh."""
    for group in groups:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM if op is None else op, group=group)


def reshard(model: torch.nn.Module) -> None:
    """Put an FSDP2 model's (``fully_shard``) sharded parameters back where a forward pass
    without a backward (an evaluation under ``torch.no_grad()``) left the unsharded ones in:
    its parameters are then plain tensors, which the optimizer does not hold (the test refused
    the model, "the optimizer holds none of the model's trainable parameters", a review) and
    a snapshot would not see. What its backward pass does anyway."""
    for module in fsdp2_modules(model):
        module.reshard()


def fsdp2_modules(model: object) -> list[Any]:
    """The FSDP2 modules (``fully_shard``'s) in ``model``: none where ``torch.distributed`` is
    not initialised or ``model`` is no module (refused later, by name)."""
    if not _initialized() or not isinstance(model, torch.nn.Module):
        return []
    import torch.distributed.fsdp as fsdp

    fsdp_module = getattr(fsdp, "FSDPModule", None)  # (torch 2.6 on)
    return [] if fsdp_module is None else [
        m for m in model.modules() if isinstance(m, fsdp_module)]


def reset_cut_passes(model: object) -> None:
    """After an exception or Ctrl-C that may have cut a forward or backward pass short: reset
    each outermost FSDP2 module's per-iteration state (``reset_iter_state``, torch's recovery
    for this, where the torch has it). Without it a backward cut short left a layer's gathered
    weights pending, gathered from the sweep's, and the next forward used them over the
    restored shards (a bug bash: the first loss after the test was not an untested twin's).
    And each DDP module's reducer that a backward cut short left waiting for gradients (its
    ``_check_reducer_finalized`` raises), by ``_reset_state``, what DDP's
    ``_update_process_group`` calls: the next training step failed on "Expected to have
    finished reduction in the prior iteration", blaming unused parameters (a bug bash). Not one
    that finished: a reset makes the reducer rebuild its buckets, a broadcast, and where one
    rank alone did that (a Ctrl-C on one rank) the ranks' next collectives did not match (a
    review)."""
    if _initialized() and isinstance(model, torch.nn.Module):
        for m in model.modules():
            reducer = getattr(m, "reducer", None) if isinstance(
                m, torch.nn.parallel.DistributedDataParallel) else None
            if reducer is None:
                continue
            try:
                reducer._check_reducer_finalized()
            except RuntimeError:
                with contextlib.suppress(Exception):  # (the cut's error is the one to see)
                    reducer._reset_state()
            except Exception:  # (a torch without the call)
                pass
    modules = fsdp2_modules(model)
    inside = {id(c) for m in modules for c in m.modules() if c is not m}
    for module in modules:
        reset = getattr(module, "reset_iter_state", None)
        if id(module) not in inside and callable(reset):
            try:
                reset()
            except Exception:  # (not a root, never run forward; the cut's error is the one
                pass  # to see, and the restore follows)
