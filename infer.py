"""Stylize images: python infer.py --checkpoint RUN_DIR --content IMG --style IMG --output OUT [--alpha A]"""

from adain.cli.common import quiet_tensorflow, run_main

if __name__ == "__main__":
    quiet_tensorflow()
    from adain.cli.stylize import main

    run_main(main)
