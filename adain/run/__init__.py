"""A run directory, the one place that knows its layout: what train writes, what stylize, export and evaluate read.

    RUN_DIR/config.yaml          the resolved config the run was trained with
    RUN_DIR/decoder.keras        the final decoder (float32), for inference
    RUN_DIR/checkpoints/         tf.train.Checkpoint(decoder=..., optimizer=...): resume and fine-tuning
    RUN_DIR/logs/                TensorBoard events (and eval.jsonl)
    RUN_DIR/skipped_files.tsv    unreadable training images found so far

The network a run is (encoder and decoder) follows from its config's model section, so this module
also builds them: a decoder is always read together with the config it was trained with.
"""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
import yaml

from adain.config import ModelConfig, model_config_from_dict, read_yaml_mapping
from adain.errors import UserError
from adain.media.files import atomic_path, short_write_cause, write_text
from adain.nn.decoder import build_decoder
from adain.nn.vgg import adain_encoder_layers, build_vgg19_encoder
from adain.run.checkpoints import restore_newest
from adain.run.decoder_files import load_decoder_file
from adain.weights.normalization import decoder_input_scale, encoder_weights

DECODER_FILE = "decoder.keras"
CONFIG_FILE = "config.yaml"
CHECKPOINT_DIR = "checkpoints"
LOG_DIR = "logs"
SKIPPED_FILE = "skipped_files.tsv"  # unreadable images found so far: path TAB reason
HISTORY_FILE = "config_history.yaml"  # config changes a resume took (`--set`), oldest first


LAYOUT = {
    CONFIG_FILE: "file",
    DECODER_FILE: "file",
    SKIPPED_FILE: "file",
    HISTORY_FILE: "file",
    CHECKPOINT_DIR: "folder",
    LOG_DIR: "folder",
}


def check_layout(run_dir: str | os.PathLike) -> None:
    """Every entry of the layout that exists is of its kind: a `checkpoints` that is a file (or a `decoder.keras`
    that is a folder) is one UserError naming it, not a traceback halfway through a run."""
    for name, kind in LAYOUT.items():
        path = Path(run_dir) / name
        if path.exists() and path.is_dir() != (kind == "folder"):
            raise UserError(f"run directory {run_dir}: {path} should be a {kind}; move it away")


def run_directory(path: str | os.PathLike) -> Path:
    """The run a path belongs to: the directory itself, or the folder of a decoder .keras file in it."""
    path = Path(path)
    return path.parent if path.is_file() else path


def read_run_config(path: str | os.PathLike) -> dict:
    """The run's config.yaml as saved ({} when the run has none); UserError naming the file if it is broken."""
    config_file = run_directory(path) / CONFIG_FILE
    if not config_file.exists():
        return {}
    if not config_file.is_file():
        raise UserError(f"run config {config_file} is not a file")
    return read_yaml_mapping(config_file, "run config")


def record_config_change(run_dir: str | os.PathLike, step: int, changes: dict) -> Path:
    """Append one entry to the run's config history: when, at which step, and each key's old and new value."""
    path = Path(run_dir) / HISTORY_FILE
    history = yaml.safe_load(path.read_text()) if path.is_file() else None
    history = history if isinstance(history, list) else []
    history.append(
        {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "step": step,
            "changes": {key: {"from": old, "to": new} for key, (old, new) in changes.items()},
        }
    )
    return write_text(path, yaml.safe_dump(history, sort_keys=False))


def run_model_config(path: str | os.PathLike) -> ModelConfig:
    """The model section a run (directory or its decoder .keras file) was trained with; defaults without config.yaml."""
    section = read_run_config(path).get("model") or {}
    if not isinstance(section, dict):
        raise UserError(f"{run_directory(path) / CONFIG_FILE}: 'model' must be a mapping")
    return model_config_from_dict(section)


