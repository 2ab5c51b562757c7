"""Atomic file writes: a killed or failing writer never leaves a half-written file (or folder) behind.

Every write through `atomic_path` is also checked before it is published: the temporary is flushed to the
disk (fsync: a full disk often shows only then), a `verify` callback may re-read it, and a write that ran
out of room (ENOSPC, a file-size limit's EFBIG, a quota), whoever reported it (Python, TensorFlow, ffmpeg),
becomes one UserError naming the path and the cause. Nothing is renamed into place then.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from adain.errors import UserError

PARTIAL = ".partial-"  # temporaries are `.<name>.partial-<pid>-<random><suffix>`, beside the file they become
_swept: set[Path] = set()  # folders already cleared of dead writers' temporaries by this process
OUT_OF_ROOM = {
    errno.ENOSPC: "no space left on device",
    errno.EFBIG: "file too large",
    errno.EDQUOT: "disk quota exceeded",
}


def out_of_room(exc: BaseException) -> str | None:
    """ "no space left on device", "file too large" or "disk quota exceeded" when `exc` says a write ran out of room.

    OSError by its errno; TensorFlow's errors (OutOfRangeError "File too large" from SaveV2, a full disk's
    ResourceExhaustedError) and ffmpeg's by their message, which carries the C library's strerror text.
    """
    if isinstance(exc, OSError) and exc.errno in OUT_OF_ROOM:
        return OUT_OF_ROOM[exc.errno]
    text = str(exc).lower()
    return next((reason for code, reason in OUT_OF_ROOM.items() if os.strerror(code).lower() in text), None)


def short_write_cause(path: str | os.PathLike) -> str:
    """Why a file a child process wrote (ffmpeg) came out short, when the child did not say: the file-size limit
    it reached, a full disk, or else just "it is incomplete"."""
    import resource

    path = Path(path)
    size = path.stat().st_size if path.exists() else 0
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY and size >= limit:
        return OUT_OF_ROOM[errno.EFBIG]
    folder = os.statvfs(path.parent)
    if folder.f_bavail * folder.f_frsize < 1 << 20:
        return OUT_OF_ROOM[errno.ENOSPC]
    return "the file written is incomplete"


def raise_if_out_of_room(exc: BaseException, path: str | os.PathLike) -> None:
    """Re-raise a write that ran out of room as one UserError naming `path`; anything else is left alone."""
    reason = out_of_room(exc)
    if reason:
        raise UserError(f"cannot write {path}: {reason}") from None


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike,
    suffix: str = ".tmp",
    directory: bool = False,
    verify: Callable[[Path], None] | None = None,
) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, on error it is removed.

    `suffix` ends the temporary name (writers that pick the format by extension need the real one);
    `directory` yields a fresh folder instead of a file (mode 0755 instead of 0644; an existing folder
    at `path` is replaced). Before the rename the temporary is fsynced and `verify(tmp)` (if given) may
    check what was written by raising; running out of room anywhere in the write is one UserError naming
    `path`. What a SIGKILL leaves (nothing can remove it then) is removed by the next atomic write into
    the same folder: the temporary's name carries its writer's pid.
    """
    shown = path
    path = Path(path)
    path = path.parent.resolve() / path.name  # "out/nosuch/../x.jpg" creates out/, never an empty out/nosuch/
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise_if_out_of_room(exc, shown)
        raise
    if path.parent not in _swept:
        remove_stale_partials(path.parent)
        _swept.add(path.parent)
    prefix = f".{path.name}{PARTIAL}{os.getpid()}-"
    try:
        if directory:
            tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=prefix, suffix=suffix))
        else:
            fd, name = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=suffix)
            os.close(fd)
            tmp = Path(name)
    except OSError as exc:
        raise_if_out_of_room(exc, shown)
        raise
    try:
        try:
            yield tmp
            sync(tmp)
            if verify is not None:
                verify(tmp)
        except Exception as exc:  # noqa: BLE001 - re-raised, as one line when the disk is full
            raise_if_out_of_room(exc, shown)
            raise
        os.chmod(tmp, 0o755 if directory else 0o644)
        if directory and path.is_dir():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if directory:
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def sync(path: Path) -> None:
    """fsync a written file (or every file in a written folder): errors a full disk defers show here."""
    for item in [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()):
        fd = os.open(item, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_bytes(path: str | os.PathLike, data: bytes, suffix: str = ".tmp") -> Path:
    """Write `data` atomically, checked: the file on disk has all of `data`'s bytes before it is renamed in place.

    Encoders that write to a file themselves may lose a short write (Pillow's JPEG writer does, under a
    file-size limit): encode into memory and write here instead.
    """
    path = Path(path)

    def complete(tmp: Path) -> None:
        if tmp.stat().st_size != len(data):
            raise UserError(f"cannot write {path}: only {tmp.stat().st_size} of {len(data)} bytes were written")

    with atomic_path(path, suffix=suffix, verify=complete) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write a text file (a report, a config, a state file) atomically and checked: readers see the old or the new one."""
    return write_bytes(path, text.encode("utf-8"), suffix=Path(path).suffix or ".tmp")


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
