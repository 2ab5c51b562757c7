"""Atomic file writes: a killed or failing writer never leaves a half-written file (or folder) behind."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from adain.errors import UserError

PARTIAL = ".partial-"  # temporaries are `.<name>.partial-<pid>-<random><suffix>`, beside the file they become
_swept: set[Path] = set()  # folders already cleared of dead writers' temporaries by this process


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp", directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, on error it is removed.

    `suffix` ends the temporary name (writers that pick the format by extension need the real one);
    `directory` yields a fresh folder instead of a file (mode 0755 instead of 0644; an existing folder
    at `path` is replaced). What a SIGKILL leaves (nothing can remove it then) is removed by the next
    atomic write into the same folder: the temporary's name carries its writer's pid.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.parent.resolve() not in _swept:
        remove_stale_partials(path.parent)
        _swept.add(path.parent.resolve())
    prefix = f".{path.name}{PARTIAL}{os.getpid()}-"
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


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write a text file (a report, a config, a state file) atomically: readers see the old or the new one."""
    path = Path(path)
    with atomic_path(path, suffix=path.suffix) as tmp:
        tmp.write_text(text)
    return path


def remove_stale_partials(folder: str | os.PathLike, name: str = "*") -> list[Path]:
    """Remove the temporaries of atomic writes (of `name`, or all) in `folder` whose writer is gone; returns them."""
    removed = []
    for tmp in Path(folder).glob(f".{'*' if name == '*' else glob.escape(name)}{PARTIAL}*"):
        pid = tmp.name.rsplit(PARTIAL, 1)[1].split("-")[0]
        if not pid.isdigit() or int(pid) == 0:  # not one of ours: never touched
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:  # no such process: its writer was killed
            if tmp.is_dir() and not tmp.is_symlink():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)
            removed.append(tmp)
        except PermissionError:  # alive, another user's
            pass
    return removed


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
