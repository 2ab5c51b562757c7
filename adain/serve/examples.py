"""The pictures the page offers without an upload: example contents and the style gallery, read once at start.

Both come from folders named by the app's configuration (`adain serve --gallery DIR --examples DIR`);
the default gallery is the repository's public-domain paintings, `examples/styles/` (adain.shipped).
Without pictures there, scikit-image's bundled photos and textures fill in (the `demo` extra,
which the `app` extra brings). Everything is read into memory here, at start: a request only
picks an entry of these lists by its index, so no request ever names a file.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from adain.errors import UserError
from adain.media.demo import DEMO_IMAGES, demo_image
from adain.media.folder import list_image_files
from adain.media.images import read_image_bytes
from adain.shipped import EXAMPLE_STYLES, REPO_ROOT

THUMBNAIL = 160  # px, the longer side of a gallery thumbnail
MAX_EXAMPLE_PIXELS = 40_000_000


@dataclass(frozen=True)
class Example:
    """One offered picture: its image, a JPEG thumbnail for the page, and its path for the command line."""

    title: str
    name: str
    image: np.ndarray
    thumbnail: bytes


def thumbnail_jpeg(image: np.ndarray, size: int = THUMBNAIL) -> bytes:
    picture = Image.fromarray(image)
    picture.thumbnail((size, size), Image.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def display_path(path: Path) -> str:
    """A path as the command line shown in the page names it: relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def folder_examples(folder: str | os.PathLike) -> list[Example]:
    """The images of a folder, in memory; unreadable or huge files are left out (the page offers what works)."""
    examples = []
    for file in list_image_files(folder) if Path(folder).is_dir() else []:
        path = Path(file)
        try:
            image = read_image_bytes(path.read_bytes(), path.name, MAX_EXAMPLE_PIXELS)
        except (UserError, OSError):
            continue
        title = path.stem.replace("_", " ").replace("-", " ")
        examples.append(Example(title, display_path(path), image, thumbnail_jpeg(image)))
    return examples


def demo_examples(kind: str) -> list[Example]:
    """scikit-image's photos ("photos") or textures ("textures"), named as `make demo` writes them to data/demo/."""
    folder = "content" if kind == "photos" else "style"
    examples = []
    for name in DEMO_IMAGES[kind]:
        try:
            image = demo_image(name)
        except UserError:
            return []  # scikit-image is not installed: no bundled examples
        title = name.replace("_", " ")
        examples.append(Example(title, f"data/demo/{folder}/{name}.png", image, thumbnail_jpeg(image)))
    return examples


def load_examples(
    contents: str | os.PathLike | None, gallery: str | os.PathLike | None
) -> tuple[list[Example], list[Example]]:
    """(contents, styles) on offer: the folders' pictures, else scikit-image's bundled ones."""
    content_examples = folder_examples(contents) if contents else []
    style_examples = folder_examples(gallery if gallery else EXAMPLE_STYLES)
    return content_examples or demo_examples("photos"), style_examples or demo_examples("textures")
