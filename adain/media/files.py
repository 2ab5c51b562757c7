"""Atomic file writes: a killed or failing writer never leaves a half-written file (or folder) behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from adain.errors import UserError


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike, suffix: str = ".tmp", directory: bool = False, prefix: str | None = None
) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, on error it is removed.

    `suffix` ends the temporary name (writers that pick the format by extension need the real one);
    `directory` yields a fresh folder instead of a file (mode 0755 instead of 0644; an existing folder
    at `path` is replaced). `prefix` starts the temporary name (default `.<name>.`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}." if prefix is None else prefix
    if directory:
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=prefix, suffix=suffix))
    else:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=suffix)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o755 if directory else 0o644)
        if directory and path.is_dir():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if directory:
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def check_can_write(path: str | os.PathLike) -> None:
    """Before any work: `path` (a file or folder to create or replace) must be writable where it will be.

    Tried for real, with a file created and removed in the nearest existing folder: permission bits do
    not say it for root, a read-only mount, /proc or /sys. One UserError naming the path otherwise.
    """
    problem = write_problem(path)
    if problem:
        raise UserError(f"cannot write {path}: {problem}")


def write_problem(path: str | os.PathLike) -> str | None:
    """Why `path` cannot be written (see check_can_write), or None."""
    parent = Path(path).parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is not a directory"
    try:
        fd, probe = tempfile.mkstemp(dir=parent, prefix=".adain-write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"{parent} is not writable ({exc.strerror or exc})"
    return None
