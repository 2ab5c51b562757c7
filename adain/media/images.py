"""Image files in and out (PIL, no TensorFlow): decoding any mode to RGB, arrays, atomic writes, contact sheets."""

from __future__ import annotations

import contextlib
import glob
import io
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from adain.errors import UserError
from adain.media.files import write_bytes
from adain.media.folder import IMAGE_EXTENSIONS, list_image_files
from adain.media.video import VIDEO_EXTENSIONS

ImageLike = str | os.PathLike | Image.Image | np.ndarray


MIN_SIDE = 16  # the encoder's relu4_1 (stride 8) needs 2x2 for its reflection padding
MAX_PIXELS = Image.MAX_IMAGE_PIXELS  # beyond it, opening a file is refused as a decompression bomb (open_image)


@contextlib.contextmanager
def open_image(path: str | os.PathLike) -> Iterator[Image.Image]:
    """The one way image files are opened: every PIL/IO failure (including Pillow's decompression-bomb
    refusal) inside the block becomes a one-line UserError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"image not found: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                yield image
    except UserError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UserError(
            f"cannot read image {path}: too many pixels (over {Image.MAX_IMAGE_PIXELS}), "
            "refused as a possible decompression bomb"
        ) from None
    except Exception as exc:  # noqa: BLE001 - UnidentifiedImageError, OSError, SyntaxError, EOFError, ...
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"cannot read image {path}: {reason}") from None


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Decode any common image file to RGB uint8 [H, W, 3]; UserError if it is not one."""
    with open_image(path) as image:
        image = ImageOps.exif_transpose(image)
        return to_rgb_uint8(image)


def check_image_size(height: int, width: int, what: str) -> None:
    """Refuse sizes the encoder cannot take: under MIN_SIDE (a clear message instead of a MirrorPad error), or
    over Pillow's decompression-bomb limit, the most pixels an input may have (instead of running out of memory)."""
    if min(height, width) < MIN_SIDE:
        raise UserError(
            f"{what} is {width}x{height} px: images need at least {MIN_SIDE} px on each side "
            "(resize it, or use --content-size/--style-size)"
        )
    if height * width > MAX_PIXELS:
        raise UserError(
            f"{what} would be {width}x{height} px ({height * width / 1e6:.0f} Mpx): over the {MAX_PIXELS / 1e6:.0f} Mpx "
            "limit of images (use a smaller --content-size/--style-size)"
        )


