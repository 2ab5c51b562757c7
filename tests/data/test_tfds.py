"""TFDS sources through the real tfds builder code: COCO (mocked data), any image dataset, our WikiArt builder."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image
from support import REPO

tfds = pytest.importorskip("tensorflow_datasets")


def config_with(content: str, style: str, *overrides: str):
    from adain.config import load_config

    return load_config(
        None,
        [
            f"data.content={content}",
            f"data.style={style}",
            "data.load_size=48",
            "data.crop_size=32",
            "train.batch_size=2",
            *overrides,
        ],
    )


def batches(config, seed=None, count=3, skipped=None):
    from adain.data.decoding import SkippedFiles
    from adain.data.pipeline import training_dataset

    skipped = SkippedFiles(verbose=False) if skipped is None else skipped
    dataset = training_dataset(config, seed=seed, skipped=skipped)
    return [{key: value.numpy() for key, value in batch.items()} for batch in dataset.take(count)]


def same(a, b) -> bool:
    return all(np.array_equal(x[key], y[key]) for x, y in zip(a, b, strict=True) for key in x)


def test_coco_content_through_mocked_tfds(tmp_path, shared_data):
    from adain.config import SourceConfig
    from adain.data.pipeline import preview_images
    from adain.data.tfds import TfdsImages

    style = f"{{source: folder, path: {shared_data / 'style'}}}"
    with tfds.testing.mock_data(num_examples=5):
        config = config_with(f"{{source: tfds, name: coco/2017, split: train, data_dir: {tmp_path}}}", style)
        first = batches(config, count=4)  # 8 crops from 5 records: wraps into a second, reshuffled epoch
        assert all(b["content"].shape == (2, 32, 32, 3) and b["content"].dtype == np.float32 for b in first)
        assert same(first, batches(config, count=4))
        assert not same(first, batches(config, seed=1, count=4))
        # Only the encoded image (and its record id) is read: no labels, boxes or decoded pixels.
        records = TfdsImages(SourceConfig(source="tfds", name="coco/2017", data_dir=str(tmp_path)), "data.content")
        spec = records.records(0, shuffle=False).element_spec
        assert [(s.dtype.name, s.shape.rank) for s in spec] == [("string", 0), ("string", 0)]
        assert preview_images(config.data.content, 32, 2).shape == (2, 32, 32, 3)
        cached = config_with(f"{{source: tfds, name: coco/2017, data_dir: {tmp_path}}}", style, "data.cache=true")
        assert all(b["content"].shape == (2, 32, 32, 3) for b in batches(cached, count=4))


def test_any_tfds_image_dataset_by_name_and_image_key(tmp_path, shared_data):
    from adain.data.tfds import find_image_key
    from adain.errors import UserError

    style = f"{{source: folder, path: {shared_data / 'style'}}}"
    with tfds.testing.mock_data(num_examples=3):
        flowers = batches(config_with(f"{{source: tfds, name: tf_flowers, data_dir: {tmp_path}}}", style), count=1)
        assert flowers[0]["content"].shape == (2, 32, 32, 3)
        panoptic = f"{{source: tfds, name: coco/2017_panoptic, data_dir: {tmp_path}}}"
        with pytest.raises(
            UserError, match=r"several image features \(image, panoptic_image\).*data.content.image_key"
        ):
            batches(config_with(panoptic, style))
        keyed = config_with(panoptic, style, "data.content.image_key=panoptic_image")
        assert batches(keyed, count=1)[0]["content"].shape == (2, 32, 32, 3)
        with pytest.raises(UserError, match="feature 'label' of tf_flowers is not an image"):
            batches(config_with(f"{{source: tfds, name: tf_flowers, image_key: label, data_dir: {tmp_path}}}", style))

    features = tfds.features.FeaturesDict(
        {"photo": tfds.features.Image(), "label": tfds.features.ClassLabel(num_classes=2)}
    )
    assert find_image_key(features, None, "x", "data.content") == "photo"  # found by type, whatever its name


def test_unprepared_dataset_is_one_line_saying_how_to_prepare(tmp_path, shared_data):
    from adain.errors import UserError

    style = f"{{source: folder, path: {shared_data / 'style'}}}"
    with pytest.raises(UserError) as error:
        batches(config_with(f"{{source: tfds, name: coco/2017, data_dir: {tmp_path}}}", style))
    message = str(error.value)
    assert "\n" not in message
    assert f"coco/2017 is not prepared in {tmp_path}" in message
    assert f"adain prepare coco/2017 --data-dir {tmp_path}" in message
    assert "data.content.download: true" in message
    with pytest.raises(UserError, match="unknown TFDS dataset 'no_such_dataset'"):
        batches(config_with(f"{{source: tfds, name: no_such_dataset, data_dir: {tmp_path}}}", style))
    with pytest.raises(UserError) as manual:
        batches(config_with(f"{{source: tfds, name: wikiart, data_dir: {tmp_path}, download: true}}", style))
    assert "\n" not in str(manual.value) and "painter-by-numbers" in str(manual.value)
    assert "adain prepare wikiart --manual-dir DIR" in str(manual.value)


def painter_by_numbers_zip(path, shared_data) -> list[str]:
    """A tiny train.zip laid out like Kaggle's; returns the image members, one of them truncated."""
    images = []
    with zipfile.ZipFile(path, "w") as archive:
        for index, name in enumerate(sorted((shared_data / "style").glob("*.jpg"))[:3]):
            thumb = Image.open(name).convert("RGB")
            thumb.thumbnail((96, 96))
            buffer = io.BytesIO()
            thumb.save(buffer, "PNG" if index == 2 else "JPEG")
            member = f"train/{1000 + index}.{'png' if index == 2 else 'jpg'}"
            archive.writestr(member, buffer.getvalue())
            images.append(member)
        archive.writestr("train/99.jpg", (shared_data / "content" / "chicago.jpg").read_bytes()[:3000])  # truncated
        archive.writestr("train/readme.txt", "not an image")
        archive.writestr("__MACOSX/train/._1000.jpg", "resource fork")
    return [*images, "train/99.jpg"]


