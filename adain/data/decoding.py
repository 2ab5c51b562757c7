"""Decode whatever a real image dump contains into RGB uint8, cheaply, or say why not.

Real WikiArt/COCO dumps hold CMYK JPEGs, grayscale scans, 16-bit and palette PNGs, GIFs,
tens-of-megapixel files, truncated files and stray non-images. The package's one decoder
(`adain.media.images.decode_image`) reads all of these; for training, JPEGs are decoded at 1/2, 1/4 or
1/8 scale when the result still has the requested smaller side, so a 20000x15000 painting is decoded as
2500x1875 (14 MB instead of 900 MB). Files that cannot be decoded are recorded in `SkippedFiles`,
never raised: one bad file must not end a six-hour run.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from tqdm.auto import tqdm

from adain.media.images import MAX_PIXELS

# The most pixels decoded for one training image, after any reduction: Pillow's own hard limit (2 x MAX_PIXELS).
MAX_DECODED_PIXELS = 2 * MAX_PIXELS


_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(text: str) -> str:
    """One TSV field whatever a file name contains (tabs and newlines are legal in names)."""
    return "".join(_ESCAPES.get(char, char) for char in text)


def _unescape(text: str) -> str:
    out, chars = [], iter(text)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            out.append({"t": "\t", "n": "\n", "r": "\r"}.get(following, following))
        else:
            out.append(char)
    return "".join(out)


def file_identity(name: object) -> str:
    """size and mtime of a file name ("" for names that are not files, e.g. TFDS records)."""
    try:
        stat = os.stat(name)
    except (OSError, TypeError, ValueError):
        return ""
    return f"size={stat.st_size};mtime_ns={stat.st_mtime_ns}"


class SkippedFiles:
    """Thread-safe record of unreadable files: each is reported once and never decoded again.

    With a `path`, every new entry is appended (name TAB reason TAB identity) as soon as it is found and
    the file is read back on start, so a resumed run keeps its count and does not retry known-bad files.
    An entry is keyed by the file's identity (size and modification time) as well as its name: a file
    replaced since (or an entry without an identity, from older runs) is tried again.
    """

    def __init__(self, path: str | os.PathLike | None = None, verbose: bool = True) -> None:
        self.path = Path(path) if path is not None else None
        self.verbose = verbose
        self._reasons: dict[str, str] = {}
        self._identities: dict[str, str | None] = {}
        self._lock = threading.Lock()
        if self.path is not None and self.path.is_file():
            for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
                name, _, rest = line.partition("\t")
                reason, tab, identity = rest.partition("\t")
                if name:
                    self._reasons[_unescape(name)] = reason
                    self._identities[_unescape(name)] = identity if tab else None

    def add(self, name: str, reason: str) -> None:
        identity = file_identity(name)
        with self._lock:
            if name in self._reasons and self._identities.get(name) == identity:
                return
            self._reasons[name] = reason
            self._identities[name] = identity
            count = len(self._reasons)
            if self.path is not None:
                with open(self.path, "a", encoding="utf-8") as file:
                    file.write(f"{_escape(name)}\t{_escape(reason)}\t{identity}\n")
        if self.verbose:
            tqdm.write(f"warning: skipped unreadable image {name}: {reason} ({count} skipped so far)", file=sys.stderr)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            if name not in self._reasons:
                return False
            recorded = self._identities.get(name)
        if recorded is not None and recorded == file_identity(name):
            return True
        with self._lock:  # changed (or unknown) since it was recorded: forget it, so it is tried again
            self._reasons.pop(name, None)
            self._identities.pop(name, None)
        return False

    def __len__(self) -> int:
        return len(self._reasons)

    def reasons(self) -> dict[str, str]:
        with self._lock:
            return dict(self._reasons)
