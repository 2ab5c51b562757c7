"""AdaIN, the decoder, the losses and serialization."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from adain import losses
from adain.layers import AdaIN, ReflectionConv2D, channel_mean_std
from adain.model import AdaINModel, build_decoder


def test_adain_output_has_style_statistics():
    rng = np.random.default_rng(0)
    content = tf.constant(rng.normal(3.0, 2.0, (2, 9, 11, 8)), tf.float32)
    style = tf.constant(rng.normal(-1.0, 5.0, (2, 6, 7, 8)) * np.arange(1, 9), tf.float32)
    out = AdaIN()([content, style])
    out_mean, out_std = channel_mean_std(out)
    style_mean, style_std = channel_mean_std(style)
    np.testing.assert_allclose(out_mean, style_mean, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out_std, style_std, rtol=1e-3)
    assert out.shape == content.shape


@pytest.mark.parametrize("size", [(37, 53), (64, 64), (50, 91), (17, 30)])
def test_output_size_equals_content_size(encoder, size):
    model = AdaINModel(encoder, build_decoder())
    content = tf.random.uniform((1, *size, 3), 0, 255)
    style = tf.random.uniform((1, 40, 33, 3), 0, 255)
    out = model({"content": content, "style": style})
    assert tuple(out.shape) == (1, *size, 3)


def test_losses_zero_for_identical_inputs_positive_otherwise():
    rng = np.random.default_rng(1)
    feats = [tf.constant(rng.uniform(0, 5, (2, s, s, c)), tf.float32) for s, c in ((16, 4), (8, 8), (4, 16))]
    other = [f * 1.5 + 0.3 for f in feats]
    assert float(losses.content_loss(feats[-1], feats[-1])) == 0.0
    assert float(losses.style_loss(feats, feats)) == 0.0
    assert float(losses.content_loss(other[-1], feats[-1])) > 0.0
    assert float(losses.style_loss(other, feats)) > 0.0


def test_decoder_has_no_normalization_and_mirrors_encoder():
    decoder = build_decoder()
    convs = [layer for layer in decoder.layers if isinstance(layer, ReflectionConv2D)]
    assert [c.filters for c in convs] == [256, 256, 256, 256, 128, 128, 64, 64, 3]
    assert sum(isinstance(layer, keras.layers.UpSampling2D) for layer in decoder.layers) == 3
    assert not any("Normalization" in type(layer).__name__ for layer in decoder.layers)
    assert convs[-1].activation is keras.activations.linear


def test_decoder_save_and_load_round_trip(tmp_path):
    decoder = build_decoder()
    features = tf.random.uniform((1, 5, 7, 512))
    before = decoder(features)
    decoder.save(tmp_path / "decoder.keras")
    loaded = keras.saving.load_model(tmp_path / "decoder.keras", compile=False)
    np.testing.assert_allclose(loaded(features), before, rtol=1e-5, atol=1e-4)
    assert AdaIN.from_config(AdaIN(epsilon=1e-3).get_config()).epsilon == 1e-3


def test_one_training_step_lowers_the_loss_on_real_images(encoder, shared_data):
    from adain.images import load_image
    from adain.preprocess import center_crop, resize_smaller_side

    def batch(folder, n):
        paths = sorted(folder.iterdir())[:n]
        return tf.stack([center_crop(resize_smaller_side(load_image(p), 64), 64) for p in paths])

    keras.utils.set_random_seed(0)
    model = AdaINModel(encoder, build_decoder())
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    data = {"content": batch(shared_data / "content", 2), "style": batch(shared_data / "style", 2)}
    first = model.train_step(data)["loss"]
    for _ in range(5):
        last = model.train_step(data)["loss"]
    assert float(last) < float(first)
