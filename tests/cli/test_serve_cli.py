"""`adain serve`'s command line: help with examples, and bad input as one line and exit 2 before any model loads."""

import socket

from support import run_adain


def test_help_explains_with_examples():
    result = run_adain("serve", "--help", timeout=60)
    assert result.returncode == 0
    assert "127.0.0.1" in result.stdout and "adain serve --checkpoint checkpoints/demo --port 8080" in result.stdout
    assert "serve" in run_adain("--help", timeout=60).stderr + run_adain("--help", timeout=60).stdout


def test_bad_command_lines_are_one_line_and_exit_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        cases = [
            (["--port", "70000"], "error: --port must be in 0..65535, got 70000"),
            (["--max-upload-mb", "0"], "error: --max-upload-mb must be > 0, got 0"),
            (["--preview-size", "8"], "error: --preview-size must be at least 64, got 8"),
            (["--gallery", str(tmp_path / "nope")], f"error: --gallery: not a folder: {tmp_path / 'nope'}"),
            (["--checkpoint", str(tmp_path / "nope")], f"error: checkpoint not found: {tmp_path / 'nope'}"),
            (["--port", port], f"error: cannot listen on 127.0.0.1:{port}: Address already in use"),
            (["--port", "x"], "error: argument --port: invalid int value: 'x' (see adain serve --help)"),
        ]
        for args, message in cases:
            result = run_adain("serve", *args, timeout=60)
            assert result.returncode == 2, (args, result.stderr)
            assert result.stderr.strip() == message, (args, result.stderr)
