"""adain train (also `python train.py`): train or resume a decoder from a YAML config."""

from __future__ import annotations

from collections.abc import Sequence

from adain.cli.common import ArgumentParser, tensorflow_quietly
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
        "config's run_dir. Run the same command again to resume: from the newest checkpoint that\n"
        "restores (broken ones are skipped, named on stderr, and moved to checkpoints/unusable/).\n"
        "A resume keeps the run's config: a changed value is named and kept, unless --set gives it,\n"
        "which changes it and records the change in RUN_DIR/config_history.yaml.\n"
        "One training per run_dir at a time (RUN_DIR/.lock). A loss that turns NaN/inf stops the\n"
        "training (exit 2) with the last good checkpoint intact.",
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
    parser.add_argument(
        "--restart",
        action="store_true",
        help="start over at step 0 even if the run_dir has checkpoints (they are moved to checkpoints.old-<time>/, "
        "not deleted); without it, a run_dir whose checkpoints all fail to restore is an error",
    )
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "adain train") -> int:
    args = build_parser(prog).parse_args(argv)
    config = load_config(args.config, args.overrides)  # validated before TensorFlow is even imported
    set_keys = [assignment.split("=", 1)[0].strip() for assignment in args.overrides]
    with tensorflow_quietly():
        from adain.training.loop import train
    train(config, restart=args.restart, set_keys=set_keys)
    return 0
