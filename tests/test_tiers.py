"""`make test`'s fast tier is timed: over --max-wall it fails under CI=true and only warns elsewhere."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support import REPO, command_env

pytestmark = pytest.mark.slow  # runs pytest itself as a subprocess


def run_tier(ci: bool) -> subprocess.CompletedProcess:
    env = {key: value for key, value in command_env().items() if key != "CI"}
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_imports.py", "--max-wall", "0.01"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_over_the_limit_fails_under_ci_and_warns_elsewhere():
    failed = run_tier(ci=True)
    assert failed.returncode == 1, failed.stdout[-2000:]
    assert "passed" in failed.stdout and "FAILED: the run took" in failed.stdout
    warned = run_tier(ci=False)
    assert warned.returncode == 0, warned.stdout[-2000:]
    assert "warning: the run took" in warned.stdout and "(fails under CI=true)" in warned.stdout