def test_wikiart_builder_from_the_manual_archive(tmp_path, shared_data):
    data_dir = tmp_path / "tfds"
    manual = data_dir / "downloads" / "manual"
    manual.mkdir(parents=True)
    members = painter_by_numbers_zip(manual / "train.zip", shared_data)

    from adain.data.decoding import SkippedFiles

    content = f"{{source: folder, path: {shared_data / 'content'}}}"
    skipped = SkippedFiles(verbose=False)
    # download: true prepares from the default manual dir on first use ...
    prepared = config_with(content, f"{{source: tfds, name: wikiart, data_dir: {data_dir}, download: true}}")
    first = batches(prepared, count=2, skipped=skipped)
    assert first[0]["style"].shape == (2, 32, 32, 3)
    assert len(skipped) == 1 and next(iter(skipped.reasons())).startswith("wikiart-train.tfrecord")
    # ... later runs read the TFRecords without touching the archive.
    (manual / "train.zip").unlink()
    again = config_with(content, f"{{source: tfds, name: wikiart, data_dir: {data_dir}}}")
    assert same(first, batches(again, count=2))

    builder = tfds.builder("wikiart", data_dir=str(data_dir))
    assert builder.info.splits["train"].num_examples == len(members)
    only_names = tfds.decode.PartialDecoding({"image/filename": True})  # TF's own decoder would choke on 99.jpg
    names = {example["image/filename"].numpy().decode() for example in builder.as_dataset("train", decoders=only_names)}
    assert names == {member.split("/")[-1] for member in members}


def run_prepare(*args: str):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-m", "adain", "prepare", *args]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_prepare_command_builds_wikiart(tmp_path, shared_data):
    painter_by_numbers_zip(tmp_path / "train.zip", shared_data)
    result = run_prepare("wikiart", "--manual-dir", str(tmp_path), "--data-dir", str(tmp_path / "tfds"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "prepared wikiart" in result.stdout and "train: 4 examples" in result.stdout
