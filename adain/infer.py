"""Command-line stylization: a thin layer over `adain.stylize.Stylizer`."""

from __future__ import annotations

import glob
import sys
from collections.abc import Sequence
from pathlib import Path

from adain.cli import ArgumentParser
from adain.errors import UserError
from adain.images import IMAGE_EXTENSIONS, contact_sheet, list_images, load_image, save_image

DESCRIPTION = """Stylize images with a trained AdaIN decoder (arbitrary style, one forward pass).

One content and one style: --output is the image file to write.
Several (directories or globs): every content x style pair is written into the
--output directory as <content>_stylized_<style>.<ext>; --grid also writes a
contact sheet (styles across the top, contents down the side)."""

EXAMPLES = """examples:
  python infer.py --checkpoint checkpoints/demo --content photo.jpg --style art.jpg --output out.jpg
  python infer.py --checkpoint checkpoints/demo --content photo.jpg --style art.jpg --output out.jpg --alpha 0.5
  python infer.py --checkpoint checkpoints/demo --content photos/ --style paintings/ --output outputs/ --grid grid.jpg
  python infer.py --method gatys --content photo.jpg --style art.jpg --output out.jpg --content-size 256"""


def expand_images(spec: str, what: str) -> list[Path]:
    """A file, a directory (searched recursively) or a glob -> image paths."""
    path = Path(spec)
    if path.is_dir():
        found = list_images(path)
    elif path.is_file():
        return [path]
    else:
        found = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).suffix.lower() in IMAGE_EXTENSIONS)
    if not found:
        raise UserError(f"{what} not found: {spec}")
    return found


def parse_alpha(text: str) -> float:
    try:
        alpha = float(text)
    except ValueError:
        raise UserError(f"--alpha must be a number in [0, 1], got '{text}'") from None
    if not 0.0 <= alpha <= 1.0:
        raise UserError(f"--alpha must be in [0, 1], got {alpha}")
    return alpha


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="infer.py", description=DESCRIPTION, epilog=EXAMPLES)
    parser.add_argument("--method", choices=("adain", "gatys"), default="adain",
                        help="adain: a trained decoder (fast); gatys: optimise the pixels (slow, no training)")  # fmt: skip
    parser.add_argument("--checkpoint", help="run directory from train.py (or a decoder .keras file); adain only")
    parser.add_argument("--content", required=True, help="content image, directory or glob")
    parser.add_argument("--style", required=True, help="style image, directory or glob")
    parser.add_argument("--output", required=True, help="output image file (one pair) or directory (several)")
    parser.add_argument("--alpha", default="1.0", help="content-style trade-off in [0, 1]: 0 content, 1 full style")
    parser.add_argument("--content-size", type=int, default=0, help="resize content's smaller side (0 keeps it)")
    parser.add_argument("--style-size", type=int, default=512, help="resize style's smaller side (0 keeps it)")
    parser.add_argument("--ext", default="jpg", help="output extension when writing into a directory")
    parser.add_argument("--grid", help="also write a contact sheet of all pairs to this image file")
    parser.add_argument("--vgg-weights", help="VGG-19 weights file (default: as the run was trained)")
    from adain.gatys import add_arguments

    add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.method == "gatys":
        from adain.gatys import run_cli

        return run_cli(args)
    if not args.checkpoint:
        raise UserError("--checkpoint is required for --method adain (or use --method gatys)")
    alpha = parse_alpha(args.alpha)
    contents = expand_images(args.content, "content")
    styles = expand_images(args.style, "style")
    if args.content_size < 0 or args.style_size < 0:
        raise UserError("--content-size and --style-size must be >= 0")
    single = len(contents) == 1 and len(styles) == 1 and Path(args.output).suffix.lower() in IMAGE_EXTENSIONS
    output = Path(args.output)
    ext = args.ext.lstrip(".").lower()
    if f".{ext}" not in IMAGE_EXTENSIONS:
        raise UserError(f"--ext: unknown image extension '{ext}'")

    from adain.stylize import Stylizer

    stylizer = Stylizer.from_checkpoint(args.checkpoint, args.vgg_weights)
    grid_rows = []
    for content in contents:
        row = []
        content_image = stylizer.prepare(content, args.content_size)[None]
        for style in styles:
            style_features = stylizer.encode(stylizer.prepare(style, args.style_size)[None])
            result = stylizer.stylize_features(content_image, style_features, alpha)[0]
            target = output if single else output / f"{content.stem}_stylized_{style.stem}.{ext}"
            save_image(result, target)
            print(f"wrote {target}", file=sys.stderr)
            row.append(result)
        grid_rows.append(row)
    if args.grid:
        sheet = contact_sheet([load_image(c) for c in contents], [load_image(s) for s in styles], grid_rows)
        save_image(sheet, args.grid)
        print(f"wrote {args.grid}", file=sys.stderr)
    return 0
