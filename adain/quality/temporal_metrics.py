"""Flicker and ghosting of a stylized video, measured against the motion of its *input* frames.

* warping error (Lai et al., ECCV 2018, "Learning Blind Video Temporal Consistency"): output t+1 is
  warped back onto frame t with the input's optical flow t -> t+1; pixels failing the forward-backward
  check are left out; the mean squared difference on a 0..1 scale, x1000, averaged over frame pairs.
  The input frames themselves score the floor set by the flow's own error.
* ghosting: how far each output frame is from the same frame stylized on its own (the method's per-frame
  output), in the pixels where the input moved (more than one pixel from frame t-1 to t) or has no match in
  t-1 (disoccluded): mean squared difference on 0..1, x1000. A method that drags its past along where things
  move (blending without motion compensation) leaves trails there; per-frame stylization scores 0.
Flow: adain.media.flow (OpenCV DIS, preset `medium` at full size for the metric). No TensorFlow here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from adain.media.flow import FlowEstimator, Motion, motions

SCALE = 1000.0  # the scores are MSE on 0..1 x1000
METRIC_PRESET = "medium"
MOVED_PIXELS = 1.0  # ghosting counts pixels that moved more than this (or were disoccluded)


@dataclass(frozen=True)
class ClipMotion:
    """The input clip's motion, computed once and shared by every method scored on it.

    forward[t]: frame t -> t+1 (for the warping error); backward[t]: frame t+1 -> t (for ghosting at t+1)."""

    forward: list[Motion]
    backward: list[Motion]

    @classmethod
    def of(cls, frames: Sequence[np.ndarray], estimator: FlowEstimator | None = None) -> ClipMotion:
        estimator = estimator or FlowEstimator(METRIC_PRESET)
        pairs = [motions(estimator, a, b) for a, b in zip(frames[:-1], frames[1:], strict=False)]
        return cls([f for f, _ in pairs], [b for _, b in pairs])

    def reliable_share(self) -> float:
        """The share of pixels the warping error is computed on."""
        return float(np.mean([m.reliable.mean() for m in self.forward])) if self.forward else 0.0


def _unit(image: np.ndarray) -> np.ndarray:
    return np.asarray(image, np.float32) / 255.0


def warping_error(outputs: Sequence[np.ndarray], motion: ClipMotion) -> float:
    """Mean over t of the masked MSE between output t and output t+1 warped onto t (0..1 scale, x1000).

    outputs: the stylized frames (uint8 or float 0..255), the same size as the frames the motion came from."""
    if len(outputs) != len(motion.forward) + 1:
        raise ValueError(f"{len(outputs)} outputs for a clip of {len(motion.forward) + 1} frames")
    errors = []
    for t, move in enumerate(motion.forward):
        mask = move.reliable
        if not mask.any():
            continue
        difference = _unit(outputs[t]) - move.pull(_unit(outputs[t + 1]))
        errors.append(float(np.mean(np.square(difference[mask]))))
    return SCALE * float(np.mean(errors)) if errors else 0.0


def ghosting(outputs: Sequence[np.ndarray], per_frame: Sequence[np.ndarray], motion: ClipMotion) -> float:
    """Mean over t >= 1 of the MSE between output t and the per-frame output t where the input moved or was
    disoccluded (0..1 scale, x1000). Frame 0 has no past and is left out."""
    if not len(outputs) == len(per_frame) == len(motion.backward) + 1:
        raise ValueError("outputs, per-frame outputs and the clip differ in length")
    errors = []
    for t, move in enumerate(motion.backward, start=1):
        mask = move.moved(MOVED_PIXELS)
        if not mask.any():
            continue
        difference = _unit(outputs[t]) - _unit(per_frame[t])
        errors.append(float(np.mean(np.square(difference[mask]))))
    return SCALE * float(np.mean(errors)) if errors else 0.0
