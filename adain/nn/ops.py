"""The arithmetic of AdaIN, written once: channel statistics, the AdaIN transform, the alpha blend, padding.

Keras ops on NHWC tensors, so the same code runs in training, the traced inference functions,
tiling and the exported SavedModel / TFLite graphs.
"""

from __future__ import annotations

from keras import ops

from adain.nn.layout import ENCODER_STRIDE

EPSILON = 1e-5


def channel_mean_std(features, epsilon: float = EPSILON):
    """Per-sample, per-channel mean and std over height and width (NHWC), each [N, 1, 1, C]."""
    mean, variance = ops.moments(features, axes=(1, 2), keepdims=True)
    return mean, ops.sqrt(variance + epsilon)


def feature_statistics(features, epsilon: float = EPSILON):
    """[N, h, w, C] features -> channel mean and std, each [N, C]: all AdaIN keeps of a style."""
    mean, std = channel_mean_std(features, epsilon)
    return mean[:, 0, 0, :], std[:, 0, 0, :]


def renormalize(features, mean, std, target_mean, target_std):
    """The AdaIN transform with given statistics: target_std * (x - mean) / std + target_mean."""
    return target_std * (features - mean) / std + target_mean


def adaptive_instance_norm(content, style, epsilon: float = EPSILON):
    """t = sigma(s) * (c - mu(c)) / sigma(c) + mu(s), per channel over H, W."""
    content_mean, content_std = channel_mean_std(content, epsilon)
    style_mean, style_std = channel_mean_std(style, epsilon)
    return renormalize(content, content_mean, content_std, style_mean, style_std)


def alpha_blend(target, content, alpha):
    """The content-style trade-off: alpha * target + (1 - alpha) * content (alpha 0 keeps the content)."""
    return alpha * target + (1.0 - alpha) * content


def pad_to_multiple(images, multiple: int = ENCODER_STRIDE):
    """Reflect-pad H and W up to a multiple, so the decoder gives back the exact input size.

    Returns (padded, height, width) with the original height and width.
    """
    height, width = ops.shape(images)[1], ops.shape(images)[2]
    pad_h = (-height) % multiple
    pad_w = (-width) % multiple
    return ops.pad(images, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], mode="symmetric"), height, width
