"""How much memory a stylization needs, estimated before any work, against what the machine has free.

Without it a large `--content-size` (74 Mpx is under the pixel cap) ran for a minute and died in C++
(`std::bad_alloc`, exit 134): nothing in Python can catch that. The estimate is linear in the pixels
stylized at once: measured peak RSS of `adain stylize` on CPU grew by about 600 bytes per content pixel
(1.5 Mpx: 1.6 GB, 6 Mpx: 4.3 GB, docs/performance.md); VGG's relu1_1 alone holds 64 float32 channels per
pixel, twice over. Tiled runs (`--tile`) hold one tile's features and are bounded by the tile instead.
No TensorFlow here: the command line checks before it loads a model.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from adain.errors import UserError

BYTES_PER_PIXEL = 640  # measured ~600 (module docstring), rounded up
BASE_BYTES = 1 << 30  # the model, TensorFlow and Python themselves (~1 GB measured at 0.4 Mpx)


def available_memory() -> int | None:
    """Bytes this process can still use: MemAvailable, capped by a cgroup (container) limit; None if unknown."""
    free = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                free = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    if free is None and hasattr(os, "sysconf"):
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            free = None
    try:
        limit, used = (Path("/sys/fs/cgroup") / name for name in ("memory.max", "memory.current"))
        if limit.read_text().strip() != "max":
            room = int(limit.read_text()) - int(used.read_text())
            free = room if free is None else min(free, room)
    except (OSError, ValueError):
        pass
    return free


def stylize_bytes(height: int, width: int, batch: int = 1) -> int:
    """Estimated peak memory of stylizing `batch` images of height x width in one piece."""
    return BASE_BYTES + BYTES_PER_PIXEL * height * width * batch


def check_memory(shapes: Sequence[tuple[int, int]], batch_size: int, available: int | None = None) -> None:
    """Refuse, before any work, an untiled run whose largest batch of same-size images would not fit in memory."""
    available = available_memory() if available is None else available
    if available is None or not shapes:
        return
    counts: dict[tuple[int, int], int] = {}
    for shape in shapes:
        counts[shape] = counts.get(shape, 0) + 1
    (height, width), count = max(counts.items(), key=lambda item: stylize_bytes(*item[0], min(item[1], batch_size)))
    batch = min(count, batch_size)
    needed = stylize_bytes(height, width, batch)
    if needed > available:
        many = f"{batch} images of " if batch > 1 else ""
        raise UserError(
            f"stylizing {many}{width}x{height} px ({height * width / 1e6:.0f} Mpx) in one piece needs about "
            f"{needed / 2**30:.0f} GB of memory, and {available / 2**30:.1f} GB are free: use --tile 1024 "
            "(memory bounded by the tile), a smaller --content-size" + (" or --batch-size 1" if batch > 1 else "")
        )
