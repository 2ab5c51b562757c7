"""Evaluation with the paper's metrics, on fixed feature definitions so that any two runs compare.

For every content x style pair: the content loss (relu4_1 of the output against the AdaIN target
AdaIN(f(c), f(s))), the style loss (MSE of channel means and stds, summed over relu1_1..relu4_1) and
the content loss against the content image's own relu4_1 features. The features are always those of
the normalised VGG-19 (`METRIC_NORMALIZATION`; adain/normalization.py), whatever the checkpoint was
trained with; the same losses on unnormalised features (the normalised ones times the per-channel
means) are reported beside them. Outputs are scored as written: clipped and rounded to uint8.

  python -m adain.evaluate --checkpoint RUN_DIR --content DIR --style DIR --output REPORT_DIR [--gatys]

writes REPORT_DIR/report.json, report.md (a table), tradeoff.png (style loss against content loss), a
contact sheet and the stylized images per method.
`EvaluationCallback` runs the same evaluation during training every `train.eval_every` steps.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from adain.errors import UserError
from adain.images import contact_sheet, load_image, save_image, to_uint8
from adain.layers import adaptive_instance_norm, channel_mean_std
from adain.model import CONTENT_LAYER, STYLE_LAYERS, build_vgg19_encoder
from adain.normalization import SCALE_IMAGES, SCALE_SIZE, channel_scales, normalize_weights, weights_fingerprint
from adain.preprocess import resize_smaller_side
from adain.weights import load_vgg19_weights

METRIC_NORMALIZATION = "per_channel"
METRIC_STYLE_LAYERS = STYLE_LAYERS  # relu1_1, relu2_1, relu3_1, relu4_1
METRIC_CONTENT_LAYER = CONTENT_LAYER  # relu4_1, the last of the style layers
LOSS_KEYS = ("content_loss", "style_loss", "content_loss_vs_content")
IMAGE = tf.TensorSpec([1, None, None, 3], tf.float32)


def _mse(a, b) -> float:
    return float(tf.reduce_mean(tf.square(a - b)))


class Metrics:
    """The fixed metric: normalised VGG-19 features at relu1_1..relu4_1."""

    def __init__(self, vgg_weights: str | os.PathLike | None = None) -> None:
        raw = load_vgg19_weights(vgg_weights)
        scales = channel_scales(raw)
        self.fingerprint = weights_fingerprint(raw)
        self.encoder = build_vgg19_encoder(normalize_weights(raw, scales), METRIC_STYLE_LAYERS, name="metric_vgg19")
        self.scales = [tf.constant(scales[name]) for name in METRIC_STYLE_LAYERS]
        self._features = tf.function(lambda image: self.encoder(image, training=False), input_signature=[IMAGE])

    def describe(self) -> dict:
        return {
            "features": f"VGG-19, {METRIC_NORMALIZATION} normalisation",
            "normalization_images": f"scikit-image {', '.join(SCALE_IMAGES)} (smaller side {SCALE_SIZE})",
            "style_layers": list(METRIC_STYLE_LAYERS),
            "content_layer": METRIC_CONTENT_LAYER,
            "vgg_weights_sha256": self.fingerprint,
        }

    def features(self, image) -> list[tf.Tensor]:
        """Normalised features of one float RGB 0..255 image [H, W, 3]."""
        return list(self._features(tf.convert_to_tensor(np.asarray(image, np.float32)[None])))

    def losses(self, content_features: list, style_features: list, output) -> dict:
        """All losses of one output, on normalised features and on unnormalised ones."""
        output_features = self.features(output)
        result = {}
        for space, scales in (("per_channel", [1.0] * len(self.scales)), ("none", self.scales)):
            fc, fs, fo = ([f * k for f, k in zip(feats, scales, strict=True)]
                          for feats in (content_features, style_features, output_features))  # fmt: skip
            target = adaptive_instance_norm(fc[-1], fs[-1])
            per_layer = {}
            for name, o, s in zip(METRIC_STYLE_LAYERS, fo, fs, strict=True):
                (om, osd), (sm, ssd) = channel_mean_std(o), channel_mean_std(s)
                per_layer[name] = _mse(om, sm) + _mse(osd, ssd)
            losses = {"content_loss": _mse(fo[-1], target), "style_loss": sum(per_layer.values()),
                      "content_loss_vs_content": _mse(fo[-1], fc[-1]), "style_layers": per_layer}  # fmt: skip
            if space == METRIC_NORMALIZATION:
                result.update(losses)
            else:
                result[f"{space}_features"] = losses
        return result


def mean_losses(records: Sequence[dict]) -> dict:
    """Averages over pairs, for the primary and the secondary feature space."""
    means = {key: float(np.mean([r[key] for r in records])) for key in LOSS_KEYS}
    means["none_features"] = {key: float(np.mean([r["none_features"][key] for r in records])) for key in LOSS_KEYS}
    return means


def load_set(specs: str | Sequence[str], size: int, limit: int | None, what: str) -> tuple[list[str], list[np.ndarray]]:
    """Images of files, folders or globs: names and float RGB arrays, smaller side `size` (0 keeps)."""
    from adain.infer import expand_inputs

    paths = expand_inputs([specs] if isinstance(specs, str) else specs, what)[:limit]
    return [p.stem for p in paths], [np.asarray(resize_smaller_side(load_image(p), size)) for p in paths]


# A method: (content float [H, W, 3], style float [h, w, 3]) -> uint8 [H, W, 3]
Method = Callable[[np.ndarray, np.ndarray], np.ndarray]


def evaluate_method(method: Method, metrics: Metrics, contents: Sequence[np.ndarray], styles: Sequence[np.ndarray],
                    content_names: Sequence[str], style_names: Sequence[str], output_dir: Path | None = None,
                    warmup: bool = True, progress: bool = True) -> tuple[dict, list[list[np.ndarray]]]:  # fmt: skip
    """Stylize and score every pair; returns ({pairs, mean, seconds_per_pair}, outputs[content][style])."""
    from tqdm.auto import tqdm

    if warmup and contents and styles:  # one untimed call: tracing is not stylization time
        method(contents[0], styles[0])
    content_features = [metrics.features(c) for c in contents]
    style_features = [metrics.features(s) for s in styles]
    records, rows = [], []
    bar = tqdm(total=len(contents) * len(styles), unit="pair", desc="evaluate", disable=None if progress else True,
               leave=False)  # fmt: skip
    for i, content in enumerate(contents):
        row = []
        for j, style in enumerate(styles):
            start = time.perf_counter()
            output = to_uint8(method(content, style))
            seconds = time.perf_counter() - start
            record = {"content": content_names[i], "style": style_names[j], "seconds": seconds,
                      **metrics.losses(content_features[i], style_features[j], output.astype(np.float32))}  # fmt: skip
            records.append(record)
            row.append(output)
            if output_dir is not None:
                save_image(output, output_dir / f"{content_names[i]}_stylized_{style_names[j]}.jpg")
            bar.update(1)
        rows.append(row)
    bar.close()
    summary = {"pairs": records, "mean": mean_losses(records) if records else {},
               "seconds_per_pair": float(np.mean([r["seconds"] for r in records])) if records else 0.0}  # fmt: skip
    return summary, rows


class EvaluationCallback(keras.callbacks.Callback):
    """The evaluation on a fixed held-out set every `every` steps: `eval/` scalars and the sheet in TensorBoard."""

    def __init__(self, log_dir: str | os.PathLike, every: int, contents: Sequence[np.ndarray],
                 styles: Sequence[np.ndarray], metrics: Metrics | None = None) -> None:  # fmt: skip
        super().__init__()
        self.every = every
        self.contents, self.styles = list(contents), list(styles)
        self.metrics = metrics or Metrics()
        self.log_dir = Path(log_dir)
        self.writer = tf.summary.create_file_writer(str(log_dir))
        self._last = None

    @classmethod
    def from_config(cls, config, log_dir: str | os.PathLike) -> EvaluationCallback:
        evaluation = config.eval
        _, contents = load_set(evaluation.content, evaluation.size, evaluation.max_images, "eval.content")
        _, styles = load_set(evaluation.style, evaluation.size, evaluation.max_images, "eval.style")
        return cls(log_dir, config.train.eval_every, contents, styles)

    def _stylize(self, content: np.ndarray, style: np.ndarray) -> np.ndarray:
        return self.model({"content": content[None], "style": style[None]})[0].numpy()

    def run(self, step: int) -> dict:
        if step == self._last:
            return {}
        self._last = step
        summary, rows = evaluate_method(self._stylize, self.metrics, self.contents, self.styles,
                                        [str(i) for i in range(len(self.contents))],
                                        [str(j) for j in range(len(self.styles))], warmup=False, progress=False)  # fmt: skip
        with open(self.log_dir / "eval.jsonl", "a") as log:  # the held-out curve, also readable without TensorBoard
            log.write(
                json.dumps({"step": step, "time": time.time(), **{k: summary["mean"][k] for k in LOSS_KEYS}}) + "\n"
            )
        with self.writer.as_default(step=step):
            for key in LOSS_KEYS:
                tf.summary.scalar(f"eval/{key}", summary["mean"][key])
            sheet = contact_sheet(self.contents, self.styles, rows, cell=128)
            tf.summary.image("eval/sheet", sheet[None], max_outputs=1)
        self.writer.flush()
        return summary["mean"]

    def on_train_begin(self, logs=None):
        if int(self.model.optimizer.iterations.numpy()) == 0:
            self.run(0)  # the untrained decoder: where the curves start

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if step % self.every == 0:
            self.run(step)

    def on_train_end(self, logs=None):
        self.writer.close()


# ---------------------------------------------------------------------------
# report


def run_settings(checkpoint: str | os.PathLike) -> dict:
    """What a run was trained with, as far as the comparison needs it (from its config.yaml)."""
    from adain.config import CONFIG_FILE_NAME, read_run_config, run_model_config

    path = Path(checkpoint)
    if not (path / CONFIG_FILE_NAME).is_file():
        return {}
    train = read_run_config(path).get("train") or {}
    train = train if isinstance(train, dict) else {}
    model = run_model_config(path)
    return {"vgg_normalization": model.vgg_normalization, "decoder_init": model.decoder_init,
            **{k: train.get(k) for k in ("style_weight", "content_weight", "tv_weight", "steps")}}  # fmt: skip


def markdown_table(report: dict) -> str:
    lines = [
        "| method | trained with | content loss (vs AdaIN target) | style loss | content loss (vs content) "
        "| style loss, unnormalised features | s / pair |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, summary in report["methods"].items():
        mean, settings = summary["mean"], summary.get("trained_with") or {}
        trained = ", ".join(f"{k} {v}" for k, v in settings.items()
                            if k in ("vgg_normalization", "style_weight", "decoder_init"))  # fmt: skip
        if summary["method"] == "gatys":
            trained = f"{summary['settings']['iterations']} iterations, beta {summary['settings']['style_weight']}"
        lines.append(f"| {label} | {trained} | {mean['content_loss']:.4g} | {mean['style_loss']:.4g} | "
                     f"{mean['content_loss_vs_content']:.4g} | {mean['none_features']['style_loss']:.4g} | "
                     f"{summary['seconds_per_pair']:.3g} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def tradeoff_plot(report: dict, size: tuple[int, int] = (640, 440)) -> np.ndarray:
    """Style loss against content loss (log-log), one point per method; runs of the same normalisation joined."""
    from PIL import Image, ImageDraw

    points = {label: (s["mean"]["content_loss"], s["mean"]["style_loss"]) for label, s in report["methods"].items()}
    width, height = size
    left, right, top, bottom = 70, 110, 20, 50
    xs, ys = np.log10([p[0] for p in points.values()]), np.log10([p[1] for p in points.values()])
    x0, x1 = xs.min() - 0.05, xs.max() + 0.05
    y0, y1 = ys.min() - 0.05, ys.max() + 0.05

    def at(point):
        x, y = np.log10(point)
        return (
            left + (x - x0) / (x1 - x0) * (width - left - right),
            top + (y1 - y) / (y1 - y0) * (height - top - bottom),
        )

    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    for value in np.linspace(x0, x1, 5):
        px = left + (value - x0) / (x1 - x0) * (width - left - right)
        draw.text((px - 15, height - bottom + 5), f"{10**value:.3g}", fill="black")
    for value in np.linspace(y0, y1, 5):
        py = top + (y1 - value) / (y1 - y0) * (height - top - bottom)
        draw.text((5, py - 5), f"{10**value:.3g}", fill="black")
    draw.text((width // 2 - 110, height - 20), "content loss (vs AdaIN target), log", fill="black")
    draw.text((5, 2), "style loss, log", fill="black")
    colours = {"none": (200, 60, 40), "per_channel": (40, 90, 200),
               "none, encoder_transpose": (230, 140, 30), "per_channel, encoder_transpose": (120, 60, 190)}  # fmt: skip
    groups: dict[str, list] = {}
    for label, summary in report["methods"].items():
        settings = summary.get("trained_with") or {}
        group = settings.get("vgg_normalization", summary["method"])
        if settings.get("decoder_init", "random") != "random":
            group += f", {settings['decoder_init']}"
        groups.setdefault(group, []).append((summary.get("trained_with", {}).get("style_weight") or 0, label))
    for group, members in groups.items():
        colour = colours.get(group, (60, 150, 60) if group == "gatys" else (110, 110, 110))
        line = [at(points[label]) for _, label in sorted(members)]
        if len(line) > 1:
            draw.line(line, fill=colour, width=2)
        for _, label in members:
            px, py = at(points[label])
            draw.ellipse([px - 4, py - 4, px + 4, py + 4], fill=colour)
            draw.text((px + 6, py - 12), label, fill=colour)
    return np.asarray(image)


def unique_labels(checkpoints: Sequence[str]) -> list[str]:
    labels = []
    for checkpoint in checkpoints:
        path = Path(checkpoint)
        label = path.stem if path.suffix == ".keras" else path.name
        label = label or "adain"
        while label in labels or label == "gatys":
            label += "_"
        labels.append(label)
    return labels


DESCRIPTION = """Evaluate AdaIN checkpoints (and optionally the Gatys et al. method) on content x style pairs.

