"""Which part of the data an input pipeline reads under tf.distribute (one pipeline per worker)."""

from __future__ import annotations

import sys
from typing import TypeVar

import tensorflow as tf

T = TypeVar("T")

# Seeds of different input pipelines are this far apart, far beyond any step count added on resume.
PIPELINE_SEED_STRIDE = 1 << 32


def shard_files(
    paths: list[T], context: tf.distribute.InputContext | None, seed: int, what: str
) -> tuple[list[T], int, tuple[int, int] | None]:
    """Which files and seed this input pipeline uses, and the (count, index) element shard if files are too few.

    By files when there are at least as many as input pipelines (workers): disjoint file sets, each worker its own
    shuffle seed. Otherwise by data, with a warning: every worker reads every file in the same order and keeps every
    n-th element before decoding it, so the workers still see disjoint examples.
    """
    if context is None or context.num_input_pipelines == 1:
        return paths, seed, None
    count, index = context.num_input_pipelines, context.input_pipeline_id
    if len(paths) >= count:
        return paths[index::count], seed + PIPELINE_SEED_STRIDE * index, None
    print(
        f"warning: {what}: {len(paths)} file(s) for {count} workers; sharding by data "
        f"(every worker walks the same shuffled file stream and decodes every {count}th image)",
        file=sys.stderr,
    )
    return paths, seed, (count, index)


def per_replica_batch(context: tf.distribute.InputContext | None, global_batch: int) -> int:
    return global_batch if context is None else context.get_per_replica_batch_size(global_batch)
