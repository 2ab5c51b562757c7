"""Train an AdaIN decoder: python train.py --config configs/demo.yaml [--set train.steps=200 ...]"""

from adain.cli.common import ArgumentParser, quiet_tensorflow, run_main

EXAMPLES = """examples:
  python train.py --config configs/demo.yaml
  python train.py --config configs/base.yaml --set data.style.path=/data/wikiart --set train.batch_size=16
  tensorboard --logdir checkpoints/demo/logs"""


def main(argv=None) -> int:
    parser = ArgumentParser(
        prog="train.py",
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
    args = parser.parse_args(argv)

    from adain.config import load_config

    config = load_config(args.config, args.overrides)  # validated before TensorFlow is even imported
    from adain.training.loop import train

    train(config)
    return 0


if __name__ == "__main__":
    quiet_tensorflow()
    run_main(main)
