"""The paper's losses: content on relu4_1 against the AdaIN target, style on feature statistics."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import keras
import numpy as np
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


GREY = (0.299, 0.587, 0.114)  # luma weights: streaks are judged on the grey image
STREAK_PERIODS = (2, 4, 8)  # px: the periods nearest upsampling by 2, 4 and 8 leaves behind


@lru_cache(maxsize=16)
def axis_periodic_masks(height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The frequency masks of the streak measure, for an image of this size (numpy, fft2 layout):
    (window [H, W], band, selected). `band`: periods 2..8 px. `selected`: the part of the band on the spectrum's
    horizontal and vertical axes or on the period-2/4/8 lattice, where streaks, scan lines and checkerboards put
    their energy. The Hann window keeps the image's borders from adding false axis energy. One definition serves
    the metric (adain.quality.colour.streak_ratio) and the training penalty (`streak_excess`)."""
    window = np.outer(np.hanning(height), np.hanning(width))
    fy = np.abs(np.fft.fftfreq(height))[:, None] * np.ones((1, width))
    fx = np.abs(np.fft.fftfreq(width))[None, :] * np.ones((height, 1))
    band = (np.hypot(fx, fy) >= 1 / 8) & (np.hypot(fx, fy) <= 0.5 * np.sqrt(2))
    step_y, step_x = 1.5 / height, 1.5 / width  # within ~1.5 bins
    selected = (fx <= step_x) | (fy <= step_y)
    for period in STREAK_PERIODS:
        selected |= (np.abs(fx - 1 / period) <= step_x) | (np.abs(fy - 1 / period) <= step_y)
    return window, band, band & selected


def _streak_energies(images, window, band, selected):
    """Per image: (energy on the streak axes and lattice, energy in the whole band) of the windowed grey image."""
    grey = ops.einsum("nhwc,c->nhw", images, ops.convert_to_tensor(np.array(GREY, np.float32)))
    grey = (grey - ops.mean(grey, axis=(1, 2), keepdims=True)) * window
    real, imag = ops.fft2((grey, ops.zeros_like(grey)))
    energy = ops.square(real) + ops.square(imag)
    return ops.sum(energy * selected, axis=(1, 2)), ops.sum(energy * band, axis=(1, 2))


def streak_excess(output, content):
    """Training penalty against streaks and checkerboards: the output's energy on the streak axes and lattice
    (`axis_periodic_masks`) beyond the content photo's own, in units of the content's energy at periods 2..8 px.
    Zero when the output adds no axis-aligned or periodic texture to what the photo has; fine texture in other
    directions costs nothing, so the decoder is not pushed to blur. Images [N, H, W, 3] in 0..255."""
    height, width = int(output.shape[1]), int(output.shape[2])
    window, band, selected = (ops.convert_to_tensor(m.astype(np.float32)) for m in axis_periodic_masks(height, width))
    output_selected, _ = _streak_energies(ops.cast(output, "float32") / 255.0, window, band, selected)
    content_selected, content_band = _streak_energies(ops.cast(content, "float32") / 255.0, window, band, selected)
    return ops.mean(ops.relu(output_selected - content_selected) / (content_band + 1e-6))


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
