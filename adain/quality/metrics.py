"""Evaluation with the paper's metrics, on fixed feature definitions so that any two runs compare.

For every content x style pair: the content loss (relu4_1 of the output against the AdaIN target
AdaIN(f(c), f(s))), the style loss (MSE of channel means and stds, summed over relu1_1..relu4_1) and
the content loss against the content image's own relu4_1 features. Beside them, what the objective does
not see (`APPEARANCE_KEYS`): a second style metric that is not the training loss (Gram matrices over
relu1_1..relu5_1, Gatys et al.), grey-image SSIM against the content, the CIELAB colour distance to the
painting and the streak ratio (adain/quality/colour.py), so a recipe is not judged by the loss it minimises.
The features are always those of
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

from adain.media.images import check_resized_image, contact_sheet, expand_inputs, save_image, to_uint8
from adain.nn.layout import CONTENT_LAYER, STYLE_LAYERS
from adain.nn.losses import content_loss, style_layer_losses
from adain.nn.ops import adaptive_instance_norm
from adain.nn.vgg import build_vgg19_encoder
from adain.preprocess import prepare_image
from adain.quality.colour import colour_distance, streak_ratio
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
APPEARANCE_KEYS = ("gram_style_loss", "ssim", "colour_distance", "streak_ratio")
GRAM_LAYERS = (*STYLE_LAYERS, "block5_conv1")  # relu1_1..relu5_1, as in Gatys et al.
IMAGE = tf.TensorSpec([1, None, None, 3], tf.float32)


class Metrics:
    """The fixed metric: normalised VGG-19 features at relu1_1..relu4_1."""

    def __init__(self, vgg_weights: str | os.PathLike | None = None) -> None:
        raw = load_vgg19_weights(vgg_weights)
        scales = channel_scales(raw)
        self.fingerprint = weights_digest(raw)
        encoder_weights = normalize_vgg_weights(raw, scales)
        # One pass gives the paper's layers and relu5_1 for the Gram metric (block5_conv1 adds about 1/8).
        self.encoder = build_vgg19_encoder(encoder_weights, GRAM_LAYERS, name="metric_vgg19")
        self.scales = [tf.constant(scales[name]) for name in METRIC_STYLE_LAYERS]
        self._taps = tf.function(lambda image: self.encoder(image, training=False), input_signature=[IMAGE])

    def describe(self) -> dict:
        return {
            "features": f"VGG-19, {METRIC_NORMALIZATION} normalisation",
            "normalization_images": f"scikit-image {', '.join(SCALE_IMAGES)} (smaller side {SCALE_SIZE})",
            "style_layers": list(METRIC_STYLE_LAYERS),
            "content_layer": METRIC_CONTENT_LAYER,
            "vgg_weights_sha256": self.fingerprint,
        }

    def taps(self, image) -> list[tf.Tensor]:
        """Normalised features of one float RGB 0..255 image [H, W, 3] at GRAM_LAYERS (relu1_1..relu5_1)."""
        return list(self._taps(tf.convert_to_tensor(np.asarray(image, np.float32)[None])))

    def features(self, image) -> list[tf.Tensor]:
        """Normalised features of one float RGB 0..255 image [H, W, 3] at the paper's layers (relu1_1..relu4_1)."""
        return self.taps(image)[: len(METRIC_STYLE_LAYERS)]

    def grams(self, image) -> list[tf.Tensor]:
        """Gram matrices [C, C] / (H W) of one image at relu1_1..relu5_1 (normalised features)."""
        return [_gram(f) for f in self.taps(image)]

    def losses(self, content_features: list, style_features: list, output, style_grams: list | None = None) -> dict:
        """All losses of one output, on normalised features and on unnormalised ones; with the style's `grams`
        also the Gram-matrix style loss over relu1_1..relu5_1 (from the same VGG pass)."""
        output_taps = self.taps(output)
        output_features = output_taps[: len(METRIC_STYLE_LAYERS)]
        result = {}
        if style_grams is not None:
            result["gram_style_loss"] = sum(
                float(tf.reduce_mean(tf.square(_gram(o) - s))) for o, s in zip(output_taps, style_grams, strict=True)
            )
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

    def appearance(self, content: np.ndarray, style: np.ndarray, output: np.ndarray) -> dict:
        """The pixel measures the objective does not see, for one written output (float 0..255); the Gram style
        loss, the fourth of APPEARANCE_KEYS, comes from `losses` with the style's grams."""
        grey = [
            tf.convert_to_tensor(np.asarray(i, np.float32) @ GREY, tf.float32)[..., None] for i in (output, content)
        ]
        return {
            "ssim": float(tf.image.ssim(grey[0], grey[1], max_val=255.0)),
            "colour_distance": colour_distance(output, style),
            "streak_ratio": streak_ratio(output, content),
        }