Per pair: content loss (relu4_1 of the output vs the AdaIN target), style loss (channel
mean/std MSE over relu1_1..relu4_1) and content loss vs the content image's relu4_1,
all on the normalised VGG-19 whatever the checkpoint was trained with, so runs compare.
Writes report.json, report.md, tradeoff.png, sheet_<method>.jpg and the stylized images per method."""

EXAMPLES = """examples:
  python -m adain.evaluate --checkpoint checkpoints/demo --content photos/ --style paintings/ --output reports/demo
  python -m adain.evaluate --checkpoint runs/a --checkpoint runs/b --content photos/ --style paintings/ \\
      --output reports/ab --size 128 --gatys --gatys-iterations 200"""


def main(argv: Sequence[str] | None = None) -> int:
    from adain.cli import ArgumentParser

    parser = ArgumentParser(prog="python -m adain.evaluate", description=DESCRIPTION, epilog=EXAMPLES)
    parser.add_argument("--checkpoint", action="append", default=[],
                        help="run directory (or decoder .keras file); repeat to compare several")  # fmt: skip
    parser.add_argument("--content", nargs="+", required=True, help="content images: directories, files or globs")
    parser.add_argument("--style", nargs="+", required=True, help="style images: directories, files or globs")
    parser.add_argument("--output", required=True, help="report directory")
    parser.add_argument("--size", type=int, default=256, help="smaller side of the content images (0 keeps)")
    parser.add_argument("--style-size", type=int, default=256, help="smaller side of the style images (0 keeps)")
    parser.add_argument("--max-images", type=int, help="use only the first N content and N style images")
    parser.add_argument("--gatys", action="store_true", help="also run the Gatys et al. method on the same pairs")
    parser.add_argument("--gatys-iterations", type=int, default=300, help="Gatys optimisation steps per pair")
    parser.add_argument("--gatys-style-weight", type=float, help="Gatys beta (default: adain.gatys' default)")
    parser.add_argument("--vgg-weights", help="VGG-19 weights for the metric (default: the usual resolution)")
    args = parser.parse_args(argv)
    if not args.checkpoint and not args.gatys:
        raise UserError("nothing to evaluate: give --checkpoint and/or --gatys")
    if args.size < 0 or args.style_size < 0 or (args.max_images is not None and args.max_images < 1):
        raise UserError("--size and --style-size must be >= 0 and --max-images >= 1")
    content_names, contents = load_set(args.content, args.size, args.max_images, "content")
    style_names, styles = load_set(args.style, args.style_size, args.max_images, "style")
    output = Path(args.output)

    from adain.stylize import Stylizer

    stylizers = [Stylizer.from_checkpoint(c) for c in args.checkpoint]  # fail fast on a bad checkpoint
    metrics = Metrics(args.vgg_weights)
    report: dict = {"metric": metrics.describe(), "content_size": args.size, "style_size": args.style_size,
                    "contents": content_names, "styles": style_names, "methods": {}}  # fmt: skip
    methods: list[tuple[str, Method, dict]] = []
    for label, checkpoint, stylizer in zip(unique_labels(args.checkpoint), args.checkpoint, stylizers, strict=True):

        def adain_method(content, style, stylizer=stylizer):
            return stylizer.stylize(content, style)

        info = {"method": "adain", "checkpoint": str(checkpoint), "trained_with": run_settings(checkpoint)}
        methods.append((label, adain_method, info))
    if args.gatys:
        from adain.gatys import Gatys, GatysSettings, settings_dict

        settings = GatysSettings(iterations=args.gatys_iterations)
        if args.gatys_style_weight is not None:
            settings.style_weight = args.gatys_style_weight
        gatys = Gatys.from_settings(settings, args.vgg_weights)

        def gatys_method(content, style):
            return gatys.stylize(content, style).image

        methods.append(("gatys", gatys_method, {"method": "gatys", "settings": settings_dict(settings)}))
    for label, method, info in methods:
        print(f"evaluating {label} on {len(contents)} x {len(styles)} pairs", file=sys.stderr)
        summary, rows = evaluate_method(method, metrics, contents, styles, content_names, style_names,
                                        output / label, warmup=info["method"] == "adain")  # fmt: skip
        report["methods"][label] = {**info, **summary}
        save_image(contact_sheet(contents, styles, rows), output / f"sheet_{label}.jpg")
    (output / "report.json").write_text(json.dumps(report, indent=2))
    save_image(tradeoff_plot(report), output / "tradeoff.png")
    table = markdown_table(report)
    (output / "report.md").write_text(table)
    print(table)
    print(f"wrote {output / 'report.json'}, {output / 'report.md'} and sheet_*.jpg", file=sys.stderr)
    return 0


if __name__ == "__main__":
    from adain.cli import quiet_tensorflow, run_main

    quiet_tensorflow()
    run_main(main)
