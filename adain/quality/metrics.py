"""Evaluation with the paper's metrics, on fixed feature definitions so that any two runs compare.

For every content x style pair: the content loss (relu4_1 of the output against the AdaIN target
AdaIN(f(c), f(s))), the style loss (MSE of channel means and stds, summed over relu1_1..relu4_1) and
the content loss against the content image's own relu4_1 features. The features are always those of
the normalised VGG-19 (`METRIC_NORMALIZATION`; adain/weights/normalization.py), whatever the checkpoint was
trained with; the same losses on unnormalised features (the normalised ones times the per-channel
means) are reported beside them. Outputs are scored as written: clipped and rounded to uint8.

`adain evaluate` (adain.cli.evaluate) writes a report of these (adain.quality.report);
`EvaluationCallback` runs the same evaluation during training every `train.eval_every` steps.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from adain.media.images import check_resized_image, contact_sheet, expand_inputs, load_image, save_image, to_uint8
from adain.nn.layout import CONTENT_LAYER, STYLE_LAYERS
from adain.nn.losses import content_loss, style_layer_losses
from adain.nn.ops import adaptive_instance_norm
from adain.nn.vgg import build_vgg19_encoder
from adain.preprocess import resize_smaller_side
from adain.weights.normalization import (
    SCALE_IMAGES,
    SCALE_SIZE,
    channel_scales,
    normalize_vgg_weights,
)
from adain.weights.sources import load_vgg19_weights, weights_digest

METRIC_NORMALIZATION = "per_channel"
METRIC_STYLE_LAYERS = STYLE_LAYERS  # relu1_1, relu2_1, relu3_1, relu4_1
METRIC_CONTENT_LAYER = CONTENT_LAYER  # relu4_1, the last of the style layers
LOSS_KEYS = ("content_loss", "style_loss", "content_loss_vs_content")
IMAGE = tf.TensorSpec([1, None, None, 3], tf.float32)


class Metrics:
    """The fixed metric: normalised VGG-19 features at relu1_1..relu4_1."""

    def __init__(self, vgg_weights: str | os.PathLike | None = None) -> None:
        raw = load_vgg19_weights(vgg_weights)
        scales = channel_scales(raw)
        self.fingerprint = weights_digest(raw)
        encoder_weights = normalize_vgg_weights(raw, scales)
        self.encoder = build_vgg19_encoder(encoder_weights, METRIC_STYLE_LAYERS, name="metric_vgg19")
        self.scales = [tf.constant(scales[name]) for name in METRIC_STYLE_LAYERS]
        self._features = tf.function(lambda image: self.encoder(image, training=False), input_signature=[IMAGE])

    def describe(self) -> dict:
        return {
            "features": f"VGG-19, {METRIC_NORMALIZATION} normalisation",
            "normalization_images": f"scikit-image {', '.join(SCALE_IMAGES)} (smaller side {SCALE_SIZE})",
            "style_layers": list(METRIC_STYLE_LAYERS),
            "content_layer": METRIC_CONTENT_LAYER,
            "vgg_weights_sha256": self.fingerprint,
        }

    def features(self, image) -> list[tf.Tensor]:
        """Normalised features of one float RGB 0..255 image [H, W, 3]."""
        return list(self._features(tf.convert_to_tensor(np.asarray(image, np.float32)[None])))

    def losses(self, content_features: list, style_features: list, output) -> dict:
        """All losses of one output, on normalised features and on unnormalised ones."""
        output_features = self.features(output)
        result = {}
        for space, scales in (("per_channel", [1.0] * len(self.scales)), ("none", self.scales)):
            fc, fs, fo = (
                [f * k for f, k in zip(feats, scales, strict=True)]
                for feats in (content_features, style_features, output_features)
            )
            target = adaptive_instance_norm(fc[-1], fs[-1])
            terms = style_layer_losses(fo, fs)  # the training objective's own terms (adain.nn.losses)
            per_layer = {name: float(term) for name, term in zip(METRIC_STYLE_LAYERS, terms, strict=True)}
            losses = {
                "content_loss": float(content_loss(fo[-1], target)),
                "style_loss": sum(per_layer.values()),
                "content_loss_vs_content": float(content_loss(fo[-1], fc[-1])),
                "style_layers": per_layer,
            }
            if space == METRIC_NORMALIZATION:
                result.update(losses)
            else:
                result[f"{space}_features"] = losses
        return result


def mean_losses(records: Sequence[dict]) -> dict:
    """Averages over pairs, for the primary and the secondary feature space."""
    means = {key: float(np.mean([r[key] for r in records])) for key in LOSS_KEYS}
    means["none_features"] = {key: float(np.mean([r["none_features"][key] for r in records])) for key in LOSS_KEYS}
    return means


def load_set(specs: str | Sequence[str], size: int, limit: int | None, what: str) -> tuple[list[str], list[np.ndarray]]:
    """Images of files, folders or globs: names and float RGB arrays, smaller side `size` (0 keeps)."""
    paths = expand_inputs([specs] if isinstance(specs, str) else specs, what)[:limit]
    for path in paths:
        check_resized_image(path, size, False, what)
    return [p.stem for p in paths], [np.asarray(resize_smaller_side(load_image(p), size)) for p in paths]


# A method: (content float [H, W, 3], style float [h, w, 3]) -> uint8 [H, W, 3]
Method = Callable[[np.ndarray, np.ndarray], np.ndarray]


def evaluate_method(
    method: Method,
    metrics: Metrics,
    contents: Sequence[np.ndarray],
    styles: Sequence[np.ndarray],
    content_names: Sequence[str],
    style_names: Sequence[str],
    output_dir: Path | None = None,
    warmup: bool = True,
    progress: bool = True,
    pairs: Sequence[tuple[int, int]] | None = None,
) -> tuple[dict, list[list[np.ndarray | None]]]:
    """Stylize and score every pair (or only `pairs`, (content index, style index), for a slow method);
    returns ({pairs, mean, seconds_per_pair}, outputs[content][style], None where a pair was not run)."""
    if pairs is None:
        pairs = [(i, j) for i in range(len(contents)) for j in range(len(styles))]
    if warmup and pairs:  # one untimed call: tracing is not stylization time
        method(contents[pairs[0][0]], styles[pairs[0][1]])
    content_features = {i: metrics.features(contents[i]) for i in sorted({i for i, _ in pairs})}
    style_features = {j: metrics.features(styles[j]) for j in sorted({j for _, j in pairs})}
    records: list[dict] = []
    rows: list[list[np.ndarray | None]] = [[None] * len(styles) for _ in contents]
    for i, j in tqdm(pairs, unit="pair", desc="evaluate", disable=None if progress else True, leave=False):
        start = time.perf_counter()
        output = to_uint8(method(contents[i], styles[j]))
        seconds = time.perf_counter() - start
        losses = metrics.losses(content_features[i], style_features[j], output.astype(np.float32))
        records.append({"content": content_names[i], "style": style_names[j], "seconds": seconds, **losses})
        rows[i][j] = output
        if output_dir is not None:
            save_image(output, output_dir / f"{content_names[i]}_stylized_{style_names[j]}.jpg")
    return summarize(records), rows


def summarize(records: Sequence[dict]) -> dict:
    """The per-pair records, their mean losses and mean seconds: one method's entry in a report."""
    return {
        "pairs": list(records),
        "mean": mean_losses(records) if records else {},
        "seconds_per_pair": float(np.mean([r["seconds"] for r in records])) if records else 0.0,
    }


