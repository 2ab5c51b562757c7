"""Stylizing many files in one run: contents batched by size, each style encoded once, outputs written as planned.

The command line (adain/cli/stylize.py) checks the inputs and decides what goes where (a `Plan`); the runners
here do the work: `stylize_images` (same-size contents batched), `stylize_tiled` (large images in tiles) and
`write_grid` (a contact sheet of the outputs). Videos: adain/inference/video.py.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from adain.errors import UserError
from adain.inference.color import color_moments
from adain.inference.plan import Key, Plan
from adain.inference.stylizer import StyleStatistics, Stylizer
from adain.media.images import contact_sheet, load_image, oriented_size, save_image


class StyleCache:
    """Each style group encoded once for the whole run (recoloured per content batch with preserve_color)."""

    def __init__(self, stylizer: Stylizer, plan: Plan) -> None:
        self.stylizer, self.plan = stylizer, plan
        self.cache: dict[tuple[int, ...], StyleStatistics] = {}

    def get(self, group: tuple[int, ...], contents: np.ndarray) -> StyleStatistics:
        plan = self.plan
        styles = [plan.styles[i] for i in group]
        if plan.preserve_color:
            return self.stylizer.encode_styles(styles, plan.style_size, plan.crop, recolor_to=contents)
        if group not in self.cache:
            self.cache[group] = self.stylizer.encode_styles(styles, plan.style_size, plan.crop)
        return self.cache[group]


def _write(image: np.ndarray, path: Path) -> None:
    tqdm.write(f"wrote {save_image(image, path)}", file=sys.stderr)


def stylize_images(stylizer: Stylizer, plan: Plan, indices: list[int], keep: bool = False) -> dict[Key, np.ndarray]:
    """Contents grouped by size and batched; each batch is encoded once for every style group and alpha.
    Returns the outputs when `keep` (for a grid), else {}."""
    by_size = defaultdict(list)
    for index in indices:
        by_size[oriented_size(plan.contents[index])].append(index)
    size = plan.batch_size
    batches = [group[i : i + size] for group in by_size.values() for i in range(0, len(group), size)]
    styles = StyleCache(stylizer, plan)
    kept = {}
    with tqdm(total=len(indices), unit="image", desc="stylize", dynamic_ncols=True, disable=None) as bar:
        for batch in batches:
            contents = np.stack(
                [stylizer.prepare(plan.contents[i], plan.content_size, plan.crop).numpy() for i in batch]
            )
            regions = plan.regions(contents.shape[1], contents.shape[2])
            for g, group in enumerate(plan.groups):
                outputs = stylizer.stylize_batch(
                    contents, styles.get(group, contents), plan.alphas, plan.weights, regions, plan.color_match
                )
                for a, images in enumerate(outputs):
                    for index, image in zip(batch, images, strict=True):
                        _write(image, plan.outputs[(index, g, a)])
                        if keep:
                            kept[(index, g, a)] = image
            bar.update(len(batch))
    return kept


def stylize_tiled(
    stylizer: Stylizer, plan: Plan, indices: list[int], tile_size: int, keep: bool = False
) -> dict[Key, np.ndarray]:
    """One image at a time, large ones in overlapping tiles (adain.inference.tiling); each style encoded once."""
    if (
        plan.masks is not None
        or plan.preserve_color
        or plan.weights is not None
        or any(len(g) != 1 for g in plan.groups)
    ):
        raise UserError("--tile works with one style per output (not with --mask, --style-weights or --preserve-color)")
    features, kept = {}, {}
    for index in tqdm(indices, unit="image", desc="stylize", dynamic_ncols=True, disable=None):
        content = stylizer.prepare(plan.contents[index], plan.content_size, plan.crop).numpy()[None]
        for g, (style,) in enumerate(plan.groups):
            if style not in features:
                prepared = stylizer.prepare(plan.styles[style], plan.style_size, plan.crop)[None]
                features[style] = stylizer.encode(prepared), color_moments(prepared)
            encoded, colors = features[style]
            for a, alpha in enumerate(plan.alphas):
                image = stylizer.stylize_features(content, encoded, alpha, tile_size, colors, plan.color_match)[0]
                _write(image, plan.outputs[(index, g, a)])
                if keep:
                    kept[(index, g, a)] = image
    return kept


def write_grid(plan: Plan, results: dict[Key, np.ndarray], path: Path) -> None:
    """Rows: contents; columns: every style group x alpha, headed by the (first) style of the column."""
    columns = [(g, a) for g in range(len(plan.groups)) for a in range(len(plan.alphas))]
    headers = [load_image(plan.styles[plan.groups[g][0]]) for g, _ in columns]
    rows = [[results[(c, g, a)] for g, a in columns] for c in range(len(plan.contents))]
    sheet = contact_sheet([load_image(c) for c in plan.contents], headers, rows)
    save_image(sheet, path)
    print(f"wrote {path}", file=sys.stderr)
