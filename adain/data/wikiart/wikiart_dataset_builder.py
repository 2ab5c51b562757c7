"""WikiArt as distributed for Kaggle's "Painter by Numbers": the paper's ~80k style images.

The archives need a Kaggle login, so this builder reads them from the manual directory.
Images are stored byte for byte as distributed (CMYK, grayscale, huge and broken files
included); adain's pipeline decodes them robustly and skips the broken ones, counting them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import BinaryIO

import tensorflow_datasets as tfds

from adain.media.folder import IMAGE_EXTENSIONS, list_image_files

HOMEPAGE = "https://www.kaggle.com/c/painter-by-numbers/data"
SPLITS = {"train": "train", "test": "test"}  # split -> archive stem (train.zip) or folder name (train/)

_CITATION = """\
@misc{painter-by-numbers,
  author = {Kiri Nichol},
  title = {Painter by Numbers},
  year = {2016},
  howpublished = {\\url{https://kaggle.com/competitions/painter-by-numbers}},
  note = {Kaggle competition; images from WikiArt.org}
}
@inproceedings{huang2017adain,
  title = {Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization},
  author = {Huang, Xun and Belongie, Serge},
  booktitle = {ICCV},
  year = {2017}
}
"""


def _is_image(name: str) -> bool:
    base = os.path.basename(name)
    return not base.startswith(".") and "__MACOSX" not in name and os.path.splitext(base)[1].lower() in IMAGE_EXTENSIONS


class Builder(tfds.core.GeneratorBasedBuilder):
    """WikiArt paintings from the Kaggle "Painter by Numbers" archives (train: 79,433 images, test: 23,817)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Images as distributed in train.zip / test.zip."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
Download train.zip (and optionally test.zip) of Kaggle's "Painter by Numbers" from {HOMEPAGE} \
(needs a Kaggle login; or `kaggle competitions download -c painter-by-numbers -f train.zip`) into the manual directory.
The archives may also be extracted there (train/, test/ folders). Only images are read; the CSV files are not needed.
"""

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "WikiArt paintings (Kaggle Painter by Numbers), the style images of AdaIN (Huang & Belongie 2017). "
                "Stored byte for byte as distributed, so some files are not decodable: read them with "
                "decoders={'image': tfds.decode.SkipDecoding()} and adain.data.decoding.decode_image."
            ),
            features=tfds.features.FeaturesDict(
                {"image": tfds.features.Image(shape=(None, None, 3)), "image/filename": tfds.features.Text()}
            ),
            homepage=HOMEPAGE,
            citation=_CITATION,
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        manual = dl_manager.manual_dir
        splits = {}
        for split, stem in SPLITS.items():
            if (manual / f"{stem}.zip").exists():
                splits[split] = self._generate_examples(dl_manager.iter_archive(manual / f"{stem}.zip"))
            elif (manual / stem).is_dir():
                splits[split] = self._generate_examples(_iter_folder(os.fspath(manual / stem)))
        if "train" not in splits:
            raise FileNotFoundError(
                f"no train.zip or train/ in {manual}: {self.MANUAL_DOWNLOAD_INSTRUCTIONS.splitlines()[0]}"
            )
        return splits

    def _generate_examples(self, members: Iterator[tuple[str, BinaryIO]]):
        for name, file in members:
            if _is_image(name):
                yield name, {"image": file.read(), "image/filename": os.path.basename(name)}


def _iter_folder(folder: str) -> Iterator[tuple[str, BinaryIO]]:
    for path in list_image_files(folder):
        with open(path, "rb") as file:
            yield os.path.relpath(path, folder), file
