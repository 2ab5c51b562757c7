"""The one `adain` command: subcommands, the documented train.py / infer.py entry points, a quiet start."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from support import FIXTURES, REPO, command_env, run_adain, run_script, write_small_config

from adain.cli import COMMANDS

NOISE = ("absl::InitializeLog", "cudart_stub", "cuInit", "cpu_feature_guard", "I0000", "E0000")
LOG_LINE = re.compile(r"^[IWEF]\d{4} ")  # absl / TensorFlow C++ log lines: I0000 00:00:... file.cc:123] ...


def log_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if LOG_LINE.match(line) or any(n in line for n in NOISE)]


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
    assert log_lines(quiet.stderr) == [], quiet.stderr
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


# TensorFlow logs some notices at ERROR level long after start-up, when an op first runs (on CPUs without AVX-512:
# "E0000 ... util.cc:131] oneDNN supports DT_INT32 only on platforms with AVX-512"). tf.print to log(error) is such
# a line on any machine: the C++ LOG(ERROR) of an op, after the start-up filter is gone.
LATE_ERROR_LOG = """
from adain.cli.common import import_quietly, run_main

def main(argv):
    tf = import_quietly("tensorflow")
    tf.print("late-log-line", output_stream=tf.compat.v1.logging.error)
    return 0

run_main(main)
"""


@pytest.mark.slow
@pytest.mark.parametrize("wanted", ["", "1"])
def test_a_tensorflow_error_log_after_start_up_is_hidden_unless_asked_for(wanted):
    env = command_env(ADAIN_TF_LOGS=wanted, TF_CPP_MIN_LOG_LEVEL="2")  # 2: the usual advice, lets ERROR lines through
    result = subprocess.run(
        [sys.executable, "-c", LATE_ERROR_LOG], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    shown = [line for line in result.stderr.splitlines() if "late-log-line" in line]
    assert bool(shown) == bool(wanted), result.stderr
    if not wanted:
        assert log_lines(result.stderr) == [], result.stderr


@pytest.mark.slow
def test_train_and_infer_print_no_tensorflow_log_lines(shared_data, tmp_path):
    config = write_small_config(
        tmp_path / "c.yaml", tmp_path / "run", shared_data / "content", shared_data / "style", steps=2
    )
    train = run_script("train.py", "--config", str(config), "--set", "data.load_size=64", "--set", "data.crop_size=64")
    assert train.returncode == 0, train.stderr
    assert log_lines(train.stderr) == [], train.stderr
    infer = run_script(
        "infer.py",
        "--checkpoint",
        str(tmp_path / "run"),
        "--content",
        str(shared_data / "content" / "sailboat.jpg"),
        "--style",
        str(shared_data / "style" / "mondrian.jpg"),
        "--content-size",
        "64",
        "--output",
        str(tmp_path / "out.png"),
    )
    assert infer.returncode == 0, infer.stderr
    assert log_lines(infer.stderr) == [], infer.stderr
