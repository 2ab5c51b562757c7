"""What a stylization run writes where: decided and checked by the command line before any model is loaded.

No TensorFlow here (a bad command line fails in a fraction of a second); the runners that carry a plan out
are adain/inference/batch.py (images) and adain/inference/video.py (videos).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from adain.inference.options import DEFAULT_COLOR_MATCH, DEFAULT_TEMPORAL
from adain.media.masks import mask_regions

Key = tuple[int, int, int]  # (content index, style group index, alpha index)


@dataclass
class Plan:
    """What to stylize and where each output goes, decided (and checked) before any model is loaded."""

    contents: list[Path]
    styles: list[Path]
    groups: list[tuple[int, ...]]  # style indices stylized together (one each, or all blended / masked)
    alphas: list[float]
    weights: list[float] | None
    masks: list[Path] | None
    outputs: dict[Key, Path] = field(default_factory=dict)
    content_size: int = 0  # smaller side of the contents (0 keeps it)
    style_size: int = 512  # smaller side of the styles (0 keeps it)
    crop: bool = False  # centre square crop after resizing
    preserve_color: bool = False
    color_match: float = DEFAULT_COLOR_MATCH  # how far outputs move towards the style's colours (0..1)
    batch_size: int = 4  # same-size contents (or video frames) per batch
    temporal: str = DEFAULT_TEMPORAL  # video: how frames are kept steady (adain.inference.temporal)

    def regions(self, height: int, width: int) -> np.ndarray | None:
        """The masks as one-hot regions of a height x width content (None without masks)."""
        return None if self.masks is None else mask_regions(self.masks, height, width)
