"""Regenerate the README's Stylize pictures by running the README's own `infer.py` commands.

    python docs/stylize_pictures.py --checkpoint checkpoints/demo [--clip clip.mp4] [--output docs/images]

The commands are read from the README's "## Stylize" bash block, so the pictures always come
from exactly the documented command lines. Outputs (and --grid, --mask) are redirected into
--output; the mask is drawn here (an ellipse, white inside) at the content's size; the video
command runs only with --clip. Needs the demo images (`make demo` fills data/demo/).
"""

from __future__ import annotations

import argparse
import shlex
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="run directory, e.g. checkpoints/demo")
    parser.add_argument("--clip", help="a video for the video example (skipped without)")
    parser.add_argument("--output", default=str(REPO / "docs" / "images"))
    args = parser.parse_args()
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)

    for command in readme_commands(REPO / "README.md"):
        argv = command[2:]  # drop "python infer.py"
        if "clip.mp4" in argv and not args.clip:
            print("skipping the video example (no --clip)", file=sys.stderr)
            continue
        for i, value in enumerate(argv):
            flag = argv[i - 1] if i else ""
            if flag == "--checkpoint":
                argv[i] = args.checkpoint
            elif flag in ("--output", "--grid"):
                argv[i] = str(output / value)
            elif flag == "--mask":
                argv[i] = str(output / value)
                draw_mask(REPO / argv[argv.index("--content") + 1], Path(argv[i]))
            elif value == "clip.mp4":
                argv[i] = args.clip
        print("python infer.py " + shlex.join(argv), file=sys.stderr)
        subprocess.run([sys.executable, str(REPO / "infer.py"), *argv], cwd=REPO, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
