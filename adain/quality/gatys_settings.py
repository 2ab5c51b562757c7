"""The settings of the Gatys et al. method (adain.quality.gatys), checked without TensorFlow."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from adain.config import NORMALIZATIONS
from adain.errors import UserError
from adain.nn.layout import VGG19_CONV_LAYERS

GATYS_CONTENT_LAYER = "block4_conv2"  # relu4_2
GATYS_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
INITS = ("content", "noise", "mix")
STYLE_STATISTICS = ("gram", "mean_std")
CONTENT_TARGETS = ("content", "adain")
OPTIMIZERS = ("adam", "lbfgs")


@dataclass
class GatysSettings:
    iterations: int = 300
    content_weight: float = 1.0  # alpha
    style_weight: float = 10.0  # beta
    content_layer: str = GATYS_CONTENT_LAYER
    style_layers: Sequence[str] = GATYS_STYLE_LAYERS
    layer_weights: Sequence[float] | None = None  # one per style layer; normalised to sum 1; None: equal
    tv_weight: float = 0.0
    optimizer: str = "adam"  # adam | lbfgs
    learning_rate: float = 4.0  # Adam step, in pixel units (0..255)
    init: str = "content"  # content | noise | mix
    noise_ratio: float = 0.5  # mix: ratio * noise + (1 - ratio) * content
    normalization: str = "per_channel"  # VGG normalisation (adain/weights/normalization.py), as in the paper
    seed: int = 0
    save_every: int = 0  # call the save hook every N iterations (0: never)
    # The AdaIN paper's objective instead (mean_std + adain at block4_conv1): what a perfect decoder would output.
    style_statistic: str = "gram"  # gram | mean_std (channel means and stds, as in AdaIN's style loss)
    content_target: str = "content"  # content | adain (AdaIN(content, style) features at the content layer)

    def validate(self) -> GatysSettings:
        if self.iterations < 1:
            raise UserError(f"gatys: iterations must be >= 1, got {self.iterations}")
        weights = (("content weight", self.content_weight), ("style weight", self.style_weight))
        for name, value in (*weights, ("tv weight", self.tv_weight)):
            if value < 0:
                raise UserError(f"gatys: {name} must be >= 0, got {value}")
        if self.learning_rate <= 0:
            raise UserError(f"gatys: learning rate must be > 0, got {self.learning_rate}")
        for name in (self.content_layer, *self.style_layers):
            if name not in VGG19_CONV_LAYERS:
                raise UserError(f"gatys: unknown VGG-19 layer '{name}' (e.g. block4_conv2)")
        if not self.style_layers:
            raise UserError("gatys: name at least one style layer")
        if self.layer_weights is not None:
            if len(self.layer_weights) != len(self.style_layers):
                raise UserError(
                    f"gatys: {len(self.layer_weights)} layer weights for {len(self.style_layers)} style layers"
                )
            if any(w < 0 for w in self.layer_weights) or sum(self.layer_weights) <= 0:
                raise UserError("gatys: layer weights must be >= 0 with a positive sum")
        if self.optimizer not in OPTIMIZERS:
            raise UserError(f"gatys: optimizer must be one of {', '.join(OPTIMIZERS)}, got '{self.optimizer}'")
        if self.init not in INITS:
            raise UserError(f"gatys: init must be one of {', '.join(INITS)}, got '{self.init}'")
        if not 0.0 <= self.noise_ratio <= 1.0:
            raise UserError(f"gatys: noise ratio must be in [0, 1], got {self.noise_ratio}")
        if self.style_statistic not in STYLE_STATISTICS:
            raise UserError(f"gatys: style statistic must be one of {', '.join(STYLE_STATISTICS)}")
        if self.content_target not in CONTENT_TARGETS:
            raise UserError(f"gatys: content target must be one of {', '.join(CONTENT_TARGETS)}")
        if self.save_every < 0:
            raise UserError(f"gatys: save every must be >= 0, got {self.save_every}")
        if self.normalization not in NORMALIZATIONS:
            raise UserError(f"gatys: VGG normalisation must be one of {', '.join(NORMALIZATIONS)}")
        return self

    def normalized_layer_weights(self) -> list[float]:
        weights = [1.0] * len(self.style_layers) if self.layer_weights is None else list(self.layer_weights)
        return [w / sum(weights) for w in weights]


def settings_dict(settings: GatysSettings) -> dict:
    data = dataclasses.asdict(settings)
    data["style_layers"] = list(settings.style_layers)
    data["layer_weights"] = settings.normalized_layer_weights()
    return data
