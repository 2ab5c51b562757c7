"""Temporal consistency at inference (adain.inference.temporal): its parts with known answers, then the shipped
model on the first frames of a real clip, where the steady methods must flicker less than per-frame AdaIN."""

from pathlib import Path

import numpy as np
import pytest
from support import require_extra

require_extra("cv2")
require_extra("imageio_ffmpeg")

from adain.errors import UserError  # noqa: E402
from adain.inference.temporal import TemporalSettings, blend_warped, smooth_statistics  # noqa: E402
from adain.media.flow import Motion  # noqa: E402
from adain.media.video import read_frames  # noqa: E402
from adain.quality.temporal_metrics import ClipMotion, ghosting, warping_error  # noqa: E402

FRAMES, SIZE = 6, 64


def test_statistics_are_a_moving_average_that_continues_across_batches():
    mean = np.array([[0.0], [10.0], [10.0]])
    std = np.array([[1.0], [3.0], [3.0]])
    out_mean, out_std = smooth_statistics(mean, std, 0.5, None)
    np.testing.assert_allclose(out_mean[:, 0], [0.0, 5.0, 7.5])
    np.testing.assert_allclose(out_std[:, 0], [1.0, 2.0, 2.5])
    next_mean, _ = smooth_statistics(np.array([[10.0]]), np.array([[3.0]]), 0.5, (out_mean[-1], out_std[-1]))
    np.testing.assert_allclose(next_mean[:, 0], [8.75])


def test_blend_keeps_the_fresh_frame_where_the_flow_is_unreliable_and_a_consistent_past_changes_nothing():
    rng = np.random.default_rng(0)
    fresh = rng.uniform(0, 255, (24, 32, 3)).astype(np.float32)
    still = Motion(np.zeros((24, 32, 2), np.float32), np.ones((24, 32), bool))
    np.testing.assert_allclose(blend_warped(fresh, fresh.copy(), still, 0.8), fresh, atol=1e-3)  # past == present
    other = rng.uniform(0, 255, fresh.shape).astype(np.float32)
    lost = Motion(still.flow, np.zeros((24, 32), bool))
    np.testing.assert_array_equal(blend_warped(fresh, other, lost, 0.8), fresh)  # nothing reliable: fresh
    blended = blend_warped(fresh, other, still, 0.8)
    assert np.abs(blended - other).mean() < np.abs(fresh - other).mean()  # the past is pulled in
    assert blended.std() > 0.8 * fresh.std()  # without flattening the texture (a plain average: ~0.82 * 0.8)


def test_blend_follows_a_known_motion_and_keeps_each_band_of_the_texture():
    """A texture that moved 3 px right: with the true flow the past lands on the present, so the blend changes
    nothing (bicubic on whole pixels is exact) but beside the strip that came in; a past that is another texture is pulled in without flattening
    any band (a plain average at 0.7 keeps ~0.76 of the energy of each band)."""
    import cv2

    rng = np.random.default_rng(1)
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (40, 56, 3)).astype(np.float32), (0, 0), 0.7)
    past, fresh = texture[:, 3:43], texture[:, :40]  # fresh[x] = past[x - 3]: the content moved 3 px right
    flow = np.zeros((40, 40, 2), np.float32)
    flow[..., 0] = -3.0  # t -> t-1
    moved = Motion(flow, np.ones((40, 40), bool))
    moved.reliable[:, :3] = False  # came in from the left edge: no past there
    error = np.abs(blend_warped(fresh, past, moved, 0.7) - fresh)
    assert error.max() < 2.0 and error[:, 20:].max() < 0.05  # off by < 2 levels only beside the pixels with no past
    other = rng.permutation(texture.reshape(-1, 3)).reshape(texture.shape)[:, :40]
    blended = blend_warped(fresh, other, moved, 0.7)
    for sigma in (1.0, 4.0):  # a fine and a coarser band
        band = lambda x, sigma=sigma: x - cv2.GaussianBlur(x, (0, 0), sigma)  # noqa: E731
        assert band(blended)[:, 3:].std() > 0.9 * band(fresh)[:, 3:].std(), sigma
    assert np.abs(blended - moved.pull(other, sharp=True))[:, 3:].mean() < np.abs(fresh - other)[:, 3:].mean()


