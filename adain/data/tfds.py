"""Training images from a TFDS dataset (COCO, our WikiArt builder, any dataset with an image feature).

Only the image feature is read, and TFDS does not decode it: the encoded bytes go through the
same robust, reduced-scale decoder as image folders, so a bad record is skipped and counted
instead of ending the run. Labels, boxes and masks are never parsed (PartialDecoding).
"""

from __future__ import annotations

import os

import tensorflow as tf

from adain.config import SourceConfig
from adain.errors import UserError

SHUFFLE_BUFFER = 1024  # encoded records (~160 KB each for COCO), mixed on top of the per-epoch shard shuffle
PREPARE = "adain prepare"


def _tfds():
    """tensorflow_datasets, imported on first use (seconds of import that image-folder runs never pay)."""
    import tensorflow_datasets as tfds

    import adain.data.wikiart  # noqa: F401 - deliberate lazy import: registers the `wikiart` builder, needs tfds

    return tfds


def _first_line(exc: BaseException | str) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _data_dir(data_dir: str | None) -> str:
    return data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets"


def _at(where: str | None) -> str:
    return f"{where}: " if where else ""


def builder_for(name: str, data_dir: str | None, where: str | None = None):
    tfds = _tfds()
    try:
        return tfds.builder(name, data_dir=data_dir)
    except (tfds.core.DatasetNotFoundError, ValueError) as exc:
        raise UserError(f"{_at(where)}unknown TFDS dataset '{name}': {_first_line(exc)}") from None


def how_to_prepare(builder, name: str, data_dir: str | None, where: str | None) -> str:
    """One line telling the user how to get the dataset prepared."""
    data_dir_arg = f" --data-dir {data_dir}" if data_dir else ""
    if builder.MANUAL_DOWNLOAD_INSTRUCTIONS:
        return (
            f"{_first_line(builder.MANUAL_DOWNLOAD_INSTRUCTIONS)} Then run `{PREPARE} {name} --manual-dir DIR"
            f"{data_dir_arg}` once."
        )
    download = f", or set {where}.download: true" if where else ""
    return f"run `{PREPARE} {name}{data_dir_arg}` once (needs internet){download}"


def prepare(name: str, data_dir: str | None = None, manual_dir: str | None = None, where: str | None = None):
    """download_and_prepare (a no-op when already prepared); any failure is one UserError line."""
    tfds = _tfds()
    builder = builder_for(name, data_dir, where)
    config = tfds.download.DownloadConfig(manual_dir=os.path.expanduser(manual_dir) if manual_dir else None)
    try:
        builder.download_and_prepare(download_config=config)
    except Exception as exc:  # network, disk, missing manual files: all end here, as one line
        raise UserError(
            f"{_at(where)}could not prepare TFDS dataset {name} ({_first_line(exc).split('. ')[0].rstrip('.')}); "
            + how_to_prepare(builder, name, data_dir, where)
        ) from None
    return builder


def find_image_key(features, image_key: str | None, name: str, where: str) -> str:
    """The image feature to read: `image_key` if given, else the dataset's only top-level Image feature."""
    tfds = _tfds()
    images = [key for key, feature in features.items() if isinstance(feature, tfds.features.Image)]
    if image_key is not None:
        if image_key not in features.keys():
            known = ", ".join(features.keys())
            raise UserError(f"{where}.image_key: {name} has no feature '{image_key}' (features: {known})")
        if image_key not in images:
            raise UserError(f"{where}.image_key: feature '{image_key}' of {name} is not an image")
        return image_key
    if len(images) == 1:
        return images[0]
    if not images:
        raise UserError(f"{where}: TFDS dataset {name} has no image feature")
    raise UserError(
        f"{where}: TFDS dataset {name} has several image features ({', '.join(images)}): set {where}.image_key"
    )


class TfdsImages:
    """A TFDS split's encoded images, named by their TFDS record id in skip reports."""

    def __init__(self, source: SourceConfig, where: str) -> None:
        self.source, self.where = source, where
        if source.download:
            self.builder = prepare(source.name, source.data_dir, where=where)
        else:
            self.builder = builder_for(source.name, source.data_dir, where)
        self.key = find_image_key(self.builder.info.features, source.image_key, source.name, where)
        self.describe = f"TFDS {source.name} [{source.split}]"

    def records(self, seed: int, shuffle: bool) -> tf.data.Dataset:
        """One pass over (encoded image, record id); with `shuffle`, a new seeded order every iteration."""
        tfds = _tfds()
        decoders = tfds.decode.PartialDecoding({self.key: True}, decoders={self.key: tfds.decode.SkipDecoding()})
        read_config = tfds.ReadConfig(
            add_tfds_id=True, shuffle_seed=seed, shuffle_reshuffle_each_iteration=True, try_autocache=False
        )
        try:
            dataset = self.builder.as_dataset(
                split=self.source.split, decoders=decoders, read_config=read_config, shuffle_files=shuffle
            )
        except AssertionError:  # TFDS' way of saying the data is not prepared
            raise UserError(
                f"{self.where}: TFDS dataset {self.source.name} is not prepared in {_data_dir(self.source.data_dir)}: "
                + how_to_prepare(self.builder, self.source.name, self.source.data_dir, self.where)
            ) from None
        except ValueError as exc:  # e.g. an unknown split
            raise UserError(f"{self.where}: TFDS dataset {self.source.name}: {_first_line(exc)}") from None
        dataset = dataset.map(lambda example: (example[self.key], example["tfds_id"]))
        if shuffle:
            dataset = dataset.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
        return dataset
