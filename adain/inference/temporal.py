"""Video that holds still: temporal consistency for AdaIN at inference time, without retraining.

Per-frame AdaIN flickers for two reasons, and each method here removes one:
  * `stats`: every frame is renormalised by its own relu4_1 channel mean and std, which jitter from frame
    to frame (noise, small motions), so the whole frame's texture and colour shift. Here the content
    statistics are an exponential moving average over the frames (`momentum` per frame).
  * `flow`: the decoder answers tiny changes of the content with different brush strokes. Here the previous
    *output* is warped onto the current frame along the input's optical flow (adain.media.flow, DIS at a
    reduced size) and blended in (weight `blend`) wherever the flow passes the forward-backward check;
    occluded and disoccluded pixels, and all of a frame after a scene cut, take the fresh stylization.
    Unlike blending with the unwarped previous frame, moving things leave no trails. Blending two stroke
    textures that do not line up flattens them, which the style loss sees at once; band-by-band contrast
    restoration (`blend_warped`) limits that, and the rest is the price of the steadiness (docs/stylize.md).
    Both flow methods also *align the frames to the decoder's grid*: the encoder pools three times and the
    decoder upsamples three times, so the network is shift-equivariant only for shifts that are multiples of
    8 px; a pan of 3 px makes it draw other strokes, a pan of 8 px the same strokes moved. Each frame is
    therefore padded so that the picture's accumulated global motion (the median of the flow) lands on the
    same 8-px grid phase as in the first frame, and the output is cropped back. On a pan this halves
    per-frame flicker, for about 4 % of style loss (the padding's); where the motion is not global, or under
    a pixel a frame, it does not help. Whole pixels only: moving by the fraction too measured worse.
  * `align`: only that alignment, every frame otherwise on its own: no past in any frame, so no ghost.
  * `flow+stats`: both. `none`: every frame on its own (the behaviour before this module).
The default was chosen by measurement (bench/video.py, docs/stylize.md: "Video").

`TemporalVideo` holds one video's memory: `advance(frames)` once per batch of frames, then `stylize(...)`
per output stream (one per style group and alpha), which gives each stream its own past.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from adain.errors import UserError
from adain.inference.options import (  # noqa: F401 (re-exported)
    DEFAULT_COLOR_MATCH,
    DEFAULT_TEMPORAL,
    TEMPORAL_METHODS,
    check_temporal,
)
from adain.media.flow import FlowEstimator, Motion, _cv2, motions, to_gray
from adain.media.images import to_uint8
from adain.nn.ops import EPSILON, channel_mean_std

SCENE_CUT = 0.3  # a frame whose flow is reliable on less than this share of pixels starts afresh
BANDS = (1.0, 2.0, 4.0, 8.0)  # px: the bands blend_warped blends one by one (finer than 1 px, 1-2 px, ...)
STILL_PIXELS = 1.0  # px from frame t-1 to t: at most this, a pixel holds still (still_blend)
MAX_GAIN = 3.0  # the most contrast blend_warped gives back to a band the blend flattened
GRID = 8  # px: the shift-equivariance period of the encoder-decoder (3 poolings, 3 upsamplings)


@dataclass(frozen=True)
class TemporalSettings:
    """How a video is kept steady. The defaults are the measured ones (docs/stylize.md, "Video")."""

    method: str = DEFAULT_TEMPORAL
    blend: float = 0.67  # weight of the warped previous output where the flow is reliable and things move (flow)
    still_blend: float = 0.9  # the same where the input holds still (at most STILL_PIXELS of motion)
    momentum: float = 0.9  # weight of the past in the moving average of the content statistics (stats)
    flow_size: int = 360  # flow on frames whose smaller side is at most this (0: the frames' size)
    flow_preset: str = "medium"  # DIS preset: ultrafast, fast or medium
    align: bool = True  # flow methods: pad every frame onto the first frame's 8-px grid phase (grid_phase)

    def __post_init__(self) -> None:
        check_temporal(self.method)
        for name in ("blend", "still_blend"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise UserError(f"temporal {name.replace('_', ' ')} must be in [0, 1), got {getattr(self, name)}")
        if not 0.0 <= self.momentum < 1.0:
            raise UserError(f"temporal momentum must be in [0, 1), got {self.momentum}")

    @property
    def uses_flow(self) -> bool:
        """Optical flow is measured: to blend the past in (flow methods) or to align the frames (align)."""
        return self.blends or self.method == "align"

    @property
    def blends(self) -> bool:
        return "flow" in self.method

    @property
    def aligns(self) -> bool:
        return self.method == "align" or (self.blends and self.align)

    @property
    def uses_stats(self) -> bool:
        return "stats" in self.method


def smooth_statistics(
    mean: np.ndarray, std: np.ndarray, momentum: float, past: tuple[np.ndarray, np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Exponential moving average over a batch of consecutive frames' statistics [N, ...], continuing `past`
    (the previous frame's smoothed statistics, or None at the first frame)."""
    out_mean, out_std = np.empty_like(mean), np.empty_like(std)
    for i in range(len(mean)):
        if past is None:
            past = (mean[i], std[i])
        else:
            past = (momentum * past[0] + (1 - momentum) * mean[i], momentum * past[1] + (1 - momentum) * std[i])
        out_mean[i], out_std[i] = past
    return out_mean, out_std


