"""Stylization benchmark: how close `adain.inference.stylizer.Stylizer` runs to the device's own convolution speed.

Prints one markdown table. Rows:
  full N^2          content and style (both N x N) encoded, AdaIN, decoded: what one new pair costs
  cached style N^2  the style's features encoded once beforehand: one style over many contents
  folder, ...       the photos in --content and the style, centre-cropped to N x N (--folder-size 512) and
                    written as files, through the public API: `stylize()` (style file re-read and re-encoded
                    for every content) versus `encode()` once + `stylize_features()`; images/s and their ratio
With --size WxH: one tiled stylization of a WxH image (tile --tile, overlap 128) and the process's peak RSS.

FLOPs per image: full = E(content) + E(style) + D, cached = E + D, where E and D are the encoder's and
decoder's convolution FLOPs at that size (bench/common.py has the formula); tiled = per tile 2 E + D
(a statistics pass and a stylize pass) + E(style). The decoder weights do not change the arithmetic, so
without --checkpoint a freshly initialised decoder is timed.

    python bench/stylize.py                      # the table in docs/performance.md
    python bench/stylize.py --size 8000x6000     # tiled high-resolution run, peak RSS
    python bench/stylize.py --precision mixed_bfloat16 --jit --batch 8   # GPU options
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np  # noqa: E402  (after common, which quiets TensorFlow)
import tensorflow as tf  # noqa: E402
from common import (
    REPO,
    SHARED,
    Reference,
    Row,
    Timing,
    footer,
    header,
    hide_gpus,
    model_flops,
    peak_rss_gb,
    print_table,
    rss_gb,
    time_calls,
)
from PIL import Image  # noqa: E402

from adain.cli.common import ArgumentParser, run_main  # noqa: E402
from adain.config import PRECISIONS  # noqa: E402
from adain.errors import UserError  # noqa: E402
from adain.inference.stylizer import Stylizer  # noqa: E402
from adain.inference.tiling import DEFAULT_OVERLAP, check_tiling, plan_spans  # noqa: E402
from adain.media.folder import list_image_files  # noqa: E402
from adain.media.images import save_image  # noqa: E402
from adain.nn.decoder import build_decoder  # noqa: E402
from adain.nn.model import AdaINModel  # noqa: E402
from adain.nn.vgg import build_vgg19_encoder  # noqa: E402
from adain.preprocess import prepare_image  # noqa: E402
from adain.run import load_decoder  # noqa: E402
from adain.training.precision import resolve_precision  # noqa: E402
from adain.weights.sources import load_vgg19_weights  # noqa: E402


def default_folder(kind: str) -> Path:
    """The shared real images when present, else scikit-image's photos/textures (as the demo uses)."""
    if (SHARED / kind).is_dir():
        return SHARED / kind
    from adain.data.pipeline import fill_demo_folder

    folder = REPO / "data" / "demo" / kind
    if not list_image_files(folder) if folder.is_dir() else True:
        fill_demo_folder(folder, "photos" if kind == "content" else "textures")
    return folder


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UserError(f"--size expects WIDTHxHEIGHT, e.g. 8000x6000, got '{text}'") from None
    if width <= 0 or height <= 0:
        raise UserError(f"--size must be positive, got '{text}'")
    return width, height


def square(path: Path, size: int) -> tf.Tensor:
    return prepare_image(path, size, crop=True)


def build_stylizer(args) -> Stylizer:
    policy = resolve_precision(args.precision)
    decoder = build_decoder(dtype=policy)
    if args.checkpoint:
        decoder.set_weights(load_decoder(args.checkpoint).get_weights())
    model = AdaINModel(build_vgg19_encoder(load_vgg19_weights(), dtype=policy), decoder)
    return Stylizer(model, jit_compile=args.jit)


