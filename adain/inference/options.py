"""Checks of the stylization controls shared by the Python API and the command line (no TensorFlow)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from adain.errors import UserError


def check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not (math.isfinite(alpha) and 0.0 <= alpha <= 1.0):
        raise UserError(f"alpha must be in [0, 1], got {alpha:g}")
    return alpha


def normalize_style_weights(weights: Sequence[float] | None, style_count: int) -> list[float]:
    """Style interpolation weights -> non-negative, summing to 1; None means equal weights."""
    if weights is None:
        return [1.0 / style_count] * style_count
    weights = [float(w) for w in weights]
    if len(weights) != style_count:
        raise UserError(f"style weights: {len(weights)} weights for {style_count} styles")
    if not all(math.isfinite(w) for w in weights) or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise UserError(f"style weights must be >= 0 with a positive sum, got {','.join(f'{w:g}' for w in weights)}")
    total = sum(weights)
    if not math.isfinite(total):
        raise UserError(
            f"style weights {','.join(f'{w:g}' for w in weights)} overflow when added up: "
            "use smaller numbers (only their ratios count, e.g. 1,1)"
        )
    return [w / total for w in weights]


# Share of the way from the decoder's colours to the style's (adain.inference.color); chosen by measurement on
# training-split paintings (docs/quality.md, "Colour (issue 21)").
DEFAULT_COLOR_MATCH = 0.5


def check_color_match(strength: float) -> float:
    strength = float(strength)
    if not (math.isfinite(strength) and 0.0 <= strength <= 1.0):
        raise UserError(f"color match must be in [0, 1] (0: the network's colours, 1: the style's), got {strength:g}")
    return strength


# Video: how frames are kept steady (adain.inference.temporal); the default was chosen by bench/video.py.
TEMPORAL_METHODS = ("flow+stats", "flow", "align", "stats", "none")
DEFAULT_TEMPORAL = "flow"


def check_temporal(method: str) -> str:
    if method not in TEMPORAL_METHODS:
        raise UserError(f"unknown temporal method {method!r} (choose from {', '.join(TEMPORAL_METHODS)})")
    return method


def check_size(size: int, what: str) -> int:
    if int(size) != size or size < 0:
        raise UserError(f"{what} must be an integer >= 0 (0 keeps the original size), got {size}")
    return int(size)
