"""The evaluation report: what each run was trained with, a markdown table and the trade-off plot."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from adain.media.files import atomic_path, write_text
from adain.run import read_run_config, run_model_config


def write_report(output: Path, report: dict, markdown: str) -> None:
    """report.json and report.md, each written atomically (a killed evaluation leaves no half report)."""
    with atomic_path(output / "report.json", suffix=".json") as tmp, open(tmp, "w") as handle:
        json.dump(report, handle, indent=2)  # streamed: a failure half-way only ever touches the temporary
    write_text(output / "report.md", markdown)


def run_settings(checkpoint: str | os.PathLike) -> dict:
    """What a run was trained with, as far as the comparison needs it (from its config.yaml)."""
    saved = read_run_config(checkpoint)
    if not saved:
        return {}
    train = saved.get("train") or {}
    train = train if isinstance(train, dict) else {}
    model = run_model_config(checkpoint)
    weights = {k: train.get(k) for k in ("style_weight", "content_weight", "tv_weight", "steps")}
    return {"vgg_normalization": model.vgg_normalization, "decoder_init": model.decoder_init, **weights}


def report_header(
    metric: dict, content_size: int, style_size: int, content_names: Sequence[str], style_names: Sequence[str]
) -> dict:
    """The start of a report.json: how it was measured and on which images; methods are added as they run."""
    return {
        "metric": metric,
        "content_size": content_size,
        "style_size": style_size,
        "contents": list(content_names),
        "styles": list(style_names),
        "methods": {},
    }


def comparison_table(methods: dict[str, dict]) -> str:
    """Methods side by side, each with the number of pairs its means are over (a slow method runs on fewer)."""
    lines = [
        "| method | pairs | content loss (vs AdaIN target) | style loss | content loss (vs content) | s / pair |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, summary in methods.items():
        mean = summary["mean"]
        lines.append(
            f"| {label} | {len(summary['pairs'])} | {mean['content_loss']:.3f} | {mean['style_loss']:.3f} | "
            f"{mean['content_loss_vs_content']:.3f} | {summary['seconds_per_pair']:.3g} |"
        )
    return "\n".join(lines) + "\n"


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


def markdown_table(report: dict) -> str:
    lines = [
        "| method | trained with | content loss (vs AdaIN target) | style loss | content loss (vs content) "
        "| style loss, unnormalised features | s / pair |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, summary in report["methods"].items():
        mean, settings = summary["mean"], summary.get("trained_with") or {}
        shown = ("vgg_normalization", "style_weight", "decoder_init")
        trained = ", ".join(f"{k} {v}" for k, v in settings.items() if k in shown)
        if summary["method"] == "gatys":
            trained = f"{summary['settings']['iterations']} iterations, beta {summary['settings']['style_weight']}"
        lines.append(
            f"| {label} | {trained} | {mean['content_loss']:.4g} | {mean['style_loss']:.4g} | "
            f"{mean['content_loss_vs_content']:.4g} | {mean['none_features']['style_loss']:.4g} | "
            f"{summary['seconds_per_pair']:.3g} |"
        )
    return "\n".join(lines) + "\n"


def tradeoff_plot(report: dict, size: tuple[int, int] = (640, 440)) -> np.ndarray:
    """Style loss against content loss (log-log), one point per method; runs of the same normalisation joined."""
    points = {label: (s["mean"]["content_loss"], s["mean"]["style_loss"]) for label, s in report["methods"].items()}
    width, height = size
    left, right, top, bottom = 70, 110, 20, 50
    xs, ys = np.log10([p[0] for p in points.values()]), np.log10([p[1] for p in points.values()])
    x0, x1 = xs.min() - 0.05, xs.max() + 0.05
    y0, y1 = ys.min() - 0.05, ys.max() + 0.05

    def at(point):
        x, y = np.log10(point)
        return (
            left + (x - x0) / (x1 - x0) * (width - left - right),
            top + (y1 - y) / (y1 - y0) * (height - top - bottom),
        )

    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    for value in np.linspace(x0, x1, 5):
        px = left + (value - x0) / (x1 - x0) * (width - left - right)
        draw.text((px - 15, height - bottom + 5), f"{10**value:.3g}", fill="black")
    for value in np.linspace(y0, y1, 5):
        py = top + (y1 - value) / (y1 - y0) * (height - top - bottom)
        draw.text((5, py - 5), f"{10**value:.3g}", fill="black")
    draw.text((width // 2 - 110, height - 20), "content loss (vs AdaIN target), log", fill="black")
    draw.text((5, 2), "style loss, log", fill="black")
    colours = {
        "none": (200, 60, 40),
        "per_channel": (40, 90, 200),
        "none, encoder_transpose": (230, 140, 30),
        "per_channel, encoder_transpose": (120, 60, 190),
    }
    groups: dict[str, list] = {}
    for label, summary in report["methods"].items():
        settings = summary.get("trained_with") or {}
        group = settings.get("vgg_normalization", summary["method"])
        if settings.get("decoder_init", "random") != "random":
            group += f", {settings['decoder_init']}"
        groups.setdefault(group, []).append((summary.get("trained_with", {}).get("style_weight") or 0, label))
    for group, members in groups.items():
        colour = colours.get(group, (60, 150, 60) if group == "gatys" else (110, 110, 110))
        line = [at(points[label]) for _, label in sorted(members)]
        if len(line) > 1:
            draw.line(line, fill=colour, width=2)
        for _, label in members:
            px, py = at(points[label])
            draw.ellipse([px - 4, py - 4, px + 4, py + 4], fill=colour)
            draw.text((px + 6, py - 12), label, fill=colour)
    return np.asarray(image)


def unique_labels(checkpoints: Sequence[str]) -> list[str]:
    labels = []
    for checkpoint in checkpoints:
        path = Path(checkpoint)
        label = path.stem if path.suffix == ".keras" else path.name
        label = label or "adain"
        while label in labels or label == "gatys":
            label += "_"
        labels.append(label)
    return labels
