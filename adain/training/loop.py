"""Training: `fit()` with callbacks for progress, TensorBoard and kill-safe checkpoints.

Run the same command again and training resumes from the latest checkpoint: same
step, same optimizer state, the same TensorBoard curves continued.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from adain.config import Config, ModelConfig, from_dict, resume_config, save_config
from adain.data.decoding import SkippedFiles
from adain.data.pipeline import preview_images, training_dataset
from adain.errors import UserError
from adain.nn.decoder import transpose_encoder_into
from adain.nn.model import AdaINModel
from adain.quality.metrics import EvaluationCallback
from adain.run import (
    CHECKPOINT_DIR,
    CONFIG_FILE,
    HISTORY_FILE,
    LOG_DIR,
    SKIPPED_FILE,
    build_configured_decoder,
    build_configured_encoder,
    check_layout,
    init_decoder_from,
    make_checkpoint,
    read_run_config,
    record_config_change,
    save_decoder,
)
from adain.run.checkpoints import candidates, move_aside, restore_newest, save_checkpoint, settle
from adain.run.lock import lock_run_dir
from adain.training.distribute import PEER_LOST_ERRORS, make_distribution
from adain.training.precision import resolve_jit_compile, resolve_precision
from adain.weights.normalization import scale_images
from adain.weights.sources import load_vgg19_weights


def build_model(config: Config) -> AdaINModel:
    policy = resolve_precision(config.train.mixed_precision)
    encoder, style_indices = build_configured_encoder(config.model, verbose=True, dtype=policy)
    decoder = build_configured_decoder(config.model, dtype=policy)
    model = AdaINModel(
        encoder,
        decoder,
        config.train.content_weight,
        config.train.style_weight,
        config.train.tv_weight,
        style_indices,
        invert_steps=config.train.invert_steps,
        pixel_weight=config.train.pixel_weight,
        output_range_weight=config.train.output_range_weight,
        temporal_weight=config.train.temporal_weight,
        streak_weight=config.train.streak_weight,
    )
    schedule = WarmupInverseTimeDecay(config.train.learning_rate, config.train.lr_decay, config.train.warmup_steps)
    optimizer = keras.optimizers.Adam(schedule)
    if policy == "mixed_float16":  # float16 gradients underflow without dynamic loss scaling
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(optimizer=optimizer, jit_compile=resolve_jit_compile(config.train.jit_compile))
    model.optimizer.build(model.decoder.trainable_variables)
    return model


@keras.saving.register_keras_serializable(package="adain")
class WarmupInverseTimeDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr * min(1, (step + 1) / warmup_steps) / (1 + decay_rate * step): the paper's decay after a linear warm-up.

    With warmup_steps 0 it is exactly Keras' InverseTimeDecay(lr, decay_steps=1, decay_rate).
    """

    def __init__(self, learning_rate: float, decay_rate: float, warmup_steps: int = 0) -> None:
        self.learning_rate, self.decay_rate, self.warmup_steps = learning_rate, decay_rate, warmup_steps

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        rate = self.learning_rate / (1.0 + self.decay_rate * step)
        if self.warmup_steps:
            rate = rate * keras.ops.minimum(1.0, (step + 1.0) / float(self.warmup_steps))
        return rate

    def get_config(self) -> dict:
        return {"learning_rate": self.learning_rate, "decay_rate": self.decay_rate, "warmup_steps": self.warmup_steps}


def transpose_encoder(decoder: keras.Model, model: ModelConfig) -> None:
    """model.decoder_init: encoder_transpose, calibrated on the documented normalisation images at 128 px."""
    start = time.perf_counter()
    transpose_encoder_into(decoder, load_vgg19_weights(model.vgg_weights), scale_images(128))
    print(f"decoder: initialised as the encoder's transpose ({time.perf_counter() - start:.1f} s)", file=sys.stderr)


def current_step(model: AdaINModel) -> int:
    return int(model.optimizer.iterations.numpy())


