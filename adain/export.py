"""Export a trained run for serving: `python -m adain.export --checkpoint RUN_DIR --format saved_model|tflite --output PATH`.

SavedModel (TF Serving, `tf.saved_model.load`), signature `serving_default`:
    content  uint8 [H, W, 3] or [N, H, W, 3]   (any H and W)
    style    uint8 [h, w, 3] or [1 or N, h, w, 3]
    alpha    float32 scalar, content-style trade-off (clipped to [0, 1])
    -> {"stylized": uint8 with the content's shape}
TFLite (mobile): the same computation for one image, content [H, W, 3] and style [h, w, 3]
uint8 (resize the interpreter's inputs to the image sizes), alpha float32 -> stylized [H, W, 3];
`--float16` stores the weights as float16 (half the file, slightly different pixels).

The graph is the Python API's (`adain.stylize.Stylizer`): same padding, AdaIN and rounding.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from adain.cli import ArgumentParser, quiet_tensorflow, run_main
from adain.errors import UserError
from adain.files import atomic_path

FORMATS = ("saved_model", "tflite")
SIGNATURE = "serving_default"

EXAMPLES = """examples:
  python -m adain.export --checkpoint checkpoints/demo --format saved_model --output exported/adain/1
  python -m adain.export --checkpoint checkpoints/demo --format tflite --output adain.tflite --float16"""


def portable_decoder(decoder):
    """The decoder with UpSampling2D run as ResizeNearestNeighbor: the same pixels (2x nearest), but a shape that
    TFLite's converter can follow (Keras' upsampling hides the channel count from it, which blocks its convolutions)."""
    import keras
    import tensorflow as tf

    def decode(features, training=False):
        x = features
        for layer in decoder.layers:
            if isinstance(layer, keras.layers.UpSampling2D):
                x = tf.image.resize(x, tf.shape(x)[1:3] * tf.constant(layer.size), method="nearest")
            else:
                x = layer(x, training=training)
        return x

    return decode


def build_serving_function(encoder, decoder):
    """content, style (uint8, rank 3 or 4), alpha -> {"stylized": uint8 shaped like content}."""
    import tensorflow as tf

    from adain.controls import blended_target, style_statistics
    from adain.model import pad_to_multiple

    def to_batch(image):  # [H, W, 3] or [N, H, W, 3] -> [N, H, W, 3] float
        batch = tf.reshape(tf.cast(image, tf.float32), tf.concat([[-1], tf.shape(image)[-3:]], axis=0))
        batch.set_shape([None, None, None, 3])
        return batch

    def serve(content, style, alpha):
        shape = tf.shape(content)
        images, styles = to_batch(content), to_batch(style)
        padded, height, width = pad_to_multiple(images)
        features = encoder(padded, training=False)[-1]
        mean, std = style_statistics(encoder(styles, training=False)[-1])
        alpha = tf.clip_by_value(tf.cast(alpha, tf.float32), 0.0, 1.0)
        target = blended_target(features, mean[:, None], std[:, None], tf.ones([1]), alpha)
        output = decoder(target, training=False)[:, :height, :width, :]
        stylized = tf.cast(tf.round(tf.clip_by_value(output, 0.0, 255.0)), tf.uint8)
        return {"stylized": tf.reshape(stylized, shape)}

    return serve


def input_signature(rank: int | None):
    import tensorflow as tf

    shape = None if rank is None else [None] * (rank - 1) + [3]
    return [
        tf.TensorSpec(shape, tf.uint8, name="content"),
        tf.TensorSpec(shape, tf.uint8, name="style"),
        tf.TensorSpec([], tf.float32, name="alpha"),
    ]


def serving_module(stylizer, rank: int | None, portable: bool = False):
    """A tf.Module owning the encoder and decoder, with the serving function traced for inputs of `rank`."""
    import tensorflow as tf

    module = tf.Module()
    module.encoder, module.decoder = stylizer.model.encoder, stylizer.model.decoder
    decoder = portable_decoder(module.decoder) if portable else module.decoder
    module.serve = tf.function(build_serving_function(module.encoder, decoder), input_signature=input_signature(rank))
    return module


def write_saved_model(module, path: Path) -> None:
    import tensorflow as tf

    tf.saved_model.save(module, str(path), signatures={SIGNATURE: module.serve.get_concrete_function()})


def export_saved_model(stylizer, output: Path) -> Path:
    """A SavedModel directory, written next to `output` and renamed into place."""
    tmp = Path(tempfile.mkdtemp(dir=output.parent, prefix=f"{partial_prefix(output)}{os.getpid()}-"))
    try:
        write_saved_model(serving_module(stylizer, rank=None), tmp)
        os.chmod(tmp, 0o755)
        if output.exists():
            shutil.rmtree(output)
        os.replace(tmp, output)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return output


def export_tflite(stylizer, output: Path, float16: bool = False) -> Path:
    """One image in, one out. The weights are frozen into constants first: the converter would otherwise keep
    Keras' resource variables as uninitialised TFLite variables."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    module = serving_module(stylizer, rank=3, portable=True)
    frozen = convert_variables_to_constants_v2(module.serve.get_concrete_function())
    named = tf.function(lambda content, style, alpha: {"stylized": frozen(content=content, style=style, alpha=alpha)[0]},
                        input_signature=input_signature(3))  # fmt: skip
    converter = tf.lite.TFLiteConverter.from_concrete_functions([named.get_concrete_function()], module)
    if float16:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    flatbuffer = converter.convert()
    with atomic_path(output) as tmp:
        tmp.write_bytes(flatbuffer)
    return output


