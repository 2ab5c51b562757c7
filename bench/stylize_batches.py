"""Inference throughput: what encoding a style once and batching contents buys, and video frames per second.

    python bench/stylize_batches.py --checkpoint checkpoints/demo [--size 256] [--data ../shared/data]

Prints numbers only (no pass/fail): they depend on the machine and on its load.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as `python bench/x.py` without installing

SHARED = Path(os.environ.get("ADAIN_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "data"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--data", default=str(SHARED), help="shared data folder (default: $ADAIN_SHARED/data)")
    parser.add_argument("--size", type=int, default=256, help="contents: centre squares of this side")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--no-video", action="store_true", help="leave out the video row (shared cutBunny.mp4)")
    args = parser.parse_args(argv)

    from adain.inference.stylizer import Stylizer

    data = Path(args.data)
    stylizer = Stylizer.from_checkpoint(args.checkpoint)
    contents = np.stack(
        [stylizer.prepare(p, args.size, crop=True).numpy() for p in sorted((data / "content").glob("*.jpg"))]
    )
    style = data / "style" / "mondrian.jpg"
    stylizer.stylize(contents[0], style, style_size=args.size)  # trace once

    start = time.perf_counter()
    for image in contents:
        stylizer.stylize(image, style, style_size=args.size)
    one_by_one = time.perf_counter() - start

    start = time.perf_counter()
    statistics = stylizer.encode_styles([style], args.size)
    for i in range(0, len(contents), args.batch_size):
        stylizer.stylize_batch(contents[i : i + args.batch_size], statistics, [1.0])
    batched = time.perf_counter() - start
    print(f"{len(contents)} contents {args.size}x{args.size}, one style (smaller side {args.size}):")
    print(
        f"  stylize() per image (style encoded each time): {one_by_one:.2f} s  ({len(contents) / one_by_one:.2f} img/s)"
    )
    print(
        f"  style encoded once, batches of {args.batch_size}:        {batched:.2f} s  ({len(contents) / batched:.2f} img/s)"
    )

    video = data / "video" / "cutBunny.mp4"
    if video.is_file() and not args.no_video:
        from adain.media.video import probe, read_frames

        info = probe(video)
        frames = []
        for frame in read_frames(video):
            frames.append(frame)
            if len(frames) == 4 * args.batch_size:
                break
        batch = np.stack(frames)
        stylizer.stylize_batch(batch[: args.batch_size], statistics, [1.0])  # trace at this size
        start = time.perf_counter()
        for i in range(0, len(batch), args.batch_size):
            stylizer.stylize_batch(batch[i : i + args.batch_size], statistics, [1.0])
        elapsed = time.perf_counter() - start
        print(
            f"video {info.width}x{info.height}: {len(batch) / elapsed:.2f} frames/s (stylization only, batches of "
            f"{args.batch_size}); the {info.frames}-frame clip would take ~{info.frames * elapsed / len(batch):.0f} s"
        )

    return 0


if __name__ == "__main__":
    sys.exit(main())
