"""The measures of what a person sees (adain/quality/colour.py) on images with a known answer."""

import numpy as np
import pytest

from adain.data.synthetic import flat_poster
from adain.quality.colour import colour_distance, painting_kind, rgb_to_lab, streak_ratio


def noise_image(seed: int, size: int = 128) -> np.ndarray:
    rng = np.random.default_rng(seed)
    smooth = rng.normal(size=(size // 8, size // 8, 3))
    image = np.kron(smooth, np.ones((8, 8, 1)))  # blocks, then a blur: a photo-like spectrum
    for axis in (0, 1):
        image = (image + np.roll(image, 3, axis) + np.roll(image, -3, axis)) / 3
    return np.clip(128 + 50 * image, 0, 255).astype(np.uint8)


def test_lab_of_white_black_and_green_is_the_textbook_value():
    lab = rgb_to_lab(np.array([[255, 255, 255], [0, 0, 0], [0, 255, 0]], np.uint8))
    assert lab[0] == pytest.approx([100, 0, 0], abs=0.5)
    assert lab[1] == pytest.approx([0, 0, 0], abs=0.5)
    assert lab[2] == pytest.approx([87.7, -86.2, 83.2], abs=0.6)


def test_colour_distance_is_zero_for_the_same_colours_and_grows_with_a_shift():
    image = noise_image(0)
    shuffled = np.random.default_rng(1).permutation(image.reshape(-1, 3)).reshape(image.shape)
    assert colour_distance(shuffled, image) < 1.0  # same colours, other places: the distance ignores layout
    greener = np.clip(image.astype(int) + [0, 40, 0], 0, 255).astype(np.uint8)
    bleached = (0.5 * image + 0.5 * 255).astype(np.uint8)
    assert colour_distance(greener, image) > 10 * colour_distance(shuffled, image)
    assert colour_distance(bleached, image) > colour_distance(greener, image) / 2


def test_streak_ratio_sees_scan_lines_and_checkerboards_but_not_the_photo_itself():
    photo = noise_image(2)
    assert streak_ratio(photo, photo) == pytest.approx(1.0)
    lines = photo.astype(float)
    lines[::2] += 12  # a scan line every other row: period 2
    checker = photo.astype(float) + 12 * ((np.indices(photo.shape[:2]).sum(0) % 4) < 2)[..., None]
    assert streak_ratio(np.clip(lines, 0, 255), photo) > 2
    assert streak_ratio(np.clip(checker, 0, 255), photo) > 2
    assert streak_ratio(noise_image(3), photo) < 2  # another photo-like image: no excess


def test_painting_kinds():
    assert painting_kind(flat_poster(256, seed=1)) == "flat_saturated"
    grey = np.repeat(noise_image(4)[..., :1], 3, axis=-1)
    assert painting_kind(grey) == "monochrome"
    assert painting_kind((noise_image(5) * 0.2).astype(np.uint8)) == "dark"


def test_posters_are_the_same_for_a_seed_and_differ_between_seeds():
    assert np.array_equal(flat_poster(64, 7), flat_poster(64, 7))
    assert not np.array_equal(flat_poster(64, 7), flat_poster(64, 8))
