"""Linear colour transfer between images: the paper's colour preservation, and the style's palette on the output.

One transfer serves two controls. It gives an image another image's RGB mean and covariance:
x' = A (x - mu_s) + mu_t with A = Sigma_t^(1/2) Sigma_s^(-1/2) (symmetric matrix square roots), the
transfer of Gatys et al. 2016 ("Preserving color in neural artistic style transfer"; the reference PyTorch
implementation's `coral()` is the same).

* `preserve_color` (the AdaIN paper, section 7): the *style* is recoloured to the content's colours before it
  is encoded, so the network transfers strokes and textures but not colours.
* `color_match` (this project; issue 21): the *output* is moved towards the style's colours after decoding.
  AdaIN matches the mean and std of VGG channels, which fixes a painting's colours only loosely: measured on
  held-out pairs, flat, saturated paintings came out bleached (colour distance 5.3 CIELAB units against the
  peer's 4.3). Half of the linear transfer (`adain.inference.options.DEFAULT_COLOR_MATCH`, chosen on training-split paintings) brought
  it to 3.5 and lowered the style loss as well (docs/quality.md, "Colour (issue 21)"); the full transfer
  colours better still but flattens the decoder's own shading, which the content and style losses both see.

Written in TensorFlow, batched, so it runs inside the stylizer's traced functions; statistics are float64.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

# Added to both covariances: keeps a flat or grey image (singular covariance) invertible.
REGULARIZER = 1e-5


def color_moments(images: tf.Tensor, weights: tf.Tensor | None = None) -> tuple[tf.Tensor, tf.Tensor]:
    """Per-image RGB mean [N, 3] and covariance [N, 3, 3] (+ REGULARIZER) of a [N, H, W, 3] 0..255 batch, float64
    in 0..1 units; over the pixels weighted by `weights` [N or 1, H, W] (a region) when given."""
    pixels = tf.reshape(tf.cast(images, tf.float64) / 255.0, [tf.shape(images)[0], -1, 3])
    if weights is None:
        weights = tf.ones_like(pixels[..., :1])
    else:
        weights = tf.broadcast_to(
            tf.reshape(tf.cast(weights, tf.float64), [tf.shape(weights)[0], -1, 1]), tf.shape(pixels[..., :1])
        )
    total = tf.maximum(tf.reduce_sum(weights, axis=1), 1e-12)  # [N, 1]
    mean = tf.reduce_sum(weights * pixels, axis=1) / total
    centered = pixels - mean[:, None, :]
    covariance = tf.matmul(weights * centered, centered, transpose_a=True) / total[:, :, None]
    return mean, covariance + REGULARIZER * tf.eye(3, dtype=tf.float64)


def _matrix_power(covariance: tf.Tensor, power: float) -> tf.Tensor:
    values, vectors = tf.linalg.eigh(covariance)
    scaled = vectors * tf.pow(tf.maximum(values, REGULARIZER), power)[..., None, :]
    return tf.matmul(scaled, vectors, transpose_b=True)


def color_transform(covariance: tf.Tensor, target_covariance: tf.Tensor) -> tf.Tensor:
    """The matrix A [N, 3, 3] that takes centred colours of `covariance` to `target_covariance`."""
    return tf.matmul(_matrix_power(target_covariance, 0.5), _matrix_power(covariance, -0.5))


def transfer_color(images: tf.Tensor, target_mean: tf.Tensor, target_covariance: tf.Tensor) -> tf.Tensor:
    """[N, H, W, 3] 0..255 images given the target RGB mean [N, 3] and covariance [N, 3, 3] (units of
    `color_moments`): float32, clipped to 0..255."""
    mean, covariance = color_moments(images)
    return apply_color_transform(images, mean, color_transform(covariance, target_covariance), target_mean)


def apply_color_transform(images, mean: tf.Tensor, transform: tf.Tensor, target_mean: tf.Tensor) -> tf.Tensor:
    """x' = A (x - mean) + target_mean on [N, H, W, 3] 0..255 images (statistics in 0..1 units); float32, clipped."""
    shape = tf.shape(images)
    pixels = tf.reshape(tf.cast(images, tf.float64) / 255.0, [shape[0], -1, 3]) - mean[:, None, :]
    matched = tf.matmul(pixels, transform, transpose_b=True) + target_mean[:, None, :]
    return tf.reshape(tf.cast(tf.clip_by_value(matched * 255.0, 0.0, 255.0), tf.float32), shape)


def match_color(source: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """`source` [H, W, 3] recoloured to the RGB mean and covariance of `reference` (any size); float32 0..255."""
    mean, covariance = color_moments(tf.convert_to_tensor(np.asarray(reference, np.float32)[None]))
    return transfer_color(tf.convert_to_tensor(np.asarray(source, np.float32)[None]), mean, covariance)[0].numpy()


def mixture_colors(
    color_mean: tf.Tensor, color_covariance: tf.Tensor, weights: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """The RGB mean [N, 3] and covariance [N, 3, 3] of a mixture of K styles' pixels ([N, K, 3], [N, K, 3, 3]) in
    the proportions `weights` [K]: what a style blend's colours are (mixing second moments, not covariances)."""
    weights = tf.cast(weights, tf.float64)
    mean = tf.einsum("nkc,k->nc", color_mean, weights)
    second = color_covariance + color_mean[..., :, None] * color_mean[..., None, :]
    return mean, tf.einsum("nkcd,k->ncd", second, weights) - mean[:, :, None] * mean[:, None, :]


def toward_colors(
    outputs: tf.Tensor,
    target_mean: tf.Tensor,
    target_covariance: tf.Tensor,
    strength: float,
    region: tf.Tensor | None = None,
) -> tf.Tensor:
    """Decoded outputs [N, H, W, 3] moved `strength` (0: unchanged, 1: the target's colours exactly) towards the
    target RGB mean [N or 1, 3] and covariance [N or 1, 3, 3] (one target broadcasts over the batch), from the output as it would be written (clipped to 0..255).
    With `region` [N or 1, H, W] the output's own colours are measured there (a masked style's area)."""
    clipped = tf.clip_by_value(tf.cast(outputs, tf.float32), 0.0, 255.0)
    mean, covariance = color_moments(clipped, region)
    matched = apply_color_transform(clipped, mean, color_transform(covariance, target_covariance), target_mean)
    return clipped + strength * (matched - clipped)
