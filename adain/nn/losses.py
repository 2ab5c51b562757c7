"""The paper's losses: content on relu4_1 against the AdaIN target, style on feature statistics."""

from __future__ import annotations

from collections.abc import Sequence

import keras
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


def output_range_excess(images, low: float = 0.0, high: float = 255.0):
    """Mean squared excess of pixel values beyond [low, high], in 0..1 units: zero for any writable image."""
    over = ops.relu(images - high) + ops.relu(low - images)
    return ops.mean(ops.square(over / (high - low)))


# Compound regularisation (AdaINModel.temporal_loss): how far the content is moved and how noisy it becomes.
TEMPORAL_SHIFT = 2.0  # pixels, at most, each way
TEMPORAL_ROTATION = 1.0  # degrees, at most, each way
TEMPORAL_SCALE = 0.02  # relative, at most, each way
TEMPORAL_NOISE = 2.0  # Gaussian sigma on 0..255 pixels


def random_small_affine(batch, height, width):
    """A random small rotation, scaling and shift about the image centre per image, as Keras' affine rows [N, 8]
    (each output pixel (x, y) reads the input at (a0 x + a1 y + a2, b0 x + b1 y + b2)): the motion between two
    video frames, imitated on still images."""
    uniform = lambda limit: keras.random.uniform([batch], -limit, limit)  # noqa: E731
    angle = uniform(TEMPORAL_ROTATION) * (3.141592653589793 / 180.0)
    scale = 1.0 + uniform(TEMPORAL_SCALE)
    shift_x, shift_y = uniform(TEMPORAL_SHIFT), uniform(TEMPORAL_SHIFT)
    cx, cy = (ops.cast(width, "float32") - 1.0) / 2.0, (ops.cast(height, "float32") - 1.0) / 2.0
    cos, sin = scale * ops.cos(angle), scale * ops.sin(angle)
    zeros = ops.zeros_like(cos)
    rows = [cos, -sin, cx - cos * cx + sin * cy + shift_x, sin, cos, cy - sin * cx - cos * cy + shift_y, zeros, zeros]
    return ops.stack(rows, axis=1)


def moved(images, transform):
    """Images [N, H, W, C] moved by affine rows [N, 8] (bilinear; zeros where the move reads outside)."""
    return ops.image.affine_transform(ops.cast(images, "float32"), transform, "bilinear", "constant", 0.0)
