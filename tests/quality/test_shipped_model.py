"""The shipped model: found without a checkpoint flag, and far better than an untrained decoder on real pairs.

The thresholds sit between the shipped model and short trainings. Measured on these pairs (content / style
loss, 2026-12-04): shipped model (long run, step 7107) 3.35 / 1.72; the decoder it was continued from 4.96 / 5.41;
700 steps of 8 x 128² on the corpus (more than the old `make demo`'s 600 steps of 4 x 96²) 4.73 / 4.61 at the
paper's learning rate and 6.20 / 12.18 at 1e-3; an untrained decoder 9.85 / 39.6.
"""

from __future__ import annotations

import numpy as np
import pytest
from support import REPO, run_script

from adain.shipped import SHIPPED_DIR

SIZE = 128
PAIRS = [("sailboat.jpg", "mondrian.jpg"), ("chicago.jpg", "brushstrokes.jpg"), ("cornell.jpg", "asheville.jpg")]
MAX_STYLE_LOSS = 3.0
MAX_CONTENT_LOSS = 4.2


@pytest.fixture(scope="module")
def pair_losses(shared_data):
    """Mean metric losses over the shared pairs at 128 px: the shipped model and an untrained decoder."""
    import keras

    from adain.inference.stylizer import Stylizer
    from adain.nn.model import AdaINModel
    from adain.quality.metrics import Metrics, load_set, mean_losses
    from adain.run import build_configured_decoder, run_model_config

    assert (SHIPPED_DIR / "decoder.keras").is_file(), "the shipped model is missing from checkpoints/"
    shipped = Stylizer.from_checkpoint()  # no argument: the shipped model
    keras.utils.set_random_seed(0)
    untrained = Stylizer(AdaINModel(shipped.model.encoder, build_configured_decoder(run_model_config(SHIPPED_DIR))))
    metrics = Metrics()
    losses = {"shipped": [], "untrained": []}
    for content_name, style_name in PAIRS:  # the metric's own loader: the evaluation's sizes and preprocessing
        (_, (content,)), (_, (style,)) = (
            load_set(str(shared_data / kind / name), SIZE, None, kind)
            for kind, name in (("content", content_name), ("style", style_name))
        )
        content_features, style_features = metrics.features(content), metrics.features(style)
        for name, stylizer in (("shipped", shipped), ("untrained", untrained)):
            output = stylizer.stylize(content, style).astype(np.float32)
            losses[name].append(metrics.losses(content_features, style_features, output))
    return {name: mean_losses(records) for name, records in losses.items()}


def test_shipped_model_beats_an_untrained_decoder_by_far(pair_losses):
    shipped, untrained = pair_losses["shipped"], pair_losses["untrained"]
    assert shipped["style_loss"] < MAX_STYLE_LOSS, pair_losses
    assert shipped["content_loss"] < MAX_CONTENT_LOSS, pair_losses
    assert shipped["style_loss"] < untrained["style_loss"] / 5, pair_losses
    assert shipped["content_loss"] < untrained["content_loss"] / 1.5, pair_losses


@pytest.mark.slow  # a real subprocess run of the documented command
def test_infer_without_checkpoint_uses_the_shipped_model(shared_data, tmp_path):
    output = tmp_path / "out.jpg"
    result = run_script(
        "infer.py",
        "--content",
        str(shared_data / "content" / "sailboat.jpg"),
        "--style",
        str(shared_data / "style" / "mondrian.jpg"),
        "--content-size",
        str(SIZE),
        "--output",
        str(output),
    )
    assert result.returncode == 0, result.stderr
    from PIL import Image

    with Image.open(output) as image:
        assert min(image.size) == SIZE
    assert REPO.joinpath("checkpoints", "adain-corpus", "README.md").is_file()  # the model card ships beside it
