"""The metric scores with the training objective's own losses (adain.nn.losses), so the two cannot drift apart."""

from __future__ import annotations

import numpy as np
import pytest

SIZE = 64


def test_the_metric_is_the_training_objective_on_the_same_features(shared_data):
    from adain.nn import losses
    from adain.nn.ops import adaptive_instance_norm
    from adain.quality.metrics import METRIC_STYLE_LAYERS, Metrics, load_set

    (_, (content,)), (_, (style,)) = (
        load_set(str(shared_data / kind / name), SIZE, None, kind)
        for kind, name in (("content", "sailboat.jpg"), ("style", "mondrian.jpg"))
    )
    metrics = Metrics()
    fc, fs = metrics.features(content), metrics.features(style)
    output = np.ascontiguousarray(content[::-1, ::-1], np.float32)  # any image of the content's size
    fo = metrics.features(output)
    scored = metrics.losses(fc, fs, output)

    assert scored["style_loss"] > 0
    assert scored["style_loss"] == pytest.approx(float(losses.style_loss(fo, fs)), rel=1e-6)
    per_layer = [float(t) for t in losses.style_layer_losses(fo, fs)]
    assert list(scored["style_layers"]) == list(METRIC_STYLE_LAYERS)
    assert list(scored["style_layers"].values()) == per_layer
    target = adaptive_instance_norm(fc[-1], fs[-1])
    assert scored["content_loss"] == float(losses.content_loss(fo[-1], target))
    assert scored["content_loss_vs_content"] == float(losses.content_loss(fo[-1], fc[-1]))
