"""Command-line stylization: argument parsing and planning; the work is done below this layer.

Everything that can be checked without the model (paths, numbers, masks, output paths) is checked, and
what goes where is decided (`adain.inference.plan.Plan`), before TensorFlow is imported, so a typo costs a
one-line error, not a model load. The runners: adain/inference/batch.py (images, --tile, --grid),
adain/inference/video.py (videos) and adain.quality.gatys.stylize_files (--method gatys).
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Sequence
from pathlib import Path

from adain.cli.common import ArgumentParser, tensorflow_quietly
from adain.config import NORMALIZATIONS
from adain.errors import UserError
from adain.inference.memory import check_memory
from adain.inference.options import (
    DEFAULT_COLOR_MATCH,
    DEFAULT_TEMPORAL,
    TEMPORAL_METHODS,
    check_color_match,
    check_size,
    normalize_style_weights,
)
from adain.inference.plan import Plan
from adain.media.files import check_can_write
from adain.media.images import (
    IMAGE_EXTENSIONS,
    check_image_size,
    check_resized_image,
    expand_inputs,
    open_image,
    resized_shape,
)
from adain.media.masks import check_mask_count
from adain.media.video import VIDEO_EXTENSIONS, frame_size, is_video
from adain.quality.gatys_settings import CONTENT_TARGETS, INITS, OPTIMIZERS, STYLE_STATISTICS, GatysSettings
from adain.shipped import resolve_checkpoint

DESCRIPTION = """Stylize images and videos with a trained AdaIN decoder (arbitrary style, one forward pass).

--content and --style take files, directories (searched recursively) or globs, several
of each if you like. Every content x style pair is stylized; with one output --output
is the file to write, otherwise a directory that receives <content>_stylized_<style>.<ext>
(with an alpha sweep: <content>_stylized_<style>_alpha<a>.<ext>). --output is a file only with a
known image or video extension; a name with any other extension (out.xyz) is refused unless it is
an existing directory, and an output that is one of the inputs is refused.

The paper's controls:
  --alpha A[,A...]        content-style trade-off: 0 reconstructs the content, 1 is full style;
                          several values write a sweep
  --style-weights W,W...  style interpolation: blend all the styles' AdaIN targets with these
                          weights into one output per content (<content>_stylized_<s1>+<s2>...)
  --mask M [M ...]        spatial control: one mask + two styles (white areas: first style,
                          black: second), or one mask per style (each pixel takes the style whose
                          mask is brightest); masks are resized to the content
  --preserve-color        keep the content's colours: each style is first recoloured to the
                          content's RGB mean and covariance (linear colour transfer, Gatys et
                          al. 2016, as in the paper), then transferred as usual

Beyond the paper:
  --color-match S         0..1: move the output's RGB mean and covariance this share of the way
                          towards the style's (times alpha; not with --mask). AdaIN alone leaves
                          flat, saturated paintings' colours bleached; the default 0.5 was chosen
                          by measurement (docs/quality.md); 0 gives the network's own colours

