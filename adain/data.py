"""Training data: image sources -> tf.data pipelines of random crops, as in the paper.

Smaller side resized to `load_size` (aspect kept), random `crop_size` square crop,
shuffled and repeated; content and style streams zipped into training pairs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from adain.config import Config, SourceConfig
from adain.distribute import per_replica_batch, shard_files
from adain.errors import UserError
from adain.images import list_images, load_image, save_image
from adain.preprocess import center_crop, resize_smaller_side

AUTOTUNE = tf.data.AUTOTUNE

# scikit-image ships these real images in its wheel: a demo needs no download.
DEMO_IMAGES = {
    "photos": ("astronaut", "chelsea", "coffee", "rocket", "stereo_motorcycle"),
    "textures": ("hubble_deep_field", "immunohistochemistry", "retina", "colorwheel", "brick", "grass", "gravel"),
}


def fill_demo_folder(path: Path, which: str) -> None:
    """Write scikit-image's bundled images into `path` (for the demo config)."""
    try:
        import skimage.data
    except ImportError:
        raise UserError("the demo images come from scikit-image: pip install scikit-image") from None
    path.mkdir(parents=True, exist_ok=True)
    for name in DEMO_IMAGES[which]:
        image = getattr(skimage.data, name)()
        if isinstance(image, tuple):  # stereo pairs
            image = image[0]
        image = np.asarray(image)
        if image.ndim == 2:
            image = np.stack([image] * 3, axis=-1)
        if image.dtype != np.uint8:
            image = (image / image.max() * 255).astype(np.uint8)
        save_image(image[..., :3], path / f"{name}.png")


def source_paths(source: SourceConfig) -> list[Path]:
    """Image files of a folder source (filling a demo folder on first use)."""
    if source.source != "folder":
        raise UserError(f"source '{source.source}' is not supported by this pipeline yet")
    folder = Path(source.path)
    if source.demo and not (folder.is_dir() and list_images(folder)):
        fill_demo_folder(folder, source.demo)
    paths = list_images(folder)
    if not paths:
        raise UserError(f"no images found under {folder}")
    return paths


def decode_file(path: tf.Tensor) -> tf.Tensor:
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def random_crops(
    paths: list[Path], load_size: int, crop_size: int, seed: int, shard: tuple[int, int] | None = None
) -> tf.data.Dataset:
    """Endless stream of [crop, crop, 3] float32 crops in 0..255, file order reshuffled every epoch.

    `shard` (count, index): keep every count-th element, before decoding (multi-worker data sharding).
    """

    def prepare(path, index):
        image = resize_smaller_side(decode_file(path), load_size)
        crop_seed = tf.stack([tf.cast(seed, tf.int64), index])
        return tf.image.stateless_random_crop(image, [crop_size, crop_size, 3], seed=crop_seed)

    files = tf.data.Dataset.from_tensor_slices([str(p) for p in paths])
    files = files.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True).repeat().enumerate()
    if shard is not None:
        files = files.shard(*shard)
    return files.map(lambda i, p: prepare(p, i), num_parallel_calls=AUTOTUNE, deterministic=True)


def training_dataset(
    config: Config, seed: int | None = None, input_context: tf.distribute.InputContext | None = None
) -> tf.data.Dataset:
    """Batches of {"content", "style"} crops; `seed` defaults to the config's (resume passes seed + step).

    Under tf.distribute, `input_context` says which input pipeline this is: it reads its shard and batches
    per replica (see adain.distribute).
    """
    data = config.data
    seed = config.seed if seed is None else seed
    stream = {}
    for offset, (name, source) in enumerate((("content", data.content), ("style", data.style))):
        paths, shard_seed, shard = shard_files(source_paths(source), input_context, seed + offset, f"data.{name}")
        stream[name] = random_crops(paths, data.load_size, data.crop_size, shard_seed, shard)
    pairs = tf.data.Dataset.zip(stream)
    batch_size = per_replica_batch(input_context, config.train.batch_size)
    return pairs.batch(batch_size, drop_remainder=True).prefetch(AUTOTUNE)


def preview_images(source: SourceConfig, size: int, count: int) -> np.ndarray:
    """The first `count` images of a source, smaller side `size`, centre-cropped: a fixed preview set."""
    paths = source_paths(source)[:count]
    images = [center_crop(resize_smaller_side(load_image(p), size), size) for p in paths]
    return np.stack([np.asarray(i) for i in images]) if images else np.zeros((0, size, size, 3), np.float32)
