"""The one `adain` command: subcommands, the documented train.py / infer.py entry points, a quiet start."""

from __future__ import annotations

import pytest
from support import FIXTURES, run_adain, run_script

from adain.cli import COMMANDS

NOISE = ("absl::InitializeLog", "cudart_stub", "cuInit", "cpu_feature_guard", "I0000", "E0000")


@pytest.mark.slow
def test_help_lists_every_subcommand():
    result = run_adain("--help")
    assert result.returncode == 0
    for name in ("train", "stylize", "evaluate", "export", "weights", "prepare", "normalization"):
        assert name in COMMANDS and name in result.stdout


@pytest.mark.slow
def test_unknown_or_missing_command_is_a_one_line_error():
    unknown = run_adain("paint")
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: ") and "paint" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    assert run_adain().returncode == 2


@pytest.mark.slow
@pytest.mark.parametrize("command", ["train", "stylize", "evaluate", "export", "weights", "normalization", "prepare"])
def test_every_subcommand_explains_itself(command):
    result = run_adain(command, "--help")
    assert result.returncode == 0, result.stderr
    assert f"usage: adain {command}" in result.stdout


@pytest.mark.slow
def test_stylize_starts_quietly_and_verbose_shows_tensorflows_lines(shared_data, tmp_path):
    args = ["--checkpoint", FIXTURES / "legacy_run", "--content", shared_data / "content" / "sailboat.jpg"]
    args += ["--style", shared_data / "style" / "mondrian.jpg", "--content-size", "64", "--style-size", "64"]
    quiet = run_adain("stylize", *args, "--output", tmp_path / "quiet.png")
    assert quiet.returncode == 0, quiet.stderr
    assert not [line for line in quiet.stderr.splitlines() if any(n in line for n in NOISE)], quiet.stderr
    assert f"wrote {tmp_path / 'quiet.png'}" in quiet.stderr
    same = run_script("infer.py", *map(str, args), "--output", str(tmp_path / "infer.png"))  # the documented shim
    assert same.returncode == 0 and (tmp_path / "infer.png").read_bytes() == (tmp_path / "quiet.png").read_bytes()
    verbose = run_adain("--verbose", "stylize", *args, "--output", tmp_path / "verbose.png")
    assert verbose.returncode == 0
    assert any(n in verbose.stderr for n in NOISE), verbose.stderr  # TensorFlow always logs something at start


@pytest.mark.slow
def test_train_py_and_adain_train_are_the_same_command(tmp_path):
    shim = run_script("train.py", "--config", "configs/demo.yaml", "--set", "train.batch_size=-1")
    command = run_adain("train", "--config", "configs/demo.yaml", "--set", "train.batch_size=-1")
    assert shim.returncode == command.returncode == 2
    assert shim.stderr == command.stderr == "error: config: train.batch_size must be > 0, got -1\n"
