"""Optical flow between video frames, and what it says about each pixel: where it came from and whether to trust it.

Both the flicker metric (adain.quality.temporal_metrics) and temporal consistency at inference
(adain.inference.temporal) need the same three things, so they are defined once here:
  * dense flow on the *input* frames (OpenCV's DIS flow, Kroeger et al. 2016: fast on a CPU, no model to
    download), optionally computed at a reduced size and scaled back, so it costs little next to the network;
  * backward warping: an image of frame t+1 (or t-1) looked up at x + flow(x), i.e. moved onto frame t;
  * the forward-backward consistency check of Sundaram et al. 2010 (as used by Ruder et al. 2016 and Lai et
    al. 2018): a pixel whose forward flow, followed by the backward flow from where it lands, does not come
    back near itself is occluded, disoccluded or badly matched.
OpenCV comes from `opencv-python-headless` (extra `video`), imported on first use. No TensorFlow here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adain.errors import UserError

CV2_HINT = "optical flow needs OpenCV: pip install 'adain[video]' (opencv-python-headless)"
PRESETS = {"ultrafast": 0, "fast": 1, "medium": 2}  # cv2.DISOPTICAL_FLOW_PRESET_*


def _cv2():
    try:
        import cv2
    except ImportError:
        raise UserError(CV2_HINT) from None
    return cv2


def to_gray(frame: np.ndarray) -> np.ndarray:
    """uint8 [H, W] luminance of an RGB frame (uint8 or float 0..255), what DIS flow reads."""
    cv2 = _cv2()
    return cv2.cvtColor(np.ascontiguousarray(np.clip(frame, 0, 255).astype(np.uint8)), cv2.COLOR_RGB2GRAY)


class FlowEstimator:
    """DIS optical flow: `flow(a, b)` maps each pixel x of frame a to x + flow[x] in frame b, in pixels of a.

    size > 0: flow is computed with the smaller side resized to `size` and scaled back up (the flow of a
    video is smooth; at 180 px it costs a few milliseconds a frame on a CPU)."""

    def __init__(self, preset: str = "fast", size: int = 0) -> None:
        if preset not in PRESETS:
            raise UserError(f"unknown flow preset {preset!r} (choose from {', '.join(PRESETS)})")
        cv2 = _cv2()
        cv2.setNumThreads(1)  # per frame the work is tiny; threads only fight the network's
        self._dis = cv2.DISOpticalFlow_create(PRESETS[preset])
        self.preset, self.size = preset, size

    def flow(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """float32 [H, W, 2] (dx, dy) flow from RGB or gray frame a to frame b, both [H, W(, 3)]."""
        cv2 = _cv2()
        gray_a = a if a.ndim == 2 else to_gray(a)
        gray_b = b if b.ndim == 2 else to_gray(b)
        height, width = gray_a.shape
        scale = self.size / min(height, width) if self.size and self.size < min(height, width) else 1.0
        if scale != 1.0:
            small = (max(1, round(width * scale)), max(1, round(height * scale)))
            gray_a = cv2.resize(gray_a, small, interpolation=cv2.INTER_AREA)
            gray_b = cv2.resize(gray_b, small, interpolation=cv2.INTER_AREA)
        flow = self._dis.calc(gray_a, gray_b, None)
        if scale != 1.0:
            flow = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR)
            flow[..., 0] *= width / small[0]
            flow[..., 1] *= height / small[1]
        return flow.astype(np.float32)


def warp(image: np.ndarray, flow: np.ndarray, sharp: bool = False) -> np.ndarray:
    """Backward warp: out[x] = image[x + flow[x]] (borders replicated), image [H, W(, C)] float or uint8.

    Bilinear, as the flicker metric defines it; `sharp`: bicubic, for an image that is warped again and
    again (adain.inference.temporal), where bilinear's slight blur would add up frame after frame."""
    cv2 = _cv2()
    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    map_x, map_y = grid_x + flow[..., 0], grid_y + flow[..., 1]
    source = np.ascontiguousarray(image)
    if source.dtype not in (np.uint8, np.float32):
        source = source.astype(np.float32)
    interpolation = cv2.INTER_CUBIC if sharp else cv2.INTER_LINEAR
    return cv2.remap(source, map_x, map_y, interpolation, borderMode=cv2.BORDER_REPLICATE)


def consistent(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """bool [H, W]: where the forward flow (a -> b) and the backward flow (b -> a) agree.

    A pixel x of a lands at x + forward[x] in b; the backward flow there should bring it back:
    |forward + backward(x + forward)|^2 <= 0.01 (|forward|^2 + |backward(x + forward)|^2) + 0.5 (Sundaram et al.).
    Pixels that leave the frame fail too."""
    height, width = forward.shape[:2]
    back = warp(backward, forward)
    error = np.sum(np.square(forward + back), axis=-1)
    bound = 0.01 * (np.sum(np.square(forward), axis=-1) + np.sum(np.square(back), axis=-1)) + 0.5
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    inside = (
        (grid_x + forward[..., 0] >= 0)
        & (grid_x + forward[..., 0] <= width - 1)
        & (grid_y + forward[..., 1] >= 0)
        & (grid_y + forward[..., 1] <= height - 1)
    )
    return (error <= bound) & inside


@dataclass(frozen=True)
class Motion:
    """How frame t relates to frame s (usually its neighbour): `flow` maps t's pixels into s, `reliable` marks
    where that flow passed the forward-backward check (False: occluded, disoccluded or off-frame)."""

    flow: np.ndarray  # float32 [H, W, 2], t -> s
    reliable: np.ndarray  # bool [H, W]

    def pull(self, image_of_s: np.ndarray, sharp: bool = False) -> np.ndarray:
        """An image of frame s moved onto frame t (`sharp`: bicubic, see `warp`)."""
        return warp(image_of_s, self.flow, sharp)

    def moved(self, threshold: float = 1.0) -> np.ndarray:
        """bool [H, W]: pixels that moved more than `threshold` pixels, or have no reliable match in s."""
        return (np.hypot(self.flow[..., 0], self.flow[..., 1]) > threshold) | ~self.reliable


def motions(estimator: FlowEstimator, frame_a: np.ndarray, frame_b: np.ndarray) -> tuple[Motion, Motion]:
    """(a -> b, b -> a), each with its forward-backward check: two flow computations serve both directions."""
    gray_a = frame_a if frame_a.ndim == 2 else to_gray(frame_a)
    gray_b = frame_b if frame_b.ndim == 2 else to_gray(frame_b)
    forward = estimator.flow(gray_a, gray_b)
    backward = estimator.flow(gray_b, gray_a)
    return Motion(forward, consistent(forward, backward)), Motion(backward, consistent(backward, forward))
