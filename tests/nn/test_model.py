"""AdaIN, the decoder, the losses and serialization."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from adain.nn import losses
from adain.nn.decoder import build_decoder, transpose_encoder_into
from adain.nn.layers import AdaIN, ChannelScale, ReflectionConv2D
from adain.nn.model import AdaINModel
from adain.nn.ops import channel_mean_std


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


@pytest.mark.parametrize("scaled", [False, True])
def test_decoder_save_and_load_round_trip(tmp_path, scaled):
    scale = np.linspace(0.5, 400.0, 512) if scaled else None
    decoder = build_decoder(input_scale=scale)
    features = tf.random.uniform((1, 5, 7, 512)) / (400.0 if scaled else 1.0)
    before = decoder(features)
    decoder.save(tmp_path / "decoder.keras")
    loaded = keras.saving.load_model(tmp_path / "decoder.keras", compile=False)
    np.testing.assert_allclose(loaded(features), before, rtol=1e-5, atol=1e-4)
    assert any(isinstance(layer, ChannelScale) for layer in loaded.layers) == scaled
    assert AdaIN.from_config(AdaIN(epsilon=1e-3).get_config()).epsilon == 1e-3


def test_input_scale_makes_a_decoder_of_scaled_features_the_same_function():
    """decoder(x / m) with input scale m == decoder(x) without: same weights, same images."""
    scale = np.linspace(1.0, 50.0, 512).astype(np.float32)
    plain, scaled = build_decoder(), build_decoder(input_scale=scale)
    assert [w.shape for w in plain.get_weights()] == [w.shape for w in scaled.get_weights()]  # nothing trainable added
    scaled.set_weights(plain.get_weights())
    features = tf.random.uniform((1, 4, 6, 512), 0, 100)
    np.testing.assert_allclose(scaled(features / scale), plain(features), rtol=1e-4, atol=1e-3)


@pytest.mark.slow  # minutes of real optimisation on 2 CPU cores
def test_one_training_step_lowers_the_loss_on_real_images(encoder, shared_data):
    from adain.preprocess import prepare_image

    def batch(folder, n):
        paths = sorted(folder.iterdir())[:n]
        return tf.stack([prepare_image(p, 64, crop=True) for p in paths])

    keras.utils.set_random_seed(0)
    model = AdaINModel(encoder, build_decoder())
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    data = {"content": batch(shared_data / "content", 2), "style": batch(shared_data / "style", 2)}
    first = model.train_step(data)["loss"]
    for _ in range(5):
        last = model.train_step(data)["loss"]
    assert float(last) < float(first)


@pytest.mark.slow  # minutes of real optimisation on 2 CPU cores
def test_encoder_transpose_init_starts_the_decoder_from_the_contents_structure(vgg_weights, encoder, shared_data):
    """model.decoder_init=encoder_transpose: untrained, the decoder already inverts relu4_1 far better than noise."""
    from adain.preprocess import prepare_image
    from adain.weights.normalization import scale_images

    image = prepare_image(shared_data / "content" / "flowers.jpg", 128, crop=True)[None]
    calibration = scale_images(128)  # what train.py calibrates on
    features = encoder(image)[-1]
    scores = {}
    for init in ("random", "encoder_transpose"):
        keras.utils.set_random_seed(0)
        decoder = build_decoder()
        if init == "encoder_transpose":
            scales = transpose_encoder_into(decoder, vgg_weights, calibration)
            assert [name for name, _ in scales] == [f"conv{i}" for i in range(1, 10)]
            assert all(factor > 0 for _, factor in scales)
        output = decoder(features)
        reconstruction = float(losses.content_loss(encoder(output)[-1], features))
        gray = np.corrcoef(np.asarray(output)[0].mean(-1).ravel(), np.asarray(image)[0].mean(-1).ravel())[0, 1]
        scores[init] = reconstruction, gray, float(np.mean(output))
    # Half the random decoder's reconstruction loss, twice its pixel correlation, around the ImageNet mean colour.
    assert scores["encoder_transpose"][0] < 0.6 * scores["random"][0], scores
    assert scores["encoder_transpose"][1] > max(0.2, 2 * scores["random"][1]), scores
    assert 60 < scores["encoder_transpose"][2] < 180, scores


def test_model_config_round_trip_rebuilds_the_same_network(encoder):
    decoder = build_decoder()
    model = AdaINModel(encoder, decoder, style_weight=3.0, tv_weight=0.5, style_indices=[0, 3], invert_steps=7)
    config = model.get_config()
    assert (config["style_weight"], config["style_indices"], config["invert_steps"]) == (3.0, [0, 3], 7)
    rebuilt = AdaINModel.from_config(config)
    assert [layer.name for layer in rebuilt.decoder.layers] == [layer.name for layer in decoder.layers]
    rebuilt.encoder.set_weights(encoder.get_weights())  # a config is the architecture; weights travel apart
    rebuilt.decoder.set_weights(decoder.get_weights())
    assert not rebuilt.encoder.trainable
    images = {"content": np.random.default_rng(0).uniform(0, 255, (1, 32, 40, 3)).astype("float32")}
    images["style"] = images["content"][:, ::-1]
    np.testing.assert_allclose(rebuilt(images).numpy(), model(images).numpy(), rtol=1e-5, atol=1e-3)


def test_output_range_loss_is_zero_inside_0_255_and_the_squared_excess_outside():
    inside = tf.constant(np.random.default_rng(0).uniform(0, 255, (1, 4, 4, 3)), tf.float32)
    assert float(losses.output_range_excess(inside)) == 0.0
    outside = np.full((1, 4, 4, 3), 100.0, np.float32)
    outside[0, 0, 0, 0], outside[0, 1, 1, 1] = 255 + 51, -25.5  # 0.2 above, 0.1 below, in 0..1 units
    assert float(losses.output_range_excess(tf.constant(outside))) == pytest.approx((0.2**2 + 0.1**2) / 48)


def test_with_an_output_range_weight_the_losses_see_the_written_pixels(encoder, shared_data):
    """train.output_range_weight: losses on the clipped output, plus the range term in the step's logs; the streak
    term (train.streak_weight) joins the same step's sum and round-trips through get_config."""
    from adain.media.images import load_image
    from adain.preprocess import center_crop, resize_smaller_side

    images = [center_crop(resize_smaller_side(load_image(p), 32), 32) for p in sorted(shared_data.glob("*/*.jpg"))[:2]]
    raw = tf.constant([[[[-40.0, 128.0, 300.0]]]])
    plain = AdaINModel(encoder, build_decoder())
    ranged = AdaINModel(encoder, build_decoder(), output_range_weight=10.0, streak_weight=5.0)
    assert np.array_equal(plain.as_written(raw), raw)
    assert np.array_equal(ranged.as_written(raw), [[[[0.0, 128.0, 255.0]]]])
    assert ranged.get_config()["output_range_weight"] == 10.0
    assert ranged.get_config()["streak_weight"] == 5.0
    ranged.compile(optimizer=keras.optimizers.Adam(1e-4))
    logs = ranged.train_step({"content": tf.stack(images[:1]), "style": tf.stack(images[1:])})
    assert float(logs["range_loss"]) >= 0.0 and float(logs["streak_loss"]) >= 0.0
    expected = float(logs["content_loss"]) + 10.0 * float(logs["style_loss"]) + 10.0 * float(logs["range_loss"])
    expected += 5.0 * float(logs["streak_loss"])
    assert float(logs["loss"]) == pytest.approx(expected, rel=1e-5)


