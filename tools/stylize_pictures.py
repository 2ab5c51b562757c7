"""Regenerate the README's Stylize pictures by running the README's own `infer.py` commands.

    python tools/stylize_pictures.py [--checkpoint RUN_DIR] [--clip clip.mp4] [--output docs/images]

The commands are read from the README's "## Stylize" bash block, so the pictures always come
from exactly the documented command lines: the shipped model, unless --checkpoint names another
(passed to them as $ADAIN_CHECKPOINT). Outputs (and --grid, --mask) are redirected into
--output; the mask is drawn here (an ellipse, white inside) at the content's size; the video
command runs only with --clip. Needs the demo images (`make demo` fills data/demo/).

Then the pictures are made fit for the README: every image scaled to at most --width pixels
wide; the alpha sweep and six frames of the video joined into one strip each (sweep.jpg,
video.jpg); the batch's per-pair files, the sweep folder and the video itself removed (the
batch's grid stays).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]


def readme_commands(readme: Path) -> list[list[str]]:
    text = readme.read_text()
    section = text[text.index("## Stylize") :]
    block = section[section.index("```bash") + len("```bash") : section.index("```", section.index("```bash") + 7)]
    joined = block.replace("\\\n", " ")
    return [shlex.split(line) for line in joined.splitlines() if line.strip().startswith("python infer.py")]


def draw_mask(content: Path, target: Path) -> None:
    with Image.open(content) as image:
        width, height = image.size
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).ellipse([width * 0.2, height * 0.1, width * 0.8, height * 0.9], fill=255)
    target.parent.mkdir(parents=True, exist_ok=True)
    mask.save(target)


def strip(images: list[Image.Image], height: int, gap: int = 4) -> Image.Image:
    """Images side by side at one height, white gaps."""
    scaled = [im.resize((round(im.width * height / im.height), height), Image.LANCZOS) for im in images]
    canvas = Image.new("RGB", (sum(im.width for im in scaled) + gap * (len(scaled) - 1), height), "white")
    x = 0
    for im in scaled:
        canvas.paste(im, (x, 0))
        x += im.width + gap
    return canvas


def video_frames(path: Path, count: int) -> list[Image.Image]:
    from adain.media.video import probe, read_frames

    total = probe(path).frames or count
    wanted = {round(i * (total - 1) / max(count - 1, 1)) for i in range(count)}
    return [Image.fromarray(frame) for i, frame in enumerate(read_frames(path)) if i in wanted]


def finish(output: Path, width: int) -> None:
    """Strips for the sweep and the video, bulky intermediates removed, everything web-sized."""
    sweep = output / "sweep"
    if sweep.is_dir():
        files = sorted(sweep.glob("*_alpha*.jpg"), key=lambda p: float(p.stem.rsplit("_alpha", 1)[1]))
        strip([Image.open(f).convert("RGB") for f in files], 192).save(output / "sweep.jpg", quality=88)
        shutil.rmtree(sweep)
    for clip in output.glob("*.mp4"):
        strip(video_frames(clip, 6), 144).save(output / "video.jpg", quality=88)
        clip.unlink()
    shutil.rmtree(output / "outputs", ignore_errors=True)
    for picture in [*output.glob("*.jpg"), *output.glob("*.png")]:
        with Image.open(picture) as image:
            image.load()
        if image.width > width:
            image = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
        if picture.suffix == ".jpg":
            image.convert("RGB").save(picture, quality=88)
        else:
            image.save(picture, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="run directory for the commands without --checkpoint (default: shipped)")
    parser.add_argument("--clip", help="a video for the video example (skipped without)")
    parser.add_argument("--output", default=str(REPO / "docs" / "images"))
    parser.add_argument("--width", type=int, default=512, help="largest picture width kept in --output")
    args = parser.parse_args()
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)

    inputs: list[str] = []  # the single files the commands read, shown once as inputs.jpg
    for command in readme_commands(REPO / "README.md"):
        argv = command[2:]  # drop "python infer.py"
        inputs += [
            v
            for i, v in enumerate(argv)
            if i
            and argv[i - 1] in ("--content", "--style")
            or (i > 1 and argv[i - 2] == "--style" and not v.startswith("--"))
        ]
        if "clip.mp4" in argv and not args.clip:
            print("skipping the video example (no --clip)", file=sys.stderr)
            continue
        for i, value in enumerate(argv):
            flag = argv[i - 1] if i else ""
            if flag in ("--output", "--grid"):
                argv[i] = str(output / value)
            elif flag == "--mask":
                argv[i] = str(output / value)
                draw_mask(REPO / argv[argv.index("--content") + 1], Path(argv[i]))
            elif value == "clip.mp4":
                argv[i] = args.clip
        print("python infer.py " + shlex.join(argv), file=sys.stderr)
        env = {**os.environ, **({"ADAIN_CHECKPOINT": args.checkpoint} if args.checkpoint else {})}
        subprocess.run([sys.executable, str(REPO / "infer.py"), *argv], cwd=REPO, check=True, env=env)
    files = [REPO / f for f in dict.fromkeys(inputs) if (REPO / f).is_file() and not f.endswith(".mp4")]
    strip([Image.open(f).convert("RGB") for f in files], 160).save(output / "inputs.jpg", quality=88)
    finish(output, args.width)
    return 0


if __name__ == "__main__":
    sys.exit(main())
