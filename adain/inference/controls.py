"""The paper's user controls (section 7) as operations on relu4_1 features.

AdaIN only needs each style's channel mean and std, so styles travel as statistics
([N or 1, K, C] for K styles): a style is encoded once and reused for every content,
frame and alpha. Everything here is plain TensorFlow so it runs inside one traced
function and inside the exported SavedModel / TFLite graphs.

* content-style trade-off: t' = alpha * t + (1 - alpha) * f(c)
* style interpolation: sum_k w_k AdaIN(f(c), f(s_k)), which is AdaIN with the
  w-weighted style statistics (the transform is affine in the statistics)
* spatial control: region k of the content is normalised with its own statistics
  and given style k's; regions come from masks, area-averaged to feature resolution
  so their borders blend over one feature cell.
"""

from __future__ import annotations

import tensorflow as tf

from adain.nn.layout import ENCODER_STRIDE
from adain.nn.ops import EPSILON, alpha_blend, channel_mean_std, pad_to_multiple, renormalize


def blended_target(
    content_features: tf.Tensor,
    style_mean: tf.Tensor,
    style_std: tf.Tensor,
    weights: tf.Tensor,
    alpha: tf.Tensor,
    content_statistics: tuple[tf.Tensor, tf.Tensor] | None = None,
) -> tf.Tensor:
    """AdaIN target for K styles blended with weights [K] (summing to 1), mixed with the content by alpha.

    style_mean, style_std: [N or 1, K, C]. content_statistics: the content's channel (mean, std) [N, 1, 1, C] to
    normalise with instead of its own (video: statistics smoothed over time, adain.inference.temporal).
    """
    if content_statistics is None:
        content_statistics = channel_mean_std(content_features, EPSILON)
    content_mean, content_std = content_statistics
    mean = tf.einsum("nkc,k->nc", style_mean, weights)[:, None, None, :]
    std = tf.einsum("nkc,k->nc", style_std, weights)[:, None, None, :]
    return alpha_blend(renormalize(content_features, content_mean, content_std, mean, std), content_features, alpha)


def masked_target(
    content_features: tf.Tensor, style_mean: tf.Tensor, style_std: tf.Tensor, regions: tf.Tensor, alpha: tf.Tensor
) -> tf.Tensor:
    """AdaIN per region: regions [N or 1, h, w, K] (summing to 1 over K) at the features' resolution."""
    features = content_features[:, :, :, None, :]  # N h w 1 C
    weights = regions[..., None]  # N h w K 1
    count = tf.maximum(tf.reduce_sum(weights, axis=(1, 2), keepdims=True), 1e-6)  # N 1 1 K 1
    mean = tf.reduce_sum(weights * features, axis=(1, 2), keepdims=True) / count
    variance = tf.reduce_sum(weights * tf.square(features - mean), axis=(1, 2), keepdims=True) / count
    std = tf.sqrt(variance + EPSILON)
    per_style = renormalize(features, mean, std, style_mean[:, None, None], style_std[:, None, None])  # N h w K C
    target = tf.reduce_sum(weights * per_style, axis=3)
    return alpha_blend(target, content_features, alpha)


def region_weights(labels_one_hot: tf.Tensor, multiple: int = ENCODER_STRIDE) -> tf.Tensor:
    """[N, H, W, K] one-hot regions at image size -> area fractions [N, H/8, W/8, K] at relu4_1's grid.

    The image is reflect-padded to a multiple of 8 before encoding, and so are the regions here.
    """
    padded, _, _ = pad_to_multiple(tf.convert_to_tensor(labels_one_hot, tf.float32), multiple)
    return tf.nn.avg_pool2d(padded, multiple, multiple, "VALID")
