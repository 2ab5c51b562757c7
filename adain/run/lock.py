"""One training per run directory: an exclusive lock on RUN_DIR/.lock, held for the process' lifetime.

`fcntl.flock` locks belong to the open file: the kernel drops them when the process ends, however it
ends (SIGKILL included), so a killed run never leaves the directory locked. The file keeps the holder's
pid, host and start time so the refusal can name the other run.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from pathlib import Path

from adain.errors import UserError
from adain.media.files import write_problem

LOCK_FILE = ".lock"
_held: dict[Path, int] = {}  # run dir -> open descriptor, never closed while the process lives


def lock_run_dir(run_dir: str | os.PathLike) -> Path:
    """Create `run_dir` if needed and lock it for this process; UserError if it is not writable or in use."""
    run_dir = Path(run_dir).absolute()
    if run_dir in _held:
        return run_dir / LOCK_FILE
    path = run_dir / LOCK_FILE
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        if problem := write_problem(path):  # tried for real: permission bits say yes to root on a read-only mount
            raise UserError(f"run directory {run_dir}: {problem}")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UserError(f"run directory {run_dir} is not writable: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 400, 0).decode("utf-8", "replace").strip() or "another process"
        os.close(fd)
        raise UserError(
            f"run directory {run_dir} is in use by another training ({holder}); "
            "wait for it to finish or use another run_dir"
        ) from None
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}, started {started}\n".encode(), 0)
    _held[run_dir] = fd
    return path