A video content (.mp4, .mov, .mkv, .avi, .webm) is stylized frame by frame at its own frame
rate (needs `pip install adain[video]`). Outputs always have the content's size after
--content-size/--crop. Exit code 2 and one line on stderr for bad input."""

EXAMPLES = """examples:
  python infer.py --checkpoint checkpoints/demo --content photo.jpg --style art.jpg --output out.jpg
  python infer.py --checkpoint checkpoints/demo --content photo.jpg --style art.jpg --output sweep/ --alpha 0,0.25,0.5,0.75,1
  python infer.py --checkpoint checkpoints/demo --content photo.jpg --style a.jpg b.jpg --style-weights 1,1 --output mix.jpg
  python infer.py --checkpoint checkpoints/demo --content photo.jpg --style a.jpg b.jpg --mask mask.png --output masked.jpg
  python infer.py --checkpoint checkpoints/demo --content photo.jpg --style art.jpg --preserve-color --output out.jpg
  python infer.py --checkpoint checkpoints/demo --content photos/ --style paintings/ --output outputs/ --grid grid.jpg
  python infer.py --checkpoint checkpoints/demo --content clip.mp4 --style art.jpg --output clip_art.mp4
  python infer.py --method gatys --content photo.jpg --style art.jpg --output out.jpg --content-size 256"""


def build_parser(prog: str = "adain stylize") -> ArgumentParser:
    parser = ArgumentParser(prog=prog, description=DESCRIPTION, epilog=EXAMPLES)
    parser.add_argument(
        "--method",
        choices=("adain", "gatys"),
        default="adain",
        help="adain: a trained decoder (fast); gatys: optimise the pixels (slow, no training)",
    )
    parser.add_argument(
        "--checkpoint",
        metavar="RUN_DIR",
        help="run directory from train.py (or a decoder .keras file); adain only. "
        "Default: the shipped model, checkpoints/adain-corpus ($ADAIN_CHECKPOINT overrides)",
    )
    parser.add_argument(
        "--content", required=True, nargs="+", metavar="PATH", help="content images/videos, directories or globs"
    )
    parser.add_argument("--style", required=True, nargs="+", metavar="PATH", help="style images, directories or globs")
    parser.add_argument(
        "--output", required=True, metavar="PATH", help="output file (one output) or directory (several)"
    )
    parser.add_argument(
        "--alpha",
        default="1.0",
        metavar="A[,A...]",
        help="content-style trade-off in [0, 1]; a comma list writes a sweep",
    )
    parser.add_argument(
        "--style-weights",
        metavar="W,W[,W...]",
        help="comma list, one weight per style: blend the styles into one output",
    )
    parser.add_argument(
        "--mask", nargs="+", metavar="PATH", help="mask image(s) assigning the styles to regions of the content"
    )
    parser.add_argument("--preserve-color", action="store_true", help="keep the content's colours")
    parser.add_argument(
        "--color-match",
        type=float,
        default=DEFAULT_COLOR_MATCH,
        metavar="S",
        help=f"0..1: move the output's colours towards the style's (default {DEFAULT_COLOR_MATCH}; 0: the network's)",
    )
    parser.add_argument(
        "--content-size", type=int, default=0, metavar="N", help="resize content's smaller side (0 keeps it)"
    )
    parser.add_argument(
        "--style-size", type=int, default=512, metavar="N", help="resize style's smaller side (0 keeps it)"
    )
    parser.add_argument("--crop", action="store_true", help="centre-crop content and style to squares after resizing")
    parser.add_argument("--ext", default="jpg", help="image extension of outputs written into a directory")
    parser.add_argument(
        "--batch-size", type=int, default=4, metavar="N", help="same-size contents / video frames per batch"
    )
    parser.add_argument(
        "--temporal",
        choices=TEMPORAL_METHODS,
        default=DEFAULT_TEMPORAL,
        help="video: keep frames steady by blending in the previous output moved along the input's optical flow "
        "(flow), by smoothed content statistics (stats), or both; align: every frame on its own, but placed on the "
        "decoder's 8-px grid as the camera moves (no ghosts; steadier pans); none: every frame on its own; "
        f"default {DEFAULT_TEMPORAL}, which aligns too (docs/stylize.md, Video)",
    )
    parser.add_argument("--grid", metavar="PATH", help="also write a contact sheet of all outputs to this image file")
    parser.add_argument("--vgg-weights", metavar="PATH", help="VGG-19 weights file (default: as the run was trained)")
    parser.add_argument(
        "--tile",
        type=int,
        default=0,
        metavar="SIZE",
        help="stylize images with a side above SIZE in overlapping tiles (multiple of 8, >= 256): memory bounded "
        "by the tile, not the image; AdaIN statistics still from the whole image",
    )
    add_gatys_arguments(parser)
    return parser


# -- input expansion and checks (no TensorFlow) ------------------------------------------------------------------------


def check_image(path: Path) -> None:
    """Cheap readability check (header + structure) before any model is loaded."""
    with open_image(path) as image:
        image.verify()


def check_writable(path: Path) -> None:
    """Not a directory, and its folder writable (the file itself is written atomically later)."""
    if path.is_dir():
        raise UserError(f"cannot write {path}: it is a directory")
    check_can_write(path)


def same_file(a: Path, b: Path) -> bool:
    """The same file, also through links or another spelling of the path."""
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return a.absolute() == b.absolute()


def parse_numbers(text: str, what: str) -> list[float]:
    if not text.strip():
        raise UserError(f"{what}: no value given")
    if any(not part.strip() for part in text.split(",")):
        raise UserError(f"{what} has an empty item in '{text}': give numbers separated by single commas")
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise UserError(f"{what} must be a number or a comma list of numbers, got '{text}'") from None
    if not all(math.isfinite(v) for v in values):
        raise UserError(f"{what} must be finite numbers, got '{text}'")
    return values


def parse_alphas(text: str) -> list[float]:
    values = parse_numbers(text, "--alpha")
    for value in values:
        if not 0.0 <= value <= 1.0:
            raise UserError(f"--alpha must be in [0, 1], got {value:g}")
    return values


# -- the plan: what to write where ---------------------------------------------------------------------------------


def output_name(content: Path, styles: Sequence[Path], alpha: float | None, ext: str) -> str:
    label = "+".join(s.stem for s in styles)
    suffix = "" if alpha is None else f"_alpha{alpha:g}"
    return f"{content.stem}_stylized_{label}{suffix}.{ext}"


def make_plan(args) -> Plan:
    alphas = parse_alphas(args.alpha)
    check_size(args.content_size, "--content-size")
    check_size(args.style_size, "--style-size")
    if args.batch_size < 1:
        raise UserError(f"--batch-size must be >= 1, got {args.batch_size}")
    ext = args.ext.lstrip(".").lower()
    if f".{ext}" not in IMAGE_EXTENSIONS:
        raise UserError(f"--ext: unknown image extension '{ext}' (use one of {', '.join(IMAGE_EXTENSIONS)})")
    args.checkpoint = resolve_checkpoint(args.checkpoint)

    contents = expand_inputs(args.content, "content", videos=True)
    styles = expand_inputs(args.style, "style")
    weights = masks = None
    if args.style_weights is not None:
        weights = normalize_style_weights(parse_numbers(args.style_weights, "--style-weights"), len(styles))
    if args.mask:
        if weights is not None:
            raise UserError("--mask and --style-weights cannot be combined")
        masks = expand_inputs(args.mask, "mask")
        check_mask_count(len(masks), len(styles))
    for path in [*contents, *styles, *(masks or [])]:
        if not is_video(path):
            check_image(path)
    shapes = []  # every content's size as stylized: checked against the encoder and, untiled, the memory
    for path in contents:
        if is_video(path):
            height, width = resized_shape(*frame_size(path), args.content_size)
            height, width = (min(height, width),) * 2 if args.crop else (height, width)
            check_image_size(
                height, width, f"content video {path}" + (" (after resizing)" if args.content_size else "")
            )
            shapes.append((height, width))
        else:
            shapes.append(check_resized_image(path, args.content_size, args.crop, "content"))
    if not args.tile and args.method == "adain":
        check_memory(shapes, args.batch_size)
    for path in styles:
        check_resized_image(path, args.style_size, args.crop, "style")
    if any(is_video(s) for s in styles):
        raise UserError("--style must be images, not videos")

    groups = [tuple(range(len(styles)))] if (weights or masks) else [(i,) for i in range(len(styles))]
    plan = Plan(
        contents,
        styles,
        groups,
        alphas,
        weights,
        masks,
        content_size=args.content_size,
        style_size=args.style_size,
        crop=args.crop,
        preserve_color=args.preserve_color,
        color_match=check_color_match(args.color_match),
        batch_size=args.batch_size,
        temporal=args.temporal,
    )
    sweep = len(alphas) > 1
    count = len(contents) * len(groups) * len(alphas)
    output = Path(args.output)
    suffix = output.suffix.lower()
    if count == 1 and suffix in IMAGE_EXTENSIONS + VIDEO_EXTENSIONS:
        wanted = VIDEO_EXTENSIONS if is_video(contents[0]) else IMAGE_EXTENSIONS
        if suffix not in wanted:
            kind = "a video" if is_video(contents[0]) else "an image"
            raise UserError(f"--output {output}: the content is {kind}; use one of {', '.join(wanted)}")
        plan.outputs[(0, 0, 0)] = output
    else:
        if suffix in IMAGE_EXTENSIONS + VIDEO_EXTENSIONS:
            raise UserError(f"--output {output} names one file but {count} outputs would be written; give a directory")
        if suffix and not output.is_dir():  # out.xyz: a typo'd file name, not a directory to create
            raise UserError(
                f"--output {output}: unknown file extension '{suffix}' (images: {', '.join(IMAGE_EXTENSIONS)};"
                f" videos: {', '.join(VIDEO_EXTENSIONS)}); a new directory needs a name without one"
            )
        for c, content in enumerate(contents):
            out_ext = content.suffix.lower().lstrip(".") if is_video(content) else ext
            for g, group in enumerate(groups):
                for a, alpha in enumerate(alphas):
                    name = output_name(content, [styles[i] for i in group], alpha if sweep else None, out_ext)
                    plan.outputs[(c, g, a)] = output / name
    for path in plan.outputs.values():
        check_writable(path)
    inputs = [*contents, *styles, *(masks or [])]
    for path in [*plan.outputs.values(), *([Path(args.grid)] if args.grid else [])]:
        for source in inputs:
            if same_file(path, source):
                raise UserError(
                    f"output {path} is the input {source}: it would be overwritten; choose another --output"
                )
    if args.grid:
        if Path(args.grid).suffix.lower() not in IMAGE_EXTENSIONS:
            raise UserError(f"--grid {args.grid}: unknown image extension")
        if any(is_video(c) for c in contents):
            raise UserError("--grid is for images, not videos")
        check_writable(Path(args.grid))
    return plan


# -- running it --------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, prog: str = "adain stylize") -> int:
    args = build_parser(prog).parse_args(argv)
    if args.method == "gatys":
        return run_gatys(args)
    plan = make_plan(args)
    with tensorflow_quietly():
        from adain.inference.batch import stylize_images, stylize_tiled, write_grid
        from adain.inference.stylizer import Stylizer
        from adain.inference.tiling import check_tiling
        from adain.inference.video import stylize_video
    if args.tile:
        check_tiling(args.tile)
    stylizer = Stylizer.from_checkpoint(args.checkpoint, args.vgg_weights)
    images = [i for i, c in enumerate(plan.contents) if not is_video(c)]
    videos = [i for i, c in enumerate(plan.contents) if is_video(c)]
    keep = bool(args.grid)
    if not images:
        results = {}
    elif args.tile:
        results = stylize_tiled(stylizer, plan, images, args.tile, keep)
    else:
        results = stylize_images(stylizer, plan, images, keep)
    for index in videos:
        stylize_video(stylizer, plan, index)
    if args.grid:
        write_grid(plan, results, Path(args.grid))
    return 0


# -- --method gatys ------------------------------------------------------------------------------------------------


def add_gatys_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `infer.py --method gatys`."""
    defaults = GatysSettings()
    group = parser.add_argument_group("--method gatys (pixels optimised per image; no checkpoint needed)")
    group.add_argument("--iterations", type=int, default=defaults.iterations, help="optimisation steps")
    group.add_argument("--content-weight", type=float, default=defaults.content_weight, help="alpha")
    group.add_argument("--style-weight", type=float, default=defaults.style_weight, help="beta")
    group.add_argument("--content-layer", default=defaults.content_layer, help="VGG-19 layer of the content loss")
    group.add_argument(
        "--style-layers",
        default=",".join(defaults.style_layers),
        help="comma-separated VGG-19 layers of the Gram style loss",
    )
    group.add_argument("--layer-weights", help="comma-separated weight per style layer (default: equal)")
    group.add_argument("--tv-weight", type=float, default=defaults.tv_weight, help="total-variation weight")
    group.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer)
    group.add_argument("--learning-rate", type=float, default=defaults.learning_rate, help="Adam step (pixels)")
    group.add_argument("--init", choices=INITS, default=defaults.init, help="initial image")
    group.add_argument("--noise-ratio", type=float, default=defaults.noise_ratio, help="noise share for --init mix")
    group.add_argument("--vgg-normalization", choices=NORMALIZATIONS, default=defaults.normalization)
    group.add_argument("--save-every", type=int, default=0, help="also write the image every N iterations")
    group.add_argument("--seed", type=int, default=defaults.seed, help="noise seed")
    group.add_argument(
        "--style-statistic",
        choices=STYLE_STATISTICS,
        default=defaults.style_statistic,
        help="gram (Gatys et al.) or mean_std (AdaIN's style loss)",
    )
    group.add_argument(
        "--content-target",
        choices=CONTENT_TARGETS,
        default=defaults.content_target,
        help="content: the content's features; adain: AdaIN(content, style) features",
    )


