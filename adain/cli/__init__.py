"""The `adain` command: one subcommand per module of this package, imported only when it runs.

This package is the only place with argparse, sys.exit and deferred imports (TensorFlow is imported after
the command line has been checked, so a typo costs a one-line error, not a model load).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from adain.cli.common import TF_LOGS_ENV, ArgumentParser, run_main

COMMANDS = {
    "train": "train a decoder from a YAML config (resumes a run directory)",
    "stylize": "stylize images and videos with a trained decoder (or --method gatys)",
    "evaluate": "score runs (and Gatys) on content x style pairs with the paper's losses",
    "export": "export a run as a SavedModel (TF Serving) or TFLite file",
    "weights": "fetch and cache the VGG-19 weights (run once before going offline)",
    "normalization": "measure (or show) the VGG-19 channel means of per_channel normalisation",
    "prepare": "prepare a TFDS dataset (COCO, WikiArt) for training",
    "serve": "stylize in the browser: a local web app with sliders (needs the app extra)",
}
ALIASES = {"infer": "stylize"}  # infer.py's old name

EXAMPLES = """examples:
  adain train --config configs/demo.yaml
  adain stylize --checkpoint checkpoints/demo --content photo.jpg --style art.jpg --output out.jpg
  adain serve                                    # the web app on http://127.0.0.1:8000
  adain COMMAND --help

TensorFlow's log lines (start-up notices, its C++ logging) are hidden; --verbose (or ADAIN_TF_LOGS=1) shows them."""


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="adain",
        description="Arbitrary style transfer with Adaptive Instance Normalization (Huang & Belongie, ICCV 2017).",
        epilog=EXAMPLES,
    )
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's log lines")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name, summary in COMMANDS.items():
        commands.add_parser(name, help=summary, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    split = next((i for i, arg in enumerate(argv) if not arg.startswith("-")), len(argv))
    options, rest = argv[:split], argv[split:]
    if rest and rest[0] in ALIASES:
        rest[0] = ALIASES[rest[0]]
    args = parser.parse_args(options + rest[:1])
    if args.command is None:
        parser.print_help(sys.stderr)
        sys.exit(2)
    if args.verbose:
        os.environ[TF_LOGS_ENV] = "1"
    command = importlib.import_module(f"adain.cli.{args.command}")
    run_main(command.main, rest[1:])