def test_temporal_loss_zero_for_identity_without_noise_positive_for_a_move_or_noise(encoder, shared_data):
    """Wang et al.'s compound regularisation: no move and no noise leave nothing to penalise (the same decoder on
    the same target); a small move or a little noise changes an untrained decoder's strokes, so the term is > 0."""
    from adain.media.images import load_image
    from adain.preprocess import resize_smaller_side

    image = np.asarray(resize_smaller_side(load_image(sorted((shared_data / "content").glob("*.jpg"))[0]), 48))
    content = tf.constant(image[None, :48, :48], tf.float32)
    model = AdaINModel(encoder, build_decoder(), temporal_weight=1.0)
    style_features = model.encode_float32(tf.reverse(content, axis=[1]))[-1]
    output = model.decoder(model.decode_target(model.encode_float32(content)[-1], style_features))
    identity = tf.constant([[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]])
    no_noise = tf.zeros_like(content)
    assert float(model.temporal_loss(content, output, style_features, identity, no_noise)) == 0.0
    shift = tf.constant([[1.0, 0.0, 1.5, 0.0, 1.0, -1.0, 0.0, 0.0]])
    assert float(model.temporal_loss(content, output, style_features, shift, no_noise)) > 1e-6
    noise = tf.random.stateless_normal(content.shape, (1, 2), stddev=losses.TEMPORAL_NOISE)
    assert float(model.temporal_loss(content, output, style_features, identity, noise)) > 1e-6
    moves = losses.random_small_affine(3, 48, 48).numpy()
    assert np.all(np.abs(moves[:, [0, 4]] - 1) < 0.03) and np.all(np.abs(moves[:, [6, 7]]) == 0)


