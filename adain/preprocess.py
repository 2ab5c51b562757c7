"""The one preprocessing path shared by training, inference and evaluation.

Images travel as RGB float32 in 0..255 (the encoder does the Caffe preprocessing
itself), resized by their smaller side, then cropped where training wants squares.
`prepare_image` is load -> resize -> crop for one image (a path, PIL image or array).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from adain.media.images import ImageLike, as_rgb_array, check_image_size, resized_shape


def smaller_side_shape(height: tf.Tensor, width: tf.Tensor, size: int | tf.Tensor) -> tf.Tensor:
    """[new_height, new_width] (int32) with the smaller side `size` and the aspect ratio kept."""
    height, width = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    scale = tf.cast(size, tf.float32) / tf.minimum(height, width)
    return tf.maximum(tf.cast(tf.round(tf.stack([height * scale, width * scale])), tf.int32), 1)


def resize_smaller_side(image: tf.Tensor, size: int | tf.Tensor) -> tf.Tensor:
    """Resize [H, W, C] or [N, H, W, C] so the smaller side is `size` (aspect kept; 0 keeps it)."""
    image = tf.convert_to_tensor(image)
    if isinstance(size, int) and size <= 0:
        return tf.cast(image, tf.float32)
    shape = tf.shape(image)
    new_size = smaller_side_shape(shape[-3], shape[-2], size)
    resized = tf.image.resize(tf.cast(image, tf.float32), new_size, method="bilinear", antialias=True)
    return tf.clip_by_value(resized, 0.0, 255.0)


def center_crop(image: tf.Tensor, size: int | tf.Tensor | None = None) -> tf.Tensor:
    """Square centre crop of a [H, W, C] image or [N, H, W, C] batch whose sides are both >= size
    (default: the smaller side, the largest square)."""
    image = tf.convert_to_tensor(image)
    shape = tf.shape(image)
    height, width = shape[-3], shape[-2]
    if size is None:
        size = tf.minimum(height, width)
    top = (height - size) // 2
    left = (width - size) // 2
    return image[..., top : top + size, left : left + size, :]


def prepare_image(image: ImageLike, size: int = 0, crop: bool | int = False, what: str = "image") -> tf.Tensor:
    """The one way an image becomes a model input: decoded (adain.media.images), smaller side resized to `size`
    (0 keeps it), then centre-cropped (`crop`: True for the largest square, a number for a square of that side).
    Float32 RGB 0..255 [H, W, 3]; sizes the encoder cannot take are refused before any resizing."""
    array = as_rgb_array(image)
    height, width = resized_shape(array.shape[0], array.shape[1], size)
    side = min(height, width) if crop is True else int(crop)
    check_image_size(side or height, side or width, what)
    resized = resize_smaller_side(np.asarray(array, np.float32), size)
    return center_crop(resized, side) if side else resized


def random_crop_offset(height: tf.Tensor, width: tf.Tensor, crop_size: int, seed: tf.Tensor) -> tf.Tensor:
    """[top, left] of a uniformly random crop_size square in a height x width image; stateless, so a seed replays it."""
    limit = tf.stack([height, width]) - crop_size + 1
    raw = tf.random.stateless_uniform([2], seed=seed, minval=None, maxval=None, dtype=tf.int32)
    return tf.math.floormod(raw, tf.maximum(limit, 1))


def random_crop(image: tf.Tensor, crop_size: int, seed: tf.Tensor) -> tf.Tensor:
    """The paper's random square crop of an already resized [H, W, C] image."""
    shape = tf.shape(image)
    top, left = tf.unstack(random_crop_offset(shape[0], shape[1], crop_size, seed))
    return image[top : top + crop_size, left : left + crop_size, :]


def random_load_size(min_size: int, max_size: int, seed: tf.Tensor) -> tf.Tensor:
    """A smaller side drawn uniformly from [min_size, max_size] (int32 scalar); stateless, so a seed replays it."""
    return tf.random.stateless_uniform([], seed=seed, minval=min_size, maxval=max_size + 1, dtype=tf.int32)


def random_scaled_crop(
    image: tf.Tensor, crop_size: int, load_size: int, scale_to: tf.Tensor, seed: tf.Tensor
) -> tf.Tensor:
    """The crop `random_crop` would take from `image` (smaller side `load_size`) had it been resized to `scale_to`.

    A random window of crop_size * load_size / scale_to pixels, resized to crop_size with the antialiased
    bilinear kernel of `resize_smaller_side`: what a cached image at `load_size` gives at a smaller scale.
    """
    window = tf.cast(tf.round(crop_size * load_size / tf.cast(scale_to, tf.float32)), tf.int32)
    shape = tf.shape(image)
    window = tf.minimum(window, tf.minimum(shape[0], shape[1]))
    top, left = tf.unstack(random_crop_offset(shape[0], shape[1], window, seed))
    patch = tf.cast(image[top : top + window, left : left + window, :], tf.float32)
    resized = tf.image.resize(patch, [crop_size, crop_size], method="bilinear", antialias=True)
    return tf.clip_by_value(resized, 0.0, 255.0)


def resize_smaller_side_and_random_crop(image: tf.Tensor, size: int, crop_size: int, seed: tf.Tensor) -> tf.Tensor:
    """`random_crop(resize_smaller_side(image, size), crop_size, seed)`, computing only the crop's pixels.

    Same antialiased bilinear kernel and geometry as `resize_smaller_side` (tf.image.resize is
    ScaleAndTranslate without translation): the crop becomes a translation, and only the input
    window under the crop's kernels is read, so a large image costs about what a small one does.
    """
    image = tf.convert_to_tensor(image)
    shape = tf.shape(image)[:2]
    new_size = smaller_side_shape(shape[0], shape[1], size)
    offset = tf.cast(random_crop_offset(new_size[0], new_size[1], crop_size, seed), tf.float32)
    scale = tf.cast(new_size, tf.float32) / tf.cast(shape, tf.float32)
    # Input rows/columns any output pixel's kernel can touch (triangle of radius 1 output pixel
    # when shrinking, 1 input pixel when enlarging), plus a pixel of slack.
    reach = tf.math.ceil(1.0 / tf.minimum(scale, 1.0)) + 1.0
    low = tf.clip_by_value(tf.cast(tf.floor(offset / scale - reach), tf.int32), 0, shape)
    high = tf.clip_by_value(tf.cast(tf.math.ceil((offset + crop_size) / scale + reach), tf.int32), 0, shape)
    window = image[low[0] : high[0], low[1] : high[1], :]
    crop = tf.raw_ops.ScaleAndTranslate(
        images=window[tf.newaxis],
        size=tf.constant([crop_size, crop_size], tf.int32),
        scale=scale,
        translation=tf.cast(low, tf.float32) * scale - offset,
        kernel_type="triangle",
        antialias=True,
    )[0]
    return tf.clip_by_value(crop, 0.0, 255.0)
