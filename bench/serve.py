"""The web app's costs at N x N (default 512): what a slider move, a new style and a new content cost, through the
real routes (Starlette's TestClient: JSON, JPEG and base64 included, no network) and beside the model calls alone.

Rows:
  decode only            Stylizer.decode on cached content features and style statistics: AdaIN + the decoder (D)
  slider move (HTTP)     POST /api/stylize with a new alpha: D + JPEG + base64 + JSON
  new style (HTTP)       POST /api/style/0 (one style encode, E) + POST /api/stylize: E + D + transfer
  new content (HTTP)     POST /api/content (one content encode, E) + POST /api/stylize: E + D + transfer
  cached style E + D     Stylizer.stylize_features, as bench/stylize.py's "cached style" row
  full 2E + D            content and style encoded, AdaIN, decoded, as bench/stylize.py's "full" row

    python bench/serve.py                      # the table in docs/serve.md
    python bench/serve.py --size 256 --repeats 3
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import numpy as np  # noqa: E402  (after common, which quiets TensorFlow)
from common import SHARED, Timing, header, time_calls
from PIL import Image  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from adain.cli.common import ArgumentParser, run_main  # noqa: E402
from adain.inference.stylizer import Stylizer  # noqa: E402
from adain.media.folder import list_image_files  # noqa: E402
from adain.serve.app import ServeConfig, create_app  # noqa: E402
from adain.serve.session import Settings  # noqa: E402


def square_png(path: Path, size: int) -> bytes:
    """A centre square of the picture at size x size, as PNG bytes (an upload)."""
    image = Image.open(path).convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize((size, size), Image.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def row(case: str, timing: Timing) -> str:
    return (
        f"| {case} | {timing.median:.3f} | {min(timing.samples):.3f} | {timing.first:.2f} | "
        f"{float(np.median(timing.cpu)):.3f} |"
    )


def main(argv=None) -> int:
    parser = ArgumentParser(prog="bench/serve.py", description=__doc__)
    parser.add_argument("--size", type=int, default=512, help="content and style are size x size (default 512)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per row after one warm-up call")
    parser.add_argument("--checkpoint", help="run directory (default: the shipped model)")
    args = parser.parse_args(argv)
    header("bench/serve.py", sys.argv[1:] if argv is None else argv, "float32", False)
    contents = list_image_files(SHARED / "content")
    styles = list_image_files(SHARED / "style")
    size = args.size
    uploads = [square_png(Path(p), size) for p in contents[:2]] + [square_png(Path(p), size) for p in styles[:2]]
    stylizer = Stylizer.from_checkpoint(args.checkpoint)
    client = TestClient(
        create_app(stylizer, ServeConfig(preview_size=size, style_size=size), [], []), base_url="http://127.0.0.1"
    )
    tab = {"X-Session": client.post("/api/session").json()["session"]}

    def post(path: str, data: bytes) -> None:
        assert client.post(path, content=data, headers=tab).status_code == 200

    def stylize(alpha: float) -> dict:
        answer = client.post("/api/stylize", json={"alpha": alpha}, headers=tab)
        assert answer.status_code == 200, answer.text
        return answer.json()

    post("/api/content", uploads[0])
    post("/api/style/0", uploads[2])
    session = next(iter(client.app.state.studio.sessions.values()))
    alphas = iter(np.linspace(0.2, 1.0, 1000))
    which = iter(range(1000))

    def decode_only():
        statistics = session.style_statistics(Settings(), stylizer)
        return stylizer.decode(session.features, statistics, (size, size), next(alphas))

    def new_style():
        post("/api/style/0", uploads[2 + next(which) % 2])
        return stylize(0.8)

    def new_content():
        post("/api/content", uploads[next(which) % 2])
        return stylize(0.8)

    content = stylizer.prepare(Image.open(io.BytesIO(uploads[0])))[None]
    style_features = stylizer.encode(stylizer.prepare(Image.open(io.BytesIO(uploads[2])))[None])
    style = stylizer.prepare(Image.open(io.BytesIO(uploads[2])))[None]
    cases = [
        ("decode only (D)", decode_only),
        ("slider move, HTTP (D + transfer)", lambda: stylize(next(alphas))),
        ("new style, HTTP (E + D + transfer)", new_style),
        ("new content, HTTP (E + D + transfer)", new_content),
        ("cached style E + D (bench/stylize.py)", lambda: stylizer.stylize_features(content, style_features)),
        ("full 2E + D (bench/stylize.py)", lambda: stylizer.stylize_features(content, stylizer.encode(style))),
    ]
    lines = []
    for case, call in cases:
        timing = time_calls(call, args.repeats)
        lines.append(row(case, timing))
        print(f"  {case}: {timing.median:.3f} s", file=sys.stderr)
    print(f"\nweb app at {size}x{size} (content and style), {args.repeats} timed calls per row")
    print("| case | median s | min s | first call s | CPU s |")
    print("|---|---|---|---|---|")
    print("\n".join(lines))
    transfer = len(stylize(0.5)["image"])
    print(f"one slider answer: {transfer / 1024:.0f} KiB of JSON (a base64 JPEG)")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    run_main(main)
