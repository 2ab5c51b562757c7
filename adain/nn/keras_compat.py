"""Workarounds for Keras behaviour that AdaIN's training step runs into, each with the Keras version it was seen on.

Seen on Keras 3.15.1 with TensorFlow 2.21.0 (the versions `make setup` installs at the time of writing). Each
workaround is checked by tests/training/test_distribute.py (real multi-process runs); when Keras fixes the
issue, delete the workaround and see those tests still pass.

Why `AdaINModel` keeps its own `train_step` instead of Keras' (with `compute_loss` overridden): Keras'
step differentiates `self(x, training=True)` with respect to all trainable weights and reports running
means of metric trackers. AdaIN's step computes the frozen encodings and the AdaIN target once, outside
the gradient tape, differentiates only the decoder, and its callbacks (TensorBoard scalars, the plain
progress lines) read the losses of the step itself, not a mean since the epoch began. Keras 3.15's
`train_step` has no hook for either, so the step stays ours and the distribution pieces it needs live here.
"""

from __future__ import annotations

import tensorflow as tf


def scale_loss(loss: tf.Tensor) -> tf.Tensor:
    """Per-replica mean loss -> this replica's share of the global-batch mean (gradients are SUM-all-reduced).

    What Keras' own `train_step` does with `scale_loss_for_distribution` (a custom step must do it itself);
    the same as `tf.nn.compute_average_loss` with equal shards, which `Distribution.check_batch_size`
    guarantees. A no-op on one replica.
    """
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss if replicas == 1 else loss / tf.cast(replicas, loss.dtype)


def step_logs(logs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """A `train_step`'s per-replica means -> global-batch means, in a shape Keras can reduce over replicas.

    The mean over replicas is taken here because Keras reports replica 0's values under TPUStrategy.
    Keras 3.15.1 reduces multi-worker step outputs with `strategy.reduce("MEAN", value, axis=0)`, which fails
    on scalars (tensorflow/tensorflow#72388); with a length-1 axis it gives back the scalar.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return logs
    logs = context.all_reduce(tf.distribute.ReduceOp.MEAN, logs)
    if not _keras_reduces_along_axis(tf.distribute.get_strategy()):
        return logs
    return {name: tf.reshape(value, [1]) for name, value in logs.items()}


def _keras_reduces_along_axis(strategy: tf.distribute.Strategy) -> bool:
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    spec = strategy.cluster_resolver.cluster_spec().as_dict()
    return sum(len(spec.get(job, [])) for job in ("chief", "worker")) > 1


class PrebuiltFit:
    """keras.Model mixin: `fit` skips Keras' symbolic build once the optimizer is built.

    A `train_step` that needs nothing but the optimizer and the layers it calls has nothing to build
    symbolically, but under any strategy Keras 3.15.1 first pulls a batch for it from a throwaway iterator
    (so training would start on the dataset's second shuffle) and reduces that batch with `strategy.reduce`,
    which fails for dict batches under MultiWorkerMirroredStrategy (keras-team/keras#20329).
    """

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if self.optimizer is not None and self.optimizer.built:
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