def settings_from_args(args: argparse.Namespace) -> GatysSettings:
    return GatysSettings(
        iterations=args.iterations,
        content_weight=args.content_weight,
        style_weight=args.style_weight,
        content_layer=args.content_layer,
        style_layers=[x.strip() for x in args.style_layers.split(",") if x.strip()],
        layer_weights=parse_numbers(args.layer_weights, "--layer-weights") if args.layer_weights else None,
        tv_weight=args.tv_weight,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        init=args.init,
        noise_ratio=args.noise_ratio,
        normalization=args.vgg_normalization,
        seed=args.seed,
        save_every=args.save_every,
        style_statistic=args.style_statistic,
        content_target=args.content_target,
    ).validate()


def run_gatys(args: argparse.Namespace) -> int:
    """infer.py --method gatys: every content x style pair, written like the AdaIN path writes them."""
    settings = settings_from_args(args)  # bad values fail before TensorFlow is imported
    try:
        alpha = float(args.alpha)
    except ValueError:
        alpha = None
    if alpha != 1.0:
        raise UserError("--alpha applies to --method adain; for gatys trade content and style with --style-weight")

    check_size(args.content_size, "--content-size")
    check_size(args.style_size, "--style-size")
    contents = expand_inputs(args.content, "content")
    styles = expand_inputs(args.style, "style")
    for paths, size, what in ((contents, args.content_size, "content"), (styles, args.style_size, "style")):
        for path in paths:
            check_resized_image(path, size, False, what)
    output = Path(args.output)
    single = len(contents) == 1 and len(styles) == 1 and output.suffix.lower() in IMAGE_EXTENSIONS
    ext = args.ext.lstrip(".").lower()
    if f".{ext}" not in IMAGE_EXTENSIONS:
        raise UserError(f"--ext: unknown image extension '{ext}'")
    targets = {
        (c, i): output if single else output / output_name(content, [style], None, ext)
        for c, content in enumerate(contents)
        for i, style in enumerate(styles)
    }
    with tensorflow_quietly():
        from adain.quality.gatys import Gatys, stylize_files
    gatys = Gatys.from_settings(settings, args.vgg_weights, verbose=True)
    stylize_files(
        gatys, contents, styles, targets, args.content_size, args.style_size, Path(args.grid) if args.grid else None
    )
    return 0
