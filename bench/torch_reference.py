"""adain against the PyTorch reference implementation, case by case on the same CPU in the same run: time ratios.

The reference is naoto0804/pytorch-AdaIN's network and training iteration (bench/torch_reference_helper.py says
exactly what it runs), in PyTorch's default float32 on the CPU with torch's default thread count. PyTorch is
never imported here nor a dependency of adain: it lives in a virtualenv of its own, made on first use beside
adain's other caches (bench/peer.py's machinery), and the helper runs there as a subprocess, one per case, right
after our side of the same case, so both sides of each ratio see the same machine load. Cases:
  train N^2 x B   one training step, B content and B style crops of N^2 (ours: `AdaINModel.train_step` through
                  `fit()` with one real batch held in memory, bench/train_step.py, float32, XLA off)
  full N^2        stylization, content and style encoded + AdaIN + decoded (ours: bench/stylize.py's full row)
Columns: median wall and CPU seconds per call of each side after the first call and --warmup calls, and
**TF ÷ PyTorch**: our time divided by the reference's (below 1: adain is faster). On a loaded machine the
CPU-seconds ratio is the steadier one: other processes change how long a call waits, far less what it computes.

    python bench/torch_reference.py                 # the table in docs/performance.md
    python bench/torch_reference.py --no-torch      # our side only (no PyTorch venv made)
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from argparse import Namespace
from pathlib import Path

from common import REPO, Reference, Row, footer, header, hide_gpus  # noqa: I001
from peer import INSTALL_TIMEOUT_S, PeerUnavailable, own_venv, run_in_venv
from stylize import build_stylizer, default_folder, size_rows
from train_step import memory_batch, step_flops, time_fit, training_images

from adain.cli.common import ArgumentParser, run_main  # noqa: E402
from adain.config import load_config  # noqa: E402
from adain.media.folder import list_image_files  # noqa: E402
from adain.weights.sources import cache_dir  # noqa: E402

# torch 2.14.1 from PyPI: its Linux x86_64 wheel is built for CUDA and will not import without the nvidia-* libraries
# it links (`pip install torch --no-deps` fails on libcudnn.so.9), so the venv takes its full dependencies (~5 GB).
TORCH_REQUIREMENT = "torch==2.14.1"
MARKER = f".installed-{TORCH_REQUIREMENT.replace('==', '-')}"  # the venv is complete
HELPER = Path(__file__).resolve().with_name("torch_reference_helper.py")


def default_venv() -> Path:
    return cache_dir() / "peers" / TORCH_REQUIREMENT.replace("==", "-")


def torch_python(venv: Path | None) -> Path:
    """The reference venv's interpreter, made now if not there yet (PeerUnavailable: why it cannot be)."""
    return own_venv(venv or default_venv(), [[TORCH_REQUIREMENT]], MARKER)


def torch_case(python: Path, case: str, size: int, batch: int, repeats: int, warmup: int) -> dict:
    """One case through the helper in the reference venv: its JSON (first, wall[], cpu[], torch, threads)."""
    command = [python, HELPER, case, size, batch, repeats, warmup]
    done = run_in_venv(command, f"the PyTorch reference ({case} {size})", timeout_s=INSTALL_TIMEOUT_S * 4)
    return json.loads(done.stdout.strip().splitlines()[-1])


def ratio_table(pairs: list[tuple[Row, dict | None, float]]) -> None:
    head = ["case", "image", "batch", "GFLOP", "load avg", "TF/Keras median s", "TF/Keras CPU s"]
    head += ["PyTorch median s", "PyTorch CPU s", "TF ÷ PyTorch (wall)", "TF ÷ PyTorch (CPU s)"]
    print("\nadain (TensorFlow/Keras) against the PyTorch reference, same machine, same run\n")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] * len(head)) + "|")
    for row, ref, load in pairs:
        cells = [row.case, row.image, str(row.batch), f"{row.flops / 1e9:.1f}", f"{load:.1f}"]
        cells += [f"{row.timing.median:.4g}", f"{row.cpu_seconds:.4g}"]
        if ref is None:
            cells += ["", "", "", ""]
        else:
            wall, cpu = statistics.median(ref["wall"]), statistics.median(ref["cpu"])
            cells += [
                f"{wall:.4g}",
                f"{cpu:.4g}",
                f"**{row.timing.median / wall:.2f}**",
                f"{row.cpu_seconds / cpu:.2f}",
            ]
        print("| " + " | ".join(cells) + " |")
    print()


