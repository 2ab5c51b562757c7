"""adain normalization: measure (or show) the cached VGG-19 channel means behind per_channel normalisation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from adain.cli.common import ArgumentParser, tensorflow_quietly


def main(argv: Sequence[str] | None = None) -> int:
    with tensorflow_quietly():
        from adain.weights import normalization
        from adain.weights.normalization import DEAD_FRACTION, channel_means, means_cache_file
        from adain.weights.sources import load_vgg19_weights, weights_digest
    parser = ArgumentParser(prog="adain normalization", description=normalization.__doc__)
    parser.add_argument("--vgg-weights", help="VGG-19 weights file (default: the usual resolution)")
    args = parser.parse_args(argv)
    weights = load_vgg19_weights(args.vgg_weights, verbose=True)
    means = channel_means(weights, verbose=True)
    print(f"channel means cached in {means_cache_file(weights_digest(weights))}")
    for name in ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block4_conv2", "block5_conv1"):
        values = means[name]
        dead = int((values <= DEAD_FRACTION * np.median(values)).sum())
        spread = f"median {np.median(values):8.3f}  min {values.min():8.3f}  max {values.max():8.3f}"
        print(f"  {name}: {spread}  dead {dead}")
    return 0
