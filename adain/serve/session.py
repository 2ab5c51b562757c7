"""One browser tab's state: its images, and what the model computed from them, cached so a slider move is cheap.

The paper's controls act on relu4_1 statistics, so a tab keeps the content's features (one encode per
content) and each style's channel mean and std (one encode per style, and per content with colour
preservation, which recolours the style to the content first). Moving the alpha or mix slider, or
painting the mask, then costs AdaIN and one decode (`Stylizer.decode`). Nothing here is shared between tabs.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from adain.errors import UserError
from adain.inference.options import check_alpha
from adain.inference.stylizer import StyleStatistics, Stylizer
from adain.media.masks import as_mask, mask_regions
from adain.serve.config import STYLE_SIZE

SLOTS = (0, 1)  # the first style, and the optional second one (interpolation or the mask's black region)


@dataclass(frozen=True)
class Picture:
    """An input image in memory and the name the equivalent command line calls it by."""

    image: np.ndarray  # RGB uint8 at its uploaded size
    name: str  # a file name for the command line: the upload's own name, or the example's path


@dataclass(frozen=True)
class Settings:
    """The controls of one request (checked here: they come from the page)."""

    alpha: float = 1.0
    mix: float = 0.5  # weight of the second style in an interpolation
    preserve_color: bool = False
    use_mask: bool = False

    @classmethod
    def parse(cls, values: dict) -> Settings:
        """Settings from a request's JSON object; a UserError sentence for anything malformed."""
        if not isinstance(values, dict):
            raise UserError("the settings must be a JSON object")
        unknown = set(values) - {"alpha", "mix", "preserve_color", "use_mask", "size"}
        if unknown:
            raise UserError(f"unknown setting {sorted(unknown)[0]!r}")

        def number(key: str, default: float) -> float:
            value = values.get(key, default)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise UserError(f"{key} must be a number, got {str(value)[:40]!r}")
            try:
                return float(value)
            except OverflowError:
                raise UserError(f"{key} must be in [0, 1], got a number too large for a float") from None

        def flag(key: str) -> bool:
            value = values.get(key, False)
            if not isinstance(value, bool):
                raise UserError(f"{key} must be true or false, got {value!r}")
            return value

        alpha = check_alpha(number("alpha", 1.0))
        mix = number("mix", 0.5)
        if not 0.0 <= mix <= 1.0:
            raise UserError(f"mix must be in [0, 1], got {mix:g}")
        return cls(alpha, mix, flag("preserve_color"), flag("use_mask"))


