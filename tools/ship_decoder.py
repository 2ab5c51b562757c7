"""Turn a training run's newest checkpoint into an inference run directory: decoder.keras + config.yaml.

A long run is measured while it trains (its decoder.keras is only written at the end): this snapshots
the newest checkpoint that restores, so `bench/quality.py --checkpoint OUT` scores exactly that step, and
shipping is the same command with `--out checkpoints/adain-corpus` (the model card, README.md there, is
written by hand). The config is the run's own, with run_dir set to OUT; the step goes into the output
folder's `step.txt`.

  python tools/ship_decoder.py --run /work/runs/colour --out /work/runs/colour-snap
  python tools/ship_decoder.py --run /work/runs/colour --out checkpoints/adain-corpus

`--average-with` averages the newest checkpoint's weights equally with other snapshots of the same run
(stochastic weight averaging, Izmailov et al. 2018): two points of one fine-tuning run lie in one basin, and
their mean measured better than either on the held-out split (checkpoints/adain-corpus/README.md). `step.txt`
then names them on a second line.

  python tools/ship_decoder.py --run /work/runs/arm-L --out /work/runs/final-avg --average-with /work/runs/final-L3
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from adain.config import from_dict, save_config
from adain.errors import UserError
from adain.media.files import atomic_path
from adain.run import (
    CHECKPOINT_DIR,
    build_configured_decoder,
    load_decoder,
    make_checkpoint,
    read_run_config,
    save_decoder,
)
from adain.run.checkpoints import restore_newest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a train.py run directory (with checkpoints/)")
    parser.add_argument("--out", type=Path, required=True, help="the inference run directory to write")
    parser.add_argument(
        "--average-with",
        type=Path,
        nargs="+",
        default=[],
        metavar="SNAPSHOT",
        help="inference run directories (or decoder .keras files) of the same run whose weights are averaged in",
    )
    args = parser.parse_args()
    config = from_dict(read_run_config(args.run))
    decoder = build_configured_decoder(config.model)
    prefix = restore_newest(make_checkpoint(decoder), args.run / CHECKPOINT_DIR, partial=True)
    if prefix is None:
        raise SystemExit(f"error: no checkpoint in {args.run / CHECKPOINT_DIR}")
    step = int(prefix.rsplit("-", 1)[1])
    if args.average_with:
        others = [load_decoder(path).get_weights() for path in args.average_with]
        shapes = [w.shape for w in decoder.get_weights()]
        for path, weights in zip(args.average_with, others, strict=True):
            if [w.shape for w in weights] != shapes:
                raise UserError(f"{path} is a decoder of another architecture than {args.run}'s")
        decoder.set_weights(
            [np.mean([w, *rest], axis=0) for w, *rest in zip(decoder.get_weights(), *others, strict=True)]
        )
    config.run_dir = str(args.out)
    config.train.init_from = None
    args.out.mkdir(parents=True, exist_ok=True)
    save_decoder(decoder, args.out, config.model)
    save_config(config, args.out / "config.yaml")
    averaged = "".join(f"averaged with {path}\n" for path in args.average_with)
    with atomic_path(args.out / "step.txt") as partial:
        partial.write_text(f"{step}\n{averaged}")
    more = f", averaged with {len(args.average_with)} more" if args.average_with else ""
    print(f"{args.out}: decoder of {prefix} (step {step}){more}")


if __name__ == "__main__":
    try:
        main()
    except UserError as exc:  # a snapshot that is not a decoder, a run without config.yaml: one line, exit 2
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