def main(argv=None) -> int:
    parser = ArgumentParser(prog="bench/torch_reference.py", description=__doc__)
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "demo.yaml", help="ours: the training config")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override (ours)")
    parser.add_argument("--train-batch", type=int, default=8, help="crops per training step")
    parser.add_argument("--train-crop", type=int, default=128, help="training crop size (0: no training case)")
    parser.add_argument("--sizes", default="256,512", help="square sizes of the stylization cases")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per case and side")
    parser.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="untimed calls after the first (training step, reference; the stylize rows always warm up once)",
    )
    parser.add_argument("--torch-venv", type=Path, help=f"the reference's virtualenv (default {default_venv()})")
    parser.add_argument("--no-torch", action="store_true", help="our side only: no PyTorch venv made or run")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s]
    except ValueError:
        parser.error(f"--sizes expects comma-separated integers, e.g. 256,512, got '{args.sizes}'")
    if min([args.repeats, args.train_batch, *sizes], default=1) < 1 or args.warmup < 0 or args.train_crop < 0:
        parser.error("--repeats, --train-batch and --sizes must be positive, --warmup and --train-crop not negative")
    hide_gpus()  # a CPU comparison: the reference runs on the CPU too
    header("bench/torch_reference.py", sys.argv[1:] if argv is None else argv, "float32", False)
    python, why = None, "--no-torch"
    if not args.no_torch:
        try:
            python = torch_python(args.torch_venv)
        except PeerUnavailable as error:
            why = str(error)
    print(f"PyTorch reference: {python}" if python else f"PyTorch not measured: {why}")
    reference = Reference()
    pairs: list[tuple[Row, dict | None, float]] = []
    versions: dict = {}

    def add(row: Row, case: str, size: int, batch: int) -> None:
        load = os.getloadavg()[0]
        print(f"  ours {row.case} {row.image}: {row.timing.median:.3f} s", file=sys.stderr)
        ref = torch_case(python, case, size, batch, args.repeats, args.warmup) if python else None
        if ref:
            print(f"  PyTorch {row.case} {row.image}: {statistics.median(ref['wall']):.3f} s", file=sys.stderr)
            versions.update(torch=ref["torch"], threads=ref["threads"])
        pairs.append((row, ref, load))

    if args.train_crop:
        batch, crop = args.train_batch, args.train_crop
        same_work = [f"train.batch_size={batch}", f"data.crop_size={crop}", "train.mixed_precision=float32"]
        config = load_config(args.config, [f"data.load_size={max(crop, 256)}", *args.set, *same_work])
        dataset = memory_batch(config, training_images(config))

        def train_row() -> Row:
            timing, model = time_fit(config, dataset, args.warmup, args.repeats)
            return Row("train step", f"{crop}x{crop}", batch, timing, step_flops(model, batch, crop), batch)

        add(reference.bracket(train_row), "train", crop, batch)
    if sizes:
        stylizer = build_stylizer(Namespace(precision="float32", checkpoint=None, jit=False))
        contents = [Path(file) for file in list_image_files(default_folder("content"))]
        style = Path(list_image_files(default_folder("style"))[0])
        for size in sizes:
            options = Namespace(sizes=str(size), cached_sizes="", batch=1, repeats=args.repeats)
            (row,) = size_rows(stylizer, options, contents, style, reference)
            row.case = f"stylize, {row.case}"
            add(row, "stylize", size, 1)
    ratio_table(pairs)
    footer(reference)
    if versions:
        print(f"PyTorch {versions['torch']}, {versions['threads']} threads (torch's default), float32, CPU")
    return 0


if __name__ == "__main__":
    run_main(main)
