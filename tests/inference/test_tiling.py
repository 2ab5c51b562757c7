"""High-resolution stylization by tiling: same output as one pass, seams hidden, through the API and CLI."""

import keras
import numpy as np
import pytest
from PIL import Image
from support import run_script

from adain.errors import UserError
from adain.inference.stylizer import Stylizer
from adain.inference.tiling import blend_weights, check_tiling, plan_spans
from adain.media.images import load_image
from adain.nn.decoder import build_decoder
from adain.nn.model import AdaINModel
from adain.nn.ops import channel_mean_std
from adain.preprocess import resize_smaller_side


@pytest.mark.parametrize("length", [40, 256, 257, 300, 1000, 1031, 6000])
@pytest.mark.parametrize("tile, overlap", [(256, 128), (1024, 128), (64, 16), (128, 0)])
def test_windows_cover_align_and_blend_to_one(length, tile, overlap):
    spans = plan_spans(length, tile, overlap)
    assert spans[0].start == 0 and spans[-1].end == length
    assert all(s.start % 8 == 0 for s in spans)  # on the encoder's grid
    assert all(s.end - s.start <= tile for s in spans)
    assert len(spans) == (1 if length <= tile else -(-(length - overlap) // (tile - overlap)))  # as few as fit
    assert all(b.start <= a.end - overlap and b.start > a.start for a, b in zip(spans, spans[1:], strict=False))
    assert all(b.end > a.end for a, b in zip(spans, spans[1:], strict=False))
    # Statistics cores partition the feature cells, each inside its own window's cells.
    cells = [c for s in spans for c in range(s.core_start, s.core_end)]
    assert cells == list(range(-(-length // 8)))
    assert all(s.start // 8 <= s.core_start and s.core_end <= -(-s.end // 8) for s in spans)
    # Blend weights: a partition of unity, zero at every inner border.
    total = np.zeros(length)
    for i, s in enumerate(spans):
        weight = blend_weights(spans, i)
        total[s.start : s.end] += weight
        if i > 0:
            assert weight[0] == 0 or overlap == 0
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


@pytest.mark.parametrize(
    "tile, overlap, message", [(100, 16, "multiple of 8"), (128, 128, "at least 256"), (256, 12, "overlap must be")]
)
def test_bad_tiling_is_a_user_error(tile, overlap, message):
    with pytest.raises(UserError, match=message):
        check_tiling(tile, overlap)


@pytest.fixture(scope="module")
def setup(encoder, shared_data):
    """A real photo (320 x 456: 2 x 3 tiles of 256) and painting; a seeded decoder whose last conv is rescaled so its output
    spans the 0..255 range on this photo (an untrained decoder is otherwise nearly constant)."""
    keras.utils.set_random_seed(0)
    stylizer = Stylizer(AdaINModel(encoder, build_decoder()))
    content = resize_smaller_side(load_image(shared_data / "content" / "cornell.jpg"), 320)
    style = stylizer.encode(resize_smaller_side(load_image(shared_data / "style" / "mondrian.jpg"), 256)[None])
    height, width = content.shape[:2]
    target = stylizer.model.decode_target(stylizer.encode(content[None]), style, 1.0)
    raw = stylizer.model.decoder(target)[:, :height, :width].numpy()  # unclipped
    mean, std = raw.mean(axis=(0, 1, 2)), raw.std(axis=(0, 1, 2))
    last = stylizer.model.decoder.layers[-1]
    kernel, bias = last.get_weights()
    last.set_weights([kernel * (60 / std), (bias - mean) * (60 / std) + 128])
    untiled = stylizer.stylize_features(content[None], style, alpha=0.8)[0]
    return stylizer, content, style, untiled


@pytest.mark.slow  # minutes of real optimisation on 2 CPU cores
def test_tiled_output_matches_untiled_and_naive_tiling_does_not(setup):
    stylizer, content, style, untiled = setup
    assert untiled.std() > 30  # a real image, not a flat one: the comparison means something
    tiled = stylizer.stylize_features(content[None], style, alpha=0.8, tile_size=256)[0]  # 2 x 3 tiles
    assert tiled.shape == untiled.shape
    assert np.abs(tiled.astype(float) - untiled).mean() <= 2.0  # <= 2/255 of the range
    # What tiling without global statistics, overlap and blending gives: four separate stylizations.
    half_h, half_w = (content.shape[0] // 16) * 8, (content.shape[1] // 16) * 8
    naive = np.concatenate(
        [
            np.concatenate(
                [
                    stylizer.stylize_features(content[None, rows, cols], style, alpha=0.8)[0]
                    for cols in (slice(0, half_w), slice(half_w, None))
                ],
                axis=1,
            )
            for rows in (slice(0, half_h), slice(half_h, None))
        ]
    )
    assert np.abs(naive.astype(float) - untiled).mean() > 3 * max(np.abs(tiled.astype(float) - untiled).mean(), 1.0)


def test_statistics_accumulated_over_tiles_equal_the_whole_image(setup):
    stylizer, content, _, _ = setup
    mean, std = stylizer.tiler.content_statistics(np.asarray(content), tile=256, overlap=128)
    whole_mean, whole_std = channel_mean_std(stylizer.encode(content[None]))
    np.testing.assert_allclose(mean, whole_mean, rtol=2e-3, atol=1e-2)
    np.testing.assert_allclose(std, whole_std, rtol=2e-3, atol=1e-2)


@pytest.mark.slow
def test_infer_tile_flag_gives_the_untiled_image(setup, shared_data, tmp_path):
    stylizer, content, _, _ = setup
    stylizer.model.decoder.save(tmp_path / "decoder.keras")
    small = np.asarray(content)[:264, :312].round().astype(np.uint8)  # 2 x 2 tiles of 256
    Image.fromarray(small).save(tmp_path / "content.png")
    style_path = shared_data / "style" / "mondrian.jpg"
    result = run_script(
        "infer.py",
        "--checkpoint",
        str(tmp_path / "decoder.keras"),
        "--content",
        str(tmp_path / "content.png"),
        "--style",
        str(style_path),
        "--style-size",
        "256",
        "--output",
        str(tmp_path / "out.png"),
        "--tile",
        "256",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    expected = stylizer.stylize(tmp_path / "content.png", style_path, style_size=256)
    tiled = np.asarray(Image.open(tmp_path / "out.png"))
    assert tiled.shape == expected.shape
    assert np.abs(tiled.astype(float) - expected).mean() <= 2.0
    bad = run_script(
        "infer.py",
        "--checkpoint",
        str(tmp_path / "decoder.keras"),
        "--content",
        str(tmp_path / "content.png"),
        "--style",
        str(style_path),
        "--output",
        str(tmp_path / "bad.png"),
        "--tile",
        "100",
    )
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith("error: tile size")
