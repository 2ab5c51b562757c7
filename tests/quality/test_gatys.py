"""The Gatys et al. optimisation method: it optimises, keeps the content's size, and runs from infer.py."""

import numpy as np
import pytest
from PIL import Image
from support import run_script

from adain.preprocess import prepare_image
from adain.quality.gatys import Gatys, gram_matrix
from adain.quality.gatys_settings import GatysSettings
from adain.weights.normalization import encoder_weights


@pytest.fixture(scope="module")
def normalised_weights(vgg_weights):
    return encoder_weights(normalization="per_channel")


def square(path, size):
    return np.asarray(prepare_image(path, size, crop=True))


def test_gram_matrix_is_position_normalised():
    features = np.random.default_rng(0).uniform(0, 2, (1, 6, 5, 4)).astype(np.float32)
    flat = features.reshape(-1, 4)
    np.testing.assert_allclose(gram_matrix(features), flat.T @ flat / 30, rtol=1e-5)


@pytest.mark.slow  # minutes of real optimisation on 2 CPU cores
def test_adam_halves_the_loss_in_50_iterations_and_keeps_the_size(normalised_weights, shared_data):
    content = square(shared_data / "content" / "cornell.jpg", 128)
    style = square(shared_data / "style" / "woman_with_hat_matisse.jpg", 128)
    saved = []
    gatys = Gatys(normalised_weights, GatysSettings(iterations=50, save_every=20))
    result = gatys.stylize(content, style, progress=False, on_save=lambda step, image: saved.append(step))
    assert result.image.shape == content.shape and result.image.dtype == np.uint8
    assert result.initial["content"] == 0.0  # initialised from the content image
    assert result.final["total"] <= 0.5 * result.initial["total"]
    assert result.final["style"] < 0.5 * result.initial["style"]
    assert len(result.history) == 50 and saved == [20, 40]
    assert np.abs(result.image.astype(float) - content).mean() > 5  # it did move the pixels


@pytest.mark.slow  # minutes of real optimisation on 2 CPU cores
def test_lbfgs_and_noise_init_lower_the_loss(normalised_weights, shared_data):
    content = square(shared_data / "content" / "sailboat.jpg", 48)
    style = square(shared_data / "style" / "mondrian.jpg", 48)
    settings = GatysSettings(
        iterations=10,
        optimizer="lbfgs",
        init="mix",
        tv_weight=1e-4,
        style_layers=("block1_conv1", "block2_conv1"),
        layer_weights=(3, 1),
    )
    result = Gatys(normalised_weights, settings).stylize(content, style, progress=False)
    assert result.final["total"] < 0.5 * result.initial["total"]
    assert 0 < result.initial["content"] and "tv" in result.final
    assert result.image.shape == content.shape


def test_the_adain_objective_can_be_optimised_per_image(normalised_weights, shared_data):
    """mean/std statistics and the AdaIN target: the per-image optimum of the decoder's training loss."""
    content = square(shared_data / "content" / "modern.jpg", 48)
    style = square(shared_data / "style" / "trial.jpg", 48)
    settings = GatysSettings(
        iterations=20,
        content_layer="block2_conv1",
        style_layers=("block1_conv1", "block2_conv1"),
        style_statistic="mean_std",
        content_target="adain",
        learning_rate=8.0,
    )
    result = Gatys(normalised_weights, settings).stylize(content, style, progress=False)
    assert result.initial["content"] > 0  # the target is AdaIN(content, style), not the content itself
    assert result.final["total"] < 0.5 * result.initial["total"]


@pytest.mark.slow
def test_infer_method_gatys_writes_content_sized_images(shared_data, tmp_path):
    content = shared_data / "content" / "flowers.jpg"
    out = tmp_path / "out.png"
    result = run_script(
        "infer.py",
        "--method",
        "gatys",
        "--content",
        str(content),
        "--style",
        str(shared_data / "style" / "mondrian.jpg"),
        "--output",
        str(out),
        "--content-size",
        "48",
        "--style-size",
        "48",
        "--iterations",
        "4",
        "--save-every",
        "2",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    expected = prepare_image(content, 48).shape
    assert Image.open(out).size == (expected[1], expected[0])
    assert (tmp_path / "out_iter00002.png").is_file()


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, message",
    [
        (["--alpha", "0.5"], "--alpha applies to --method adain"),
        (["--init", "zeros"], "argument --init: invalid choice"),
        (["--style-layers", "block9_conv1"], "unknown VGG-19 layer 'block9_conv1'"),
        (["--layer-weights", "1,2"], "2 layer weights for 5 style layers"),
    ],
)
def test_gatys_bad_input_exits_2(shared_data, tmp_path, args, message):
    result = run_script(
        "infer.py",
        "--method",
        "gatys",
        "--content",
        str(shared_data / "content" / "flowers.jpg"),
        "--style",
        str(shared_data / "style" / "mondrian.jpg"),
        "--output",
        str(tmp_path / "o.jpg"),
        *args,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "o.jpg").exists()


@pytest.mark.slow
def test_adain_method_without_a_model_is_one_line(shared_data, tmp_path, monkeypatch):
    """No --checkpoint: the shipped model (adain.shipped); here absent, which is one line naming the file."""
    monkeypatch.setenv("ADAIN_CHECKPOINT", str(tmp_path / "no_shipped_model"))
    result = run_script(
        "infer.py",
        "--content",
        str(shared_data / "content" / "flowers.jpg"),
        "--style",
        str(shared_data / "style" / "mondrian.jpg"),
        "--output",
        str(tmp_path / "o.jpg"),
    )
    assert result.returncode == 2
    assert "default checkpoint not found" in result.stderr.strip().splitlines()[-1]
