"""Which exports are adain's own: a small JSON marker written with every export, and read before replacing one.

`adain export` replaces an earlier export without asking, and nothing else without `--overwrite`. A file
format says nothing about who wrote a file (anyone's SavedModel has a saved_model.pb, anyone's TFLite file
the TFL3 identifier), so the marker is the only proof: inside a SavedModel directory, beside a TFLite file
(with the file's size and SHA-256, so a file replaced since by someone else is not taken for ours).
No TensorFlow here: the command line checks the output before it loads anything.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import time
from pathlib import Path

MARKER = ".adain-export.json"  # inside a SavedModel directory
SIDECAR = ".{name}.adain-export.json"  # beside a file export


def marker_path(output: Path, directory: bool) -> Path:
    """Where the marker of an export at `output` lives."""
    output = Path(output)
    return output / MARKER if directory else output.parent / SIDECAR.format(name=output.name)


def digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def marker_record(fmt: str, checkpoint: str | os.PathLike, written: Path | None = None) -> dict:
    """The marker's content; `written` (a file export) adds its size and SHA-256."""
    try:
        version = importlib.metadata.version("adain")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    record = {
        "adain_export": 1,
        "format": fmt,
        "adain_version": version,
        "checkpoint": str(checkpoint),
        "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if written is not None:
        record |= {"bytes": written.stat().st_size, "sha256": digest(written)}
    return record


def is_own_export(output: Path, directory: bool) -> bool:
    """True when `output` is an export adain wrote (and, for a file, has not been changed since)."""
    try:
        record = json.loads(marker_path(output, directory).read_text())
        if not isinstance(record, dict) or record.get("adain_export") != 1:
            return False
        if directory:
            return Path(output).is_dir()
        return record.get("bytes") == Path(output).stat().st_size and record.get("sha256") == digest(Path(output))
    except (OSError, ValueError):
        return False
