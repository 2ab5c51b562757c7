"""High-resolution stylization by tiling: peak memory bounded by the tile, not the image.

AdaIN needs the content's per-channel feature mean and std over the *whole* image; per-tile
statistics would give every tile its own colours and show the grid. So a first pass encodes
the tiles and accumulates sum and sum of squares over the feature cells each tile owns (the
cores partition the relu4_1 map, the cells one untiled pass would see), and a second pass
normalizes every tile with those global statistics, decodes it and blends overlapping tiles
with linear ramps. Windows start on the encoder's 8-pixel grid, so away from its border a
tile's features are the full image's; the overlap hides what the border changes.

With `colors` (the style's RGB moments and a strength, `adain.inference.color`) the output's own colour
moments are accumulated over the written rows, and a last pass over the uint8 output applies the one linear
colour transfer the untiled path applies to the whole image.

Memory: the uint8 input and output images, a float32 buffer one row of tiles high, and one
tile's activations (about 1 GB at 1024x1024 in float32).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from adain.errors import UserError
from adain.inference.color import REGULARIZER, apply_color_transform, color_transform
from adain.media.images import as_rgb_array, to_uint8
from adain.nn.layout import ENCODER_STRIDE
from adain.nn.model import AdaINModel
from adain.nn.ops import EPSILON, alpha_blend, channel_mean_std, pad_to_multiple, renormalize

DEFAULT_TILE = 1024
# A tile's output equals the untiled output (to float rounding) from ~56 px inside its border on
# (relu4_1 sees +-34 px, the decoder +-30 px). Neighbours overlap by 128 px and hand over in the
# middle of the overlap, 64 px from either border, with a short linear ramp.
DEFAULT_OVERLAP = 128

IMAGE = tf.TensorSpec([1, None, None, 3], tf.float32)
FEATURES = tf.TensorSpec([1, None, None, None], tf.float32)
STATS = tf.TensorSpec([1, 1, 1, None], tf.float32)
INDEX = tf.TensorSpec([], tf.int32)
SCALAR = tf.TensorSpec([], tf.float32)


@dataclass(frozen=True)
class Span:
    """One window along an axis: pixels [start, end) and the feature cells [core_start, core_end) it owns."""

    start: int
    end: int
    core_start: int
    core_end: int


def plan_spans(length: int, tile: int, overlap: int) -> list[Span]:
    """As few windows of at most `tile` pixels as cover `length` with `overlap` between neighbours, all the same
    size (a multiple of 8, so every window starts on the encoder's grid) but the last, which ends the image."""
    count = 1 if length <= tile else -(-(length - overlap) // (tile - overlap))
    size = min(tile, -(-(length + (count - 1) * overlap) // (count * ENCODER_STRIDE)) * ENCODER_STRIDE)
    starts = [i * (size - overlap) for i in range(count)]
    ends = [start + size for start in starts[:-1]] + [length]
    cells = -(-length // ENCODER_STRIDE)
    # Core boundaries: the middle of each overlap, rounded to a feature cell.
    bounds = [0] + [
        ((s + e) // 2 + ENCODER_STRIDE // 2) // ENCODER_STRIDE for s, e in zip(starts[1:], ends[:-1], strict=True)
    ]
    bounds.append(cells)
    return [Span(s, e, bounds[i], bounds[i + 1]) for i, (s, e) in enumerate(zip(starts, ends, strict=True))]


def blend_weights(spans: list[Span], index: int) -> np.ndarray:
    """1-D weights of window `index`: 0 near its inner borders, a linear ramp (a quarter of the overlap wide)
    centred in each overlap, 1 elsewhere; neighbours' weights sum to 1."""
    span = spans[index]
    x = np.arange(span.start, span.end, dtype=np.float64) + 0.5
    weight = np.ones_like(x)

    def ramp(first: Span, second: Span) -> tuple[float, float]:
        width = max((first.end - second.start) // 4, 1)
        return (second.start + first.end) / 2 - width / 2, width

    if index > 0:
        begin, width = ramp(spans[index - 1], span)
        weight = np.minimum(weight, np.clip((x - begin) / width, 0.0, 1.0))
    if index < len(spans) - 1:
        begin, width = ramp(span, spans[index + 1])
        weight = np.minimum(weight, np.clip((begin + width - x) / width, 0.0, 1.0))
    return weight.astype(np.float32)


def check_tiling(tile: int, overlap: int = DEFAULT_OVERLAP) -> None:
    """UserError unless windows can start on the encoder's grid and overlap only their neighbours."""
    if overlap < 0 or overlap % ENCODER_STRIDE:
        raise UserError(f"tile overlap must be a non-negative multiple of {ENCODER_STRIDE}, got {overlap}")
    if tile % ENCODER_STRIDE or tile < max(2 * overlap, 8 * ENCODER_STRIDE):
        smallest = max(2 * overlap, 8 * ENCODER_STRIDE)
        raise UserError(
            f"tile size must be a multiple of {ENCODER_STRIDE} and at least {smallest} "
            f"(twice the {overlap} px overlap), got {tile}"
        )


class TiledStylizer:
    """Two passes over tiles (statistics, then stylize + blend); each tf.function traces once for all sizes."""

    def __init__(self, model: AdaINModel) -> None:
        self.model = model
        self._sums = tf.function(self._tile_sums, input_signature=[IMAGE, INDEX, INDEX, INDEX, INDEX])
        self._stylize = tf.function(self._stylize_tile, input_signature=[IMAGE, STATS, STATS, STATS, STATS, SCALAR])

    def _features(self, tile):
        padded, _, _ = pad_to_multiple(tile)
        return tf.cast(self.model.encode(padded)[-1], tf.float32)

    def _tile_sums(self, tile, row0, row1, col0, col1):
        core = tf.cast(self._features(tile)[:, row0:row1, col0:col1, :], tf.float64)
        return tf.reduce_sum(core, axis=(0, 1, 2)), tf.reduce_sum(tf.square(core), axis=(0, 1, 2))

    def _stylize_tile(self, tile, content_mean, content_std, style_mean, style_std, alpha):
        features = self._features(tile)
        target = renormalize(features, content_mean, content_std, style_mean, style_std)
        output = self.model.decoder(alpha_blend(target, features, alpha))
        return tf.cast(output[:, : tf.shape(tile)[1], : tf.shape(tile)[2], :], tf.float32)

    @staticmethod
    def _tile(image: np.ndarray, rows: Span, cols: Span) -> tf.Tensor:
        return tf.constant(np.asarray(image[rows.start : rows.end, cols.start : cols.end], np.float32)[None])

    def content_statistics(self, image: np.ndarray, tile: int, overlap: int, progress=None) -> tuple:
        """Per-channel mean and std of relu4_1 over the whole image, accumulated over tile cores in float64."""
        row_spans, col_spans = plan_spans(image.shape[0], tile, overlap), plan_spans(image.shape[1], tile, overlap)
        total, total_sq, count = 0.0, 0.0, 0
        for rows in row_spans:
            for cols in col_spans:
                origin_r, origin_c = rows.start // ENCODER_STRIDE, cols.start // ENCODER_STRIDE
                s, sq = self._sums(
                    self._tile(image, rows, cols),
                    rows.core_start - origin_r,
                    rows.core_end - origin_r,
                    cols.core_start - origin_c,
                    cols.core_end - origin_c,
                )
                total, total_sq = total + s.numpy(), total_sq + sq.numpy()
                count += (rows.core_end - rows.core_start) * (cols.core_end - cols.core_start)
                if progress is not None:
                    progress.update(1)
        mean = total / count
        variance = np.maximum(total_sq / count - mean**2, 0.0)
        shape = (1, 1, 1, -1)
        std = np.sqrt(variance + EPSILON)
        return tf.constant(mean.reshape(shape), tf.float32), tf.constant(std.reshape(shape), tf.float32)

    def stylize(
        self,
        content,
        style_features: tf.Tensor,
        alpha: float = 1.0,
        tile: int = DEFAULT_TILE,
        overlap: int = DEFAULT_OVERLAP,
        colors: tuple[tf.Tensor, tf.Tensor, float] | None = None,
    ) -> np.ndarray:
        """Stylize one image of any size against encoded style features; uint8 [H, W, 3] like the untiled path.

        colors: (style RGB mean [1, 3], covariance [1, 3, 3], strength), as `Stylizer.decode`'s color_match."""
        check_tiling(tile, overlap)
        image = as_rgb_array(content)
        height, width = image.shape[:2]
        row_spans, col_spans = plan_spans(height, tile, overlap), plan_spans(width, tile, overlap)
        style_mean, style_std = channel_mean_std(tf.cast(style_features, tf.float32))
        alpha = tf.constant(alpha, tf.float32)
        output = np.empty((height, width, 3), np.uint8)
        col_weights = [blend_weights(col_spans, j) for j in range(len(col_spans))]
        tiles = 2 * len(row_spans) * len(col_spans)
        strength = 0.0 if colors is None else float(colors[2]) * float(alpha.numpy())
        moments = ColorMoments()
        with tqdm(total=tiles, desc="tiles", unit="tile", disable=None, leave=False) as progress:
            content_mean, content_std = self.content_statistics(image, tile, overlap, progress)
            # Rows [top, top + len(acc)) are still open: a later row of tiles may overlap them.
            top, acc, acc_weight = 0, np.zeros((0, width, 3), np.float32), np.zeros((0, width, 1), np.float32)
            for i, rows in enumerate(row_spans):
                grow = rows.end - (top + len(acc))
                if grow > 0:
                    acc = np.concatenate([acc, np.zeros((grow, width, 3), np.float32)])
                    acc_weight = np.concatenate([acc_weight, np.zeros((grow, width, 1), np.float32)])
                row_weight = blend_weights(row_spans, i)[:, None, None]
                for j, cols in enumerate(col_spans):
                    tile_image = self._tile(image, rows, cols)
                    styled = self._stylize(tile_image, content_mean, content_std, style_mean, style_std, alpha)
                    styled = styled[0].numpy()
                    weight = row_weight * col_weights[j][None, :, None]
                    region = (slice(rows.start - top, rows.end - top), slice(cols.start, cols.end))
                    acc[region] += styled * weight
                    acc_weight[region] += weight
                    progress.update(1)
                done = row_spans[i + 1].start if i + 1 < len(row_spans) else height
                finished = np.clip(acc[: done - top] / acc_weight[: done - top], 0.0, 255.0)
                if strength > 0:
                    moments.add(finished)
                output[top:done] = to_uint8(finished)
                acc, acc_weight, top = acc[done - top :], acc_weight[done - top :], done
        if strength > 0:
            moments.recolor(output, colors[0], colors[1], strength)
        return output


class ColorMoments:
    """RGB mean and covariance of an image seen a band of rows at a time (float64, units of `color_moments`)."""

    def __init__(self) -> None:
        self.total, self.outer, self.count = np.zeros(3), np.zeros((3, 3)), 0

    def add(self, rows: np.ndarray) -> None:
        pixels = rows.reshape(-1, 3).astype(np.float64) / 255.0
        self.total += pixels.sum(axis=0)
        self.outer += pixels.T @ pixels
        self.count += len(pixels)

    def recolor(self, image: np.ndarray, target_mean, target_covariance, strength: float, band: int = 256) -> None:
        """Move the uint8 `image` in place `strength` of the way to the target colours, `band` rows at a time."""
        mean = self.total / self.count
        covariance = self.outer / self.count - np.outer(mean, mean) + REGULARIZER * np.eye(3)
        mean = tf.constant(mean[None])
        transform = color_transform(tf.constant(covariance[None]), target_covariance)
        for start in range(0, len(image), band):
            rows = tf.constant(image[start : start + band][None], tf.float32)
            matched = apply_color_transform(rows, mean, transform, target_mean)
            image[start : start + band] = to_uint8((rows + strength * (matched - rows))[0].numpy())
