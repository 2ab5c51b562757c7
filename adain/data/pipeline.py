"""Training data: image sources -> tf.data pipelines of random crops, as in the paper.

Smaller side resized to `load_size` (aspect kept; smaller images are upscaled), random
`crop_size` square crop, content and style streams zipped into training pairs. Files are
listed once; the order is reshuffled every epoch from the run's seed and each crop's
position comes from (seed, position in the stream), so a seed replays the same batches.
Decoding runs in parallel (AUTOTUNE) through PIL: odd formats become RGB, large JPEGs are
decoded at reduced scale, and unreadable files are skipped, counted and reported.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import tensorflow as tf

from adain.config import Config, SourceConfig
from adain.data.decoding import MAX_DECODED_PIXELS, SkippedFiles
from adain.data.sharding import per_replica_batch, shard_files
from adain.data.tfds import SHUFFLE_BUFFER, TfdsImages
from adain.errors import UserError
from adain.media.demo import DEMO_IMAGES, demo_image
from adain.media.folder import iter_image_files, list_image_files
from adain.media.images import UnreadableImage, decode_image, save_image
from adain.preprocess import (
    prepare_image,
    random_crop,
    random_load_size,
    random_scaled_crop,
    resize_smaller_side,
    resize_smaller_side_and_random_crop,
)

AUTOTUNE = tf.data.AUTOTUNE
NO_IMAGE = np.zeros((0, 0, 3), np.uint8)  # what the decoder hands tf.data for a skipped file


def fill_demo_folder(path: Path, which: str) -> None:
    """Write scikit-image's bundled images into `path` (for the demo config)."""
    path.mkdir(parents=True, exist_ok=True)
    for name in DEMO_IMAGES[which]:
        save_image(demo_image(name), path / f"{name}.png")


def _demo_ready(source: SourceConfig) -> Path:
    folder = Path(source.path)
    if source.demo and next(iter_image_files(folder), None) is None:
        fill_demo_folder(folder, source.demo)
    return folder


def source_paths(source: SourceConfig) -> list[Path]:
    """Image files of a folder source (filling a demo folder on first use)."""
    if source.source != "folder":
        raise UserError(f"source '{source.source}' has no files to list")
    folder = _demo_ready(source)
    paths = list_image_files(folder)
    if not paths:
        raise UserError(f"no images found under {folder}")
    return [Path(p) for p in paths]


