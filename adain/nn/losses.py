"""The paper's losses: content on relu4_1 against the AdaIN target, style on feature statistics."""

from __future__ import annotations

from collections.abc import Sequence

from keras import ops

from adain.nn.ops import channel_mean_std


def mse(a, b):
    return ops.mean(ops.square(a - b))


def content_loss(output_features, target):
    """MSE between relu4_1 of the stylized output and the AdaIN target t."""
    return mse(output_features, target)


def style_loss(output_features: Sequence, style_features: Sequence):
    """Sum over layers of MSE(channel means) + MSE(channel stds)."""
    total = 0.0
    for output, style in zip(output_features, style_features, strict=True):
        output_mean, output_std = channel_mean_std(output)
        style_mean, style_std = channel_mean_std(style)
        total = total + mse(output_mean, style_mean) + mse(output_std, style_std)
    return total


def total_variation(images):
    """Mean squared difference of neighbouring pixels: a smoothness prior against high-frequency noise."""
    dy = images[:, 1:, :, :] - images[:, :-1, :, :]
    dx = images[:, :, 1:, :] - images[:, :, :-1, :]
    return ops.mean(ops.square(dy)) + ops.mean(ops.square(dx))


def output_range_excess(images, low: float = 0.0, high: float = 255.0):
    """Mean squared excess of pixel values beyond [low, high], in 0..1 units: zero for any writable image."""
    over = ops.relu(images - high) + ops.relu(low - images)
    return ops.mean(ops.square(over / (high - low)))
