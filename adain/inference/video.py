"""Stylizing a video: one pass over its frames, every style group and alpha written to its own output video.

Frames are read, batched and written by adain.media.video (ffmpeg, atomic outputs); `VideoRunner.frames` is
the one place where a batch of frames becomes stylized frames.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from adain.inference.batch import StyleCache
from adain.inference.plan import Key, Plan
from adain.inference.stylizer import Stylizer
from adain.inference.temporal import TemporalSettings, TemporalVideo
from adain.media.video import transform_video
from adain.preprocess import center_crop, resize_smaller_side


class VideoRunner:
    """One content video of a plan against all its style groups and alphas."""

    def __init__(self, stylizer: Stylizer, plan: Plan, index: int) -> None:
        self.stylizer, self.plan, self.index = stylizer, plan, index
        self.keys: list[Key] = [(index, g, a) for g in range(len(plan.groups)) for a in range(len(plan.alphas))]
        self.styles = StyleCache(stylizer, plan)
        self.regions: dict[tuple[int, int], np.ndarray | None] = {}
        self.temporal = TemporalVideo(stylizer, TemporalSettings(plan.temporal))  # each (group, alpha) its own past

    def prepare(self, frames: np.ndarray) -> np.ndarray:
        """uint8 frames [N, H, W, 3] -> float contents, resized and cropped as the plan says (adain.preprocess)."""
        contents = resize_smaller_side(frames, self.plan.content_size)
        if self.plan.crop:
            contents = center_crop(contents)
        return contents.numpy()

    def frames(self, frames: np.ndarray) -> list[np.ndarray]:
        """A batch of frames -> one batch of stylized frames per output, in the order of `self.keys`."""
        plan = self.plan
        contents = self.prepare(frames)
        size = contents.shape[1:3]
        if size not in self.regions:
            self.regions[size] = plan.regions(*size)
        results = {}
        self.temporal.advance(contents)
        for g, group in enumerate(plan.groups):
            stats = self.styles.get(group, contents)
            outputs = self.temporal.stylize(
                stats, plan.alphas, plan.weights, self.regions[size], stream=g, color_match=plan.color_match
            )
            for a, images in enumerate(outputs):
                results[(self.index, g, a)] = images
        return [results[key] for key in self.keys]

    def run(self) -> list[Path]:
        source = self.plan.contents[self.index]
        outputs = [self.plan.outputs[key] for key in self.keys]
        written = transform_video(
            source, outputs, self.frames, batch_size=self.plan.batch_size, description=source.name
        )
        for path in written:
            print(f"wrote {path}", file=sys.stderr)
        return written


def stylize_video(stylizer: Stylizer, plan: Plan, index: int) -> list[Path]:
    """One pass over the frames of plan.contents[index]; every style group and alpha goes to its own output video."""
    return VideoRunner(stylizer, plan, index).run()
