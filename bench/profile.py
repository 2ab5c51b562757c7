"""Where the time goes: one stylization or training step under the TensorFlow profiler, per op type and
per convolution (milliseconds, GFLOP, GFLOP/s and the ratio to the reference convolution).

    python bench/profile.py stylize --size 512 --cached       # one 512x512 image, style features cached
    python bench/profile.py train --batch 8 --crop 256        # one training step at the paper's size
    python bench/profile.py train --logdir /tmp/prof          # keep the trace for TensorBoard's profiler

Op times are summed over executor threads; with inter-op parallelism two ops may overlap, so the
per-op shares, not their sum, are what to read.
"""

from __future__ import annotations

import re
import sys
import time

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from common import SHARED, Reference, conv_layer_flops, device_description, hide_gpus
from profiling import by_type, profile_ops  # noqa: E402

from adain.cli.common import ArgumentParser, run_main  # noqa: E402
from adain.config import PRECISIONS  # noqa: E402
from adain.inference.stylizer import Stylizer  # noqa: E402
from adain.media.folder import list_image_files  # noqa: E402
from adain.nn.decoder import build_decoder  # noqa: E402
from adain.nn.model import AdaINModel  # noqa: E402
from adain.nn.vgg import build_vgg19_encoder  # noqa: E402
from adain.preprocess import prepare_image  # noqa: E402
from adain.training.precision import resolve_precision  # noqa: E402
from adain.weights.sources import load_vgg19_weights  # noqa: E402

LAYER = re.compile(r"(block\d_conv\d|conv\d)(?:_\d+)?/")


def images(kind: str, count: int, size: int) -> tf.Tensor:
    folder = SHARED / kind
    paths = list_image_files(folder) if folder.is_dir() else []
    if paths:
        arrays = [prepare_image(paths[i % len(paths)], size, crop=True) for i in range(count)]
        return tf.stack(arrays)
    return tf.random.uniform((count, size, size, 3), 0, 255, seed=0)


def main(argv=None) -> int:
    parser = ArgumentParser(prog="bench/profile.py", description=__doc__)
    parser.add_argument("what", choices=("stylize", "train"))
    parser.add_argument("--size", type=int, default=512, help="stylize: square image size")
    parser.add_argument("--cached", action="store_true", help="stylize: style features encoded beforehand")
    parser.add_argument("--batch", type=int, default=8, help="train: batch size")
    parser.add_argument("--crop", type=int, default=256, help="train: crop size")
    parser.add_argument("--precision", default="float32", choices=PRECISIONS)
    parser.add_argument("--jit", action="store_true", help="XLA (op names then belong to XLA clusters)")
    parser.add_argument("--logdir", help="keep the profiler trace here (TensorBoard --logdir, Profile tab)")
    parser.add_argument("--top", type=int, default=12, help="op types to list")
    parser.add_argument("--cpu", action="store_true")
    args = parser.parse_args(argv)
    if args.cpu:
        hide_gpus()
    policy = resolve_precision(args.precision)
    print(f"# bench/profile.py {' '.join(sys.argv[1:] if argv is None else argv)}")
    print(
        f"device: {device_description()}, precision {policy}, load average {' '.join(f'{x:.2f}' for x in __import__('os').getloadavg())}"
    )
    keras.utils.set_random_seed(0)
    model = AdaINModel(build_vgg19_encoder(load_vgg19_weights(), dtype=policy), build_decoder(dtype=policy))
    if args.what == "stylize":
        stylizer = Stylizer(model, jit_compile=args.jit)
        content, style = images("content", 1, args.size), images("style", 1, args.size)
        features = stylizer.encode(style)

        def run():
            style_features = features if args.cached else stylizer.encode(style)
            return stylizer.stylize_features(content, style_features)

        height, batch = args.size, 1
    else:
        model.compile(optimizer=keras.optimizers.Adam(1e-4), jit_compile=args.jit)
        model.optimizer.build(model.decoder.trainable_variables)
        data = {"content": images("content", args.batch, args.crop), "style": images("style", args.batch, args.crop)}
        step = tf.function(model.train_step, jit_compile=args.jit)

        def run():
            return {k: v.numpy() for k, v in step(data).items()}

        height, batch = args.crop, args.batch
    run()
    run()  # warm
    reference = Reference(dtype=model.encoder.compute_dtype)
    reference.measure()
    start = time.perf_counter()
    run()
    wall = time.perf_counter() - start
    events = profile_ops(run, args.logdir)
    flops = {name: f for name, f in conv_layer_flops(model.encoder, height, height)}
    flops.update({name: f for name, f in conv_layer_flops(model.decoder, height // 8, height // 8)})
    total_op = sum(e.seconds for e in events)
    print(
        f"wall time of one call (unprofiled): {wall:.3f} s; op time in the trace: {total_op:.3f} s; "
        f"reference conv: {reference.gflops:.1f} GFLOP/s\n"
    )
    print("| op type | count | ms | share |\n|---|---|---|---|")
    for op, count, seconds in by_type(events)[: args.top]:
        print(f"| {op} | {count} | {seconds * 1e3:.1f} | {seconds / total_op:.1%} |")
    print("\n| convolution | op | ms | GFLOP | GFLOP/s | / reference |\n|---|---|---|---|---|---|")
    conv_total = 0.0
    for event in events:
        match = LAYER.search(event.name + "/")
        if "Conv2D" not in event.type or not match or match.group(1) not in flops:
            continue
        layer = match.group(1)
        gflop = flops[layer] * batch / 1e9
        conv_total += event.seconds
        where = "decoder" if "decoder" in event.name else "encoder"
        rate = gflop / event.seconds
        print(
            f"| {where} {layer} | {event.type} | {event.seconds * 1e3:.1f} | {gflop:.2f} | {rate:.1f} | "
            f"{rate / reference.gflops:.2f} |"
        )
    print(f"\nconvolutions: {conv_total:.3f} s of {total_op:.3f} s op time ({conv_total / total_op:.1%})")
    if args.logdir:
        print(f"trace kept in {args.logdir}: tensorboard --logdir {args.logdir} (needs tensorboard-plugin-profile)")
    return 0


if __name__ == "__main__":
    run_main(main)
