"""Training-step benchmark: `AdaINModel.train_step` through `fit()`, as `train.py` runs it.

Prints one markdown table. Rows:
  paper      batch 8 x 256x256 crops (Huang & Belongie), the config's precision and XLA switches
  demo       the config's own batch_size x crop_size
  ... + tf.data  the same, fed by the config's real input pipeline (`adain.data.pipeline.training_dataset`) instead
                 of one batch held in memory (--pipeline)

FLOPs per step, batch B, crop S (E, D: encoder and decoder convolution FLOPs at S x S, bench/common.py):
  B * (3 E        encoder forward on style, content (outside the tape) and the stylized output
       + E        backward through the frozen encoder: input gradients only (same cost as its forward)
       + D + 2 D  decoder forward, then input and weight gradients
       - d1)      except the first decoder conv's input gradient: its input, the AdaIN target, is a constant

    python bench/train_step.py                                        # the table in docs/performance.md
    python bench/train_step.py --set train.jit_compile=true           # XLA
    python bench/train_step.py --set train.mixed_precision=mixed_bfloat16
"""

from __future__ import annotations

import sys
import time
from functools import partial
from pathlib import Path

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from common import (
    REPO,
    SHARED,
    Reference,
    Row,
    Timing,
    conv_layer_flops,  # noqa: I001
    footer,
    header,
    hide_gpus,
    model_flops,
    print_table,
)

from adain.cli.common import ArgumentParser, run_main  # noqa: E402
from adain.config import Config, load_config  # noqa: E402
from adain.data.pipeline import training_dataset  # noqa: E402
from adain.media.folder import list_image_files  # noqa: E402
from adain.preprocess import prepare_image  # noqa: E402
from adain.training.loop import build_model  # noqa: E402
from adain.training.precision import resolve_jit_compile, resolve_precision  # noqa: E402


class StepTimer(keras.callbacks.Callback):
    """Wall time at the end of every step (Keras waits for the step's logs before calling it)."""

    def __init__(self) -> None:
        super().__init__()
        self.begin, self.ends, self.cpu_ends = 0.0, [], []

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self.begin = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())
        self.cpu_ends.append(time.process_time())


def step_flops(model, batch: int, crop: int) -> int:
    encoder = model_flops(model.encoder, crop, crop)
    decoder_layers = conv_layer_flops(model.decoder, crop // 8, crop // 8)
    decoder = sum(f for _, f in decoder_layers)
    return batch * (4 * encoder + 3 * decoder - decoder_layers[0][1])


def memory_batch(config: Config, images: dict[str, list[Path]]) -> tf.data.Dataset:
    """One real batch (resized to load_size, centre-cropped), repeated: the step without input cost."""
    batch, crop, load = config.train.batch_size, config.data.crop_size, config.data.load_size

    def stack(paths):
        return tf.stack([prepare_image(paths[i % len(paths)], load, crop=crop) for i in range(batch)])

    return tf.data.Dataset.from_tensors({"content": stack(images["content"]), "style": stack(images["style"])}).repeat()


def training_images(config: Config) -> dict[str, list[Path]]:
    """The shared real images when present, else the config's own sources (the demo's photos and paintings)."""
    images = {
        kind: list_image_files(SHARED / kind) if (SHARED / kind).is_dir() else None for kind in ("content", "style")
    }
    for kind in images:
        if not images[kind]:
            from adain.data.pipeline import source_paths

            images[kind] = source_paths(getattr(config.data, kind))
    return images


def time_fit(config: Config, dataset: tf.data.Dataset, warmup: int, repeats: int) -> tuple[Timing, object]:
    keras.utils.set_random_seed(config.seed)
    model = build_model(config)
    timer = StepTimer()
    model.fit(dataset, epochs=1, steps_per_epoch=1 + warmup + repeats, verbose=0, shuffle=False, callbacks=[timer])
    ends = timer.ends
    samples = [b - a for a, b in zip(ends[warmup:], ends[warmup + 1 :], strict=False)]
    cpu = [b - a for a, b in zip(timer.cpu_ends[warmup:], timer.cpu_ends[warmup + 1 :], strict=False)]
    return Timing(first=ends[0] - timer.begin, samples=samples, cpu=cpu), model


def main(argv=None) -> int:
    parser = ArgumentParser(prog="bench/train_step.py", description=__doc__)
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "demo.yaml", help="the 'demo' case")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    parser.add_argument("--cases", default="paper,demo", help="comma list of paper, demo")
    parser.add_argument("--pipeline", action="store_true", help="also time the demo case fed by its tf.data pipeline")
    parser.add_argument("--repeats", type=int, default=5, help="timed steps after the first step and warm-up")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps after the first")
    parser.add_argument("--cpu", action="store_true", help="benchmark the CPU even if a GPU is present")
    args = parser.parse_args(argv)
    if args.cpu:
        hide_gpus()
    demo = load_config(args.config, args.set)
    policy = resolve_precision(demo.train.mixed_precision)
    header(
        "bench/train_step.py",
        sys.argv[1:] if argv is None else argv,
        policy,
        resolve_jit_compile(demo.train.jit_compile),
    )
    images = training_images(demo)
    print(f"images: {Path(images['content'][0]).parent}, {Path(images['style'][0]).parent}; config {args.config}")
    reference = Reference(dtype="float32" if policy == "float32" else policy.removeprefix("mixed_"))
    rows = []
    for case in [c for c in args.cases.split(",") if c]:
        if case == "paper":
            config = load_config(
                args.config,
                [
                    *args.set,
                    "train.batch_size=8",
                    "data.crop_size=256",
                    f"data.load_size={max(256, demo.data.load_size)}",
                ],
            )
        elif case == "demo":
            config = demo
        else:
            parser.error(f"unknown case '{case}'")
        batch, crop = config.train.batch_size, config.data.crop_size

        def row(name: str, dataset: tf.data.Dataset, config=config, batch=batch, crop=crop) -> Row:
            timing, model = time_fit(config, dataset, args.warmup, args.repeats)
            return Row(name, f"{crop}x{crop}", batch, timing, step_flops(model, batch, crop), batch)

        rows.append(reference.bracket(partial(row, f"{case}, batch in memory", memory_batch(config, images))))
        print(f"  {rows[-1].case}: {rows[-1].timing.median:.3f} s/step", file=sys.stderr)
        if args.pipeline and case == "demo":
            pipeline = training_dataset(config, seed=config.seed)
            rows.append(reference.bracket(partial(row, f"{case}, tf.data pipeline", pipeline)))
            print(f"  {rows[-1].case}: {rows[-1].timing.median:.3f} s/step", file=sys.stderr)
    print_table("training step (images/s = batch / median step time)", rows)
    footer(reference)
    for row in rows:
        print(f"{row.case}: {1 / row.timing.median:.2f} steps/s")
    return 0


if __name__ == "__main__":
    run_main(main)