def blend_warped(
    fresh: np.ndarray,
    previous: np.ndarray | None,
    move: Motion | None,
    blend: float,
    still_blend: float | None = None,
    bands: Sequence[float] = BANDS,
) -> np.ndarray:
    """Output t: the fresh stylization with the previous output, moved along `move` (t -> t-1), blended in with
    weight `blend` where the flow is reliable, `still_blend` (default: `blend`) where the input moved at most
    STILL_PIXELS. float32 [H, W, 3] 0..255.

    Where things move, every frame's strokes differ from the frame stylized alone, so the past shows as a ghost
    of the old strokes; where the picture holds still, the past can weigh more at no such cost.

    A plain average of two brush-stroke textures that do not line up is a flatter, greyer texture, and the
    recursion compounds it (the style loss doubles). So the images are split into bands (differences of
    Gaussians at `bands` px, then what is coarser); each band is blended and then given back the fresh frame's
    local contrast in that band (the idea of Heitz & Neyret's histogram-preserving blending, 2018), only the
    coarsest part (colour, light) is a plain average. The past is moved bicubically: a bilinear warp blurs a
    little, and the recursion would add that up."""
    fresh = np.asarray(fresh, np.float32)
    still_blend = blend if still_blend is None else still_blend
    if previous is None or move is None or blend == still_blend == 0 or not move.reliable.any():
        return fresh
    cv2 = _cv2()
    blur = lambda x, sigma: cv2.GaussianBlur(x, (0, 0), sigma)  # noqa: E731
    weight = np.full(fresh.shape[:2], blend, np.float32)
    if still_blend != blend:  # a soft edge between the two: no seam in the texture
        weight = blur(np.where(move.moved(STILL_PIXELS), weight, np.float32(still_blend)), 2.0)
    weight = (weight * move.reliable)[..., None]
    out = np.zeros_like(fresh)
    rest_fresh, rest_past = fresh, move.pull(np.asarray(previous, np.float32), sharp=True)
    for sigma in bands:
        coarse_fresh, coarse_past = blur(rest_fresh, sigma), blur(rest_past, sigma)
        band_fresh = rest_fresh - coarse_fresh
        mixed = weight * (rest_past - coarse_past) + (1.0 - weight) * band_fresh
        energy = lambda x, sigma=sigma: blur(np.square(x).mean(-1), 2 * sigma)[..., None]  # noqa: E731
        out += np.clip(np.sqrt((energy(band_fresh) + 1e-3) / (energy(mixed) + 1e-3)), 1.0, MAX_GAIN) * mixed
        rest_fresh, rest_past = coarse_fresh, coarse_past
    return np.clip(out + weight * rest_past + (1.0 - weight) * rest_fresh, 0.0, 255.0)


def global_motion(move: Motion | None) -> np.ndarray:
    """(x, y) px: the median displacement of the reliable pixels from frame t to t-1 (0 without a match)."""
    if move is None or not move.reliable.any():
        return np.zeros(2, np.float64)
    return np.median(move.flow[move.reliable], axis=0).astype(np.float64)


def grid_phase(offset: np.ndarray, grid: int = GRID) -> tuple[int, int]:
    """(x, y) padding before a frame whose picture has moved by -`offset` px since the first frame (offset: the
    sum of `global_motion`), so that the picture sits on the first frame's phase of the `grid`."""
    return tuple(int(v) % grid for v in np.round(offset))  # type: ignore[return-value]


