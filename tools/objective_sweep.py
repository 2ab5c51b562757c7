"""The AdaIN training objective optimised per image, for (VGG normalisation, style weight) pairs.

A decoder is trained to minimise content(relu4_1 vs AdaIN target) + w * style(mean/std, relu1_1..relu4_1);
optimising the pixels of each output against that same loss shows what a perfectly trained decoder
would make of it, independent of how long the decoder trained. The images are scored on the fixed
metric of adain.quality.metrics, like the trained runs, and written as a report of the same layout.

  PYTHONPATH=. python tools/objective_sweep.py --content A.jpg B.jpg --style C.jpg D.jpg \
      --output runs/quality/objective --size 128 --iterations 100 --runs none:10 none:40 per_channel:2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from adain.media.images import contact_sheet, save_image
from adain.nn.layout import CONTENT_LAYER, STYLE_LAYERS
from adain.quality.gatys import Gatys
from adain.quality.gatys_settings import GatysSettings, settings_dict
from adain.quality.metrics import Metrics, evaluate_method, load_set
from adain.quality.report import markdown_table, tradeoff_plot, write_report
from adain.weights.normalization import encoder_weights


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--content", nargs="+", required=True)
    parser.add_argument("--style", nargs="+", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--runs", nargs="+", required=True, help="NORMALISATION:STYLE_WEIGHT ...")
    args = parser.parse_args()
    content_names, contents = load_set(args.content, args.size, None, "content")
    style_names, styles = load_set(args.style, args.size, None, "style")
    metrics = Metrics()
    output = Path(args.output)
    report: dict = {
        "metric": metrics.describe(),
        "content_size": args.size,
        "style_size": args.size,
        "contents": content_names,
        "styles": style_names,
        "methods": {},
    }
    for run in args.runs:
        normalization, weight = run.split(":")
        # The training loss sums the four style layers; GatysSettings normalises layer weights to sum 1.
        settings = GatysSettings(
            iterations=args.iterations,
            content_layer=CONTENT_LAYER,
            style_layers=STYLE_LAYERS,
            style_statistic="mean_std",
            content_target="adain",
            style_weight=len(STYLE_LAYERS) * float(weight),
            normalization=normalization,
        )
        gatys = Gatys(encoder_weights(None, normalization), settings)
        label = f"objective_{normalization}_w{weight}"
        print(f"{label}: {len(contents)} x {len(styles)} pairs", file=sys.stderr)
        summary, rows = evaluate_method(
            lambda c, s, g=gatys: g.stylize(c, s, progress=False).image,
            metrics,
            contents,
            styles,
            content_names,
            style_names,
            output / label,
            warmup=False,
        )
        report["methods"][label] = {
            "method": "objective",
            "settings": settings_dict(settings),
            "trained_with": {"vgg_normalization": normalization, "style_weight": float(weight)},
            **summary,
        }
        save_image(contact_sheet(contents, styles, rows), output / f"sheet_{label}.jpg")
    write_report(output, report, markdown_table(report))
    save_image(tradeoff_plot(report), output / "tradeoff.png")
    print(markdown_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
