"""adain prepare: prepare a TFDS dataset once, so training reads TFRecords (adain prepare wikiart --manual-dir DIR).

The same as `tfds build NAME`, which in tensorflow-datasets 4.9.x needs apache-beam just to start;
this needs nothing beyond what training needs, and knows adain's `wikiart` builder.
"""

from __future__ import annotations

from collections.abc import Sequence

from adain.cli.common import ArgumentParser, tensorflow_quietly

EXAMPLES = """examples:
  adain prepare wikiart --manual-dir ~/Downloads/painter-by-numbers
  adain prepare coco/2017 --data-dir /data/tfds          # downloads ~20 GB
then train with  data.style: {source: tfds, name: wikiart}  (plus data_dir: if you gave --data-dir)"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="adain prepare",
        description="Download (or read from --manual-dir) and prepare a TFDS dataset for training.",
        epilog=EXAMPLES,
    )
    parser.add_argument("name", help="TFDS dataset name, e.g. wikiart or coco/2017")
    parser.add_argument(
        "--data-dir",
        default=None,
        help="where prepared datasets live (default: TFDS_DATA_DIR or ~/tensorflow_datasets)",
    )
    parser.add_argument(
        "--manual-dir", default=None, help="folder holding manually downloaded archives (wikiart: train.zip)"
    )
    args = parser.parse_args(argv)

    with tensorflow_quietly():
        from adain.data.tfds import prepare
    builder = prepare(args.name, data_dir=args.data_dir, manual_dir=args.manual_dir)
    splits = ", ".join(f"{name}: {info.num_examples} examples" for name, info in builder.info.splits.items())
    print(f"prepared {args.name} in {builder.data_dir} ({splits})")
    return 0
