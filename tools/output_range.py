"""How much of a decoder's raw output lies outside 0..255, and what clipping it costs in style loss.

The diagnosis of issue 21: a decoder trained with losses on its unclipped output can meet a painting's
statistics with values no image can hold (brighter than white), which the written, clipped image then shows
as blown highlights and bleached colours. For every content x style pair at each size this prints the share
of pixels below 0 and above 255, the raw maximum, and the metric's style loss on the raw and on the written
output (adain/quality/metrics.py).

  python tools/output_range.py --content ../shared/data/content --style ../shared/data/style/mondrian.jpg \
      --max-images 2 --size 256 512
"""

from __future__ import annotations

import argparse

import numpy as np

from adain.inference.stylizer import Stylizer
from adain.nn.ops import adaptive_instance_norm
from adain.quality.metrics import Metrics, load_set


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="run directory or decoder .keras (default: the shipped model)")
    parser.add_argument("--content", nargs="+", required=True, help="content images, folders or globs")
    parser.add_argument("--style", nargs="+", required=True, help="style images, folders or globs")
    parser.add_argument("--size", type=int, nargs="+", default=[256, 512], help="content and style sizes")
    parser.add_argument("--max-images", type=int, help="first N contents and styles")
    args = parser.parse_args()
    stylizer, metrics = Stylizer.from_checkpoint(args.checkpoint), Metrics()
    print("| content | style | size | < 0 | > 255 | raw max | style loss raw | style loss written |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size in args.size:
        content_names, contents = load_set(args.content, size, args.max_images, "content")
        style_names, styles = load_set(args.style, size, args.max_images, "style")
        for style_name, style in zip(style_names, styles, strict=True):
            style_features = metrics.features(style)
            style_relu4_1 = stylizer.encode(style[None])
            for content_name, content in zip(content_names, contents, strict=True):
                target = adaptive_instance_norm(stylizer.encode(content[None]), style_relu4_1)
                raw = stylizer.model.decoder(target).numpy()[0, : content.shape[0], : content.shape[1]]
                content_features = metrics.features(content)
                raw_loss = metrics.losses(content_features, style_features, raw)["style_loss"]
                written = np.clip(np.round(raw), 0, 255)
                written_loss = metrics.losses(content_features, style_features, written)["style_loss"]
                print(
                    f"| {content_name} | {style_name} | {size} | {(raw < 0).mean():.1%} | {(raw > 255).mean():.1%} | "
                    f"{raw.max():.0f} | {raw_loss:.2f} | {written_loss:.2f} |"
                )


if __name__ == "__main__":
    main()