def pad_to_phase(frames: np.ndarray, phases: Sequence[tuple[int, int]], grid: int = GRID) -> np.ndarray:
    """[N, H, W, 3] -> [N, H + grid, W + grid, 3]: frame i reflected by phases[i] = (x, y) px at the left and top
    and the rest of `grid` at the right and bottom, so every padded frame has one size (one traced graph)."""
    return np.stack(
        [
            np.pad(f, ((y, grid - y), (x, grid - x), (0, 0)), mode="reflect")
            for f, (x, y) in zip(frames, phases, strict=True)
        ]
    )


class TemporalVideo:
    """One video's memory across batches of frames, for a `Stylizer` (adain.inference.stylizer)."""

    def __init__(self, stylizer, settings: TemporalSettings | None = None) -> None:
        self.stylizer = stylizer
        self.settings = settings or TemporalSettings()
        self.estimator = (
            FlowEstimator(self.settings.flow_preset, self.settings.flow_size) if self.settings.uses_flow else None
        )
        self._gray: np.ndarray | None = None  # the last frame of the previous batch
        self._offset = np.zeros(2, np.float64)  # the picture's accumulated global motion (align)
        self._statistics: tuple[np.ndarray, np.ndarray] | None = None
        self._previous: dict[Hashable, np.ndarray] = {}
        self.flow_seconds = 0.0  # time spent on optical flow, for the share the benchmark reports
        self._batch: tuple | None = None

    def advance(self, contents: tf.Tensor | np.ndarray) -> None:
        """Take the next batch of consecutive frames [N, H, W, 3] (float 0..255, as they will be stylized):
        encode them once, smooth their statistics and measure their motion for every stream of this batch."""
        frames = np.asarray(contents, np.float32)
        height, width = frames.shape[1:3]
        moves: list[Motion | None] = [None] * len(frames)
        if self.estimator is not None:
            start = time.perf_counter()
            for i, frame in enumerate(frames):
                gray = to_gray(frame)
                if self._gray is not None and self._gray.shape == gray.shape:
                    _, back = motions(self.estimator, self._gray, gray)  # back: t -> t-1
                    moves[i] = back if back.reliable.mean() >= SCENE_CUT else None
                self._gray = gray
            self.flow_seconds += time.perf_counter() - start
        phases = None
        if self.settings.aligns:
            phases = []
            for move in moves:
                self._offset += global_motion(move)
                phases.append(grid_phase(self._offset))
            frames = pad_to_phase(frames, phases)
        size = (int(frames.shape[1]), int(frames.shape[2]))
        features = self.stylizer.encode(tf.convert_to_tensor(frames))
        statistics = None
        if self.settings.uses_stats:
            mean, std = (x.numpy() for x in channel_mean_std(features, EPSILON))
            statistics = smooth_statistics(mean, std, self.settings.momentum, self._statistics)
            self._statistics = (statistics[0][-1], statistics[1][-1])
        self._batch = (features, size, statistics, moves, phases, (height, width))

    def stylize(
        self,
        styles,
        alphas: Sequence[float] = (1.0,),
        weights: Sequence[float] | None = None,
        regions: np.ndarray | None = None,
        stream: Hashable = 0,
        color_match: float = DEFAULT_COLOR_MATCH,
    ) -> list[np.ndarray]:
        """The batch given to `advance`, against encoded styles, for each alpha: list of uint8 [N, H, W, 3].
        Each (stream, alpha) keeps its own previous output. Regions keep their own statistics (no `stats`)."""
        if self._batch is None:
            raise RuntimeError("advance() first")
        features, size, statistics, moves, phases, (height, width) = self._batch
        framed_regions = None  # with alignment, each frame's regions padded to its own phase (once for all alphas)
        if phases is not None and regions is not None:
            framed_regions = pad_to_phase(np.repeat(regions[None], len(phases), 0), phases)
        results = []
        for alpha in alphas:
            steady_statistics = None if regions is not None else statistics
            framed = regions if framed_regions is None else framed_regions  # the regions move with each frame's phase
            fresh = self.stylizer.decode(features, styles, size, alpha, weights, framed, steady_statistics, color_match)
            if phases is not None:  # back to the frames' own size and place
                fresh = np.stack([f[y : y + height, x : x + width] for f, (x, y) in zip(fresh, phases, strict=True)])
            if not self.settings.blends:
                results.append(fresh)
                continue
            key = (stream, alpha)
            out = []
            for i, frame in enumerate(fresh):
                previous = self._previous.get(key)
                steady = blend_warped(frame, previous, moves[i], self.settings.blend, self.settings.still_blend)
                self._previous[key] = steady
                out.append(to_uint8(steady))
            results.append(np.stack(out))
        return results
