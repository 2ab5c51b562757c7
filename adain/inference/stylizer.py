"""Stylization from Python: `Stylizer.from_checkpoint(run_dir).stylize(content, style, alpha=...)`.

Inputs may be paths, PIL images or arrays (H, W, 3, uint8 or float 0..255); outputs
are uint8 arrays with the content's size (after the optional resizing and cropping).
Styles are reduced to their relu4_1 statistics once (`encode_styles`) and reused for
any number of contents, video frames and alphas (`stylize_batch`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from PIL import Image

from adain.errors import UserError
from adain.inference.color import color_moments, match_color, mixture_colors, toward_colors
from adain.inference.controls import blended_target, masked_target, region_weights
from adain.inference.options import (
    DEFAULT_COLOR_MATCH,
    check_alpha,
    check_color_match,
    check_size,
    normalize_style_weights,
)
from adain.inference.temporal import DEFAULT_TEMPORAL, TemporalSettings, TemporalVideo, check_temporal
from adain.inference.tiling import TiledStylizer
from adain.media.images import ImageLike, as_rgb_array, to_uint8
from adain.media.masks import MaskLike, check_mask_count, mask_regions
from adain.media.video import batches
from adain.nn.model import AdaINModel
from adain.nn.ops import feature_statistics, pad_to_multiple
from adain.preprocess import prepare_image
from adain.run import build_configured_encoder, load_decoder, run_model_config
from adain.shipped import resolve_checkpoint

IMAGE_BATCH = tf.TensorSpec([None, None, None, 3], tf.float32)
FEATURE_BATCH = tf.TensorSpec([None, None, None, None], tf.float32)  # channels: the content layer's
STATISTICS = tf.TensorSpec([None, None, None], tf.float32)  # [N or 1, K styles, C]
WEIGHTS = tf.TensorSpec([None], tf.float32)
REGIONS = tf.TensorSpec([None, None, None, None], tf.float32)  # [N or 1, h, w, K]
CONTENT_STATISTICS = tf.TensorSpec([None, 1, 1, None], tf.float32)  # [N, 1, 1, C]
SCALAR = tf.TensorSpec([], tf.float32)
SIZE = tf.TensorSpec([], tf.int32)


@dataclass(frozen=True)
class StyleStatistics:
    """relu4_1 channel mean and std of K styles: [1, K, C], or [N, K, C] (one set per content); and their RGB
    mean [., K, 3] and covariance [., K, 3, 3] (`adain.inference.color.color_moments`), for `color_match`."""

    mean: tf.Tensor
    std: tf.Tensor
    color_mean: tf.Tensor
    color_covariance: tf.Tensor

    @property
    def count(self) -> int:
        return int(self.mean.shape[1])

    @staticmethod
    def concat(parts: Sequence[StyleStatistics]) -> StyleStatistics:
        """The styles of several sets side by side (axis K)."""
        fields = zip(*((p.mean, p.std, p.color_mean, p.color_covariance) for p in parts), strict=True)
        return StyleStatistics(*(tf.concat(list(f), axis=1) for f in fields))


class Stylizer:
    """Arbitrary style transfer with a trained AdaIN decoder. One trace serves every image size."""

    def __init__(self, model: AdaINModel, jit_compile: bool = False) -> None:
        self.model = model
        self._encode = tf.function(
            lambda images: model.encode_float32(images), input_signature=[IMAGE_BATCH], jit_compile=jit_compile
        )
        self._statistics = tf.function(
            lambda images: feature_statistics(model.encode_float32(images)[-1]),
            input_signature=[IMAGE_BATCH],
            jit_compile=jit_compile,
        )
        self._decode_blend = tf.function(
            self._blend,
            input_signature=[FEATURE_BATCH, STATISTICS, STATISTICS, WEIGHTS, SCALAR, SIZE, SIZE],
            jit_compile=jit_compile,
        )
        self._decode_steady = tf.function(
            self._blend_given,
            input_signature=[FEATURE_BATCH, CONTENT_STATISTICS, CONTENT_STATISTICS]
            + [STATISTICS, STATISTICS, WEIGHTS, SCALAR, SIZE, SIZE],
            jit_compile=jit_compile,
        )
        self._decode_masked = tf.function(
            self._masked,
            input_signature=[FEATURE_BATCH, STATISTICS, STATISTICS, REGIONS, SCALAR, SIZE, SIZE],
            jit_compile=jit_compile,
        )
        self.tiler = TiledStylizer(model)  # images larger than `tile_size`: memory bounded by the tile

    @classmethod
    def from_checkpoint(cls, run_dir: str | os.PathLike | None = None, vgg_weights: str | None = None) -> Stylizer:
        """A run directory of train.py (its decoder.keras or latest checkpoint), or a decoder .keras file.

        None: the shipped model (`adain.shipped`). The encoder is built as the run was trained (its
        config.yaml, also beside a decoder .keras file).
        """
        run_dir = resolve_checkpoint(run_dir)
        decoder = load_decoder(run_dir)
        encoder, _ = build_configured_encoder(run_model_config(run_dir), vgg_weights)
        return cls(AdaINModel(encoder, decoder))

    # -- traced pieces ---------------------------------------------------------------------------------------------

    def _blend(self, content_features, style_mean, style_std, weights, alpha, height, width):
        target = blended_target(content_features, style_mean, style_std, weights, alpha)
        return self.model.decoder(target)[:, :height, :width, :]

    def _blend_given(self, content_features, content_mean, content_std, style_mean, style_std, weights, alpha, h, w):
        stats = (content_mean, content_std)
        target = blended_target(content_features, style_mean, style_std, weights, alpha, content_statistics=stats)
        return self.model.decoder(target)[:, :h, :w, :]

    def _masked(self, content_features, style_mean, style_std, regions, alpha, height, width):
        target = masked_target(content_features, style_mean, style_std, regions, alpha)
        return self.model.decoder(target)[:, :height, :width, :]

    # -- building blocks -------------------------------------------------------------------------------------------

    def prepare(self, image: ImageLike, size: int = 0, crop: bool = False) -> tf.Tensor:
        """The one preprocessing path: float RGB 0..255, smaller side resized to `size` (0 keeps), centre square crop."""
        return prepare_image(image, check_size(size, "size"), crop)

    def encode(self, images: tf.Tensor) -> tf.Tensor:
        """relu4_1 features of a [N, H, W, 3] batch, reflect-padded to the encoder's stride."""
        padded, _, _ = pad_to_multiple(tf.convert_to_tensor(images, tf.float32))
        return self._encode(padded)[-1]

    def encode_styles(
        self,
        styles: Sequence[ImageLike],
        size: int = 0,
        crop: bool = False,
        recolor_to: tf.Tensor | np.ndarray | None = None,
    ) -> StyleStatistics:
        """Encode K styles once. With `recolor_to` (a [N, H, W, 3] content batch) each style is first given each
        content's colours (`adain.inference.color.match_color`, the paper's colour preservation): [N, K, C]."""
        prepared = [self.prepare(style, size, crop).numpy() for style in styles]
        if recolor_to is None:
            per_content = [prepared]
        else:
            per_content = [[match_color(style, content) for style in prepared] for content in np.asarray(recolor_to)]
        means, stds, color_means, color_covariances = [], [], [], []
        for group in per_content:
            stats = [self._statistics(tf.convert_to_tensor(style[None], tf.float32)) for style in group]
            colors = [color_moments(tf.convert_to_tensor(style[None], tf.float32)) for style in group]
            means.append(tf.concat([m for m, _ in stats], axis=0))
            stds.append(tf.concat([s for _, s in stats], axis=0))
            color_means.append(tf.concat([m for m, _ in colors], axis=0))
            color_covariances.append(tf.concat([c for _, c in colors], axis=0))
        return StyleStatistics(*(tf.stack(x) for x in (means, stds, color_means, color_covariances)))

    def stylize_batch(
        self,
        contents: tf.Tensor | np.ndarray,
        styles: StyleStatistics,
        alphas: Sequence[float] = (1.0,),
        weights: Sequence[float] | None = None,
        regions: np.ndarray | None = None,
        color_match: float = DEFAULT_COLOR_MATCH,
    ) -> list[np.ndarray]:
        """A [N, H, W, 3] batch of same-size contents against encoded styles, for each alpha: list of uint8 [N, H, W, 3].

        Content features are computed once for all alphas. `weights` blend the K styles (default equal);
        `regions` [H, W, K] (one-hot, see `adain.media.masks.mask_regions`) assign them to parts of the image instead.
        """
        contents = tf.convert_to_tensor(contents, tf.float32)
        height, width = int(contents.shape[1]), int(contents.shape[2])
        features = self.encode(contents)
        size = (height, width)
        return [
            self.decode(features, styles, size, alpha, weights, regions, color_match=color_match) for alpha in alphas
        ]

    def decode(
        self,
        features: tf.Tensor,
        styles: StyleStatistics,
        size: tuple[int, int],
        alpha: float = 1.0,
        weights: Sequence[float] | None = None,
        regions: np.ndarray | None = None,
        content_statistics: tuple[tf.Tensor, tf.Tensor] | None = None,
        color_match: float = DEFAULT_COLOR_MATCH,
    ) -> np.ndarray:
        """AdaIN and the decoder only, on content features from `encode` (of images of `size` = (H, W)): uint8
        [N, H, W, 3]. What a change of alpha, weights or regions costs once the content and styles are encoded.

        regions: one-hot [H, W, K] for every image, or [N, H, W, K], one set per image (a video's frames, each
        padded to its own grid phase: adain.inference.temporal).
        content_statistics: (mean, std) [N, 1, 1, C] to normalise the content with instead of its own (video
        smooths them over time: adain.inference.temporal); not used with regions, which have their own.
        color_match: how far the output moves towards the (blended) style's RGB mean and covariance, times alpha
        (`adain.inference.color`); 0 gives the decoder's own colours. With regions, each region towards its style's,
        measured and applied within the region."""
        height, width = size
        strength = check_color_match(color_match) * check_alpha(alpha)
        alpha = tf.constant(alpha, tf.float32)
        if regions is not None:
            regions = np.asarray(regions)
            framed = regions if regions.ndim == 4 else regions[None]  # one set for the batch, or one per image
            count = int(features.shape[0])
            if (
                framed.shape[1:3] != (height, width)
                or framed.shape[-1] != styles.count
                or len(framed) not in (1, count)
            ):
                raise UserError(
                    f"regions of shape {regions.shape} do not fit {count} contents {(height, width)} "
                    f"and {styles.count} styles"
                )
            cells = region_weights(framed)
            output = self._decode_masked(features, styles.mean, styles.std, cells, alpha, height, width)
            if strength > 0:
                output = self._recolor_regions(output, styles, framed, strength)
        else:
            blend = tf.constant(normalize_style_weights(weights, styles.count), tf.float32)
            if content_statistics is not None:
                mean, std = (tf.convert_to_tensor(x, tf.float32) for x in content_statistics)
                output = self._decode_steady(features, mean, std, styles.mean, styles.std, blend, alpha, height, width)
            else:
                output = self._decode_blend(features, styles.mean, styles.std, blend, alpha, height, width)
            if strength > 0:
                target = mixture_colors(styles.color_mean, styles.color_covariance, blend)  # a blend's colours
                output = toward_colors(output, *target, strength)
        return to_uint8(output.numpy())

    @staticmethod
    def _recolor_regions(outputs, styles: StyleStatistics, regions: np.ndarray, strength: float) -> tf.Tensor:
        """Each region [N or 1, H, W, K] of the outputs towards its own style's colours, measured within it."""
        result = tf.zeros_like(outputs)
        for k in range(styles.count):
            region = tf.constant(regions[..., k], tf.float32)
            target = (styles.color_mean[:, k], styles.color_covariance[:, k])
            result += region[..., None] * toward_colors(outputs, *target, strength, region)
        return result

    # -- the one-call API ------------------------------------------------------------------------------------------

    def stylize(
        self,
        content: ImageLike,
        style: ImageLike | Sequence[ImageLike],
        alpha: float = 1.0,
        *,
        style_weights: Sequence[float] | None = None,
        mask: MaskLike | Sequence[MaskLike] | None = None,
        preserve_color: bool = False,
        content_size: int = 0,
        style_size: int = 0,
        crop: bool = False,
        tile_size: int = 0,
        color_match: float = DEFAULT_COLOR_MATCH,
    ) -> np.ndarray:
        """Stylize one content image; returns uint8 [H, W, 3] of the content's size (after resizing/cropping).

        style: one image, or several that are blended (`style_weights`, default equal) or placed by `mask`
        (one mask: white -> first style, black -> second; or one mask per style).
        alpha: 0 reconstructs the content, 1 is full style. preserve_color: keep the content's colours.
        color_match: 0..1, how far the output's colours move towards the style's (times alpha; not with masks):
        AdaIN alone leaves flat, saturated paintings' colours bleached (`adain.inference.color`).
        tile_size > 0: a content with a side above it is stylized in overlapping tiles (`adain.inference.tiling`): same
        output, memory bounded by the tile (one style, no mask or colour preservation).
        """
        styles = [style] if _is_single_image(style) else list(style)
        if not styles:
            raise UserError("no style image given")
        check_alpha(alpha)
        check_color_match(color_match)
        masks = None if mask is None else ([mask] if _is_single_image(mask) else list(mask))
        if masks is not None:
            check_mask_count(len(masks), len(styles))
            if style_weights is not None:
                raise UserError("style weights and masks cannot be combined")
        normalize_style_weights(style_weights, len(styles))
        if tile_size and not (content_size or crop or masks or preserve_color) and len(styles) == 1:
            content = as_rgb_array(content)  # kept uint8: no full-size float copy of a huge image
            if max(content.shape[:2]) > tile_size:
                prepared = self.prepare(styles[0], style_size)[None]
                colors = (*color_moments(prepared), color_match)
                return self.tiler.stylize(content, self.encode(prepared), alpha, tile_size, colors=colors)
        image = self.prepare(content, content_size, crop)[None]
        stats = self.encode_styles(styles, style_size, crop, recolor_to=image if preserve_color else None)
        regions = None if masks is None else mask_regions(masks, int(image.shape[1]), int(image.shape[2]))
        return self.stylize_batch(image, stats, [alpha], style_weights, regions, color_match)[0][0]

    def stylize_frames(
        self,
        frames: Iterable[ImageLike],
        style: ImageLike,
        alpha: float = 1.0,
        *,
        temporal: str | TemporalSettings = DEFAULT_TEMPORAL,
        content_size: int = 0,
        style_size: int = 0,
        batch_size: int = 4,
    ) -> Iterator[np.ndarray]:
        """Stylize consecutive video frames; yields uint8 [H, W, 3] per frame, in order.

        temporal: how the video is kept steady (`adain.inference.temporal`: "flow+stats", "flow", "stats"; "none"
        stylizes every frame on its own), or TemporalSettings for the finer knobs."""
        settings = temporal if isinstance(temporal, TemporalSettings) else TemporalSettings(check_temporal(temporal))
        styles = self.encode_styles([style], style_size)
        video = TemporalVideo(self, settings)
        for batch in batches((self.prepare(frame, content_size).numpy() for frame in frames), batch_size):
            video.advance(batch)
            yield from video.stylize(styles, [alpha])[0]

    def stylize_features(
        self,
        content_images: tf.Tensor,
        style_features: tf.Tensor,
        alpha: float = 1.0,
        tile_size: int = 0,
        style_colors: tuple[tf.Tensor, tf.Tensor] | None = None,
        color_match: float = DEFAULT_COLOR_MATCH,
    ) -> np.ndarray:
        """Stylize a content batch against already-encoded relu4_1 style features [1, h, w, C].

        style_colors: the style image's `color_moments` (mean [1, 3], covariance [1, 3, 3]) for `color_match`;
        None keeps the decoder's colours. tile_size > 0: images with a side above it go through
        `adain.inference.tiling` (same output, bounded memory)."""
        height, width = int(content_images.shape[1]), int(content_images.shape[2])
        if style_colors is None:
            style_colors, color_match = (
                (tf.zeros([1, 3], tf.float64), tf.eye(3, batch_shape=[1], dtype=tf.float64)),
                0.0,
            )
        if tile_size and max(height, width) > tile_size:
            colors = (*style_colors, color_match)
            return np.stack(
                [self.tiler.stylize(image, style_features, alpha, tile_size, colors=colors) for image in content_images]
            )
        mean, std = feature_statistics(style_features)
        styles = StyleStatistics(mean[:, None], std[:, None], style_colors[0][:, None], style_colors[1][:, None])
        return self.stylize_batch(content_images, styles, [alpha], color_match=color_match)[0]


def _is_single_image(value) -> bool:
    return isinstance(value, (str, os.PathLike, Image.Image, np.ndarray))
