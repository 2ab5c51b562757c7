"""Full disks and file-size limits (issue 24): every write is checked complete before its atomic rename.

A file-size limit (`ulimit -f`, SIGXFSZ ignored) is a real short write, cheap to set up for one child process:
the write fails with EFBIG at the limit, as it fails with ENOSPC on a full disk. The result must be one
`error:` line naming the path and the cause, exit 2, and no file (neither the final one nor a temporary).
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from support import REPO, command_env, file_size_limit, one_error_line


def limited(args: list[str], limit: int, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        args,
        cwd=REPO,
        env=command_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=file_size_limit(limit),
    )


WRITE = """
import sys
from adain.cli.common import run_main
from adain.media.files import write_bytes
run_main(lambda argv: write_bytes(sys.argv[1], b"x" * 100_000) and 0)
"""


def test_a_write_past_the_limit_is_one_line_and_leaves_nothing(tmp_path):
    output = tmp_path / "out" / "data.bin"
    result = limited([sys.executable, "-c", WRITE, str(output)], 8192)
    one_error_line(result, f"cannot write {output}: file too large")
    assert list(output.parent.iterdir()) == []
    result = limited([sys.executable, "-c", WRITE, str(output)], 1 << 20)
    assert result.returncode == 0, result.stderr
    assert output.stat().st_size == 100_000


VIDEO = """
import sys
import numpy as np
from adain.cli.common import run_main
from adain.media.video import VideoWriter

def main(argv):
    writer = VideoWriter(sys.argv[1], fps=10)
    frames = np.random.default_rng(0).integers(0, 256, (30, 64, 96, 3), dtype=np.uint8)  # noise: ~190 KB of H.264
    try:
        for frame in frames:
            writer.write(frame)
        writer.commit()
    except BaseException:
        writer.discard()
        raise

run_main(main)
"""


def test_a_video_past_the_limit_is_one_line_and_leaves_nothing(tmp_path):
    """Was: ffmpeg ended quietly, and a 20000-byte video that no player opens was renamed into place."""
    pytest.importorskip("imageio_ffmpeg")
    output = tmp_path / "clip.mp4"
    one_error_line(
        limited([sys.executable, "-c", VIDEO, str(output)], 20_000), f"cannot write {output}: file too large"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_path_through_a_missing_folder_leaves_no_empty_folder(tmp_path):
    from adain.media.files import write_bytes

    write_bytes(tmp_path / "out" / "nosuch" / ".." / "x.bin", b"data")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["out", "out/x.bin"]


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_stylize_under_a_file_size_limit_publishes_nothing(tmp_path, shared_data, suffix):
    """Was: `wrote out.jpg`, exit 0, and an 8192-byte truncated JPEG (Pillow's JPEG writer lost the short write)."""
    output = tmp_path / f"out{suffix}"
    args = [sys.executable, "-m", "adain", "stylize", "--content", str(shared_data / "content" / "cornell.jpg")]
    args += ["--style", str(shared_data / "style" / "mondrian.jpg"), "--output", str(output)]
    result = limited([*args, "--content-size", "256", "--style-size", "128"], 8192)
    one_error_line(result, f"cannot write {output}: file too large")
    assert list(tmp_path.iterdir()) == []


DECODER = """
import sys
from adain.cli.common import import_quietly, run_main
run = import_quietly("adain.run")
from adain.config import ModelConfig

def main(argv):
    run.save_decoder(run.build_configured_decoder(ModelConfig()), sys.argv[1], ModelConfig())

run_main(main)
"""


@pytest.mark.slow
def test_a_decoder_past_the_limit_is_one_line_and_leaves_nothing(tmp_path):
    """decoder.keras (a 14 MB zip written by Keras) under a 1 MB limit: one line naming it, no file."""
    result = limited([sys.executable, "-c", DECODER, str(tmp_path)], 1 << 20)
    one_error_line(result, f"cannot write {tmp_path / 'decoder.keras'}: file too large")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def small_disk(tmp_path):
    """A real 64 KB filesystem (tmpfs), where mounting is allowed (root in a container that permits it)."""
    mount = tmp_path / "small"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if result.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root and mount permission)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_is_named_as_such_and_leaves_nothing(small_disk):
    import numpy as np

    from adain.errors import UserError
    from adain.media.files import write_bytes
    from adain.media.images import save_image

    noise = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)  # ~100 KB as a JPEG
    for write, name in ((lambda p: save_image(noise, p), "out.jpg"), (lambda p: write_bytes(p, b"x" * 100_000), "d")):
        with pytest.raises(UserError, match=f"cannot write {small_disk / name}: no space left on device"):
            write(small_disk / name)
        assert list(small_disk.iterdir()) == []
