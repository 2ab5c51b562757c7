"""Image files in and out (PIL, no TensorFlow): decoding any mode to RGB, arrays, atomic writes, contact sheets."""

from __future__ import annotations

import contextlib
import glob
import io
import math
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps, JpegImagePlugin

from adain.errors import UserError
from adain.media.files import write_bytes
from adain.media.folder import IMAGE_EXTENSIONS, list_image_files
from adain.media.video import VIDEO_EXTENSIONS

ImageLike = str | os.PathLike | Image.Image | np.ndarray


MIN_SIDE = 16  # the encoder's relu4_1 (stride 8) needs 2x2 for its reflection padding
MAX_PIXELS = Image.MAX_IMAGE_PIXELS  # the most pixels an image may have (Pillow's decompression-bomb limit)
JPEG_MAGIC = b"\xff\xd8\xff"
# Formats an upload may have (Pillow's names); anything else Pillow recognises is "unsupported", not "not an image".
UPLOAD_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF", "TIFF")
# Image formats people have that Pillow cannot read here: recognised by their first bytes for a clear message.
KNOWN_UNREADABLE = {b"ftypheic": "HEIC", b"ftypheix": "HEIC", b"ftypmif1": "HEIF", b"ftypavif": "AVIF", b"%PDF": "PDF"}
USE_INSTEAD = "use JPEG, PNG, WebP, BMP, GIF or TIFF"


class UnreadableImage(UserError):
    """A file or upload that is not an image this package reads: one sentence naming it and saying why.
    `detail` keeps the decoder's own reason (for a training run's list of skipped files)."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


def _reason(exc: BaseException) -> str:
    message = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {message}".rstrip(": ")


def _unreadable(what: str, head: bytes, exc: BaseException) -> UnreadableImage:
    for magic, name in KNOWN_UNREADABLE.items():
        if magic in head:
            return UnreadableImage(f"{what} is a {name} file, an unsupported format: {USE_INSTEAD}", _reason(exc))
    if head.lstrip().startswith((b"<svg", b"<?xml")):
        return UnreadableImage(f"{what} is an SVG drawing, an unsupported format: {USE_INSTEAD}", _reason(exc))
    return UnreadableImage(f"{what} is not an image (or it is damaged)", _reason(exc))


def _name(source: str | os.PathLike | bytes, what: str | None) -> str:
    return what or ("the file" if isinstance(source, bytes) else str(source))


@contextlib.contextmanager
def open_image(
    source: str | os.PathLike | bytes,
    what: str | None = None,
    *,
    min_side: int = 0,
    max_pixels: int | None = MAX_PIXELS,
    formats: Sequence[str] | None = None,
) -> Iterator[Image.Image]:
    """The one way images are opened, from a path or bytes, with one policy: every refusal and every PIL/IO
    failure inside the block is an `UnreadableImage` naming the image (`what`, default its path or "the file").

    min_side: JPEGs are set to decode at the smallest DCT scale (1/2, 1/4, 1/8) that keeps this smaller side
    (a 20000 x 15000 painting costs 14 MB instead of 900 MB); 0 decodes the full size.
    max_pixels: the most pixels decoded (after that reduction), checked from the header before decoding.
    formats: the Pillow formats accepted (default any).
    """
    what = _name(source, what)
    if isinstance(source, bytes):
        if not source:
            raise UnreadableImage(f"{what} is empty")
        stream, head = io.BytesIO(source), source[:64]
    else:
        path = Path(source)
        if not path.is_file():
            raise UnreadableImage(f"image not found: {path}")
        try:
            stream = path.open("rb")
            head = stream.read(64)
            stream.seek(0)
        except OSError as exc:
            raise UnreadableImage(f"{what} cannot be read ({exc.strerror or exc})") from None
        if not head:
            stream.close()
            raise UnreadableImage(f"{what} is empty")
    try:
        with stream, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # max_pixels below is the limit
            if head.startswith(JPEG_MAGIC):  # opened directly: Pillow's bomb check would count the full size
                image = JpegImagePlugin.JpegImageFile(stream)
            else:
                image = Image.open(stream)
            with image:
                if formats is not None and image.format not in formats:
                    raise UnreadableImage(f"{what} is a {image.format} image, an unsupported format: {USE_INSTEAD}")
                width, height = image.size
                if min_side > 0 and image.format == "JPEG" and min(width, height) > min_side:
                    scale = min_side / min(width, height)
                    image.draft(None, (math.ceil(width * scale), math.ceil(height * scale)))
                if max_pixels is not None and image.size[0] * image.size[1] > max_pixels:
                    raise UnreadableImage(
                        f"{what} is {width}x{height} px ({width * height / 1e6:.1f} megapixels), more than the "
                        f"{max_pixels / 1e6:g} megapixels allowed (refused as a possible decompression bomb)"
                    )
                yield image
    except UserError:
        raise
    except Image.DecompressionBombError as exc:
        raise UnreadableImage(
            f"{what} has more than {2 * MAX_PIXELS / 1e6:.0f} megapixels (refused as a possible decompression bomb)",
            _reason(exc),
        ) from None
    except Exception as exc:  # noqa: BLE001 - UnidentifiedImageError, OSError, SyntaxError, EOFError, struct.error, ...
        raise _unreadable(what, head, exc) from None


def decode_image(
    source: str | os.PathLike | bytes,
    what: str | None = None,
    *,
    min_side: int = 0,
    max_pixels: int | None = MAX_PIXELS,
    formats: Sequence[str] | None = None,
    smallest: int = 0,
) -> np.ndarray:
    """The one image decoder (training, inference, evaluation, the web app): a path or bytes -> RGB uint8 [H, W, 3]
    of the first frame, EXIF orientation applied, any mode converted (`to_rgb_uint8`); `open_image`'s options and
    refusals, and images with a side under `smallest` refused. Every failure is one `UnreadableImage`."""
    what = _name(source, what)
    with open_image(source, what, min_side=min_side, max_pixels=max_pixels, formats=formats) as image:
        try:
            oriented = ImageOps.exif_transpose(image)
        except Exception:  # noqa: BLE001 - corrupt EXIF: the pixels may still be fine, keep them as stored
            oriented = image
        array = to_rgb_uint8(oriented)  # a failure here (truncated data) is open_image's: UnreadableImage
    if array.ndim != 3 or array.shape[2] != 3 or 0 in array.shape:
        raise UnreadableImage(f"{what} is not an image (or it is damaged)", f"decoded to {array.shape}")
    if min(array.shape[:2]) < smallest:
        raise UnreadableImage(
            f"{what} is {array.shape[1]}x{array.shape[0]} px: images need at least {smallest} px on each side"
        )
    return np.ascontiguousarray(array)


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Decode any common image file to RGB uint8 [H, W, 3]; UnreadableImage (a UserError) if it is not one."""
    return decode_image(path)


def read_image_bytes(data: bytes, what: str = "the file", max_pixels: int | None = None) -> np.ndarray:
    """An uploaded file's bytes -> RGB uint8 [H, W, 3], in memory: `decode_image` with the formats and the
    smallest side the web app accepts."""
    return decode_image(data, what, max_pixels=max_pixels or MAX_PIXELS, formats=UPLOAD_FORMATS, smallest=MIN_SIDE)


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
