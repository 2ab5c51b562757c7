"""Training: `fit()` with callbacks for progress, TensorBoard and kill-safe checkpoints.

Run the same command again and training resumes from the latest checkpoint: same
step, same optimizer state, the same TensorBoard curves continued.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from adain.config import Config, save_config
from adain.data import preview_images, training_dataset
from adain.model import AdaINModel, build_configured_encoder, build_decoder

DECODER_FILE = "decoder.keras"
CONFIG_FILE = "config.yaml"
CHECKPOINT_DIR = "checkpoints"
LOG_DIR = "logs"


def build_model(config: Config) -> AdaINModel:
    encoder, style_indices = build_configured_encoder(config.model, verbose=True)
    model = AdaINModel(encoder, build_decoder(content_layer=config.model.content_layer), config.train.content_weight,
                       config.train.style_weight, config.train.tv_weight, style_indices)  # fmt: skip
    schedule = keras.optimizers.schedules.InverseTimeDecay(
        config.train.learning_rate, decay_steps=1, decay_rate=config.train.lr_decay
    )
    model.compile(optimizer=keras.optimizers.Adam(schedule), jit_compile=False)
    model.optimizer.build(model.decoder.trainable_variables)
    return model


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
            self.manager.save(checkpoint_number=step)


class TrainingSummaries(keras.callbacks.Callback):
    """Scalars every `log_every` steps and a content | style | output panel every `image_every` steps."""

    def __init__(
        self, log_dir: Path, log_every: int, image_every: int, previews: tuple[np.ndarray, np.ndarray]
    ) -> None:
        super().__init__()
        self.writer = tf.summary.create_file_writer(str(log_dir))
        self.log_every, self.image_every = log_every, image_every
        self.contents, self.styles = previews
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
                for name in [n for n in ("loss", "content_loss", "style_loss", "tv_loss") if n in logs]:
                    tf.summary.scalar(f"loss/{name.removesuffix('_loss') if name != 'loss' else 'total'}", logs[name])
                tf.summary.scalar("train/learning_rate", self.model.optimizer.learning_rate)
                tf.summary.scalar("train/steps_per_sec", steps_per_sec)
            if step % self.image_every == 0 and len(self.contents):
                tf.summary.image("preview/content|style|output", self.panels(), max_outputs=len(self.contents))
        self.writer.flush()

    def panels(self) -> tf.Tensor:
        outputs = self.model({"content": self.contents, "style": self.styles})
        panel = tf.concat([self.contents, self.styles, tf.clip_by_value(outputs, 0, 255)], axis=2)
        return tf.cast(tf.round(panel), tf.uint8)

    def on_train_end(self, logs=None):
        self.writer.close()


class ProgressBar(keras.callbacks.Callback):
    """tqdm bar over the whole run (resumed runs start part-way), with steps/s and losses."""

    def __init__(self, total: int, initial: int) -> None:
        super().__init__()
        self.bar = tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True, desc="train",
                        disable=None, mininterval=1.0)  # fmt: skip

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(1)
        if self.bar.n % 10 == 0 or self.bar.n == self.bar.total:
            self.bar.set_postfix(
                loss=f"{float(logs['loss']):.4g}", content=f"{float(logs['content_loss']):.4g}",
                style=f"{float(logs['style_loss']):.4g}", refresh=False,
            )  # fmt: skip

    def on_train_end(self, logs=None):
        self.bar.close()


def save_decoder(decoder: keras.Model, run_dir: Path) -> Path:
    """Save for inference; written to a temp file then renamed so a kill never leaves a broken file."""
    final = run_dir / DECODER_FILE
    tmp = run_dir / f".{DECODER_FILE}.tmp.keras"
    decoder.save(tmp)
    os.replace(tmp, final)
    return final


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def train(config: Config) -> Path:
    """Train (or resume) the decoder described by `config`; returns the run directory."""
    run_dir = Path(config.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    model = build_model(config)
    checkpoint = tf.train.Checkpoint(decoder=model.decoder, optimizer=model.optimizer)
    manager = tf.train.CheckpointManager(
        checkpoint, run_dir / CHECKPOINT_DIR, max_to_keep=config.train.keep_checkpoints
    )
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    elif config.train.init_from:  # fine-tuning: a fresh run starts from another run's decoder
        from adain.normalization import init_decoder_from

        init_decoder_from(model.decoder, config.train.init_from, config.model)
    start = current_step(model)
    total = config.train.steps
    save_config(config, run_dir / CONFIG_FILE)
    if start:
        print(f"resuming from {manager.latest_checkpoint} at step {start}", file=sys.stderr)
    if start < total:
        # A resumed run reseeds its data so it does not replay the batches it already saw.
        dataset = training_dataset(config, seed=config.seed + start)
        previews = (
            preview_images(config.data.content, config.data.crop_size, config.data.preview_pairs),
            preview_images(config.data.style, config.data.crop_size, config.data.preview_pairs),
        )
        count = min(len(previews[0]), len(previews[1]))
        callbacks = [
            ProgressBar(total, start),
            TrainingSummaries(
                run_dir / LOG_DIR,
                config.train.log_every,
                config.train.image_every,
                (previews[0][:count], previews[1][:count]),
            ),  # fmt: skip
            CheckpointEvery(manager, config.train.checkpoint_every),
        ]
        if config.train.eval_every:  # held-out evaluation: eval/ scalars and sheet (adain/evaluate.py)
            from adain.evaluate import EvaluationCallback

            callbacks.append(EvaluationCallback.from_config(config, run_dir / LOG_DIR))
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            model.fit(dataset, epochs=1, steps_per_epoch=total - start, verbose=0, shuffle=False, callbacks=callbacks)
        except KeyboardInterrupt:
            step = current_step(model)
            manager.save(checkpoint_number=step)
            print(f"\ninterrupted: checkpoint saved at step {step}; run the same command to resume", file=sys.stderr)
            raise
        finally:
            signal.signal(signal.SIGTERM, previous)
    step = current_step(model)
    if manager.latest_checkpoint is None or not manager.latest_checkpoint.endswith(f"-{step}"):
        manager.save(checkpoint_number=step)
    save_decoder(model.decoder, run_dir)
    print(f"done: step {step}; decoder and config saved in {run_dir}", file=sys.stderr)
    return run_dir
