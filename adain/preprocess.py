"""The one preprocessing path shared by training, inference and evaluation.

Images travel as RGB float32 in 0..255 (the encoder does the Caffe preprocessing
itself), resized by their smaller side, then cropped where training wants squares.
"""

from __future__ import annotations

import tensorflow as tf


def resize_smaller_side(image: tf.Tensor, size: int | tf.Tensor) -> tf.Tensor:
    """Resize [H, W, C] or [N, H, W, C] so the smaller side is `size` (aspect kept; 0 keeps it)."""
    image = tf.convert_to_tensor(image)
    if isinstance(size, int) and size <= 0:
        return tf.cast(image, tf.float32)
    shape = tf.shape(image)
    height, width = tf.cast(shape[-3], tf.float32), tf.cast(shape[-2], tf.float32)
    scale = tf.cast(size, tf.float32) / tf.minimum(height, width)
    new_size = tf.maximum(tf.cast(tf.round(tf.stack([height * scale, width * scale])), tf.int32), 1)
    resized = tf.image.resize(tf.cast(image, tf.float32), new_size, method="bilinear", antialias=True)
    return tf.clip_by_value(resized, 0.0, 255.0)


def center_crop(image: tf.Tensor, size: int) -> tf.Tensor:
    """Square centre crop of a [H, W, C] image whose sides are both >= size."""
    shape = tf.shape(image)
    top = (shape[0] - size) // 2
    left = (shape[1] - size) // 2
    return image[top : top + size, left : left + size, :]