GREY = np.array([0.299, 0.587, 0.114], np.float32)


def _gram(features: tf.Tensor) -> tf.Tensor:
    shape = tf.shape(features)
    flat = tf.reshape(features, [-1, shape[-1]])
    return tf.matmul(flat, flat, transpose_a=True) / tf.cast(tf.shape(flat)[0], tf.float32)


def mean_losses(records: Sequence[dict]) -> dict:
    """Averages over pairs, for the primary and the secondary feature space, the appearance measures where
    scored, and the medians of the primary losses (one failed style moves a mean, not a median)."""
    means = {key: float(np.mean([r[key] for r in records])) for key in LOSS_KEYS}
    means.update({key: float(np.mean([r[key] for r in records])) for key in APPEARANCE_KEYS if key in records[0]})
    means["median"] = {key: float(np.median([r[key] for r in records])) for key in LOSS_KEYS}
    means["none_features"] = {key: float(np.mean([r["none_features"][key] for r in records])) for key in LOSS_KEYS}
    return means


def load_set(specs: str | Sequence[str], size: int, limit: int | None, what: str) -> tuple[list[str], list[np.ndarray]]:
    """Images of files, folders or globs: names and float RGB arrays, smaller side `size` (0 keeps)."""
    paths = expand_inputs([specs] if isinstance(specs, str) else specs, what)[:limit]
    for path in paths:
        check_resized_image(path, size, False, what)
    return [p.stem for p in paths], [np.asarray(prepare_image(p, size, what=f"{what} {p}")) for p in paths]


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
    appearance: bool = False,
) -> tuple[dict, list[list[np.ndarray | None]]]:
    """Stylize and score every pair (or only `pairs`, (content index, style index), for a slow method);
    returns ({pairs, mean, seconds_per_pair}, outputs[content][style], None where a pair was not run).
    `appearance`: also score APPEARANCE_KEYS (one more VGG pass per output)."""
    if pairs is None:
        pairs = [(i, j) for i in range(len(contents)) for j in range(len(styles))]
    if warmup and pairs:  # one untimed call: tracing is not stylization time
        method(contents[pairs[0][0]], styles[pairs[0][1]])
    content_features = {i: metrics.features(contents[i]) for i in sorted({i for i, _ in pairs})}
    style_taps = {j: metrics.taps(styles[j]) for j in sorted({j for _, j in pairs})}
    style_features = {j: taps[: len(METRIC_STYLE_LAYERS)] for j, taps in style_taps.items()}
    style_grams = {j: [_gram(f) for f in taps] for j, taps in style_taps.items()}
    records: list[dict] = []
    rows: list[list[np.ndarray | None]] = [[None] * len(styles) for _ in contents]
    for i, j in tqdm(pairs, unit="pair", desc="evaluate", disable=None if progress else True, leave=False):
        start = time.perf_counter()
        output = to_uint8(method(contents[i], styles[j]))
        seconds = time.perf_counter() - start
        grams = style_grams[j] if appearance else None
        losses = metrics.losses(content_features[i], style_features[j], output.astype(np.float32), grams)
        if appearance:
            losses.update(metrics.appearance(contents[i], styles[j], output.astype(np.float32)))
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
