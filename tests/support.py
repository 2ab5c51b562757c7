"""Helpers the tests share (importable as `support`: pyproject puts tests/ on the path): paths, real subprocess runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ADAIN_SHARED", REPO.parent / "shared"))
SHARED_DATA = SHARED / "data"
FIXTURES = REPO / "tests" / "fixtures"


def require_shared() -> Path:
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):  # CI always has shared/ beside the clone: a missing one must not pass as skips
            pytest.fail(f"shared data not found at {SHARED_DATA} (set ADAIN_SHARED)")
        pytest.skip(f"shared data not found at {SHARED_DATA} (set ADAIN_SHARED)")
    return SHARED_DATA


EXTRAS = {
    "skimage": "demo",
    "imageio_ffmpeg": "video",
    "cv2": "video",
    "starlette": "app",
    "uvicorn": "app",
    "httpx": "dev",
}


def require_extra(module: str):
    """Import an optional extra's module; skip without it, but fail under CI, which installs every extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        why = f"{module} not installed (pip install -e '.[{EXTRAS.get(module, module)}]')"
        if os.environ.get("CI"):  # a missing extra in CI must not pass as skips
            pytest.fail(why)
        pytest.skip(why, allow_module_level=True)


def command_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


def one_error_line(result: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit 2, no traceback, and exactly one `error:` line on stderr, naming every needle."""
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr[-3000:]
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def run_script(script: str, *args: str, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    """Run train.py / infer.py as a user would: a real subprocess from the repo root."""
    return subprocess.run(
        [sys.executable, str(REPO / script), *args],
        cwd=REPO,
        env=command_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def run_adain(*args: str, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    """Run the `adain` command (as `python -m adain`, the installed script's code) from the repo root."""
    return subprocess.run(
        [sys.executable, "-m", "adain", *map(str, args)],
        cwd=REPO,
        env=command_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def write_small_config(path: Path, run_dir: Path, content: Path, style: Path, steps: int = 6, **train) -> Path:
    """A config that trains in seconds: 32x32 crops, batch 2."""
    import yaml

    config = {
        "run_dir": str(run_dir),
        "seed": 0,
        "data": {
            "content": {"source": "folder", "path": str(content)},
            "style": {"source": "folder", "path": str(style)},
            "load_size": 48,
            "crop_size": 32,
            "preview_pairs": 2,
        },
        "train": {"batch_size": 2, "steps": steps, "checkpoint_every": 2, "log_every": 1, "image_every": 2, **train},
    }
    path.write_text(yaml.safe_dump(config))
    return path


def event_steps(log_dir: Path, tag: str) -> list[int]:
    """Steps at which a scalar tag was written, over every event file in a log directory."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    steps = []
    for events in sorted(log_dir.glob("events.out.tfevents.*")):
        accumulator = EventAccumulator(str(events), size_guidance={"tensors": 0})
        accumulator.Reload()
        if tag in accumulator.Tags().get("tensors", []):
            steps += [event.step for event in accumulator.Tensors(tag)]
    return steps


def file_size_limit(limit: int):
    """preexec_fn: `ulimit -f` for a child process, with SIGXFSZ ignored so a write past it fails with EFBIG
    (as one fails with ENOSPC on a full disk): a real short write, cheap to set up."""
    import resource
    import signal

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply
