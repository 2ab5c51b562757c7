"""The flicker metric on synthetic motion with a known answer: a texture panned by a known number of pixels."""

import numpy as np
import pytest
from support import require_extra

require_extra("cv2")

from adain.media.flow import FlowEstimator, consistent, motions, warp  # noqa: E402
from adain.quality.temporal_metrics import ClipMotion, ghosting, warping_error  # noqa: E402

STEP = (2, 1)  # the camera pans 2 px right and 1 px down per frame: content moves (-2, -1)
SIGMA = 20.0  # independent per-frame noise, 0..255


def panned_clip(frames: int = 5, height: int = 72, width: int = 96) -> list[np.ndarray]:
    """Windows of one smooth random texture, each STEP further: the true flow t -> t+1 is -STEP everywhere."""
    import cv2

    rng = np.random.default_rng(0)
    big = rng.uniform(0, 255, (height + 40, width + 40, 3)).astype(np.float32)
    big = cv2.GaussianBlur(big, (0, 0), 2.0)
    big = (big - big.mean()) * (100 / big.std()) + 128
    big = np.clip(big, 0, 255).astype(np.uint8)
    return [
        big[10 + t * STEP[1] : 10 + t * STEP[1] + height, 10 + t * STEP[0] : 10 + t * STEP[0] + width]
        for t in range(frames)
    ]


@pytest.fixture(scope="module")
def clip():
    return panned_clip()


@pytest.fixture(scope="module")
def motion(clip):
    return ClipMotion.of(clip)


def test_flow_of_a_pan_is_the_pan_and_warping_brings_the_next_frame_back(clip):
    forward, backward = motions(FlowEstimator("medium"), clip[0], clip[1])
    inner = (slice(8, -8), slice(8, -8))
    np.testing.assert_allclose(np.median(forward.flow[inner], axis=(0, 1)), (-STEP[0], -STEP[1]), atol=0.1)
    np.testing.assert_allclose(np.median(backward.flow[inner], axis=(0, 1)), STEP, atol=0.1)
    assert forward.reliable[inner].mean() > 0.95
    assert not forward.reliable[:, :1].any()  # the left column leaves the frame: no match in frame 1
    pulled = forward.pull(clip[1].astype(np.float32))
    assert np.abs(pulled[inner] - clip[0][inner]).mean() < 2.0


def test_consistency_check_rejects_flows_that_disagree():
    forward = np.full((20, 20, 2), 3.0, np.float32)
    assert consistent(forward, -forward)[5:15, 5:15].all()
    assert not consistent(forward, forward)[5:15, 5:15].any()
    image = np.arange(400, dtype=np.float32).reshape(20, 20)
    np.testing.assert_allclose(warp(image, np.zeros_like(forward)), image)


def test_warping_error_of_a_consistent_output_is_the_floor_and_of_independent_noise_its_variance(clip, motion):
    floor = warping_error(clip, motion)
    assert floor < 0.5
    consistent_output = [255 - frame.astype(np.float32) * 0.8 for frame in clip]  # a per-pixel "style": moves along
    assert warping_error(consistent_output, motion) < 0.5
    rng = np.random.default_rng(1)
    noisy = [frame + rng.normal(0, SIGMA, frame.shape) for frame in consistent_output]
    expected = 2 * SIGMA**2 / 255**2 * 1000  # two independent noises of variance sigma^2, on 0..1, x1000
    assert 0.75 * expected < warping_error(noisy, motion) < 1.1 * expected + floor


def test_ghosting_of_an_exact_copy_is_zero_and_of_a_trail_positive(clip, motion):
    assert ghosting(clip, clip, motion) == 0.0
    trails = [clip[0]] + [
        0.5 * a.astype(np.float32) + 0.5 * b for a, b in zip(clip[:-1], clip[1:], strict=False)
    ]  # unwarped
    assert ghosting(trails, clip, motion) > 1.0
    assert motion.backward[0].moved().mean() > 0.95  # every pixel moved: the whole frame is scored
