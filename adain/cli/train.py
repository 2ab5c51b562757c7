"""adain train (also `python train.py`): train or resume a decoder from a YAML config."""

from __future__ import annotations

from collections.abc import Sequence

from adain.cli.common import ArgumentParser, import_quietly
from adain.config import load_config

EXAMPLES = """examples:
  python train.py --config configs/demo.yaml
  python train.py --config configs/base.yaml --set data.style.path=/data/wikiart --set train.batch_size=16
  tensorboard --logdir checkpoints/demo/logs"""


def build_parser(prog: str = "adain train") -> ArgumentParser:
    parser = ArgumentParser(
        prog=prog,
        description="Train an AdaIN style-transfer decoder (Huang & Belongie, ICCV 2017).\n\n"
        "Checkpoints, TensorBoard logs, the final decoder and the resolved config go to the\n"
        "config's run_dir. Run the same command again to resume from the latest checkpoint.",
        epilog=EXAMPLES,
    )
    parser.add_argument("--config", required=True, help="YAML experiment config (see configs/)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value by dotted key, YAML-typed; repeatable (train.steps=20)",
    )
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "adain train") -> int:
    args = build_parser(prog).parse_args(argv)
    config = load_config(args.config, args.overrides)  # validated before TensorFlow is even imported
    import_quietly("adain.training.loop").train(config)
    return 0
