"""adain export: a trained run as a SavedModel (TF Serving) or a TFLite file (adain.inference.export)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from adain.cli.common import ArgumentParser, tensorflow_quietly
from adain.errors import UserError
from adain.inference.marker import is_own_export, marker_path
from adain.media.files import check_can_write
from adain.shipped import resolve_checkpoint

FORMATS = ("saved_model", "tflite")
DESCRIPTION = """Export a trained run for serving: `adain export --checkpoint RUN_DIR --format saved_model|tflite --output PATH`.

SavedModel (TF Serving, `tf.saved_model.load`), signature `serving_default`:
    content  uint8 [H, W, 3] or [N, H, W, 3]   (any H and W)
    style    uint8 [h, w, 3] or [1 or N, h, w, 3]
    alpha    float32 scalar, content-style trade-off (clipped to [0, 1])
    -> {"stylized": uint8 with the content's shape}
TFLite (mobile): the same computation for one image, content [H, W, 3] and style [h, w, 3]
uint8 (resize the interpreter's inputs to the image sizes), alpha float32 -> stylized [H, W, 3];
`--float16` stores the weights as float16 (half the file, slightly different pixels).

The graph is the Python API's (`adain.inference.stylizer.Stylizer`): same padding, AdaIN and rounding,
with the network's own colours (`--color-match 0` of `adain stylize`): the output is not moved towards the
style's colours, as the colour transfer needs an eigendecomposition that TFLite lacks."""

EXAMPLES = """examples:
  adain export --checkpoint checkpoints/demo --format saved_model --output exported/adain/1
  adain export --checkpoint checkpoints/demo --format tflite --output adain.tflite --float16"""


def check_output(output: Path, fmt: str, overwrite: bool = False) -> None:
    """Before loading anything: the output's folder must be writable, and only adain's own earlier exports (known by
    the marker each export carries, adain.inference.marker) are replaced; anything else only with --overwrite."""
    check_can_write(output)
    directory = fmt == "saved_model"
    if not output.exists():
        return
    if directory and not output.is_dir():
        raise UserError(f"cannot write {output}: it exists and is not a SavedModel directory but a file")
    if not directory and output.is_dir():
        raise UserError(f"cannot write {output}: it is a directory")
    if (directory and not any(output.iterdir())) or overwrite or is_own_export(output, directory):
        return
    raise UserError(
        f"cannot write {output}: it exists and is not an earlier adain export "
        f"(no {marker_path(output, directory).name} marker); --overwrite replaces it"
    )


def build_parser(prog: str = "adain export") -> ArgumentParser:
    parser = ArgumentParser(prog=prog, description=DESCRIPTION, epilog=EXAMPLES)
    parser.add_argument(
        "--checkpoint", help="run directory from train.py (or a decoder .keras file); default: the shipped model"
    )
    parser.add_argument("--format", required=True, choices=FORMATS, help="saved_model (TF Serving) or tflite")
    parser.add_argument("--output", required=True, help="SavedModel directory or .tflite file to write")
    parser.add_argument("--float16", action="store_true", help="tflite: store weights as float16")
    parser.add_argument("--vgg-weights", help="VGG-19 weights file (default: as the run was trained)")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing file or folder that is not an earlier adain export (those carry a "
        ".adain-export.json marker and are always replaced); without it such an output is refused",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.checkpoint = resolve_checkpoint(args.checkpoint)
    if args.float16 and args.format != "tflite":
        raise UserError("--float16 applies to --format tflite only")
    output = Path(args.output)
    check_output(output, args.format, args.overwrite)

    with tensorflow_quietly():
        from adain.inference.export import export_saved_model, export_tflite, remove_stale_partials
        from adain.inference.stylizer import Stylizer
    remove_stale_partials(output)
    stylizer = Stylizer.from_checkpoint(args.checkpoint, args.vgg_weights)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        if args.format == "saved_model":
            export_saved_model(stylizer, output, args.checkpoint)
        else:
            export_tflite(stylizer, output, args.float16, args.checkpoint)
    except OSError as exc:  # the disk filled up, the folder went away: nothing half-written is left (atomic_path)
        raise UserError(f"cannot write {output}: {exc.strerror or exc}") from None
    print(f"wrote {output}", file=sys.stderr)
    return 0