def partial_prefix(output: Path) -> str:
    """A SavedModel is written to `.<name>.partial-<pid>-*` beside it, then renamed into place."""
    return f".{output.name}.partial-"


def remove_stale_partials(output: Path) -> None:
    """Partial exports left by a killed export (its pid is gone) are removed at the next start."""
    if not output.parent.is_dir():
        return
    for path in output.parent.glob(partial_prefix(output) + "*"):
        pid = path.name[len(partial_prefix(output)) :].split("-")[0]
        try:
            os.kill(int(pid), 0)
        except (ValueError, ProcessLookupError):
            shutil.rmtree(path, ignore_errors=True)
            print(f"removed {path}, left by an interrupted export", file=sys.stderr)
        except PermissionError:  # alive, another user's
            pass


def is_tflite(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(8)[4:8] == b"TFL3"  # the flatbuffer's file identifier


def check_output(output: Path, fmt: str, overwrite: bool = False) -> None:
    """Before loading anything: the output's folder must be writable, and we only ever replace our own kind of file
    (any other file only with --overwrite; never a directory that is not a SavedModel)."""
    parent = output.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {output}: {parent} is not a writable directory")
    if fmt == "saved_model" and output.exists():
        if not output.is_dir() or (any(output.iterdir()) and not (output / "saved_model.pb").is_file()):
            raise UserError(f"cannot write {output}: it exists and is not a SavedModel directory")
    if fmt == "tflite" and output.is_dir():
        raise UserError(f"cannot write {output}: it is a directory")
    if fmt == "tflite" and output.is_file() and not overwrite and not is_tflite(output):
        raise UserError(f"cannot write {output}: it exists and is not a TFLite model (--overwrite replaces it)")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="python -m adain.export", description=__doc__, epilog=EXAMPLES)
    parser.add_argument("--checkpoint", required=True, help="run directory from train.py (or a decoder .keras file)")
    parser.add_argument("--format", required=True, choices=FORMATS, help="saved_model (TF Serving) or tflite")
    parser.add_argument("--output", required=True, help="SavedModel directory or .tflite file to write")
    parser.add_argument("--float16", action="store_true", help="tflite: store weights as float16")
    parser.add_argument("--vgg-weights", help="VGG-19 weights file (default: as the run was trained)")
    parser.add_argument("--overwrite", action="store_true",
                        help="tflite: replace an existing file that is not a previous export (a previous export "
                        "of the same format is always replaced)")  # fmt: skip
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not Path(args.checkpoint).exists():
        raise UserError(f"checkpoint not found: {args.checkpoint}")
    if args.float16 and args.format != "tflite":
        raise UserError("--float16 applies to --format tflite only")
    output = Path(args.output)
    check_output(output, args.format, args.overwrite)
    remove_stale_partials(output)

    from adain.stylize import Stylizer

    stylizer = Stylizer.from_checkpoint(args.checkpoint, args.vgg_weights)
    output.parent.mkdir(parents=True, exist_ok=True)
    if args.format == "saved_model":
        export_saved_model(stylizer, output)
    else:
        export_tflite(stylizer, output, args.float16)
    print(f"wrote {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    quiet_tensorflow()
    run_main(main)
