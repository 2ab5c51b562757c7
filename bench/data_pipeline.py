"""Throughput of the training data pipeline at the paper's settings (a benchmark, not a test).

    python bench/data_pipeline.py                       # generated 640x480 COCO-like JPEGs + the shared paintings
    python bench/data_pipeline.py --content /data/coco/train2017 --style /data/wikiart --measure-step

Prints images/s for each source alone (smaller side -> 512, random 256 crop, float32 out), for the
zipped content+style batches that `fit()` consumes, and how that compares with a training step,
which eats 2 x batch_size images. The machine's load average is printed with the numbers: on a
shared machine they are only as good as the cores that were free.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ADAIN_SHARED", REPO.parent / "shared")) / "data"


def generate_coco_like(folder: Path, count: int, seed: int = 0) -> Path:
    """`count` 640x480 (a quarter of them 480x640) JPEGs cut from real photos, COCO's typical size and quality."""
    import numpy as np
    from PIL import Image
    from tqdm import tqdm

    sources = sorted((SHARED / "content").glob("*.jpg"))
    if sources:
        photos = [Image.open(p).convert("RGB") for p in sources]
    else:  # no shared photos: scikit-image's bundled ones
        import skimage.data

        photos = [
            Image.fromarray(getattr(skimage.data, n)()).convert("RGB") for n in ("astronaut", "chelsea", "coffee")
        ]
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for index in tqdm(range(count), desc="generating COCO-like JPEGs", unit="img", file=sys.stderr):
        photo = photos[index % len(photos)]
        width, height = (480, 640) if index % 4 == 3 else (640, 480)
        zoom = rng.uniform(1.0, 1.6)
        scale = max(width / photo.width, height / photo.height) * zoom
        resized = photo.resize((max(width, round(photo.width * scale)), max(height, round(photo.height * scale))))
        left = int(rng.integers(0, resized.width - width + 1))
        top = int(rng.integers(0, resized.height - height + 1))
        crop = resized.crop((left, top, left + width, top + height))
        if rng.random() < 0.5:
            crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
        crop.save(folder / f"{index:012d}.jpg", quality=int(rng.integers(80, 96)))
    return folder


def images_per_second(dataset, warmup: int, count: int, per_element: int) -> tuple[float, float]:
    """(images per wall-clock second, CPU milliseconds per image summed over all threads of this process).

    The CPU cost does not depend on what else the machine runs: cores / cost is what free cores would give.
    """
    iterator = iter(dataset)
    for _ in range(warmup):
        next(iterator)
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(count):
        next(iterator)
    images = count * per_element
    return images / (time.perf_counter() - start), (time.process_time() - cpu_start) * 1000 / images


def source_stream(folder: Path, args, skipped):
    from adain.config import SourceConfig
    from adain.data.pipeline import FolderImages, random_crops

    images = FolderImages(SourceConfig(path=str(folder)), str(folder))
    stream = random_crops(images, args.load_size, args.crop_size, seed=0, skipped=skipped, cache=args.cache)
    return stream.prefetch(64), len(images.paths)


def measure_step(args) -> float:
    """Seconds per training step (decoder forward + backward, VGG encoder) on this machine's device."""
    import numpy as np
    import tensorflow as tf

    from adain.config import Config
    from adain.training.loop import build_model

    model = build_model(Config())
    rng = np.random.default_rng(0)
    shape = (args.batch_size, args.crop_size, args.crop_size, 3)
    batch = {k: tf.constant(rng.uniform(0, 255, shape).astype("float32")) for k in ("content", "style")}
    step = tf.function(model.train_step)
    step(batch)  # trace + warm up
    start = time.perf_counter()
    for _ in range(args.steps):
        step(batch)
    return (time.perf_counter() - start) / args.steps


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--content", type=Path, help="content folder (default: generate --generate COCO-like JPEGs)")
    parser.add_argument("--style", type=Path, default=SHARED / "style", help="style folder (default: shared paintings)")
    parser.add_argument("--generate", type=int, default=400, help="how many 640x480 JPEGs to generate")
    parser.add_argument("--load-size", type=int, default=512)
    parser.add_argument("--crop-size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--images", type=int, default=600, help="images timed per source (after a warm-up)")
    parser.add_argument("--cache", action="store_true", help="cache decoded + resized images (small datasets)")
    parser.add_argument("--measure-step", action="store_true", help="also time a real training step here")
    parser.add_argument("--steps", type=int, default=3, help="training steps timed with --measure-step")
    args = parser.parse_args(argv)

    import tensorflow as tf

    from adain.config import load_config
    from adain.data.decoding import SkippedFiles
    from adain.data.pipeline import training_dataset

    with tempfile.TemporaryDirectory(prefix="coco_like_") as scratch:
        content = args.content or generate_coco_like(Path(scratch) / "coco_like", args.generate)
        skipped = SkippedFiles(verbose=False)
        print(
            f"settings: smaller side -> {args.load_size}, random {args.crop_size}x{args.crop_size} crop, "
            f"batch {args.batch_size}, cache {args.cache}; {len(os.sched_getaffinity(0))} CPU cores, "
            f"tf.data parallelism AUTOTUNE; load average before: {os.getloadavg()[0]:.2f}"
        )
        cores = len(os.sched_getaffinity(0))
        for name, folder in (("content", content), ("style", args.style)):
            stream, files = source_stream(folder, args, skipped)
            rate, cost = images_per_second(stream, warmup=32, count=args.images, per_element=1)
            print(
                f"{name:8s} {rate:7.1f} images/s   {cost:5.1f} CPU ms/image = {cores * 1000 / cost:6.1f} images/s "
                f"on {cores} free cores   ({files} files in {folder})"
            )

        config = load_config(
            None,
            [
                "data.content.source=folder",
                f"data.content.path={content}",
                f"data.style.path={args.style}",
                f"data.load_size={args.load_size}",
                f"data.crop_size={args.crop_size}",
                f"data.cache={str(args.cache).lower()}",
                f"train.batch_size={args.batch_size}",
            ],
        )
        pairs = training_dataset(config, skipped=skipped)
        per_step = 2 * args.batch_size
        batches = max(4, args.images // per_step)
        paired, cost = images_per_second(pairs, warmup=4, count=batches, per_element=per_step)
        steps_fed = paired / per_step
        print(
            f"pairs    {paired:7.1f} images/s   {cost:5.1f} CPU ms/image = {cores * 1000 / cost:6.1f} images/s "
            f"on {cores} free cores; {steps_fed:.2f} steps/s of {per_step} images "
            f"(batch {args.batch_size} content + {args.batch_size} style)"
        )
        print(
            f"goal >= 100 images/s: {'met' if paired >= 100 else 'NOT met'} as measured, "
            f"{'met' if cores * 1000 / cost >= 100 else 'NOT met'} on free cores; "
            f"load average after: {os.getloadavg()[0]:.2f}; skipped files: {len(skipped)}"
        )
        if args.measure_step:
            seconds = measure_step(args)
            device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
            need = per_step / seconds
            print(
                f"training step on this {device}: {seconds:.3f} s -> consumes {need:.1f} images/s; "
                f"the pipeline supplies {paired / need:.1f}x that"
            )
        else:
            print(
                f"a step taking more than {1 / steps_fed * 1000:.0f} ms is not data-bound here "
                f"(--measure-step times one on this machine)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