def resized_shape(height: int, width: int, size: int) -> tuple[int, int]:
    """(height, width) once the smaller side is `size` (0 keeps it): adain.preprocess.smaller_side_shape's rounding."""
    if size <= 0:
        return height, width
    scale = size / min(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def oriented_size(path: str | os.PathLike) -> tuple[int, int]:
    """(height, width) of an image file as it is shown (EXIF rotation applied), from its header alone."""
    with open_image(path) as image:
        width, height = image.size
        if image.getexif().get(0x0112) in (5, 6, 7, 8):
            width, height = height, width
    return height, width


def check_resized_image(path: str | os.PathLike, size: int, crop: bool, what: str) -> tuple[int, int]:
    """Before any decoding: the image at `path`, resized (smaller side `size`) and optionally centre-cropped to a
    square, must suit the encoder (check_image_size). Returns that (height, width)."""
    height, width = resized_shape(*oriented_size(path), size)
    if crop:
        height = width = min(height, width)
    check_image_size(height, width, f"{what} {path}" + (" (after resizing)" if size else ""))
    return height, width


def to_rgb_uint8(image: Image.Image) -> np.ndarray:
    """Any PIL mode (P, LA, RGBA, CMYK, I;16, ...) to RGB uint8, alpha composited on white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if array.max() > 255 else 255.0
        image = Image.fromarray((array / peak * 255.0).round().astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def as_rgb_array(image) -> np.ndarray:
    """Path, PIL image, array or tensor (anything with .numpy()) -> [H, W, 3] array.

    Files and PIL images become RGB uint8; arrays keep their dtype (a uint8 image is not copied to float).
    Grey [H, W] arrays are repeated to 3 channels, an alpha channel is dropped, a batch of one is unwrapped.
    """
    if isinstance(image, (str, os.PathLike)):
        return load_image(image)
    if isinstance(image, Image.Image):
        return to_rgb_uint8(image)
    array = image.numpy() if hasattr(image, "numpy") else np.asarray(image)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] not in (3, 4):
        raise UserError(f"expected an image array of shape (H, W, 3), got {array.shape}")
    return array[..., :3]


def to_uint8(image) -> np.ndarray:
    """Float RGB in 0..255 -> uint8, rounded and clipped (how outputs are written)."""
    return np.asarray(np.clip(np.round(np.asarray(image, np.float32)), 0, 255), np.uint8)


def save_image(image, path: str | os.PathLike, quality: int = 95) -> Path:
    """Write atomically (temp file + rename): a failed or killed write leaves no partial file."""
    path = Path(path)
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise UserError(f"cannot write {path}: unknown image extension (use one of {', '.join(IMAGE_EXTENSIONS)})")
    options = {"quality": quality} if path.suffix.lower() in (".jpg", ".jpeg", ".webp") else {}
    encoded = io.BytesIO()  # encoded in memory: Pillow's JPEG writer loses a short write to a file
    Image.fromarray(to_uint8(image)).save(encoded, format=Image.registered_extensions()[path.suffix.lower()], **options)
    try:
        write_bytes(path, encoded.getvalue(), suffix=path.suffix)  # checked complete before it is renamed in place
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def expand_inputs(specs: Sequence[str], what: str, videos: bool = False) -> list[Path]:
    """Files, directories (searched recursively for images) or globs -> paths, in order, without repeats."""
    extensions = IMAGE_EXTENSIONS + (VIDEO_EXTENSIONS if videos else ())
    found: list[Path] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            matches = [Path(p) for p in list_image_files(path)]
        elif path.is_file():
            matches = [path]
        else:
            matches = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).suffix.lower() in extensions)
        if not matches and path.is_dir():
            raise UserError(f"{what}: no image files under {spec} ({', '.join(extensions)})")
        if not matches:
            raise UserError(f"{what} not found: {spec}")
        found += [m for m in matches if m not in found]
    return found


def image_grid(
    cells: Sequence[Sequence[np.ndarray | None]],
    cell: int = 192,
    gap: int = 4,
    header: Sequence[str] | None = None,
) -> np.ndarray:
    """Images in rows and columns, each fitted into a cell x cell square (None: left blank), with an optional
    row of column titles on top: the one layout behind every contact sheet."""
    columns = max((len(row) for row in cells), default=0)
    title = 18 if header else 0
    height = title + len(cells) * cell + (len(cells) + 1) * gap
    canvas = Image.new("RGB", (columns * cell + (columns + 1) * gap, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for col, text in enumerate(header or []):
        draw.text((gap + col * (cell + gap) + 2, 3), text, fill=(0, 0, 0))
    for row, images in enumerate(cells):
        for col, image in enumerate(images):
            if image is None:
                continue
            thumb = Image.fromarray(to_uint8(image))
            thumb.thumbnail((cell, cell), Image.LANCZOS)
            top, left = title + gap + row * (cell + gap), gap + col * (cell + gap)
            canvas.paste(thumb, (left + (cell - thumb.width) // 2, top + (cell - thumb.height) // 2))
    return np.asarray(canvas)


def contact_sheet(
    contents: Sequence[np.ndarray],
    styles: Sequence[np.ndarray],
    outputs: Sequence[Sequence[np.ndarray | None]],
    cell: int = 192,
    gap: int = 4,
) -> np.ndarray:
    """Grid with styles along the top, contents down the left, outputs[i][j] at (content i, style j)."""
    cells = [[None, *styles]] + [[content, *outputs[i]] for i, content in enumerate(contents)]
    return image_grid(cells, cell, gap)


# Formats an upload may have (Pillow's names); anything else Pillow recognises is "unsupported", not "not an image".
UPLOAD_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF", "TIFF")
# Image formats people upload that Pillow cannot read here: recognised by their first bytes for a clear message.
KNOWN_UNREADABLE = {b"ftypheic": "HEIC", b"ftypheix": "HEIC", b"ftypmif1": "HEIF", b"ftypavif": "AVIF", b"%PDF": "PDF"}


def read_image_bytes(data: bytes, what: str = "the file", max_pixels: int | None = None) -> np.ndarray:
    """An uploaded file's bytes -> RGB uint8 [H, W, 3], in memory (no file is written).

    Every refusal is one UserError sentence a person can act on: not an image, an unsupported format, or more
    pixels than `max_pixels` (checked from the header, before anything is decoded)."""
    if not data:
        raise UserError(f"{what} is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in UPLOAD_FORMATS:
                    raise UserError(
                        f"{what} is a {image.format} image, an unsupported format: use JPEG, PNG, WebP, BMP, GIF or TIFF"
                    )
                width, height = image.size
                if max_pixels is not None and width * height > max_pixels:
                    raise UserError(
                        f"{what} is {width}x{height} px ({width * height / 1e6:.1f} megapixels), more than the "
                        f"{max_pixels / 1e6:g} megapixels allowed"
                    )
                array = to_rgb_uint8(ImageOps.exif_transpose(image))
    except UserError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UserError(f"{what} has too many pixels (refused as a possible decompression bomb)") from None
    except Exception:  # noqa: BLE001 - UnidentifiedImageError, OSError, SyntaxError, EOFError, ...
        head = data[:64]
        for magic, name in KNOWN_UNREADABLE.items():
            if magic in head:
                raise UserError(
                    f"{what} is a {name} file, an unsupported format: use JPEG, PNG, WebP, BMP, GIF or TIFF"
                ) from None
        if head.lstrip().startswith((b"<svg", b"<?xml")):
            raise UserError(
                f"{what} is an SVG drawing, an unsupported format: use JPEG, PNG, WebP, BMP, GIF or TIFF"
            ) from None
        raise UserError(f"{what} is not an image (or it is damaged)") from None
    if min(array.shape[:2]) < MIN_SIDE:
        raise UserError(
            f"{what} is {array.shape[1]}x{array.shape[0]} px: images need at least {MIN_SIDE} px on each side"
        )
    return array