def display_name(path: str) -> str:
    """A path as text for reports; file names that are not UTF-8 get backslash escapes instead of failing."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


class FolderImages:
    """A folder tree of image files, listed once; records are (path as raw bytes, its display name).

    Paths travel as bytes because Linux file names need not be UTF-8 (tf.string would refuse them).
    """

    payload_is_path = True

    def __init__(self, source: SourceConfig, where: str) -> None:
        start = time.perf_counter()
        folder = _demo_ready(source)
        self.paths = list_image_files(folder)
        if not self.paths:
            raise UserError(f"{where}: no images found under {folder}")
        self.names = [display_name(p) for p in self.paths]
        self.name = str(folder)
        self.describe = f"{len(self.paths)} image files under {folder} (listed in {time.perf_counter() - start:.1f} s)"
        self.shuffle_buffer = len(self.paths)

    def records(self, seed: int, shuffle: bool) -> tf.data.Dataset:
        files = tf.data.Dataset.from_tensor_slices(([os.fsencode(p) for p in self.paths], self.names))
        if shuffle:
            files = files.shuffle(len(self.paths), seed=seed, reshuffle_each_iteration=True)
        return files

    def payloads(self) -> Iterator[tuple[str, str]]:
        return zip(self.paths, self.names, strict=True)


class TfdsSourceImages:
    """A TFDS split (see adain.data.tfds); records are (encoded image, record id)."""

    payload_is_path = False

    def __init__(self, source: SourceConfig, where: str) -> None:
        self.tfds = TfdsImages(source, where)
        self.records = self.tfds.records
        self.shuffle_buffer = SHUFFLE_BUFFER
        self.name = self.describe = self.tfds.describe

    def payloads(self) -> Iterator[tuple[bytes, str]]:
        for payload, name in self.records(seed=0, shuffle=False).as_numpy_iterator():
            yield payload, name.decode("utf-8", "replace")


ImageSource = FolderImages | TfdsSourceImages


def open_source(source: SourceConfig, where: str) -> ImageSource:
    if source.source == "folder":
        return FolderImages(source, where)
    if source.source == "tfds":
        return TfdsSourceImages(source, where)
    raise UserError(f"config: {where}.source must be 'folder' or 'tfds', got '{source.source}'")


def readable_images(
    payloads: Iterable[tuple[str | bytes, str]], min_side: int, skipped: SkippedFiles | None = None
) -> Iterator[np.ndarray]:
    """Decoded images from (path or bytes, name) pairs, unreadable ones passed over (and recorded)."""
    for payload, name in payloads:
        if skipped is not None and name in skipped:
            continue
        try:
            yield decode_image(payload, name, min_side=min_side, max_pixels=MAX_DECODED_PIXELS)
        except UnreadableImage as exc:
            if skipped is not None:
                skipped.add(name, exc.detail)


def decode_fn(images: ImageSource, min_side: int, skipped: SkippedFiles) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """(payload, name) tensors -> uint8 [H, W, 3] tensor; an unreadable file gives a 0x0 image to filter out."""

    def decode(payload: bytes, name: bytes) -> np.ndarray:
        name = name.decode("utf-8", "replace")
        if name in skipped:
            return NO_IMAGE
        try:
            source = os.fsdecode(payload) if images.payload_is_path else payload
            return decode_image(source, name, min_side=min_side, max_pixels=MAX_DECODED_PIXELS)
        except UnreadableImage as exc:
            skipped.add(name, exc.detail)
            return NO_IMAGE

    def decode_tensor(payload: tf.Tensor, name: tf.Tensor) -> tf.Tensor:
        image = tf.numpy_function(decode, [payload, name], tf.uint8, name="decode_image")
        image.set_shape([None, None, 3])
        return image

    return decode_tensor


def _is_image(image: tf.Tensor, *rest) -> tf.Tensor:
    return tf.shape(image)[0] > 0


def random_crops(
    images: ImageSource,
    load_size: int,
    crop_size: int,
    seed: int,
    skipped: SkippedFiles,
    cache: bool = False,
    shard: tuple[int, int] | None = None,
    min_load_size: int | None = None,
) -> tf.data.Dataset:
    """Endless stream of [crop, crop, 3] float32 crops in 0..255, the source reshuffled every epoch.

    Without cache each crop is resampled straight from the decoded file (only the crop's pixels are
    computed); with cache the decoded, resized images are kept in memory as uint8 and cropped from there.
    `shard` (count, index): keep every count-th record, before decoding (multi-worker sharding by data).
    `min_load_size`: each crop is taken at a random smaller side in [min_load_size, load_size] (scale jitter).
    """
    decode = decode_fn(images, load_size, skipped)
    base_seed = tf.constant(seed, tf.int64)

    def scale_of(index: tf.Tensor) -> tf.Tensor:  # scale jitter: the crop's smaller side, from (seed, index)
        fold = tf.random.experimental.stateless_fold_in(tf.stack([base_seed, index]), 1)
        return random_load_size(min_load_size, load_size, fold)

    if cache:
        records = images.records(seed, shuffle=False)
        if shard is not None:
            records = records.shard(*shard)
        resized = (
            records.map(decode, num_parallel_calls=AUTOTUNE, deterministic=True)
            .filter(_is_image)
            .map(
                lambda image: tf.cast(tf.round(resize_smaller_side(image, load_size)), tf.uint8),
                num_parallel_calls=AUTOTUNE,
                deterministic=True,
            )
            .cache()
        )
        stream = resized.shuffle(images.shuffle_buffer, seed=seed, reshuffle_each_iteration=True).repeat()

        def cached_crop(index: tf.Tensor, image: tf.Tensor) -> tf.Tensor:
            if min_load_size is None:
                return tf.cast(random_crop(image, crop_size, tf.stack([base_seed, index])), tf.float32)
            return random_scaled_crop(image, crop_size, load_size, scale_of(index), tf.stack([base_seed, index]))

        return stream.enumerate().map(cached_crop, num_parallel_calls=AUTOTUNE, deterministic=True)
    stream = images.records(seed, shuffle=True).repeat().enumerate()
    if shard is not None:
        stream = stream.shard(*shard)
    decoded = stream.map(
        lambda index, record: (decode(*record), index), num_parallel_calls=AUTOTUNE, deterministic=True
    ).filter(_is_image)

    def file_crop(image: tf.Tensor, index: tf.Tensor) -> tf.Tensor:
        size = load_size if min_load_size is None else scale_of(index)
        return resize_smaller_side_and_random_crop(image, size, crop_size, tf.stack([base_seed, index]))

    return decoded.map(file_crop, num_parallel_calls=AUTOTUNE, deterministic=True)


def recolored(crops: tf.data.Dataset, seed: int, share: float) -> tf.data.Dataset:
    """`random_recolor` over a stream of crops, seeded by (seed, position in the stream) so a seed replays it."""
    base = tf.constant(seed, tf.int64)
    return crops.enumerate().map(
        lambda index, crop: random_recolor(
            crop, tf.random.experimental.stateless_fold_in(tf.stack([base, index]), 2), share
        ),
        num_parallel_calls=AUTOTUNE,
        deterministic=True,
    )


def random_recolor(crop: tf.Tensor, seed: tf.Tensor, share: float) -> tf.Tensor:
    """With probability `share`, a [H, W, 3] 0..255 crop with its hue rotated at random and its saturation scaled by
    x0.6..x1.8: a corpus of mostly muted old paintings then also trains saturated greens, violets and posters."""
    draw = tf.random.stateless_uniform([3], seed=seed)
    hue, saturation = draw[1] - 0.5, 0.6 + 1.2 * draw[2]
    recolored = tf.image.adjust_saturation(tf.image.adjust_hue(crop / 255.0, hue), saturation)
    return tf.where(draw[0] < share, tf.clip_by_value(recolored * 255.0, 0.0, 255.0), crop)


def training_dataset(
    config: Config,
    seed: int | None = None,
    skipped: SkippedFiles | None = None,
    input_context: tf.distribute.InputContext | None = None,
) -> tf.data.Dataset:
    """Batches of {"content", "style"} crops; `seed` defaults to the config's (resume passes seed + step).

    Unreadable files are recorded in `skipped` (a fresh, logging SkippedFiles when not given). Under
    tf.distribute, `input_context` says which input pipeline this is: it reads its shard and batches per
    replica (see adain.data.sharding).
    """
    data = config.data
    seed = config.seed if seed is None else seed
    skipped = SkippedFiles() if skipped is None else skipped
    stream = {}
    for offset, name in enumerate(("content", "style")):
        where = f"data.{name}"
        images = open_source(getattr(data, name), where)
        if next(readable_images(images.payloads(), data.load_size, skipped), None) is None:
            raise UserError(f"{where}: no readable image in {images.name} (every file was skipped as unreadable)")
        print(f"{where}: {images.describe}", file=sys.stderr)
        # Distinct streams per source; a resumed run (seed + step) gets a fresh order.
        source_seed, shard = 2 * seed + offset, None
        if isinstance(images, FolderImages):
            kept, source_seed, shard = shard_files(
                list(zip(images.paths, images.names, strict=True)), input_context, source_seed, where
            )
            images.paths, images.names = [p for p, _ in kept], [n for _, n in kept]
        elif input_context is not None and input_context.num_input_pipelines > 1:
            shard = (input_context.num_input_pipelines, input_context.input_pipeline_id)
        stream[name] = random_crops(
            images, data.load_size, data.crop_size, source_seed, skipped, data.cache, shard, data.min_load_size
        )
        if name == "style" and data.style_recolor:
            stream[name] = recolored(stream[name], source_seed, data.style_recolor)
    pairs = tf.data.Dataset.zip(stream)
    batch_size = per_replica_batch(input_context, config.train.batch_size)
    return pairs.batch(batch_size, drop_remainder=True).prefetch(AUTOTUNE)


def preview_images(source: SourceConfig, size: int, count: int) -> np.ndarray:
    """The first `count` readable images of a source, smaller side `size`, centre-cropped: a fixed preview set."""
    images: list[tf.Tensor] = []
    if count > 0:
        if source.source == "folder":  # no full listing: the first files of the walk will do
            payloads = ((path, path) for path in iter_image_files(_demo_ready(source)))
        else:
            payloads = open_source(source, "preview").payloads()
        for image in readable_images(payloads, size):
            images.append(prepare_image(image, size, crop=size))
            if len(images) == count:
                break
    return np.stack([np.asarray(i) for i in images]) if images else np.zeros((0, size, size, 3), np.float32)
