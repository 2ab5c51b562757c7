"""Stylization from Python: `Stylizer.from_checkpoint(run_dir).stylize(content, style, alpha=...)`.

Inputs may be paths, PIL images or arrays (H, W, 3, uint8 or float 0..255); outputs
are uint8 arrays with the content's size (after optional resizing).
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
import yaml
from PIL import Image

from adain.config import run_model_config
from adain.errors import UserError
from adain.images import load_image, to_rgb_uint8, to_uint8
from adain.model import AdaINModel, build_configured_encoder, build_decoder, pad_to_multiple
from adain.preprocess import resize_smaller_side
from adain.train import CHECKPOINT_DIR, CONFIG_FILE, DECODER_FILE

ImageLike = str | os.PathLike | Image.Image | np.ndarray

IMAGE_BATCH = tf.TensorSpec([None, None, None, 3], tf.float32)
FEATURE_BATCH = tf.TensorSpec([None, None, None, None], tf.float32)  # channels: the content layer's
SCALAR = tf.TensorSpec([], tf.float32)
SIZE = tf.TensorSpec([], tf.int32)


def as_array(image: ImageLike) -> np.ndarray:
    """Path, PIL image or array -> float32 [H, W, 3] in 0..255."""
    if isinstance(image, (str, os.PathLike)):
        return load_image(image).astype(np.float32)
    if isinstance(image, Image.Image):
        return to_rgb_uint8(image).astype(np.float32)
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] not in (3, 4):
        raise UserError(f"expected an image array of shape (H, W, 3), got {array.shape}")
    return array[..., :3].astype(np.float32)


def load_decoder(run_dir: str | os.PathLike) -> keras.Model:
    """The trained decoder of a run: its final `decoder.keras`, else its latest checkpoint."""
    run_dir = Path(run_dir)
    if run_dir.is_file() and run_dir.suffix == ".keras":
        return keras.saving.load_model(run_dir, compile=False)
    if not run_dir.is_dir():
        raise UserError(f"checkpoint not found: {run_dir}")
    if (run_dir / DECODER_FILE).is_file():
        return keras.saving.load_model(run_dir / DECODER_FILE, compile=False)
    latest = tf.train.latest_checkpoint(str(run_dir / CHECKPOINT_DIR))
    if latest is None:
        raise UserError(f"no trained decoder in {run_dir} (expected {DECODER_FILE} or {CHECKPOINT_DIR}/)")
    decoder = build_decoder(content_layer=run_model_config(run_dir).content_layer)
    tf.train.Checkpoint(decoder=decoder).restore(latest).expect_partial()
    return decoder


def run_vgg_weights(run_dir: str | os.PathLike) -> str | None:
    """The VGG weights file a run was trained with, when its config names one."""
    config_file = Path(run_dir) / CONFIG_FILE
    if not config_file.is_file():
        return None
    model = (yaml.safe_load(config_file.read_text()) or {}).get("model") or {}
    return model.get("vgg_weights")


class Stylizer:
    """Arbitrary style transfer with a trained AdaIN decoder. One trace serves every image size."""

    def __init__(self, model: AdaINModel) -> None:
        self.model = model
        self._encode = tf.function(lambda images: model.encode(images), input_signature=[IMAGE_BATCH])
        self._decode = tf.function(
            self._decode_features, input_signature=[FEATURE_BATCH, FEATURE_BATCH, SCALAR, SIZE, SIZE]
        )

    @classmethod
    def from_checkpoint(cls, run_dir: str | os.PathLike, vgg_weights: str | None = None) -> Stylizer:
        decoder = load_decoder(run_dir)
        encoder, _ = build_configured_encoder(run_model_config(run_dir), vgg_weights)  # as the run was trained
        return cls(AdaINModel(encoder, decoder))

    def _decode_features(self, content_features, style_features, alpha, height, width):
        target = self.model.decode_target(content_features, style_features, alpha)
        return self.model.decoder(target)[:, :height, :width, :]

    def prepare(self, image: ImageLike, size: int = 0) -> tf.Tensor:
        """The one preprocessing path: to float RGB 0..255, smaller side resized to `size` (0 keeps)."""
        return resize_smaller_side(as_array(image), size)

    def encode(self, images: tf.Tensor) -> tf.Tensor:
        """relu4_1 features of a [N, H, W, 3] batch, padded to the encoder's stride."""
        padded, _, _ = pad_to_multiple(images)
        return self._encode(padded)[-1]

    def stylize(self, content: ImageLike, style: ImageLike, alpha: float = 1.0, content_size: int = 0,
                style_size: int = 0) -> np.ndarray:  # fmt: skip
        """Stylize one content image with one style image; returns uint8 [H, W, 3]."""
        if not 0.0 <= alpha <= 1.0:
            raise UserError(f"alpha must be in [0, 1], got {alpha}")
        content_image = self.prepare(content, content_size)[None]
        style_features = self.encode(self.prepare(style, style_size)[None])
        return self.stylize_features(content_image, style_features, alpha)[0]

    def stylize_features(self, content_images: tf.Tensor, style_features: tf.Tensor, alpha: float = 1.0) -> np.ndarray:
        """Stylize a content batch against already-encoded style features (reuse them across contents)."""
        height, width = tf.shape(content_images)[1], tf.shape(content_images)[2]
        content_features = self.encode(content_images)
        output = self._decode(content_features, style_features, tf.constant(alpha, tf.float32), height, width)
        return to_uint8(output.numpy())
