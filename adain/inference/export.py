"""A trained run as a SavedModel (TF Serving) or a TFLite file, traced from the Python API's graph.

The signatures (inputs, outputs, dtypes) are documented where users read them: `adain export --help`
(adain/cli/export.py). The graph is `adain.inference.stylizer.Stylizer`'s: same padding, AdaIN and rounding,
with `color_match=0` (the network's own colours): the colour transfer needs an eigendecomposition, which TFLite
lacks; a server applies `adain.inference.color.toward_colors` to the output for the Python API's default.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import keras
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from adain.inference.controls import blended_target
from adain.inference.marker import marker_path, marker_record
from adain.inference.stylizer import Stylizer
from adain.media import files
from adain.nn.ops import feature_statistics, pad_to_multiple

SIGNATURE = "serving_default"


def portable_decoder(decoder):
    """The decoder with UpSampling2D run as ResizeNearestNeighbor: the same pixels (2x nearest), but a shape that
    TFLite's converter can follow (Keras' upsampling hides the channel count from it, which blocks its convolutions)."""

    def decode(features, training=False):
        x = features
        for layer in decoder.layers:
            if isinstance(layer, keras.layers.UpSampling2D):
                x = tf.image.resize(x, tf.shape(x)[1:3] * tf.constant(layer.size), method="nearest")
            else:
                x = layer(x, training=training)
        return x

    return decode


def build_serving_function(encoder, decoder):
    """content, style (uint8, rank 3 or 4), alpha -> {"stylized": uint8 shaped like content}."""

    def to_batch(image):  # [H, W, 3] or [N, H, W, 3] -> [N, H, W, 3] float
        batch = tf.reshape(tf.cast(image, tf.float32), tf.concat([[-1], tf.shape(image)[-3:]], axis=0))
        batch.set_shape([None, None, None, 3])
        return batch

    def serve(content, style, alpha):
        shape = tf.shape(content)
        images, styles = to_batch(content), to_batch(style)
        padded, height, width = pad_to_multiple(images)
        features = encoder(padded, training=False)[-1]
        mean, std = feature_statistics(encoder(styles, training=False)[-1])
        alpha = tf.clip_by_value(tf.cast(alpha, tf.float32), 0.0, 1.0)
        target = blended_target(features, mean[:, None], std[:, None], tf.ones([1]), alpha)
        output = decoder(target, training=False)[:, :height, :width, :]
        stylized = tf.cast(tf.round(tf.clip_by_value(output, 0.0, 255.0)), tf.uint8)
        return {"stylized": tf.reshape(stylized, shape)}

    return serve


def input_signature(rank: int | None):
    shape = None if rank is None else [None] * (rank - 1) + [3]
    return [
        tf.TensorSpec(shape, tf.uint8, name="content"),
        tf.TensorSpec(shape, tf.uint8, name="style"),
        tf.TensorSpec([], tf.float32, name="alpha"),
    ]


def serving_module(stylizer: Stylizer, rank: int | None, portable: bool = False):
    """A tf.Module owning the encoder and decoder, with the serving function traced for inputs of `rank`."""
    module = tf.Module()
    module.encoder, module.decoder = stylizer.model.encoder, stylizer.model.decoder
    decoder = portable_decoder(module.decoder) if portable else module.decoder
    module.serve = tf.function(build_serving_function(module.encoder, decoder), input_signature=input_signature(rank))
    return module


def write_saved_model(module, path: Path) -> None:
    tf.saved_model.save(module, str(path), signatures={SIGNATURE: module.serve.get_concrete_function()})


def remove_stale_partials(output: Path) -> None:
    """Partial exports left by a killed export (its pid is gone) are removed at the next start, and said so."""
    if output.parent.is_dir():
        for path in files.remove_stale_partials(output.parent, output.name):
            print(f"removed {path}, left by an interrupted export", file=sys.stderr)


def export_saved_model(stylizer: Stylizer, output: Path, checkpoint: str | os.PathLike = "") -> Path:
    """A SavedModel directory with adain's marker in it, written next to `output` and renamed into place."""
    with files.atomic_path(output, suffix="", directory=True) as tmp:
        write_saved_model(serving_module(stylizer, rank=None), tmp)
        write_marker(marker_path(tmp, directory=True), marker_record("saved_model", checkpoint))
    return output


def write_marker(path: Path, record: dict) -> None:
    files.write_text(path, json.dumps(record, indent=1) + "\n")


def export_tflite(stylizer: Stylizer, output: Path, float16: bool = False, checkpoint: str | os.PathLike = "") -> Path:
    """One image in, one out. The weights are frozen into constants first: the converter would otherwise keep
    Keras' resource variables as uninitialised TFLite variables."""
    module = serving_module(stylizer, rank=3, portable=True)
    frozen = convert_variables_to_constants_v2(module.serve.get_concrete_function())

    def named(content, style, alpha):
        return {"stylized": frozen(content=content, style=style, alpha=alpha)[0]}

    named = tf.function(named, input_signature=input_signature(3))
    converter = tf.lite.TFLiteConverter.from_concrete_functions([named.get_concrete_function()], module)
    if float16:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    flatbuffer = converter.convert()
    files.write_bytes(output, flatbuffer)  # checked complete before the rename
    write_marker(marker_path(output, directory=False), marker_record("tflite", checkpoint, output))
    return output