class EvaluationCallback(keras.callbacks.Callback):
    """The evaluation on a fixed held-out set every `every` steps: `eval/` scalars and the sheet in TensorBoard."""

    def __init__(
        self,
        log_dir: str | os.PathLike,
        every: int,
        contents: Sequence[np.ndarray],
        styles: Sequence[np.ndarray],
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__()
        self.every = every
        self.contents, self.styles = list(contents), list(styles)
        self.metrics = metrics or Metrics()
        self.log_dir = Path(log_dir)
        self.writer = tf.summary.create_file_writer(str(log_dir))
        self._last = None

    @classmethod
    def from_config(cls, config, log_dir: str | os.PathLike) -> EvaluationCallback:
        evaluation = config.eval
        _, contents = load_set(evaluation.content, evaluation.size, evaluation.max_images, "eval.content")
        _, styles = load_set(evaluation.style, evaluation.size, evaluation.max_images, "eval.style")
        return cls(log_dir, config.train.eval_every, contents, styles)

    def _stylize(self, content: np.ndarray, style: np.ndarray) -> np.ndarray:
        return self.model({"content": content[None], "style": style[None]})[0].numpy()

    def run(self, step: int) -> dict:
        if step == self._last:
            return {}
        self._last = step
        content_names = [str(i) for i in range(len(self.contents))]
        style_names = [str(j) for j in range(len(self.styles))]
        summary, rows = evaluate_method(
            self._stylize,
            self.metrics,
            self.contents,
            self.styles,
            content_names,
            style_names,
            warmup=False,
            progress=False,
        )
        with open(self.log_dir / "eval.jsonl", "a") as log:  # the held-out curve, also readable without TensorBoard
            log.write(
                json.dumps({"step": step, "time": time.time(), **{k: summary["mean"][k] for k in LOSS_KEYS}}) + "\n"
            )
        with self.writer.as_default(step=step):
            for key in LOSS_KEYS:
                tf.summary.scalar(f"eval/{key}", summary["mean"][key])
            sheet = contact_sheet(self.contents, self.styles, rows, cell=128)
            tf.summary.image("eval/sheet", sheet[None], max_outputs=1)
        self.writer.flush()
        return summary["mean"]

    def on_train_begin(self, logs=None):
        if int(self.model.optimizer.iterations.numpy()) == 0:
            self.run(0)  # the untrained decoder: where the curves start

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if step % self.every == 0:
            self.run(step)

    def on_train_end(self, logs=None):
        self.writer.close()