def test_still_pixels_take_the_still_weight_and_moving_ones_the_moving_weight():
    rng = np.random.default_rng(2)
    fresh, past = (rng.uniform(0, 255, (24, 32, 3)).astype(np.float32) for _ in range(2))
    still = Motion(np.zeros((24, 32, 2), np.float32), np.ones((24, 32), bool))
    pan = Motion(np.full((24, 32, 2), 2.0, np.float32), np.ones((24, 32), bool))
    np.testing.assert_allclose(blend_warped(fresh, past, pan, 0.0, still_blend=0.8), fresh, atol=1e-3)  # all moved
    kept = blend_warped(fresh, past, still, 0.0, still_blend=0.8)
    assert np.abs(kept - past).mean() < 0.5 * np.abs(fresh - past).mean()  # all still: mostly the past


def test_settings_refuse_unknown_methods_and_weights_in_one_line():
    for bad in ({"method": "optical"}, {"blend": 1.0}, {"still_blend": -0.5}, {"momentum": -0.1}):
        with pytest.raises(UserError) as caught:
            TemporalSettings(**bad)
        assert "\n" not in str(caught.value)


@pytest.fixture(scope="module")
def clip(shared_data):
    import cv2

    frames = []
    for frame in read_frames(shared_data / "video" / "ambush_3.mp4"):
        height, width = frame.shape[:2]
        frames.append(cv2.resize(frame, (round(width * SIZE / height), SIZE), interpolation=cv2.INTER_AREA))
        if len(frames) == FRAMES:
            return frames


@pytest.mark.slow  # the shipped model on a real clip, three times over: ~25 s of the fast tier's 120-s budget
def test_steady_methods_flicker_less_than_per_frame_on_a_real_clip(clip, shared_data):
    """The shipped model on 6 frames of Sintel at 64 px, through the Python API (`temporal=`)."""
    from adain.inference.stylizer import Stylizer

    stylizer = Stylizer.from_checkpoint()
    style = shared_data / "style" / "brushstrokes.jpg"
    motion = ClipMotion.of(clip)
    outputs = {
        method: list(stylizer.stylize_frames(clip, style, temporal=method, style_size=128, batch_size=4))
        for method in ("none", "stats", "flow")  # flow+stats: bench/video.py's smoke test
    }
    assert all(len(frames) == FRAMES and frames[0].shape == clip[0].shape for frames in outputs.values())
    errors = {method: warping_error(frames, motion) for method, frames in outputs.items()}
    assert errors["flow"] < 0.6 * errors["none"], errors
    assert errors["stats"] < errors["none"], errors
    # the first frame has no past: it is the frame alone, padded onto the grid (phase 0) and cropped back
    from adain.inference.temporal import pad_to_phase

    alone = stylizer.stylize_batch(pad_to_phase(np.float32(clip[:1]), [(0, 0)]), stylizer.encode_styles([style], 128))
    np.testing.assert_array_equal(outputs["flow"][0], alone[0][0][:SIZE, : clip[0].shape[1]])
    assert ghosting(outputs["none"], outputs["none"], motion) == 0.0


