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


def style_layer_loss(output_features, style_features):
    """One layer's style term: MSE(channel means) + MSE(channel stds)."""
    output_mean, output_std = channel_mean_std(output_features)
    style_mean, style_std = channel_mean_std(style_features)
    return mse(output_mean, style_mean) + mse(output_std, style_std)


def style_layer_losses(output_features: Sequence, style_features: Sequence) -> list:
    """The style term of each layer (what the metric reports per layer; their sum is `style_loss`)."""
    return [style_layer_loss(o, s) for o, s in zip(output_features, style_features, strict=True)]


def style_loss(output_features: Sequence, style_features: Sequence):
    """Sum over layers of MSE(channel means) + MSE(channel stds)."""
    total = 0.0
    for term in style_layer_losses(output_features, style_features):
        total = total + term
    return total


def total_variation(images):
    """Mean squared difference of neighbouring pixels: a smoothness prior against high-frequency noise."""
    dy = images[:, 1:, :, :] - images[:, :-1, :, :]
    dx = images[:, :, 1:, :] - images[:, :, :-1, :]
    return ops.mean(ops.square(dy)) + ops.mean(ops.square(dx))
