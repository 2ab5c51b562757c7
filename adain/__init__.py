"""AdaIN style transfer (Huang & Belongie, ICCV 2017) in TensorFlow 2 / Keras 3.

The public API, imported on first use (so `import adain` and the command line stay fast)::

    from adain import Stylizer, load_config, train
    stylizer = Stylizer.from_checkpoint()  # the shipped model, or a run directory
    image = stylizer.stylize("photo.jpg", "painting.jpg", alpha=0.8)

The package is layered; imports only run downwards (docs/architecture.md):
cli -> {training, inference, quality} -> run -> {weights, data, config, shipped} -> {nn, media, preprocess} -> errors.
"""

from __future__ import annotations

import importlib

_PUBLIC = {
    "Stylizer": "adain.inference.stylizer",
    "load_config": "adain.config",
    "train": "adain.training.loop",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'adain' has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name]), name)
