"""How ``find_lr`` batches its training examples, as rules free of torch: ``find_lr`` warns by
them as it runs, and ``superconverge schedule --from-lr-find`` (which imports no torch) says them
of a result's steps."""

from __future__ import annotations

SHORT_PASS_BATCHES = 4
"""A pass of at most this many batches whose last is short is warned of: 1 step in 4 or more
trains on a smaller batch."""


def short_last_batch(examples: int, batch_size: int, accumulation_steps: int = 1,
                     ) -> tuple[int, int] | None:
    """``(last, per_pass)`` where a pass through ``examples`` in batches of ``batch_size`` ends
    in a batch of ``last`` examples, under half a batch, that is 1 step in ``per_pass`` (at most
    :data:`SHORT_PASS_BATCHES`): the steps then mix two batch sizes (a bug bash: batch 1000 of
    1438 examples, every second step on 438). None otherwise: the batches divide the examples,
    a pass holds more batches, a batch holds all of them, a step accumulates several (whose
    examples a short batch does not cut), or the last batch is one example, which ``find_lr``
    drops."""
    last = examples % batch_size
    per_pass = -(-examples // batch_size)
    if (accumulation_steps != 1 or not 1 < last < batch_size / 2 or per_pass < 2
            or per_pass > SHORT_PASS_BATCHES):
        return None
    return last, per_pass


def even_batch_size(examples: int, batch_size: int) -> int:
    """The batch size that takes ``examples`` in as many batches as ``batch_size`` does, all
    within one example of each other."""
    per_pass = -(-examples // batch_size)
    return -(-examples // per_pass)