def size_rows(stylizer: Stylizer, args, contents: list[Path], style: Path, reference: Reference) -> list[Row]:
    encoder, decoder = stylizer.model.encoder, stylizer.model.decoder
    rows = []
    cached_sizes = {int(s) for s in args.cached_sizes.split(",") if s}
    for size in [int(s) for s in args.sizes.split(",") if s]:
        content = tf.stack([square(contents[i % len(contents)], size) for i in range(args.batch)])
        style_batch = tf.repeat(square(style, size)[None], args.batch, axis=0)
        e, d = model_flops(encoder, size, size), model_flops(decoder, size // 8, size // 8)

        def full(c=content, s=style_batch, size=size, flops=args.batch * (2 * e + d)) -> Row:
            timing = time_calls(lambda: stylizer.stylize_features(c, stylizer.encode(s)), args.repeats)
            return Row("full", f"{size}x{size}", args.batch, timing, flops, args.batch)

        features = stylizer.encode(style_batch[:1])

        def cached(c=content, f=features, size=size, flops=args.batch * (e + d)) -> Row:
            timing = time_calls(lambda: stylizer.stylize_features(c, f), args.repeats)
            return Row("cached style", f"{size}x{size}", args.batch, timing, flops, args.batch)

        for case in (full, cached) if size in cached_sizes else (full,):
            rows.append(reference.bracket(case))
            print(f"  {rows[-1].case} {size}: {rows[-1].timing.median:.3f} s", file=sys.stderr)
    return rows


def folder_rows(stylizer: Stylizer, args, contents: list[Path], style: Path, reference: Reference) -> list[Row]:
    """A folder of N x N photo files and one N x N style file, through the public API both ways: `stylize()`
    per content (reads and encodes the style every time) versus `encode()` once + `stylize_features()`.
    One pass each; per-image seconds, and images/s and GFLOP/s over the whole pass (file reading included)."""
    size = args.folder_size
    folder = Path(tempfile.mkdtemp(prefix="adain-bench-"))
    paths = []
    for path in contents:
        paths.append(save_image(square(path, size).numpy(), folder / f"{path.stem}.png"))
    style_file = save_image(square(style, size).numpy(), folder / "style" / f"{style.stem}.png")
    e = model_flops(stylizer.model.encoder, size, size)
    d = model_flops(stylizer.model.decoder, size // 8, size // 8)
    start = time.perf_counter()
    stylizer.stylize(paths[0], style_file)  # warm-up (traced already)
    first = time.perf_counter() - start

    def folder_pass(cached: bool) -> Row:
        times, cpu = [], []
        start, cpu_start = time.perf_counter(), time.process_time()
        if cached:
            features = stylizer.encode(stylizer.prepare(style_file)[None])
        for path in paths:
            t0, c0 = time.perf_counter(), time.process_time()
            if cached:
                stylizer.stylize_features(stylizer.prepare(path)[None], features)
            else:
                stylizer.stylize(path, style_file)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        total, total_cpu = time.perf_counter() - start, time.process_time() - cpu_start
        n = len(paths)
        flops = n * (e + d) + e * (1 if cached else n)
        row = Row(
            "folder, cached style" if cached else "folder, style re-encoded per content",
            f"{n} files {size}x{size}",
            1,
            Timing(first, times, cpu),
            flops / n,
            rate_s=total / n,
            cpu_s=total_cpu / n,
        )
        row.extra["per-image mean s"] = f"{total / n:.3f}"
        print(f"  folder cached={cached}: {n / total:.3f} images/s", file=sys.stderr)
        return row

    try:
        return [reference.bracket(lambda: folder_pass(False)), reference.bracket(lambda: folder_pass(True))]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def tiled_run(stylizer: Stylizer, args, contents: list[Path], style: Path, reference: Reference) -> Row:
    width, height = parse_size(args.size)
    check_tiling(args.tile)
    encoder, decoder = stylizer.model.encoder, stylizer.model.decoder
    print(f"building a {width}x{height} uint8 content image from {contents[0].name}", file=sys.stderr)
    with Image.open(contents[0]) as photo:
        content = np.asarray(photo.convert("RGB").resize((width, height), Image.BICUBIC))
    warm = content[: args.tile // 2, : args.tile + 64]  # two small tiles: traces the tile functions
    start = time.perf_counter()
    stylizer.stylize(warm, style, style_size=args.style_size, tile_size=args.tile)  # traces the tile functions
    first = time.perf_counter() - start
    rss_before = rss_gb()
    reference.measure()
    start, cpu_start = time.perf_counter(), time.process_time()
    output = stylizer.stylize(content, style, style_size=args.style_size, tile_size=args.tile)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    row_reference, row_reference_cpu = (reference.points[-1] + reference.measure()) / 2, reference.cpu_points[-2:]
    assert output.shape == content.shape
    rows_, cols_ = plan_spans(height, args.tile, DEFAULT_OVERLAP), plan_spans(width, args.tile, DEFAULT_OVERLAP)
    flops = model_flops(encoder, *prepare_image(style, args.style_size).shape[:2])
    for r in rows_:
        for c in cols_:
            h, w = (-(-(s.end - s.start) // 8) * 8 for s in (r, c))
            flops += 2 * model_flops(encoder, h, w) + model_flops(decoder, h // 8, w // 8)
    untiled = model_flops(encoder, height, width) + model_flops(decoder, height // 8, width // 8)
    row = Row(
        f"tiled {args.tile}, overlap {DEFAULT_OVERLAP}",
        f"{width}x{height}",
        1,
        Timing(first, [elapsed], [cpu]),
        flops,
        reference=row_reference,
        reference_cpu=sum(row_reference_cpu) / 2,
    )
    row.extra = {
        "tiles": len(rows_) * len(cols_),
        "FLOPs / untiled": f"{flops / untiled:.2f}",
        "RSS before GB": f"{rss_before:.2f}",
        "peak RSS GB": f"{peak_rss_gb():.2f}",
    }
    return row


def main(argv=None) -> int:
    parser = ArgumentParser(prog="bench/stylize.py", description=__doc__)
    parser.add_argument("--sizes", default="256,512,1024", help="square sizes of the full rows")
    parser.add_argument("--cached-sizes", default="512", help="sizes that also get a cached-style row")
    parser.add_argument("--folder-size", type=int, default=512, help="smaller side of the folder rows (0: skip them)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per row after one warm-up call")
    parser.add_argument("--batch", type=int, default=1, help="content images per call in the square rows")
    parser.add_argument("--content", type=Path, help="folder of content photos (default: shared data or demo)")
    parser.add_argument("--style", type=Path, help="style image (default: the first of the shared/demo styles)")
    parser.add_argument("--checkpoint", help="time a trained decoder (the arithmetic is the same without)")
    parser.add_argument("--precision", default="float32", choices=PRECISIONS, help="Keras dtype policy")
    parser.add_argument("--jit", action="store_true", help="XLA-compile the encode and decode functions")
    parser.add_argument("--cpu", action="store_true", help="benchmark the CPU even if a GPU is present")
    parser.add_argument("--size", help="WIDTHxHEIGHT: only a tiled stylization of an image this large")
    parser.add_argument("--tile", type=int, default=1024, help="tile size for --size")
    parser.add_argument("--style-size", type=int, default=512, help="style's smaller side for --size")
    args = parser.parse_args(argv)
    if args.cpu:
        hide_gpus()
    contents = [Path(file) for file in list_image_files(args.content or default_folder("content"))]
    style = Path(args.style or list_image_files(default_folder("style"))[0])
    if not contents:
        raise UserError(f"no content images in {args.content}")
    policy = resolve_precision(args.precision)
    header("bench/stylize.py", sys.argv[1:] if argv is None else argv, policy, args.jit)
    print(f"content: {contents[0].parent} ({len(contents)} images), style: {style}")
    stylizer = build_stylizer(args)
    reference = Reference(dtype=stylizer.model.encoder.compute_dtype)
    if args.size:
        rows = [tiled_run(stylizer, args, contents, style, reference)]
        extra = ["tiles", "FLOPs / untiled", "RSS before GB", "peak RSS GB"]
    else:
        rows = size_rows(stylizer, args, contents, style, reference)
        if args.folder_size:
            rows += folder_rows(stylizer, args, contents, style, reference)
        extra = ["per-image mean s"]
    print_table("stylization", rows, extra)
    footer(reference)
    folder = {row.case: row for row in rows if row.case.startswith("folder")}
    if len(folder) == 2:
        full, cached = folder.values()
        print(
            f"one style over a folder: {1 / cached.rate_s:.3f} vs {1 / full.rate_s:.3f} images/s "
            f"= {full.rate_s / cached.rate_s:.2f}x (cached style / style re-encoded per content)"
        )
    return 0


if __name__ == "__main__":
    run_main(main)