def test_two_training_steps_with_the_temporal_range_and_streak_terms(tmp_path, shared_data):
    """train.temporal_weight, output_range_weight and streak_weight > 0 through the real training loop: it runs,
    logs each term to TensorBoard and saves the weights."""
    from support import event_steps, write_small_config

    from adain.config import load_config
    from adain.training.loop import train

    config = write_small_config(
        tmp_path / "c.yaml",
        tmp_path / "run",
        shared_data / "content",
        shared_data / "style",
        2,
        temporal_weight=5.0,
        output_range_weight=10.0,
        streak_weight=2.0,
    )
    run = train(load_config(config))
    for term in ("temporal", "range", "streak"):
        assert event_steps(run / "logs", f"loss/{term}") == [1, 2], term
    saved = load_config(run / "config.yaml").train
    assert (saved.temporal_weight, saved.output_range_weight, saved.streak_weight) == (5.0, 10.0, 2.0)


def test_streak_excess_sees_added_scan_lines_not_the_photo_or_diagonal_texture(shared_data):
    """The streak penalty: zero for the photo itself, large for scan lines and a checkerboard added to it, near
    zero for diagonal texture of the same strength (fine texture that is not a streak is free), and a gradient
    that reaches the output's pixels."""
    from adain.media.images import load_image
    from adain.preprocess import center_crop, resize_smaller_side

    photo = np.asarray(
        center_crop(resize_smaller_side(load_image(sorted(shared_data.glob("content/*.jpg"))[0]), 64), 64)
    )
    photo = tf.constant(photo[None], tf.float32)
    rows, cols = np.indices((64, 64))
    lines = photo + 12.0 * (rows % 2)[None, ..., None]
    checker = photo + 12.0 * (((rows + cols) % 4) < 2)[None, ..., None]
    diagonal = photo + 12.0 * np.sin(2 * np.pi * (rows + cols) * 0.3)[None, ..., None].astype(np.float32)
    assert float(losses.streak_excess(photo, photo)) == 0.0
    lines_excess, checker_excess = (float(losses.streak_excess(x, photo)) for x in (lines, checker))
    assert lines_excess > 0.05 and checker_excess > 0.05
    assert float(losses.streak_excess(diagonal, photo)) < lines_excess / 20
    with tf.GradientTape() as tape:
        tape.watch(lines)
        excess = losses.streak_excess(lines, photo)
    assert float(tf.reduce_max(tf.abs(tape.gradient(excess, lines)))) > 0.0
