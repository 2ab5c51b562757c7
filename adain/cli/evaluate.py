"""adain evaluate: the paper's losses for runs (and the Gatys et al. method) on content x style pairs."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from adain.cli.common import ArgumentParser, tensorflow_quietly
from adain.errors import UserError
from adain.inference.options import DEFAULT_COLOR_MATCH, check_color_match
from adain.media.files import check_can_write
from adain.media.images import contact_sheet, save_image
from adain.shipped import resolve_checkpoint

DESCRIPTION = """Evaluate AdaIN checkpoints (and optionally the Gatys et al. method) on content x style pairs.

Per pair: content loss (relu4_1 of the output vs the AdaIN target), style loss (channel
mean/std MSE over relu1_1..relu4_1) and content loss vs the content image's relu4_1,
all on the normalised VGG-19 whatever the checkpoint was trained with, so runs compare.
Writes report.json, report.md, tradeoff.png, sheet_<method>.jpg and the stylized images per method."""

EXAMPLES = """examples:
  adain evaluate --checkpoint checkpoints/demo --content photos/ --style paintings/ --output reports/demo
  adain evaluate --checkpoint runs/a --checkpoint runs/b --content photos/ --style paintings/ \\
      --output reports/ab --size 128 --gatys --gatys-iterations 200"""


def build_parser(prog: str = "adain evaluate") -> ArgumentParser:
    parser = ArgumentParser(prog=prog, description=DESCRIPTION, epilog=EXAMPLES)
    parser.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        help="run directory (or decoder .keras file); repeat to compare several (default: the shipped model)",
    )
    parser.add_argument("--content", nargs="+", required=True, help="content images: directories, files or globs")
    parser.add_argument("--style", nargs="+", required=True, help="style images: directories, files or globs")
    parser.add_argument("--output", required=True, help="report directory")
    parser.add_argument("--size", type=int, default=256, help="smaller side of the content images (0 keeps)")
    parser.add_argument("--style-size", type=int, default=256, help="smaller side of the style images (0 keeps)")
    parser.add_argument("--max-images", type=int, help="use only the first N content and N style images")
    parser.add_argument(
        "--color-match",
        type=float,
        default=DEFAULT_COLOR_MATCH,
        metavar="S",
        help=f"as `adain stylize --color-match` (default {DEFAULT_COLOR_MATCH}); 0 scores the decoders' own colours",
    )
    parser.add_argument("--gatys", action="store_true", help="also run the Gatys et al. method on the same pairs")
    parser.add_argument("--gatys-iterations", type=int, default=300, help="Gatys optimisation steps per pair")
    parser.add_argument("--gatys-style-weight", type=float, help="Gatys beta (default: adain.quality.gatys' default)")
    parser.add_argument("--vgg-weights", help="VGG-19 weights for the metric (default: the usual resolution)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.checkpoint = [resolve_checkpoint(c) for c in args.checkpoint or [None]]
    if args.size < 0 or args.style_size < 0 or (args.max_images is not None and args.max_images < 1):
        raise UserError("--size and --style-size must be >= 0 and --max-images >= 1")
    output = Path(args.output)
    if output.exists() and not output.is_dir():
        raise UserError(f"--output {output}: exists and is not a directory (the report is a folder)")
    check_can_write(output / "report.json")
    with tensorflow_quietly():
        from adain.quality.gatys import gatys_method
        from adain.quality.methods import checkpoint_methods
        from adain.quality.metrics import Metrics, evaluate_method, load_set
        from adain.quality.report import markdown_table, report_header, tradeoff_plot, write_report
    content_names, contents = load_set(args.content, args.size, args.max_images, "content")
    style_names, styles = load_set(args.style, args.style_size, args.max_images, "style")

    methods = checkpoint_methods(args.checkpoint, check_color_match(args.color_match))  # fail fast on a bad checkpoint
    metrics = Metrics(args.vgg_weights)
    report = report_header(metrics.describe(), args.size, args.style_size, content_names, style_names)
    if args.gatys:
        methods.append(("gatys", *gatys_method(args.gatys_iterations, args.gatys_style_weight, args.vgg_weights)))
    for label, method, info in methods:
        print(f"evaluating {label} on {len(contents)} x {len(styles)} pairs", file=sys.stderr)
        warmup = info["method"] == "adain"
        summary, rows = evaluate_method(
            method, metrics, contents, styles, content_names, style_names, output / label, warmup=warmup
        )
        report["methods"][label] = {**info, **summary}
        save_image(contact_sheet(contents, styles, rows), output / f"sheet_{label}.jpg")
    save_image(tradeoff_plot(report), output / "tradeoff.png")
    table = markdown_table(report)
    write_report(output, report, table)
    print(table)
    print(f"wrote {output / 'report.json'}, {output / 'report.md'} and sheet_*.jpg", file=sys.stderr)
    return 0
