"""Train an AdaIN decoder: python train.py --config configs/demo.yaml [--set train.steps=200 ...]

The same as `adain train` (adain/cli/train.py).
"""

import functools

from adain.cli.common import run_main
from adain.cli.train import main

if __name__ == "__main__":
    run_main(functools.partial(main, prog="train.py"))