@dataclass
class Session:
    """A browser tab: inputs, and the preview-size encodings of them. `version` counts content changes."""

    preview_size: int
    style_size: int = STYLE_SIZE
    content: Picture | None = None
    styles: dict[int, Picture] = field(default_factory=dict)
    mask: Picture | None = None
    features: tf.Tensor | None = None  # relu4_1 of the content at preview size
    prepared_content: tf.Tensor | None = None  # [1, H, W, 3] float, preview size
    statistics: dict[tuple[int, bool], StyleStatistics] = field(default_factory=dict)  # (slot, preserve_color)
    regions: np.ndarray | None = None  # one-hot [H, W, 2] of the mask at preview size
    last_used: float = field(default_factory=time.monotonic)

    # -- inputs --------------------------------------------------------------------------------------------------

    def set_content(self, picture: Picture, stylizer: Stylizer) -> None:
        """Encode the content once; statistics recoloured to the old content and the mask's regions go."""
        size = min(self.preview_size, *picture.image.shape[:2])  # small pictures are not enlarged
        prepared = stylizer.prepare(picture.image, size)[None]
        self.features = stylizer.encode(prepared)
        self.content, self.prepared_content = picture, prepared
        self.statistics = {key: value for key, value in self.statistics.items() if not key[1]}
        self.regions = None

    def set_style(self, slot: int, picture: Picture, stylizer: Stylizer) -> None:
        """Encode a style's statistics once (the recoloured ones follow when colour preservation asks)."""
        if slot not in SLOTS:
            raise UserError(f"there is no style slot {slot}")
        self.statistics = {key: value for key, value in self.statistics.items() if key[0] != slot}
        self.statistics[(slot, False)] = stylizer.encode_styles([picture.image], self.style_size)
        self.styles[slot] = picture

    def remove_style(self, slot: int) -> None:
        if slot == 0:
            raise UserError("the first style cannot be removed, only replaced")
        self.styles.pop(slot, None)
        self.statistics = {key: value for key, value in self.statistics.items() if key[0] != slot}

    def set_mask(self, picture: Picture | None) -> None:
        self.mask, self.regions = picture, None

    # -- outputs -------------------------------------------------------------------------------------------------

    def check_ready(self, settings: Settings) -> None:
        if self.content is None:
            raise UserError("choose a content picture first")
        if 0 not in self.styles:
            raise UserError("choose a style first")
        if settings.use_mask and self.mask is None:
            raise UserError("paint or upload a mask first")
        if settings.use_mask and 1 not in self.styles:
            raise UserError("a mask needs a second style for its black area")

    def style_statistics(self, settings: Settings, stylizer: Stylizer) -> StyleStatistics:
        """The styles in play, [1, K, C]: encoded once per style (and per content with colour preservation)."""
        parts = []
        for slot in sorted(self.styles):
            key = (slot, settings.preserve_color)
            if key not in self.statistics:  # colour preservation: the style recoloured to this content
                self.statistics[key] = stylizer.encode_styles(
                    [self.styles[slot].image], self.style_size, recolor_to=self.prepared_content
                )
            parts.append(self.statistics[key])
        return StyleStatistics.concat(parts)

    def preview(self, settings: Settings, stylizer: Stylizer) -> np.ndarray:
        """The stylized content at preview size, uint8 [H, W, 3]: AdaIN and one decode, no encoder."""
        self.check_ready(settings)
        statistics = self.style_statistics(settings, stylizer)
        height, width = int(self.prepared_content.shape[1]), int(self.prepared_content.shape[2])
        weights = regions = None
        if settings.use_mask:
            if self.regions is None:
                self.regions = mask_regions([as_mask(self.mask.image)], height, width)
            regions = self.regions
        elif statistics.count == 2:
            weights = [1.0 - settings.mix, settings.mix]
        return stylizer.decode(self.features, statistics, (height, width), settings.alpha, weights, regions)[0]

    def full_size(self, settings: Settings, size: int, tile: int, stylizer: Stylizer) -> np.ndarray:
        """The download: `Stylizer.stylize` with exactly the arguments of `command()` (content's smaller side
        `size`, 0 = as uploaded; one plain style above `tile` px goes through tiling)."""
        self.check_ready(settings)
        styles, weights, mask = self._style_arguments(settings)
        return stylizer.stylize(
            self.content.image,
            [p.image for p in styles],
            settings.alpha,
            style_weights=weights,
            mask=mask,
            preserve_color=settings.preserve_color,
            content_size=size,
            style_size=self.style_size,
            tile_size=tile if size == 0 else 0,
        )

    def _style_arguments(self, settings: Settings) -> tuple[list[Picture], list[float] | None, np.ndarray | None]:
        styles = [self.styles[slot] for slot in sorted(self.styles)]
        if settings.use_mask:
            return styles, None, as_mask(self.mask.image)
        if len(styles) == 2:
            return styles, [1.0 - settings.mix, settings.mix], None
        return styles, None, None

    def command(self, settings: Settings, size: int, tile: int, checkpoint: str | None) -> str:
        """The `adain stylize` command that writes what the download holds, from files of the inputs' names."""
        if self.content is None or 0 not in self.styles:
            return ""
        styles, weights, _ = self._style_arguments(settings)
        words = ["adain", "stylize"] + (["--checkpoint", checkpoint] if checkpoint else [])
        words += ["--content", self.content.name, "--style"]
        words += [p.name for p in styles]
        if settings.alpha != 1.0:
            words += ["--alpha", f"{settings.alpha:g}"]
        if weights is not None:
            words += ["--style-weights", ",".join(f"{w:g}" for w in weights)]
        if settings.use_mask and self.mask is not None:
            words += ["--mask", self.mask.name]
        if settings.preserve_color:
            words.append("--preserve-color")
        if self.style_size != STYLE_SIZE:
            words += ["--style-size", str(self.style_size)]
        words += ["--content-size", str(size)] if size else ["--tile", str(tile)]
        words += ["--output", "stylized.png"]
        return " ".join(shlex.quote(word) for word in words)
