"""The methods an evaluation compares, as (content, style) -> image functions: one per trained checkpoint.

Shared by `adain evaluate` and bench/quality.py so that both score a checkpoint the same way
(the Gatys et al. method: adain.quality.gatys.gatys_method). Not imported by training: training and
inference stay apart.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from adain.inference.options import DEFAULT_COLOR_MATCH
from adain.inference.stylizer import Stylizer
from adain.quality.report import run_settings, unique_labels


def checkpoint_methods(
    checkpoints: Sequence[str | os.PathLike], color_match: float = DEFAULT_COLOR_MATCH
) -> list[tuple[str, Callable, dict]]:
    """(label, (content, style) -> image, report info) for each checkpoint: the AdaIN rows of an evaluation.
    color_match: as `Stylizer.stylize` (default: what users get); 0 scores the decoders' own colours."""
    methods: list[tuple[str, Callable, dict]] = []
    for label, checkpoint in zip(unique_labels(checkpoints), checkpoints, strict=True):
        stylizer = Stylizer.from_checkpoint(checkpoint)

        def adain_method(content, style, stylizer=stylizer):
            return stylizer.stylize(content, style, color_match=color_match)

        info = {
            "method": "adain",
            "checkpoint": str(checkpoint),
            "trained_with": run_settings(checkpoint),
            "color_match": color_match,
        }
        methods.append((label, adain_method, info))
    return methods
