"""How ``find_lr`` batches its training examples, as rules free of torch: ``find_lr`` warns by
them as it runs, and ``superconverge schedule --from-lr-find`` (which imports no torch) says them
of a result's steps. Under torchrun each rule reads one process's share of the examples."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SHORT_PASS_BATCHES = 4
"""A pass of at most this many batches whose last is short is warned of: 1 step in 4 or more
trains on a smaller batch."""


def processes(provenance: Mapping[str, Any] | None) -> int:
    """The processes a result's steps ran on, its provenance's ``world_size``; 1 where it
    names none (a file of another version, or edited by hand)."""
    world = (provenance or {}).get("world_size")
    return world if type(world) is int and world > 1 else 1


def process_share(num_train: object, world: int) -> int | None:
    """The training examples each of ``world`` processes trains on under ``find_lr``:
    ``num_train // world``, the last ``num_train % world`` left out. None where ``num_train``
    (a config's) is no positive whole number."""
    return num_train // world if type(num_train) is int and num_train > 0 else None


def drops_single(examples: int, batch_size: int) -> bool:
    """Whether ``find_lr`` drops a pass's last batch: one of a single example (it fails a
    BatchNorm in training, and its loss is all noise), where there are others."""
    return examples > batch_size and examples % batch_size == 1


def batches_a_pass(examples: int, batch_size: int) -> int:
    """The batches of a pass through ``examples`` as ``find_lr`` makes them (the last may be
    short; one of a single example is dropped, :func:`drops_single`: a review counted it, and
    a step of one batch more than a pass, which sees examples twice, went unwarned)."""
    return examples // batch_size if drops_single(examples, batch_size) else -(
        -examples // batch_size)


def short_last_batch(examples: int, batch_size: int, accumulation_steps: int = 1,
                     ) -> tuple[int, int] | None:
    """``(last, per_pass)`` where a pass through ``examples`` in batches of ``batch_size`` ends
    in a batch of ``last`` examples, under half a batch, that is 1 step in ``per_pass`` (at most
    :data:`SHORT_PASS_BATCHES`): the steps then mix two batch sizes (a bug bash: batch 1000 of
    1438 examples, every second step on 438). None otherwise: the batches divide the examples,
    a pass holds more batches, a batch holds all of them, a step accumulates several (whose
    examples a short batch does not cut), or the last batch is one example, which ``find_lr``
    drops."""
    last = examples % batch_size  # (1: dropped, no batch)
    per_pass = batches_a_pass(examples, batch_size)
    if (accumulation_steps != 1 or not 1 < last < batch_size / 2 or per_pass < 2
            or per_pass > SHORT_PASS_BATCHES):
        return None
    return last, per_pass


def even_batch_size(examples: int, batch_size: int) -> int:
    """A batch size whose pass through ``examples`` ends in no short batch
    (:func:`short_last_batch`): ``examples`` split into two or more batches about as many as
    ``batch_size``'s, the nearest such split (719 for 1000 of 1438, 480 for 450)."""
    per_pass = batches_a_pass(examples, batch_size)
    sizes = {-(-examples // p) for p in range(2, 2 * per_pass + 2)}
    fine = [b for b in sizes if b != batch_size and short_last_batch(examples, b) is None]
    return min(fine, key=lambda b: (abs(b - batch_size), -b), default=examples)


def repeats_examples(examples: int, batch_size: int, accumulation_steps: int) -> bool:
    """Whether a step of ``accumulation_steps`` batches holds more batches than a pass through
    ``examples``, and so some examples twice (a review: a step of exactly one pass, 1024 + 414
    of 1438, was said to)."""
    return accumulation_steps > batches_a_pass(examples, batch_size)
