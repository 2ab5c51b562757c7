"""A messy image tree like a real WikiArt dump: odd formats decode to RGB, bad files are skipped and counted.

The tree holds every case of issue 3 (zero-byte, truncated, corrupt, not-an-image, unsupported and
decompression-bomb files; CMYK, grayscale, RGBA/LA/P, 16-bit, animated GIF, BMP, TIFF, WebP, 1-bit,
EXIF-rotated, progressive, a 12000x9000 JPEG, a 3x3 image, a panorama, nested and unicode paths)
plus stray files that are not images at all and must be ignored, not counted.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from support import run_script, write_small_config

LOAD, CROP = 48, 32


def png_bytes(width: int, height: int, bit_depth: int, color_type: int, rows: bytes) -> bytes:
    """A PNG written by hand (PIL cannot write 16-bit RGB, nor lie about its size)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def solid(color, size=(40, 30), mode="RGB") -> Image.Image:
    return Image.new(mode, size, color)


def build_messy_tree(root: Path, painting: Path) -> tuple[dict[str, tuple | None], list[str]]:
    """Write the tree; returns ({good file: expected mean RGB or None}, [bad files]) as paths relative to root."""
    real = Image.open(painting).convert("RGB")
    real.thumbnail((80, 80))
    good: dict[str, tuple | None] = {}
    bad: list[str] = []

    def put(relative: str, data: bytes, expected=None, is_bad=False) -> bytes:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        (bad.append(relative) if is_bad else good.__setitem__(relative, expected))
        return data

    # Good, ordinary and odd.
    jpeg = put("photos/painting.jpg", encoded(real, "JPEG", quality=90))
    put("photos/progressive.jpeg", encoded(real, "JPEG", progressive=True))
    put("photos/UPPER CASE.JPG", encoded(solid((30, 160, 60)), "JPEG", quality=95), (30, 160, 60))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    put("photos/exif_rotated.jpg", encoded(solid((90, 90, 200), (40, 20)), "JPEG", exif=exif), (90, 90, 200))
    put("Artist A/portrait/cmyk.jpg", encoded(solid((220, 30, 30)).convert("CMYK"), "JPEG", quality=95), (220, 30, 30))
    put("Artist A/portrait/gray.jpg", encoded(solid(128, mode="L"), "JPEG", quality=95), (128, 128, 128))
    put("Artist A/landscape/gray.png", encoded(real.convert("L"), "PNG"))
    half = Image.new("LA", (40, 30), (0, 255))
    half.paste((0, 0), (0, 0, 20, 30))  # left half fully transparent: composited on white
    put("Artist A/landscape/la.png", encoded(half, "PNG"), (127.5, 127.5, 127.5))
    put("Artist A/landscape/rgba.png", encoded(real.convert("RGBA"), "PNG"))
    palette = Image.new("P", (40, 30), 0)
    palette.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    palette.paste(1, (0, 0, 20, 30))
    palette.info["transparency"] = 1  # the blue half is transparent: white
    put("Artist B/palette.png", encoded(palette, "PNG", transparency=1), (255, 127.5, 127.5))
    gray16 = struct.pack(">H", 40000) * 40
    put("Artist B/gray16.png", png_bytes(40, 30, 16, 0, (b"\0" + gray16) * 30), (155.6,) * 3)
    rgb16 = struct.pack(">HHH", 65535, 32896, 0) * 40
    put("Artist B/rgb16.png", png_bytes(40, 30, 16, 2, (b"\0" + rgb16) * 30), (255, 128, 0))
    frames = [solid((250, 0, 0)).convert("P"), solid((0, 0, 250)).convert("P")]
    put(
        "Artist B/animated.gif",
        encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50),
        (250, 0, 0),
    )
    put("Artist B/bitmap.bmp", encoded(real, "BMP"))
    put("Artist B/scan.tif", encoded(real, "TIFF", compression="tiff_lzw"))
    put("Artist B/modern.webp", encoded(real, "WEBP"))
    put("Artist B/one_bit.png", encoded(real.convert("1"), "PNG"))
    put("tiny/3x3.png", encoded(solid((10, 200, 100), (3, 3)), "PNG"), (10, 200, 100))
    put("wide/panorama.jpg", encoded(real.resize((2000, 40)), "JPEG"))
    put("deep/a/b/c/d/nested.jpg", jpeg)
    put("unicode/été café.jpg", jpeg)
    put(os.fsdecode(b"latin-1/caf\xe9 cr\xe8me.jpg"), jpeg)  # a name that is not UTF-8, as old dumps have
    put("folder.jpg/inside.png", encoded(real, "PNG"))  # a folder with an image's name
    huge = Image.new("RGB", (12000, 9000), (200, 120, 40))
    ImageDraw.Draw(huge).rectangle((3000, 2000, 9000, 7000), fill=(40, 120, 200))
    put("huge/12000x9000.jpg", encoded(huge, "JPEG", quality=80))
    del huge

    # Bad: every one must be skipped and counted, none may stop training.
    rng = np.random.default_rng(3)
    put("bad/zero_bytes.jpg", b"", is_bad=True)
    put("bad/truncated.jpg", jpeg[: len(jpeg) // 2], is_bad=True)
    full_png = encoded(real, "PNG")
    put("bad/truncated.png", full_png[: len(full_png) // 2], is_bad=True)
    put("bad/corrupt.jpg", rng.integers(0, 256, 5000, dtype=np.uint8).tobytes(), is_bad=True)
    put("bad/jpeg_garbage.jpg", b"\xff\xd8\xff\xe0" + rng.integers(0, 256, 3000, dtype=np.uint8).tobytes(), is_bad=True)
    put("bad/page.png", b"<!DOCTYPE html><html><body>404 Not Found</body></html>", is_bad=True)
    put("bad/photo.heic.jpg", b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + bytes(200), is_bad=True)  # unsupported
    put("bad/bomb.png", png_bytes(100_000, 100_000, 8, 2, b""), is_bad=True)  # 10 gigapixels claimed
    put("bad/tab\tin name.jpg", jpeg[:100], is_bad=True)  # and a name that would break a naive TSV

    # Not images at all: not listed, not counted.
    for stray in ("notes.txt", "Artist A/metadata.csv", ".DS_Store", "photos/._painting.jpg", "Thumbs.db"):
        (root / stray).write_bytes(b"not an image")
    return good, bad


@pytest.fixture(scope="module")
def messy_tree(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("messy")
    good, bad = build_messy_tree(root, shared_data / "style" / "mondrian.jpg")
    return root, good, bad


def test_listing_finds_images_once_and_ignores_strays(messy_tree):
    from adain.media.folder import list_image_files

    root, good, bad = messy_tree
    os.symlink(root / "deep", root / "deep" / "a" / "loop")  # a link cycle must not be walked forever
    try:
        listed = list_image_files(root)
    finally:
        os.unlink(root / "deep" / "a" / "loop")
    relative = [os.path.relpath(p, root) for p in listed]
    assert sorted(relative) == sorted([*good, *bad])
    assert listed == list_image_files(root)  # stable order


def test_every_good_file_decodes_to_rgb_and_crops_to_size(messy_tree):
    import tensorflow as tf

    from adain.data.decoding import MAX_DECODED_PIXELS
    from adain.media.images import decode_image
    from adain.preprocess import resize_smaller_side_and_random_crop

    root, good, _ = messy_tree
    for relative, expected in good.items():
        image = decode_image(root / relative, min_side=LOAD, max_pixels=MAX_DECODED_PIXELS)
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3, relative
        assert min(image.shape[:2]) >= min(LOAD, 3), relative
        if expected is not None:
            np.testing.assert_allclose(image.reshape(-1, 3).mean(0), expected, atol=6, err_msg=relative)
        crop = resize_smaller_side_and_random_crop(image, LOAD, CROP, tf.constant([0, 1], tf.int64))
        assert crop.shape == (CROP, CROP, 3), relative
    assert decode_image(root / "photos/exif_rotated.jpg").shape == (40, 20, 3)  # EXIF orientation applied


def test_one_decoder_one_policy_for_paths_and_bytes(messy_tree):
    """Training, the command line and the web app share adain.media.images.decode_image: a bad file is refused
    with the same one-line sentence whether it comes as a path or as uploaded bytes; good files decode the same."""
    from adain.media.images import UnreadableImage, decode_image, read_image_bytes

    root, good, bad = messy_tree
    for relative in bad:
        path = root / relative
        with pytest.raises(UnreadableImage) as from_path:
            decode_image(path, "the image")
        with pytest.raises(UnreadableImage) as from_bytes:
            decode_image(path.read_bytes(), "the image")
        assert str(from_path.value) == str(from_bytes.value), relative
        assert str(from_path.value).startswith("the image ") and "\n" not in str(from_path.value), relative
    with pytest.raises(UnreadableImage, match="decompression bomb"):
        decode_image(root / "bad/bomb.png")
    with pytest.raises(UnreadableImage, match="HEIC file, an unsupported format"):
        read_image_bytes((root / "bad/photo.heic.jpg").read_bytes(), "photo")
    painting = root / "photos/painting.jpg"
    np.testing.assert_array_equal(decode_image(painting), read_image_bytes(painting.read_bytes()))


def test_huge_jpeg_is_decoded_at_reduced_scale(messy_tree):
    from adain.media.images import decode_image, open_image

    root = messy_tree[0]
    with open_image(root / "huge/12000x9000.jpg", min_side=LOAD) as image:
        assert image.size == (1500, 1125)  # 1/8 DCT scaling, 64x fewer pixels
    with open_image(root / "huge/12000x9000.jpg", min_side=2000) as image:
        assert image.size == (3000, 2250)  # never below the requested side
    image = decode_image(root / "huge/12000x9000.jpg", min_side=LOAD)
    assert image.shape == (1125, 1500, 3)
    np.testing.assert_allclose(image[10, 10], (200, 120, 40), atol=6)
    np.testing.assert_allclose(image[562, 750], (40, 120, 200), atol=6)


def test_pipeline_skips_and_counts_exactly_the_bad_files(messy_tree):
    from adain.config import SourceConfig
    from adain.data.decoding import SkippedFiles
    from adain.data.pipeline import FolderImages, display_name, random_crops

    root, good, bad = messy_tree
    skipped = SkippedFiles(verbose=False)
    images = FolderImages(SourceConfig(path=str(root)), "data.style")
    # One epoch plus one crop: every file has been tried once, bad ones never crash the stream.
    crops = list(random_crops(images, LOAD, CROP, seed=0, skipped=skipped).take(len(good) + 1))
    assert all(crop.shape == (CROP, CROP, 3) for crop in crops)
    assert sorted(skipped.reasons()) == sorted(display_name(str(root / relative)) for relative in bad)
    assert all(skipped.reasons().values())  # each with its reason
    cached = list(random_crops(images, LOAD, CROP, seed=0, skipped=skipped, cache=True).take(len(good) + 1))
    assert all(crop.shape == (CROP, CROP, 3) for crop in cached)
    assert len(skipped) == len(bad)


def test_skipped_list_survives_a_restart(tmp_path, messy_tree):
    """What train.py keeps in RUN_DIR/skipped_files.tsv: a resumed run keeps the count and retries nothing."""
    from adain.config import SourceConfig
    from adain.data.decoding import SkippedFiles
    from adain.data.pipeline import FolderImages, random_crops

    class Recording(SkippedFiles):
        added: list[str] = []

        def add(self, name: str, reason: str) -> None:
            self.added.append(name)
            super().add(name, reason)

    root, good, bad = messy_tree
    images = FolderImages(SourceConfig(path=str(root)), "data.style")
    first = Recording(tmp_path / "skipped.tsv", verbose=False)
    list(random_crops(images, LOAD, CROP, seed=1, skipped=first).take(len(good) + 1))
    assert len(first) == len(bad) and len(Recording.added) == len(bad)
    Recording.added.clear()
    resumed = Recording(tmp_path / "skipped.tsv", verbose=False)
    assert resumed.reasons() == first.reasons()  # names with tabs and non-UTF-8 bytes survive the file
    list(random_crops(images, LOAD, CROP, seed=2, skipped=resumed).take(len(good) + 1))
    assert Recording.added == [] and len(resumed) == len(bad)


def test_all_unreadable_folder_is_a_one_line_error(tmp_path, shared_data):
    from adain.config import load_config
    from adain.data.pipeline import training_dataset
    from adain.errors import UserError

    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.jpg").write_bytes(b"")
    (tmp_path / "bad" / "b.png").write_bytes(b"oops")
    config = load_config(
        None,
        [
            "data.content.source=folder",
            f"data.content.path={tmp_path / 'bad'}",
            f"data.style.path={shared_data / 'style'}",
        ],
    )
    with pytest.raises(UserError, match="data.content: no readable image in .*bad"):
        training_dataset(config)


def skipped_scalars(log_dir: Path) -> list[tuple[int, float]]:
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    values = []
    for events in sorted(log_dir.glob("events.out.tfevents.*")):
        accumulator = EventAccumulator(str(events), size_guidance={"tensors": 0})
        accumulator.Reload()
        if "data/skipped_files" in accumulator.Tags().get("tensors", []):
            values += [
                (e.step, float(tf.make_ndarray(e.tensor_proto))) for e in accumulator.Tensors("data/skipped_files")
            ]
    return values


@pytest.mark.slow
def test_train_py_on_the_messy_tree(tmp_path, messy_tree):
    from adain.data.decoding import SkippedFiles
    from adain.data.pipeline import display_name

    root, good, bad = messy_tree
    run_dir = tmp_path / "run"
    # Both streams read the whole tree; 2 * steps >= len(good) + 1 crops each: every file is tried.
    steps = (len(good) + 2) // 2
    config = write_small_config(tmp_path / "c.yaml", run_dir, root, root, steps=steps, checkpoint_every=steps)
    first = run_script("train.py", "--config", str(config))  # content and style: the whole messy tree
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Traceback" not in first.stderr
    warnings = [line for line in first.stderr.splitlines() if line.startswith("warning: skipped unreadable image")]
    assert len(warnings) == len(bad)  # once each, although both streams met them
    for relative in bad:
        assert sum(f" {root / relative}: " in line for line in warnings) == 1, relative
    assert f"data: {len(bad)} unreadable image files skipped" in first.stderr
    listed = SkippedFiles(run_dir / "skipped_files.tsv", verbose=False).reasons()
    assert sorted(listed) == sorted(display_name(str(root / relative)) for relative in bad)
    scalars = skipped_scalars(run_dir / "logs")
    assert [step for step, _ in scalars] == list(range(1, steps + 1))
    assert scalars[-1][1] == len(bad)


def test_a_large_image_under_the_hard_limit_is_decoded_without_a_warning(tmp_path):
    """95 Mpx: over Pillow's warning threshold (89 Mpx), under its hard limit (179 Mpx) and the pipeline's own.
    Was: a DecompressionBombWarning on stderr, in the middle of the training log."""
    import warnings

    from adain.data.pipeline import readable_images

    path = tmp_path / "large.png"
    Image.new("1", (10000, 9500), 1).save(path)  # a few KB on disk
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (decoded,) = list(readable_images([(str(path), str(path))], 16))
    assert decoded.shape[2] == 3 and min(decoded.shape[:2]) >= 16
    assert [str(w.message) for w in caught if issubclass(w.category, Image.DecompressionBombWarning)] == []
