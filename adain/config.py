"""Typed, validated experiment configuration (YAML + dotted command-line overrides).

Every field is declared once here with its type and default; loading checks
unknown keys, types and values before any heavy work starts, so a typo costs a
one-line error instead of a crashed run hours later.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from adain.errors import UserError
from adain.media.demo import DEMO_IMAGES
from adain.media.files import write_text
from adain.nn.layout import VGG19_CONV_LAYERS


@dataclass
class SourceConfig:
    """Where images come from: an image folder (searched recursively) or a TFDS dataset."""

    source: str = "folder"  # folder | tfds
    path: str | None = None  # folder: the directory
    demo: str | None = None  # folder: fill an empty/missing folder with scikit-image's `photos` or `textures`
    name: str | None = None  # tfds: dataset name, e.g. coco/2017, or wikiart (adain/datasets/wikiart)
    split: str = "train"  # tfds: split
    data_dir: str | None = None  # tfds: where prepared data lives
    download: bool = False  # tfds: allow tfds to download and prepare
    image_key: str | None = None  # tfds: image feature name (found by type when unset)


@dataclass
class DataConfig:
    content: SourceConfig = field(default_factory=lambda: SourceConfig(source="tfds", name="coco/2017"))
    style: SourceConfig = field(default_factory=lambda: SourceConfig(path="data/wikiart"))
    load_size: int = 512  # smaller side resized to this, aspect kept
    crop_size: int = 256  # random square crop
    cache: bool = False  # cache decoded + resized images in memory (small datasets only)
    preview_pairs: int = 4  # fixed content/style pairs shown in TensorBoard
    # Scale jitter: each crop is taken from the image at a random smaller side in [min_load_size, load_size]
    # (null: always load_size). With 128-px crops and 256..512 it trains the texture scale of 512-px use at
    # the cost of 128-px steps (docs/quality.md, "Colour").
    min_load_size: int | None = None
    # Share of style crops given a random hue rotation and saturation x0.6..x1.8 before encoding: colours the
    # corpus lacks (saturated greens, flat posters) become training styles (0: off, the paper).
    style_recolor: float = 0.0


@dataclass
class ModelConfig:
    vgg_weights: str | None = None  # explicit VGG-19 weights file; else env ADAIN_VGG_WEIGHTS, caches, download
    # none | per_channel: filters rescaled to mean activation 1 (adain/weights/normalization.py, docs/quality.md)
    vgg_normalization: str = "none"
    content_layer: str = "block4_conv1"  # where AdaIN acts and the decoder starts (relu4_1)
    # random (the paper) | encoder_transpose: start the decoder as the VGG encoder's transpose (a deconvnet)
    decoder_init: str = "random"
    style_layers: list[str] = field(
        default_factory=lambda: ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1"]
    )  # relu1_1..relu4_1


@dataclass
class TrainConfig:
    batch_size: int = 8
    steps: int = 160_000
    learning_rate: float = 1e-4
    lr_decay: float = 5e-5  # inverse-time decay per step: lr / (1 + lr_decay * step)
    warmup_steps: int = 0  # linear warm-up of the learning rate over the first N steps (0: off, the paper)
    # Warm start: the first N steps train the decoder to invert the content's features (AdaIN off, no style
    # loss), so the AdaIN losses start from a decoder that already draws the photo (0: off, the paper).
    invert_steps: int = 0
    pixel_weight: float = 0.0  # during invert_steps: weight of MSE(output, content) on 0..1 pixels
    content_weight: float = 1.0
    style_weight: float = 10.0
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    log_every: int = 100
    image_every: int = 1000
    jit_compile: bool | None = None  # XLA for the training step; null: Keras' auto (on with a GPU, off on CPU)
    mixed_precision: str = "auto"  # float32 | mixed_float16 | mixed_bfloat16 | auto (see adain.training.precision)
    tv_weight: float = 0.0  # total-variation loss weight (0: off)
    # > 0: the losses see the output clipped to 0..255, as it is written, and this weight penalises the squared
    # excess beyond that range (0..1 units), so no pixel can meet the statistics with values no image can hold
    # (blown highlights, bleached colours). 0: the paper (losses on the unclipped output).
    output_range_weight: float = 0.0
    # Steadier video (Wang et al. AAAI 2020 compound regularisation, AdaINModel.temporal_loss): weight of the MSE
    # (0..1 pixels) between the output for a slightly moved, noisy content and the moved output (0: off).
    temporal_weight: float = 0.0
    # Against streaks and checkerboards from the nearest upsampling: weight of the output's energy on the spectrum's
    # axes and period-2/4/8 lattice beyond the content photo's own (adain.nn.losses.streak_excess; 0: off).
    streak_weight: float = 0.0
    eval_every: int = 0  # evaluate on the held-out `eval` set every N steps (0: off)
    init_from: str | None = None  # start the decoder from another run (dir or decoder .keras): fine-tuning
    # Time budget: stop cleanly (checkpoint + decoder.keras, as at the last step) once this many minutes of
    # training have passed, counted from the first step (setup excluded); the same command resumes with a new
    # budget. null: train all `steps`. For runs that must end in time (the demo on a CPU without bfloat16).
    max_minutes: float | None = None


@dataclass
class EvalConfig:
    """A fixed held-out set for evaluation during training (adain/evaluate.py)."""

    content: str | None = None  # folder, file or glob of content images
    style: str | None = None  # folder, file or glob of style images
    size: int = 128  # smaller side of content and style images
    max_images: int = 4  # first N (sorted) of each: N x N pairs


DECODER_INITS = ("random", "encoder_transpose")
NORMALIZATIONS = ("none", "per_channel")  # VGG-19 normalisation (adain.weights.normalization)
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")  # Keras dtype policies (adain.training.precision)
STRATEGIES = ("auto", "default", "mirrored", "multi_worker", "tpu")


@dataclass
class DistributeConfig:
    """Which tf.distribute strategy runs the training step (see adain/distribute.py)."""

    strategy: str = "auto"  # auto | default | mirrored | multi_worker | tpu
    tpu: str | None = None  # tpu: TPU name or grpc:// address; "local" on a TPU VM; unset: from the environment
    cpu_replicas: int = 1  # mirrored without GPUs: split the CPU into this many logical devices (tests, laptops)


@dataclass
class Config:
    run_dir: str = "checkpoints/adain"
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    distribute: DistributeConfig = field(default_factory=DistributeConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


# ---------------------------------------------------------------------------
# dict <-> dataclass with type checking


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], where)
    if origin is list:
        if not isinstance(value, list):
            raise UserError(f"config: {where} must be a list, got {value!r}")
        return [_coerce(item, typing.get_args(tp)[0], f"{where}[{i}]") for i, item in enumerate(value)]
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise UserError(f"config: {where} must be a mapping, got {type(value).__name__}")
        return _from_dict(tp, value, where)
    if tp is float:
        if isinstance(value, str):  # PyYAML (YAML 1.1) reads 5e-4 without a dot as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"config: {where} must be a number, got {value!r}")
        if not math.isfinite(value):  # NaN or inf trains garbage silently: refused for every float field
            raise UserError(f"config: {where} must be a finite number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserError(f"config: {where} must be an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise UserError(f"config: {where} must be true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise UserError(f"config: {where} must be a string, got {value!r}")
        return value
    raise TypeError(f"unsupported config type {_type_name(tp)} at {where}")


def _from_dict(cls: type, data: dict, where: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in hints:
            raise UserError(f"config: unknown key '{where + '.' if where else ''}{key}' (known: {', '.join(names)})")
    kwargs = {key: _coerce(value, hints[key], f"{where}.{key}" if where else key) for key, value in data.items()}
    return cls(**kwargs)


def to_dict(config: Config) -> dict:
    return dataclasses.asdict(config)


def apply_override(data: dict, assignment: str) -> None:
    """Apply one `dotted.key=value` override; the value is parsed as YAML."""
    if "=" not in assignment:
        raise UserError(f"--set expects key=value, got '{assignment}'")
    key, raw = assignment.split("=", 1)
    parts = key.strip().split(".")
    if not all(parts):
        raise UserError(f"--set: bad key '{key}'")
    try:
        value = yaml.safe_load(raw) if raw != "" else None
    except yaml.YAMLError as exc:
        raise UserError(f"--set {key}: value is not valid YAML ({exc.problem})") from None
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise UserError(f"--set: '{key}' goes through '{part}', which is not a section")
        node = child
    node[parts[-1]] = value


def from_dict(data: dict) -> Config:
    config = _from_dict(Config, data)
    validate(config)
    return config


def model_config_from_dict(section: dict) -> ModelConfig:
    """A validated model section from a saved run's config; keys this version no longer knows are dropped.

    Runs saved before `vgg_normalization` existed were trained without normalisation.
    """
    known = {f.name for f in dataclasses.fields(ModelConfig)}
    section = {"vgg_normalization": "none", **{key: value for key, value in section.items() if key in known}}
    model = _from_dict(ModelConfig, section, "model")
    validate_model(model)
    return model


def read_yaml_mapping(path: Path, what: str) -> dict:
    """A YAML file holding a mapping (or nothing); every way it can be unreadable is one UserError naming it."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not a UTF-8 text file"
        raise UserError(f"{what} {path}: cannot be read ({reason})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise UserError(f"{what} {path} is not valid YAML{at}") from None
    if loaded is not None and not isinstance(loaded, dict):
        raise UserError(f"{what} {path} must hold a mapping at the top level")
    return loaded or {}


def load_config(path: str | os.PathLike | None, overrides: Sequence[str] = ()) -> Config:
    """Read a YAML config, apply `key=value` overrides, validate. Raises UserError."""
    data: dict = {}
    if path is not None:
        path = Path(path)
        if path.is_dir():
            raise UserError(f"config file {path} is a folder, not a YAML file")
        if not path.is_file():
            raise UserError(f"config file not found: {path}")
        data = read_yaml_mapping(path, "config file")
    for assignment in overrides:
        apply_override(data, assignment)
    return from_dict(data)


def flatten(data: dict, prefix: str = "") -> dict[str, Any]:
    """{"train": {"steps": 4}} -> {"train.steps": 4}: the keys `--set` names."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat |= flatten(value, name + ".")
        else:
            flat[name] = value
    return flat


def resume_config(
    saved: Config, config: Config, set_keys: Sequence[str] = ()
) -> tuple[Config, dict[str, tuple[Any, Any]], dict[str, tuple[Any, Any]]]:
    """A resumed run's config: what `--set` changed is taken, any other change (an edited config file) is not.

    Returns (config to train with, changes taken from --set, changes refused) as {key: (run's, new)};
    `run_dir` is where the run is, never a change. The caller says both and records the taken ones.
    """
    old, new = flatten(to_dict(saved)), flatten(to_dict(config))
    changed = {key: (old.get(key), new.get(key)) for key in old.keys() | new.keys() if old.get(key) != new.get(key)}
    changed.pop("run_dir", None)

    def by_set(key: str) -> bool:
        return any(key == name or key.startswith(name + ".") for name in set_keys)

    taken = {key: values for key, values in sorted(changed.items()) if by_set(key)}
    refused = {key: values for key, values in sorted(changed.items()) if not by_set(key)}
    if not refused:
        return config, taken, refused
    merged = to_dict(config)
    for key, (value, _) in refused.items():
        node = merged
        *sections, last = key.split(".")
        for part in sections:
            node = node[part]
        node[last] = value
    return from_dict(merged), taken, refused


def save_config(config: Config, path: str | os.PathLike) -> None:
    write_text(path, yaml.safe_dump(to_dict(config), sort_keys=False))


# ---------------------------------------------------------------------------
# value checks


def _positive(value: float, where: str, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        raise UserError(f"config: {where} must be {'>= 0' if allow_zero else '> 0'}, got {value}")


DEMO_SETS = tuple(DEMO_IMAGES)


def validate_source(source: SourceConfig, where: str) -> None:
    if source.source == "folder":
        if not source.path:
            raise UserError(f"config: {where}.path is required for a folder source")
        if source.demo is not None and source.demo not in DEMO_SETS:
            raise UserError(f"config: {where}.demo must be one of {', '.join(DEMO_SETS)}, got '{source.demo}'")
        if source.demo is None and Path(source.path).is_file():
            raise UserError(f"config: {where}.path: {source.path} is a file, not a folder of images")
        if source.demo is None and not Path(source.path).is_dir():
            raise UserError(f"config: {where}.path: folder not found: {source.path}")
    elif source.source == "tfds":
        if not source.name:
            raise UserError(f"config: {where}.name is required for a tfds source (e.g. coco/2017)")
    else:
        raise UserError(f"config: {where}.source must be 'folder' or 'tfds', got '{source.source}'")


def validate(config: Config) -> None:
    data, train = config.data, config.train
    if not config.run_dir.strip():
        raise UserError("config: run_dir must name a folder, got an empty string")
    if not 0 <= config.seed < 2**32:  # numpy's and TensorFlow's seeds: refused by them only after the model is built
        raise UserError(f"config: seed must be in [0, 2**32 - 1], got {config.seed}")
    validate_source(data.content, "data.content")
    validate_source(data.style, "data.style")
    _positive(data.load_size, "data.load_size")
    _positive(data.crop_size, "data.crop_size")
    if data.crop_size > data.load_size:
        raise UserError(f"config: data.crop_size ({data.crop_size}) must not exceed data.load_size ({data.load_size})")
    if data.crop_size < 16:
        raise UserError(f"config: data.crop_size must be at least 16 (relu4_1 needs 2x2), got {data.crop_size}")
    _positive(data.preview_pairs, "data.preview_pairs", allow_zero=True)
    if data.min_load_size is not None and not data.crop_size <= data.min_load_size <= data.load_size:
        raise UserError(
            f"config: data.min_load_size must be between data.crop_size ({data.crop_size}) and data.load_size "
            f"({data.load_size}), got {data.min_load_size}"
        )
    if not 0 <= data.style_recolor <= 1:
        raise UserError(f"config: data.style_recolor is a share of style crops in [0, 1], got {data.style_recolor}")
    if config.model.vgg_weights is not None and not Path(config.model.vgg_weights).is_file():
        raise UserError(f"config: model.vgg_weights: file not found: {config.model.vgg_weights}")
    for name in ("batch_size", "steps", "checkpoint_every", "keep_checkpoints", "log_every", "image_every"):
        _positive(getattr(train, name), f"train.{name}")
    if train.mixed_precision not in PRECISIONS:
        raise UserError(
            f"config: train.mixed_precision must be one of {', '.join(PRECISIONS)}, got {train.mixed_precision!r}"
        )
    _positive(train.learning_rate, "train.learning_rate")
    if train.learning_rate > 1:  # Adam steps of more than 1 per weight only ever diverge
        raise UserError(f"config: train.learning_rate must be <= 1, got {train.learning_rate}")
    _positive(train.lr_decay, "train.lr_decay", allow_zero=True)
    _positive(train.content_weight, "train.content_weight", allow_zero=True)
    _positive(train.style_weight, "train.style_weight", allow_zero=True)
    _positive(train.tv_weight, "train.tv_weight", allow_zero=True)
    _positive(train.output_range_weight, "train.output_range_weight", allow_zero=True)
    _positive(train.streak_weight, "train.streak_weight", allow_zero=True)
    _positive(train.temporal_weight, "train.temporal_weight", allow_zero=True)
    _positive(train.warmup_steps, "train.warmup_steps", allow_zero=True)
    _positive(train.invert_steps, "train.invert_steps", allow_zero=True)
    _positive(train.pixel_weight, "train.pixel_weight", allow_zero=True)
    _positive(train.eval_every, "train.eval_every", allow_zero=True)
    if train.max_minutes is not None:
        _positive(train.max_minutes, "train.max_minutes")
    if train.init_from is not None and not Path(train.init_from).exists():
        raise UserError(f"config: train.init_from: not found: {train.init_from}")
    validate_model(config.model)
    validate_eval(config.eval, train.eval_every)
    validate_distribute(config.distribute)


def validate_model(model: ModelConfig) -> None:
    if model.vgg_normalization not in NORMALIZATIONS:
        raise UserError(
            f"config: model.vgg_normalization must be one of {', '.join(NORMALIZATIONS)}, got '{model.vgg_normalization}'"
        )
    if model.decoder_init not in DECODER_INITS:
        raise UserError(
            f"config: model.decoder_init must be one of {', '.join(DECODER_INITS)}, got '{model.decoder_init}'"
        )
    adain_layers = [name for name in VGG19_CONV_LAYERS if not name.startswith("block5")]  # padding: stride 8
    if model.content_layer not in adain_layers:
        raise UserError(
            "config: model.content_layer must be a VGG-19 conv layer of blocks 1-4 (e.g. block4_conv1), "
            f"got '{model.content_layer}'"
        )
    if not model.style_layers:
        raise UserError("config: model.style_layers must name at least one layer")
    for name in model.style_layers:
        if name not in VGG19_CONV_LAYERS:
            raise UserError(f"config: model.style_layers: unknown VGG-19 layer '{name}' (e.g. block1_conv1)")
        if VGG19_CONV_LAYERS.index(name) > VGG19_CONV_LAYERS.index(model.content_layer):
            raise UserError(
                f"config: model.style_layers: {name} is deeper than model.content_layer "
                f"{model.content_layer} (the encoder stops there)"
            )


def validate_eval(evaluation: EvalConfig, every: int) -> None:
    _positive(evaluation.max_images, "eval.max_images")
    if evaluation.size < 16:
        raise UserError(f"config: eval.size must be at least 16, got {evaluation.size}")
    if every and not (evaluation.content and evaluation.style):
        raise UserError("config: train.eval_every needs a held-out set: set eval.content and eval.style")


def validate_distribute(dist: DistributeConfig) -> None:
    if dist.strategy not in STRATEGIES:
        raise UserError(f"config: distribute.strategy must be one of {', '.join(STRATEGIES)}, got '{dist.strategy}'")
    if dist.tpu is not None and dist.strategy != "tpu":
        raise UserError(f"config: distribute.tpu is only used with distribute.strategy: tpu (got '{dist.strategy}')")
    _positive(dist.cpu_replicas, "distribute.cpu_replicas")
    if dist.cpu_replicas > 1 and dist.strategy not in ("auto", "mirrored"):
        raise UserError(
            f"config: distribute.cpu_replicas > 1 needs distribute.strategy mirrored or auto, got '{dist.strategy}'"
        )