def build_configured_encoder(
    model: ModelConfig, vgg_weights: str | None = None, verbose: bool = False, dtype: str | None = None
) -> tuple[keras.Model, list[int]]:
    """The encoder a config asks for (weights, normalisation, layers) and the indices of its style outputs."""
    weights = encoder_weights(vgg_weights or model.vgg_weights, model.vgg_normalization, verbose=verbose)
    outputs, style_indices = adain_encoder_layers(model.style_layers, model.content_layer)
    return build_vgg19_encoder(weights, outputs, dtype=dtype), style_indices


def build_configured_decoder(model: ModelConfig, dtype: str | None = None) -> keras.Sequential:
    """The decoder a config asks for: its content layer, and the input scale its VGG normalisation needs."""
    return build_decoder(content_layer=model.content_layer, dtype=dtype, input_scale=decoder_input_scale(model))


def make_checkpoint(decoder: keras.Model, optimizer: keras.optimizers.Optimizer | None = None) -> tf.train.Checkpoint:
    """The checkpoint's object graph; its names (decoder, optimizer) are the format of every saved run."""
    if optimizer is None:
        return tf.train.Checkpoint(decoder=decoder)
    return tf.train.Checkpoint(decoder=decoder, optimizer=optimizer)


def latest_checkpoint(run_dir: str | os.PathLike) -> str | None:
    return tf.train.latest_checkpoint(str(Path(run_dir) / CHECKPOINT_DIR))


def load_decoder(path: str | os.PathLike) -> keras.Model:
    """The trained decoder of a run: a decoder .keras file, else the run's `decoder.keras`, else the newest
    checkpoint that restores. Every way the files can be wrong is one UserError naming them."""
    path = Path(path)
    if path.is_file():
        return load_decoder_file(path, run_model_config(path).content_layer)
    if not path.is_dir():
        raise UserError(f"checkpoint not found: {path}")
    check_layout(path)
    model = run_model_config(path)
    if (path / DECODER_FILE).is_file():
        return load_decoder_file(path / DECODER_FILE, model.content_layer)
    decoder = build_configured_decoder(model)
    if restore_newest(make_checkpoint(decoder), path / CHECKPOINT_DIR, partial=True) is None:
        raise UserError(f"no trained decoder in {path} (expected {DECODER_FILE} or {CHECKPOINT_DIR}/)")
    return decoder


def save_decoder(decoder: keras.Model, run_dir: str | os.PathLike, model: ModelConfig) -> Path:
    """Save for inference, atomically (a kill never leaves a broken file).

    Always saved as float32, whatever precision trained it: inference picks its own.
    """
    final = Path(run_dir) / DECODER_FILE
    if any(layer.compute_dtype != "float32" for layer in decoder.layers):
        float32 = build_configured_decoder(model, dtype="float32")
        float32.set_weights(decoder.get_weights())
        decoder = float32
    with atomic_path(
        final, suffix=".keras", verify=lambda tmp: check_zip(tmp, final)
    ) as tmp:  # Keras picks the format by extension
        decoder.save(tmp)
    return final


def check_zip(path: Path, shown: Path) -> None:
    """A .keras file is a zip: every member of `path` reads back with its CRC, or the save of `shown` was short."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (OSError, zipfile.BadZipFile) as exc:
        bad = str(exc)
    if bad is not None:
        raise UserError(f"cannot write {shown}: {short_write_cause(path)} (the archive reads back damaged: {bad})")


def init_decoder_from(decoder: keras.Model, source: str | os.PathLike, model: ModelConfig) -> None:
    """Start `decoder` from another run's decoder (fine-tuning), also across a change of VGG normalisation.

    `model` is this run's config. Decoders start with `decoder_input_scale`, so the same weights make the
    same images whichever normalisation each run used: the trainable weights are copied as they are.
    """
    source = Path(source)
    source_model = run_model_config(source) if (run_directory(source) / CONFIG_FILE).is_file() else model
    if source_model.content_layer != model.content_layer:
        raise UserError(
            f"train.init_from: {source} decodes {source_model.content_layer}, this run {model.content_layer}"
        )
    try:
        decoder.set_weights([np.asarray(w) for w in load_decoder(source).get_weights()])
    except ValueError as exc:  # same content layer, other layers: not this run's architecture
        raise UserError(f"train.init_from: {source} does not fit this run's decoder ({exc})") from None