class CheckpointEvery(keras.callbacks.Callback):
    """Save decoder + optimizer every N steps; CheckpointManager's state file is replaced atomically."""

    def __init__(self, manager: tf.train.CheckpointManager, every: int) -> None:
        super().__init__()
        self.manager, self.every = manager, every

    def on_train_batch_end(self, batch, logs=None):
        step = current_step(self.model)
        if step % self.every == 0:
            check_finite_weights(self.model.decoder, step)
            save_checkpoint(self.manager, step)


def check_finite_weights(decoder: keras.Model, step: int) -> None:
    """Never checkpoint or save a diverged decoder."""
    if not all(np.isfinite(w).all() for w in decoder.get_weights()):
        raise NonFiniteLoss(
            f"training stopped at step {step}: the decoder's weights are not finite; the last good checkpoint is kept"
        )


class NonFiniteLoss(UserError):
    """Training diverged: a loss became NaN or infinite."""


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Like TerminateOnNaN, but first in line and raising: no later callback checkpoints the NaN weights."""

    def on_train_batch_end(self, batch, logs=None):
        bad = {k: float(v) for k, v in (logs or {}).items() if k.endswith("loss") and not np.isfinite(float(v))}
        if bad:
            step = current_step(self.model)
            raise NonFiniteLoss(
                f"training stopped at step {step}: non-finite {', '.join(f'{k}={v}' for k, v in bad.items())}; "
                "the last good checkpoint is kept (lower train.learning_rate or the loss weights)"
            )


class TrainingSummaries(keras.callbacks.Callback):
    """Scalars every `log_every` steps and a content | style | output panel every `image_every` steps."""

    def __init__(
        self,
        log_dir: Path,
        log_every: int,
        image_every: int,
        previews: tuple[np.ndarray, np.ndarray],
        skipped: SkippedFiles | None = None,
    ) -> None:
        super().__init__()
        self.writer = tf.summary.create_file_writer(str(log_dir))
        self.log_every, self.image_every = log_every, image_every
        self.contents, self.styles = previews
        self.skipped = skipped
        self._last_time, self._last_step = None, None

    def on_train_begin(self, logs=None):
        self._last_time, self._last_step = time.perf_counter(), current_step(self.model)

    def on_train_batch_end(self, batch, logs=None):
        step = current_step(self.model)
        with self.writer.as_default(step=step):
            if step % self.log_every == 0:
                now = time.perf_counter()
                steps_per_sec = (step - self._last_step) / max(now - self._last_time, 1e-9)
                self._last_time, self._last_step = now, step
                for name in [n for n in logs if n == "loss" or n.endswith("_loss")]:  # every term the model has
                    tf.summary.scalar(f"loss/{name.removesuffix('_loss') if name != 'loss' else 'total'}", logs[name])
                tf.summary.scalar("train/learning_rate", self.model.optimizer.learning_rate)
                tf.summary.scalar("train/steps_per_sec", steps_per_sec)
                if self.skipped is not None:
                    tf.summary.scalar("data/skipped_files", len(self.skipped))
            if step % self.image_every == 0 and len(self.contents):
                tf.summary.image("preview/content|style|output", self.panels(), max_outputs=len(self.contents))
        self.writer.flush()

    def panels(self) -> tf.Tensor:
        outputs = self.model({"content": self.contents, "style": self.styles})
        panel = tf.concat([self.contents, self.styles, tf.clip_by_value(outputs, 0, 255)], axis=2)
        return tf.cast(tf.round(panel), tf.uint8)

    def on_train_end(self, logs=None):
        self.writer.close()


class TimeBudget(keras.callbacks.Callback):
    """train.max_minutes: stop after the step that uses up the budget; `train()` then saves as at a normal end."""

    def __init__(self, minutes: float) -> None:
        super().__init__()
        self.seconds, self.start, self.stopped_at = minutes * 60.0, 0.0, None

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if time.perf_counter() - self.start >= self.seconds:
            self.model.stop_training = True
            self.stopped_at = current_step(self.model)


class ProgressBar(keras.callbacks.Callback):
    """tqdm bar over the whole run (resumed runs start part-way), with steps/s and losses.

    When stderr is not a terminal (CI, nohup, a log file) the bar is replaced by one plain line every
    `log_every` steps, so logs still show progress without carriage-return noise.
    """

    def __init__(self, total: int, initial: int, log_every: int = 10) -> None:
        super().__init__()
        self.total, self.step, self.log_every = total, initial, max(1, log_every)
        self.bar = tqdm(
            total=total, initial=initial, unit="step", dynamic_ncols=True, desc="train", disable=None, mininterval=1.0
        )
        self.start_time, self.start_step = time.perf_counter(), initial

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        self.bar.update(1)
        if self.step % self.log_every and self.step != self.total:
            return
        losses = {k: f"{float(logs[k]):.4g}" for k in ("loss", "content_loss", "style_loss") if k in logs}
        if not self.bar.disable:
            self.bar.set_postfix(**losses, refresh=False)
            return
        rate = (self.step - self.start_step) / max(time.perf_counter() - self.start_time, 1e-9)
        text = " ".join(f"{k}={v}" for k, v in losses.items())
        print(f"train: step {self.step}/{self.total} ({rate:.2f} steps/s) {text}", file=sys.stderr, flush=True)

    def on_train_end(self, logs=None):
        self.bar.close()


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def reconcile_resume(config: Config, set_keys: Sequence[str]) -> tuple[Config, dict]:
    """Resuming a run whose config.yaml differs from `config`: never silent. Changes made with `--set` are
    taken (and returned, to be recorded in the run's history); any other (an edited config file) is said and
    the run's value kept. A run without checkpoints or config is not a resume: `config` as it is."""
    run_dir = Path(config.run_dir)
    if not (run_dir / CONFIG_FILE).is_file() or not candidates(run_dir / CHECKPOINT_DIR):
        return config, {}
    try:
        saved = from_dict({**read_run_config(run_dir), "run_dir": config.run_dir})
    except UserError as exc:  # a run from an older version: nothing to compare against
        print(f"resume: cannot compare with the run's {CONFIG_FILE} ({exc}); using the config given", file=sys.stderr)
        return config, {}
    config, taken, refused = resume_config(saved, config, set_keys)
    for key, (old, new) in refused.items():
        print(
            f"resume: the config gives {key}={new!r} but this run has {old!r}; keeping the run's value "
            f"(--set {key}=... changes it, recorded in {run_dir / HISTORY_FILE})",
            file=sys.stderr,
        )
    for key, (old, new) in taken.items():
        print(
            f"resume: {key} changes from {old!r} to {new!r} (--set); recorded in {run_dir / HISTORY_FILE}",
            file=sys.stderr,
        )
    return config, taken


def train(config: Config, restart: bool = False, set_keys: Sequence[str] = ()) -> Path:
    """Train (or resume) the decoder described by `config`; returns the run directory.

    `restart`: start at step 0 even if the run has checkpoints (they are moved aside, not deleted).
    `set_keys`: the config keys the command line's `--set` gave; on a resume only those may change the run's
    config (see `reconcile_resume`).
    """
    run_dir = Path(config.run_dir)
    changes: dict = {}
    if not restart:
        config, changes = reconcile_resume(config, set_keys)
    dist = make_distribution(config)  # first: multi-worker and logical CPUs configure the TF runtime
    dist.check_batch_size(config.train.batch_size)
    if dist.kind != "default":
        print(f"distribute: {dist.describe()}", file=sys.stderr)
    if dist.is_chief:  # before anything is written: one training per run directory
        lock_run_dir(run_dir)
        check_layout(run_dir)
        if restart and (moved := move_aside(run_dir / CHECKPOINT_DIR)):
            print(f"restart: previous checkpoints kept in {moved}", file=sys.stderr)
    run_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    with dist.strategy.scope():  # model, optimizer and metric variables are created per replica
        model = build_model(config)
    checkpoint = make_checkpoint(model.decoder, model.optimizer)
    # every worker restores the chief's: the newest checkpoint that restores, never a broken one
    latest = restore_newest(checkpoint, run_dir / CHECKPOINT_DIR, hint="; to start over: train.py --restart")
    if dist.is_chief:
        settle(run_dir / CHECKPOINT_DIR, latest)
    manager = dist.checkpoint_manager(checkpoint, run_dir / CHECKPOINT_DIR, config.train.keep_checkpoints)
    if latest is None and config.train.init_from:  # fine-tuning: a fresh run starts from another run's decoder
        init_decoder_from(model.decoder, config.train.init_from, config.model)
    elif latest is None and config.model.decoder_init == "encoder_transpose":
        transpose_encoder(model.decoder, config.model)
    start = current_step(model)
    total = config.train.steps
    if dist.is_chief:
        if changes and start:
            record_config_change(run_dir, start, changes)
        save_config(config, run_dir / CONFIG_FILE)
    if start:
        print(f"resuming from {latest} at step {start}", file=sys.stderr)
    budget = None
    if start < total:
        # A resumed run reseeds its data so it does not replay the batches it already saw.
        skipped = SkippedFiles(run_dir / SKIPPED_FILE)  # kept across resumes
        dataset = dist.distribute_dataset(
            lambda context: training_dataset(config, seed=config.seed + start, skipped=skipped, input_context=context)
        )
        previews = (
            preview_images(config.data.content, config.data.crop_size, config.data.preview_pairs),
            preview_images(config.data.style, config.data.crop_size, config.data.preview_pairs),
        )
        count = min(len(previews[0]), len(previews[1]))
        callbacks = [
            StopOnNonFiniteLoss(),  # first: before anything can save the diverged weights
            ProgressBar(total, start, config.train.log_every),
            CheckpointEvery(manager, config.train.checkpoint_every),
        ]
        if dist.is_chief:  # TensorBoard is the chief's alone
            summaries = TrainingSummaries(
                run_dir / LOG_DIR,
                config.train.log_every,
                config.train.image_every,
                (previews[0][:count], previews[1][:count]),
                skipped,
            )
            callbacks.insert(1, summaries)
        if config.train.eval_every and dist.is_chief:  # held-out evaluation: eval/ scalars and sheet
            callbacks.append(EvaluationCallback.from_config(config, run_dir / LOG_DIR))
        budget = TimeBudget(config.train.max_minutes) if config.train.max_minutes else None
        if budget is not None:
            if dist.multi_worker:  # each worker's clock would stop it at another step: the collectives would hang
                raise UserError("train.max_minutes works on one machine; with several workers, set train.steps")
            callbacks.append(budget)
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            model.fit(dataset, epochs=1, steps_per_epoch=total - start, verbose=0, shuffle=False, callbacks=callbacks)
        except KeyboardInterrupt:
            step = current_step(model)
            save_checkpoint(manager, step)
            print(f"\ninterrupted: checkpoint saved at step {step}; run the same command to resume", file=sys.stderr)
            raise
        except PEER_LOST_ERRORS as exc:
            if not dist.multi_worker:
                raise
            dist.peer_lost(exc)
        finally:
            signal.signal(signal.SIGTERM, previous)
            if len(skipped):
                listed = run_dir / SKIPPED_FILE
                print(f"data: {len(skipped)} unreadable image files skipped (listed in {listed})", file=sys.stderr)
    step = current_step(model)
    if budget is not None and budget.stopped_at is not None and step < total:
        print(
            f"time budget: train.max_minutes={config.train.max_minutes:g} used up at step {step} of {total}; "
            "saving the checkpoint and decoder; run the same command to go on",
            file=sys.stderr,
        )
    check_finite_weights(model.decoder, step)
    if manager.latest_checkpoint is None or not manager.latest_checkpoint.endswith(f"-{step}"):
        save_checkpoint(manager, step)
    with dist.writing(run_dir) as out_dir:  # a worker's copy goes to scratch and is discarded
        save_decoder(model.decoder, out_dir, config.model)
    saved_by = "" if dist.is_chief else " by the chief"
    print(f"done: step {step}; decoder and config saved in {run_dir}{saved_by}", file=sys.stderr)
    return run_dir
