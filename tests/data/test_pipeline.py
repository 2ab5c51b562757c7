"""The training pipeline on the shared images: paper preprocessing, determinism, per-epoch reshuffling."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf


def small_config(shared_data, *overrides: str):
    from adain.config import load_config

    return load_config(
        None,
        [
            f"data.content={{source: folder, path: {shared_data / 'content'}}}",
            f"data.style={{source: folder, path: {shared_data / 'style'}}}",
            "data.load_size=64",
            "data.crop_size=32",
            "train.batch_size=3",
            *overrides,
        ],
    )


def first_batches(config, seed=None, count=2):
    from adain.data.decoding import SkippedFiles
    from adain.data.pipeline import training_dataset

    dataset = training_dataset(config, seed=seed, skipped=SkippedFiles(verbose=False))
    return [{key: value.numpy() for key, value in batch.items()} for batch in dataset.take(count)]


def same(a, b) -> bool:
    return all(np.array_equal(x[key], y[key]) for x, y in zip(a, b, strict=True) for key in x)


@pytest.mark.parametrize("cache", [False, True])
def test_same_seed_same_batches_other_seed_differs(shared_data, cache):
    config = small_config(shared_data, f"data.cache={str(cache).lower()}")
    first = first_batches(config)
    assert first[0]["content"].shape == (3, 32, 32, 3) and first[0]["style"].shape == (3, 32, 32, 3)
    assert first[0]["content"].dtype == np.float32
    assert 0 <= min(b[k].min() for b in first for k in b) and max(b[k].max() for b in first for k in b) <= 255
    assert same(first, first_batches(config))
    assert not same(first, first_batches(config, seed=config.seed + 1))
    assert not np.array_equal(first[0]["content"], first[1]["content"])


def test_fused_crop_is_resize_then_random_crop():
    """The pipeline's one-step resample equals the paper's two steps, at any size and aspect ratio."""
    from adain.preprocess import random_crop, resize_smaller_side, resize_smaller_side_and_random_crop

    rng = np.random.default_rng(0)
    for height, width, load, crop in [(480, 640, 512, 256), (3, 3, 48, 32), (1125, 1500, 512, 256), (37, 900, 48, 32)]:
        image = rng.integers(0, 256, (height, width, 3)).astype(np.uint8)
        for index in range(3):
            seed = tf.constant([7, index], tf.int64)
            fused = resize_smaller_side_and_random_crop(image, load, crop, seed)
            two_step = random_crop(resize_smaller_side(image, load), crop, seed)
            assert fused.shape == (crop, crop, 3)
            np.testing.assert_allclose(fused, two_step, atol=0.02)  # float rounding only, on a 0..255 scale


def test_crop_positions_cover_the_resized_image():
    """Random crops land anywhere in the resized image, including its edges (not just the centre)."""
    from adain.preprocess import random_crop_offset

    offsets = np.stack([random_crop_offset(64, 100, 32, tf.constant([1, i], tf.int64)).numpy() for i in range(400)])
    assert offsets.min(0).tolist() == [0, 0] and offsets.max(0).tolist() == [32, 68]


def test_files_reshuffled_every_epoch_from_the_seed(shared_data):
    from adain.config import SourceConfig
    from adain.data.pipeline import FolderImages

    images = FolderImages(SourceConfig(path=str(shared_data / "style")), "data.style")
    n = len(images.paths)

    def epochs(seed):
        names = [name.decode() for _, name in images.records(seed, shuffle=True).repeat(3).as_numpy_iterator()]
        return [names[i * n : (i + 1) * n] for i in range(3)]

    first = epochs(0)
    assert all(sorted(epoch) == sorted(images.paths) for epoch in first)  # each epoch sees every file once
    assert first[0] != first[1] != first[2]  # a new order every epoch
    assert first == epochs(0) and first != epochs(1)  # seeded


def test_previews_skip_unreadable_files(tmp_path, shared_data):
    from adain.config import SourceConfig
    from adain.data.pipeline import preview_images

    (tmp_path / "a_broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    for name in ("b.jpg", "c.jpg"):
        (tmp_path / name).write_bytes((shared_data / "content" / "chicago.jpg").read_bytes())
    previews = preview_images(SourceConfig(path=str(tmp_path)), 32, 4)
    assert previews.shape == (2, 32, 32, 3)


@pytest.mark.parametrize("cache", [False, True])
def test_scale_jitter_replays_from_the_seed_and_changes_the_crops(shared_data, cache):
    """data.min_load_size: each crop at a random scale between min_load_size and load_size, replayable."""
    plain = small_config(shared_data, f"data.cache={str(cache).lower()}")
    jittered = small_config(shared_data, f"data.cache={str(cache).lower()}", "data.min_load_size=32")
    first = first_batches(jittered)
    assert first[0]["content"].shape == (3, 32, 32, 3)
    assert same(first, first_batches(jittered))
    assert not same(first, first_batches(plain))


def test_a_scaled_crop_at_the_load_size_is_the_plain_crop():
    from adain.preprocess import random_crop, random_scaled_crop

    image = tf.constant(np.random.default_rng(0).integers(0, 256, (64, 80, 3)), tf.uint8)
    seed = tf.constant([3, 4], tf.int64)
    plain = tf.cast(random_crop(image, 32, seed), tf.float32)
    assert np.allclose(random_scaled_crop(image, 32, 64, tf.constant(64), seed), plain, atol=1e-3)
    zoomed_out = random_scaled_crop(image, 32, 64, tf.constant(32), seed)  # a 64-px window shrunk to 32
    assert zoomed_out.shape == (32, 32, 3) and not np.allclose(zoomed_out, plain, atol=1)


def test_style_recolor_changes_only_the_share_of_styles_asked_for(shared_data):
    plain = first_batches(small_config(shared_data), count=3)
    recolored = first_batches(small_config(shared_data, "data.style_recolor=1.0"), count=3)
    untouched = first_batches(small_config(shared_data, "data.style_recolor=0.0"), count=3)
    assert same(plain, untouched)
    for a, b in zip(plain, recolored, strict=True):
        assert np.array_equal(a["content"], b["content"])  # photos are never recoloured
        for style, changed in zip(a["style"], b["style"], strict=True):  # every style: hue and saturation changed
            assert not np.allclose(style, changed, atol=2)
            assert np.allclose(style.mean(), changed.mean(), atol=60)  # a recolouring, not another image


def test_min_load_size_and_style_recolor_are_validated(shared_data):
    from adain.config import validate
    from adain.errors import UserError

    with pytest.raises(UserError, match="min_load_size must be between"):
        validate(small_config(shared_data, "data.min_load_size=16"))
    with pytest.raises(UserError, match="style_recolor is a share"):
        validate(small_config(shared_data, "data.style_recolor=1.5"))
