"""Stylize images: python infer.py --checkpoint RUN_DIR --content IMG --style IMG --output OUT [--alpha A]

The same as `adain stylize` (adain/cli/stylize.py).
"""

import functools

from adain.cli.common import run_main
from adain.cli.stylize import main

if __name__ == "__main__":
    run_main(functools.partial(main, prog="infer.py"))
