"""Held-out curves of training runs: a markdown table and a PNG, from each run's logs/eval.jsonl.

The trainer appends one line per evaluation (`train.eval_every`) to RUN_DIR/logs/eval.jsonl: step, wall
time and the held-out losses. This turns several runs' files into what docs/quality.md and the model
card show: loss against step for every run (style loss solid, content loss dashed), and the last point.

  python tools/training_curves.py /work/runs/armA /work/runs/armB --output docs/quality/arms.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from PIL import Image, ImageDraw

COLOURS = [(200, 60, 40), (40, 90, 200), (30, 150, 70), (150, 60, 190), (230, 140, 30), (90, 90, 90)]


def read_curve(run_dir: Path) -> list[dict]:
    path = run_dir / "logs" / "eval.jsonl"
    if not path.is_file():
        raise SystemExit(f"error: no held-out curve in {run_dir} (logs/eval.jsonl; set train.eval_every)")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    by_step = {row["step"]: row for row in rows}  # a resumed run may evaluate a step twice: keep the last
    return [by_step[step] for step in sorted(by_step)]


def hours(rows: list[dict]) -> list[float]:
    """Training hours at each point: wall time between evaluations, gaps over 30 min (a stopped run) left out."""
    total, out = 0.0, [0.0]
    for previous, row in zip(rows, rows[1:], strict=False):
        gap = row["time"] - previous["time"]
        total += gap if gap < 1800 else 0.0
        out.append(total / 3600)
    return out


def plot(
    curves: dict[str, list[dict]],
    keys: tuple[str, ...] = ("style_loss", "content_loss"),
    size: tuple[int, int] = (720, 420),
) -> Image.Image:
    width, height = size
    left, right, top, bottom = 60, 180, 20, 40
    steps = [row["step"] for rows in curves.values() for row in rows]
    values = [row[key] for rows in curves.values() for row in rows for key in keys]
    x1, y1 = max(steps) or 1, max(values)
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([left, top, width - right, height - bottom], outline="black")

    def at(step: float, value: float) -> tuple[float, float]:
        return (left + step / x1 * (width - left - right), top + (1 - value / y1) * (height - top - bottom))

    for fraction in (0, 0.25, 0.5, 0.75, 1):
        draw.text(
            (left + fraction * (width - left - right) - 10, height - bottom + 5), f"{fraction * x1:.0f}", fill="black"
        )
        draw.text((5, top + (1 - fraction) * (height - top - bottom) - 5), f"{fraction * y1:.3g}", fill="black")
    draw.text((width // 2 - 60, height - 18), "training step", fill="black")
    for index, (name, rows) in enumerate(curves.items()):
        colour = COLOURS[index % len(COLOURS)]
        for key_index, key in enumerate(keys):
            points = [at(row["step"], row[key]) for row in rows]
            if key_index == 0:
                draw.line(points, fill=colour, width=2)
            else:  # dashed: every other segment
                for a, b in list(zip(points, points[1:], strict=False))[::2]:
                    draw.line([a, b], fill=colour, width=1)
        draw.text((width - right + 8, top + 16 * index), name[:26], fill=colour)
    draw.text((width - right + 8, top + 16 * len(curves) + 8), "solid: style loss", fill="black")
    draw.text((width - right + 8, top + 16 * len(curves) + 24), "dashed: content loss", fill="black")
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run directories")
    parser.add_argument("--output", type=Path, help="PNG of the curves")
    args = parser.parse_args()
    curves = {run.name: read_curve(run) for run in args.runs}
    print("| run | step | hours | content loss | style loss | content loss (vs content) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, rows in curves.items():
        last, spent = rows[-1], hours(rows)[-1]
        print(
            f"| {name} | {last['step']} | {spent:.2f} | {last['content_loss']:.3f} | {last['style_loss']:.3f} | "
            f"{last['content_loss_vs_content']:.3f} |"
        )
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        plot(curves).save(args.output)
        print(f"curves: {args.output}")


if __name__ == "__main__":
    main()