def test_grid_phase_follows_the_accumulated_motion_and_padding_keeps_the_frame_in_place():
    from adain.inference.temporal import GRID, global_motion, grid_phase, pad_to_phase

    assert grid_phase(np.array([0.0, 0.0])) == (0, 0)
    assert grid_phase(np.array([3.4, -2.6])) == (3, 5)  # -3 px is phase 5 of 8
    assert grid_phase(np.array([16.2, 7.6])) == (0, 0)  # whole grid cells change nothing
    flow = np.zeros((10, 12, 2), np.float32)
    flow[..., 0], flow[..., 1] = 2.0, -1.0
    reliable = np.ones((10, 12), bool)
    flow[:3] = 40.0  # a fast object on a fifth of the frame does not move the median
    np.testing.assert_allclose(global_motion(Motion(flow, reliable)), [2.0, -1.0])
    np.testing.assert_array_equal(global_motion(None), [0.0, 0.0])
    frames = np.random.default_rng(3).uniform(0, 255, (2, 10, 12, 3)).astype(np.float32)
    padded = pad_to_phase(frames, [(0, 0), (3, 5)])
    assert padded.shape == (2, 10 + GRID, 12 + GRID, 3)
    np.testing.assert_array_equal(padded[0, :10, :12], frames[0])
    np.testing.assert_array_equal(padded[1, 5:15, 3:15], frames[1])


@pytest.mark.slow  # the shipped model, twice over a 3-frame pan
def test_alignment_makes_the_decoder_move_its_strokes_with_a_pan(shared_data):
    """A pan of 3 px a frame over a real photo: off the grid the decoder draws other strokes for the moved picture;
    on it (the flow methods' default) it draws the same strokes moved, so the per-frame flicker falls."""
    from adain.inference.stylizer import Stylizer
    from adain.media.images import load_image

    photo = np.asarray(load_image(shared_data / "content" / "chicago.jpg"), np.float32)[:96, :150]
    step, width = 3, 120
    frames = [photo[:, step * (2 - t) : step * (2 - t) + width] for t in range(3)]  # the picture moves right
    stylizer = Stylizer.from_checkpoint()
    style = shared_data / "style" / "brushstrokes.jpg"
    change = {}
    for align in (False, True):
        settings = TemporalSettings("flow", blend=0.0, still_blend=0.0, align=align)  # no blending: alignment only
        out = [f.astype(np.float32) for f in stylizer.stylize_frames(frames, style, temporal=settings, style_size=128)]
        # output t+1 moved back by the pan onto output t, away from the borders (the padding's reach)
        change[align] = np.mean(
            [np.abs(out[t + 1][24:-24, 24 + step : -24] - out[t][24:-24, 24 : -24 - step]).mean() for t in range(2)]
        )
    assert change[True] < 0.5 * change[False], change


@pytest.mark.slow  # the shipped model, three times over a 3-frame pan
def test_aligned_video_with_a_mask_keeps_each_style_in_its_region(shared_data):
    """Masked video on the grid decodes its frames in one batch, each frame's regions padded to its own phase:
    the left half still looks like the first style and the right half like the second, at the frames' own size."""
    from adain.inference.stylizer import Stylizer
    from adain.inference.temporal import TemporalVideo
    from adain.media.images import load_image

    photo = np.asarray(load_image(shared_data / "content" / "chicago.jpg"), np.float32)[:96, :150]
    frames = np.stack([photo[:, 3 * (2 - t) : 3 * (2 - t) + 120] for t in range(3)])  # a pan: phases change
    stylizer = Stylizer.from_checkpoint()
    paths = [
        shared_data / "style" / "brushstrokes.jpg",
        Path(__file__).parents[2] / "examples" / "styles" / "hokusai_great_wave.jpg",
    ]
    both, first, second = (stylizer.encode_styles(p, 128) for p in (paths, paths[:1], paths[1:]))
    left = np.zeros((96, 120, 2), np.float32)
    left[:, :60, 0], left[:, 60:, 1] = 1.0, 1.0

    def run(styles, regions=None):
        video = TemporalVideo(stylizer, TemporalSettings("align"))
        video.advance(frames)
        return video.stylize(styles, regions=regions)[0].astype(np.float32)

    masked, alone_first, alone_second = run(both, left), run(first), run(second)
    assert masked.shape == (3, 96, 120, 3)
    for side, own, other in (
        (np.s_[:, :, :40], alone_first, alone_second),
        (np.s_[:, :, 80:], alone_second, alone_first),
    ):
        assert np.abs(masked[side] - own[side]).mean() < 0.5 * np.abs(masked[side] - other[side]).mean()
