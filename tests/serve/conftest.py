"""The web app's fixtures: the shipped model, small real images as upload bodies."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from browser import SHIPPED
from PIL import Image

SIZE = 128  # preview and style size in these tests: real images, small enough for 2 CPU cores


@pytest.fixture(scope="session")
def shipped_checkpoint() -> Path:
    """The repository's checkpoints/adain-corpus, else $ADAIN_CHECKPOINT (a worktree without the model)."""
    if (SHIPPED / "decoder.keras").is_file():
        return SHIPPED
    if os.environ.get("ADAIN_CHECKPOINT"):
        return Path(os.environ["ADAIN_CHECKPOINT"])
    message = f"the shipped model is missing: {SHIPPED} (or set ADAIN_CHECKPOINT)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def shipped_stylizer(shipped_checkpoint):
    from adain.inference.stylizer import Stylizer

    return Stylizer.from_checkpoint(shipped_checkpoint)


def small_png(path: Path, size: int = 160) -> bytes:
    """A real image, smaller side `size`, as PNG bytes (what a browser uploads)."""
    image = Image.open(path).convert("RGB")
    scale = size / min(image.size)
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def uploads(shared_data) -> dict[str, bytes]:
    return {
        "content": small_png(shared_data / "content" / "cornell.jpg"),  # 729 x 512 -> 228 x 160
        "other": small_png(shared_data / "content" / "sailboat.jpg"),
        "mondrian": small_png(shared_data / "style" / "mondrian.jpg"),
        "sketch": small_png(shared_data / "style" / "sketch.png"),
        "mask": (shared_data / "mask" / "mask.png").read_bytes(),
    }
