"""Loading a decoder file: every way a `.keras` file can be wrong becomes one UserError naming it.

Random bytes, a zip without `config.json`, broken JSON, a model Keras' safe mode refuses (a Lambda
layer: code), a valid Keras model of another architecture, NaN weights: all are refused here, before
the decoder is used for inference, export or as `train.init_from`.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import keras
import numpy as np

from adain.errors import UserError
from adain.nn.layout import VGG19_CHANNELS


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__)[:300]


def load_decoder_file(path: str | os.PathLike, content_layer: str) -> keras.Model:
    """A decoder `.keras` file that decodes `content_layer` features to RGB (safe mode: no code is run)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"decoder file not found: {path}")
    if path.suffix != ".keras":
        raise UserError(f"{path}: not a decoder .keras file (give a run directory or a .keras file)")
    if not zipfile.is_zipfile(path):  # Keras would call it "File not found"
        raise UserError(f"{path}: not a loadable decoder (not a .keras zip archive: damaged or another kind of file)")
    try:
        decoder = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - zip, JSON, deserialization and safe-mode errors alike
        raise UserError(f"{path}: not a loadable decoder ({_reason(exc)})") from None
    check_decoder(decoder, content_layer, path)
    return decoder


def check_decoder(decoder: object, content_layer: str, path: Path) -> None:
    """It must take [N, h, w, C] features of `content_layer` and give [N, h*s, w*s, 3] with finite weights."""
    if not isinstance(decoder, keras.Model):
        raise UserError(f"{path}: holds a {type(decoder).__name__}, not a decoder model")
    channels = VGG19_CHANNELS[content_layer]
    scale = 2 ** (int(content_layer[len("block")]) - 1)
    try:
        output = decoder(np.zeros((1, 2, 2, channels), np.float32))
        shape = tuple(int(d) for d in output.shape)
    except Exception as exc:  # noqa: BLE001 - a model of another architecture fails anywhere in its call
        raise UserError(f"{path}: not a decoder of {content_layer} features ({_reason(exc)})") from None
    if shape != (1, 2 * scale, 2 * scale, 3):
        raise UserError(
            f"{path}: not a decoder of {content_layer} features "
            f"(gives {shape} for a 2x2 input, expected {(1, 2 * scale, 2 * scale, 3)})"
        )
    if not all(np.isfinite(w).all() for w in decoder.get_weights()):
        raise UserError(f"{path}: the decoder's weights are not finite (NaN or inf)")
