"""`adain serve`'s command line: help with examples, and bad input as one line and exit 2 before any model loads."""

import signal
import socket
import time
import urllib.error
import urllib.request

import pytest
from browser import serve
from support import require_extra, run_adain


def test_help_explains_with_examples():
    result = run_adain("serve", "--help", timeout=60)
    assert result.returncode == 0
    assert "127.0.0.1" in result.stdout and "adain serve --checkpoint checkpoints/demo --port 8080" in result.stdout
    assert "serve" in run_adain("--help", timeout=60).stderr + run_adain("--help", timeout=60).stdout


def test_bad_command_lines_are_one_line_and_exit_2(tmp_path):
    require_extra("starlette")  # without the app extra, the later cases are refused for that first
    require_extra("uvicorn")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        cases = [
            (["--port", "70000"], "error: --port must be in 0..65535, got 70000"),
            (["--max-upload-mb", "0"], "error: --max-upload-mb must be > 0, got 0"),
            (["--max-upload-mb", "inf"], "error: --max-upload-mb must be a finite number, got inf"),
            (["--max-upload-mb", "nan"], "error: --max-upload-mb must be a finite number, got nan"),
            (["--max-upload-mb", "-5"], "error: --max-upload-mb must be > 0, got -5"),
            (["--max-megapixels", "1e9"], "error: --max-megapixels must be at most 10000, got 1e+09"),
            (
                ["--allow-origin", "localhost:3000"],
                "error: --allow-origin must look like http://host:port, got 'localhost:3000'",
            ),
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


@pytest.mark.slow
def test_sigterm_removes_the_temporary_folder_and_foreign_hosts_are_refused(tmp_path):
    """A real server: SIGTERM (what systemd and `kill` send) cleans up like Ctrl-C; a rebinding Host gets 403."""
    with serve(env={"TMPDIR": str(tmp_path)}) as server:
        assert len(list(tmp_path.glob("adain-serve-*"))) == 1
        for _ in range(100):  # the banner comes just before uvicorn starts accepting
            try:
                with urllib.request.urlopen(server.url + "api/info", timeout=30) as answer:
                    assert answer.status == 200
                break
            except urllib.error.URLError as exc:
                if isinstance(exc, urllib.error.HTTPError):
                    raise
                time.sleep(0.1)
        request = urllib.request.Request(server.url + "api/info", headers={"Host": "rebind.evil.example"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 403
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=30)
    assert list(tmp_path.glob("adain-serve-*")) == []
