"""Cold start of `adain stylize` on one pair: where the seconds go before (and while) the first pixel is drawn.

    python bench/cold_start.py [--checkpoint RUN_DIR] [--size 512]

Runs, in fresh processes: the whole command (wall time, as a user waits for it), then the same steps
instrumented: importing (the command line, then TensorFlow and the model code), reading the weights
(VGG-19 from adain's cache; normalisation), building the encoder, loading the decoder, and the
stylization itself (first call: tracing included; second call: warm). Without --checkpoint a fresh
relu4_1 decoder is saved as a run (untrained weights cost the same time as trained ones).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ADAIN_SHARED", REPO.parent / "shared")) / "data"

PHASES = r"""
import json, sys, time
start = time.perf_counter()
marks = {}
def mark(name):
    marks[name] = time.perf_counter() - start - sum(marks.values())
import adain.cli.stylize
mark("import: command line (no TensorFlow)")
from adain.cli.common import import_quietly
stylizer_module = import_quietly("adain.inference.stylizer")
mark("import: TensorFlow, Keras, model code, device discovery")
from adain.run import load_decoder, run_model_config
from adain.weights.normalization import encoder_weights
from adain.nn.vgg import adain_encoder_layers, build_vgg19_encoder
from adain.nn.model import AdaINModel
run, content, style, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
model = run_model_config(run)
weights = encoder_weights(model.vgg_weights, model.vgg_normalization)
mark("weights: VGG-19 from the cache (+ normalisation)")
outputs, _ = adain_encoder_layers(model.style_layers, model.content_layer)
encoder = build_vgg19_encoder(weights, outputs)
mark("model build: encoder graph + setting its weights")
decoder = load_decoder(run)
mark("model build: decoder.keras loaded")
stylizer = stylizer_module.Stylizer(AdaINModel(encoder, decoder))
image = stylizer.stylize(content, style, content_size=size, style_size=size)
mark(f"stylize: first {image.shape[1]}x{image.shape[0]} call (tracing included)")
stylizer.stylize(content, style, content_size=size, style_size=size)
mark("stylize: the same call again (warm)")
print(json.dumps(marks))
"""


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def make_run(folder: Path) -> Path:
    code = "import sys; from adain.nn.decoder import build_decoder; build_decoder().save(sys.argv[1])"
    run = folder / "run"
    run.mkdir()
    subprocess.run([sys.executable, "-c", code, str(run / "decoder.keras")], check=True, env=env(), capture_output=True)
    return run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="run directory or decoder .keras file (default: a fresh relu4_1 decoder)")
    parser.add_argument("--content", default=str(SHARED / "content" / "sailboat.jpg"))
    parser.add_argument("--style", default=str(SHARED / "style" / "mondrian.jpg"))
    parser.add_argument("--size", type=int, default=512, help="smaller side of content and style")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(args.checkpoint) if args.checkpoint else make_run(Path(tmp))
        command = [sys.executable, "-m", "adain", "stylize", "--checkpoint", str(run), "--content", args.content]
        command += ["--style", args.style, "--content-size", str(args.size), "--style-size", str(args.size)]
        command += ["--output", str(Path(tmp) / "out.jpg")]
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs")
        start = time.perf_counter()
        subprocess.run(command, check=True, env=env(), capture_output=True)
        print(f"adain stylize, whole command: {time.perf_counter() - start:.1f} s wall")
        phases = subprocess.run(
            [sys.executable, "-c", PHASES, str(run), args.content, args.style, str(args.size)],
            check=True,
            env=env(),
            capture_output=True,
            text=True,
        )
        marks = json.loads(phases.stdout.strip().splitlines()[-1])
        total = sum(v for k, v in marks.items() if "again" not in k)
        print("| phase | seconds |\n| --- | ---: |")
        for name, seconds in marks.items():
            print(f"| {name} | {seconds:.2f} |")
        print(f"| total to the first image (in-process) | {total:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
