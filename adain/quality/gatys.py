"""The optimisation method of Gatys, Ecker & Bethge (CVPR 2016): the pixels are optimised, not a network.

Content loss: MSE of block4_conv2 (relu4_2) features against the content image's. Style loss: a weighted
sum over block1_conv1..block5_conv1 of the MSE between Gram matrices (normalised by positions) of the
image and of the style image; layer weights are normalised to sum to 1 (default: equal). The image
minimises alpha * content + beta * style (+ optional total variation), with Adam on the pixels (or
L-BFGS-B through SciPy), clipped to 0..255, from the content image, noise, or a mix of both.

It is slow (hundreds of VGG forward and backward passes per image) and needs no training: the
quality reference every feed-forward method is compared with (`adain evaluate --gatys`).
With `style_statistic="mean_std"` and `content_target="adain"` at block4_conv1 it optimises the AdaIN
paper's training objective instead: per image, what a perfectly trained decoder would output.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from adain.media.images import contact_sheet, load_image, save_image, to_uint8
from adain.nn import losses
from adain.nn.layout import VGG19_CONV_LAYERS, Weights
from adain.nn.ops import adaptive_instance_norm, channel_mean_std
from adain.nn.vgg import build_vgg19_encoder
from adain.preprocess import prepare_image
from adain.quality.gatys_settings import GatysSettings, settings_dict
from adain.weights.normalization import encoder_weights


@dataclass
class GatysResult:
    image: np.ndarray  # uint8 [H, W, 3]
    initial: dict[str, float]  # loss terms of the initial image
    final: dict[str, float]  # loss terms of the returned image
    history: list[dict[str, float]] = field(default_factory=list)  # per iteration, before its update
    seconds: float = 0.0


def style_statistic(features, kind: str = "gram"):
    """Gram matrix [C, C], or channel means and stds stacked [2, C]: what the style loss compares."""
    if kind == "gram":
        return gram_matrix(features)
    mean, std = channel_mean_std(features)
    return tf.concat([tf.reshape(mean, [1, -1]), tf.reshape(std, [1, -1])], axis=0)


def gram_matrix(features):
    """[1, H, W, C] -> [C, C] Gram matrix, divided by the number of positions (size-independent)."""
    shape = tf.shape(features)
    flat = tf.reshape(features, [-1, shape[-1]])
    return tf.matmul(flat, flat, transpose_a=True) / tf.cast(shape[1] * shape[2], features.dtype)


class Gatys:
    """Style transfer by optimising the pixels against a frozen VGG-19."""

    def __init__(self, weights: Weights, settings: GatysSettings | None = None) -> None:
        self.settings = (settings or GatysSettings()).validate()
        layers = sorted({self.settings.content_layer, *self.settings.style_layers}, key=VGG19_CONV_LAYERS.index)
        self.encoder = build_vgg19_encoder(weights, layers, name="gatys_vgg19")
        self._content_index = layers.index(self.settings.content_layer)
        self._style_indices = [layers.index(name) for name in self.settings.style_layers]
        self._layer_weights = self.settings.normalized_layer_weights()
        image = tf.TensorSpec([1, None, None, 3], tf.float32)
        self._features = tf.function(self._all_features, input_signature=[image])
        self._value_and_grad = tf.function(self._value_and_grad_impl, reduce_retracing=True)

    @classmethod
    def from_settings(
        cls, settings: GatysSettings | None = None, vgg_weights: str | None = None, verbose: bool = False
    ) -> Gatys:
        settings = (settings or GatysSettings()).validate()
        return cls(encoder_weights(vgg_weights, settings.normalization, verbose=verbose), settings)

    def _all_features(self, image):
        features = self.encoder(image, training=False)
        return list(features) if isinstance(features, (list, tuple)) else [features]

    def targets(self, content, style) -> tuple:
        """(content target, style statistics): what the image is optimised towards."""
        content_features = self._features(content)[self._content_index]
        style_features = self._features(style)
        if self.settings.content_target == "adain":
            content_features = adaptive_instance_norm(content_features, style_features[self._content_index])
        kind = self.settings.style_statistic
        return content_features, tuple(style_statistic(style_features[i], kind) for i in self._style_indices)

    def loss_terms(self, image, content_target, style_grams) -> dict:
        features = self._all_features(image)
        content = losses.mse(features[self._content_index], content_target)
        style = 0.0
        for weight, index, target in zip(self._layer_weights, self._style_indices, style_grams, strict=True):
            statistic = style_statistic(features[index], self.settings.style_statistic)
            style = style + weight * losses.mse(statistic, target)
        s = self.settings
        total = s.content_weight * content + s.style_weight * style
        terms = {"content": content, "style": style}
        if s.tv_weight:
            terms["tv"] = losses.total_variation(image)
            total = total + s.tv_weight * terms["tv"]
        terms["total"] = total
        return terms

    def _value_and_grad_impl(self, image, content_target, style_grams):
        with tf.GradientTape() as tape:
            tape.watch(image)
            terms = self.loss_terms(image, content_target, style_grams)
        return terms, tape.gradient(terms["total"], image)

    def initial_image(self, content: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng(self.settings.seed)
        noise = rng.uniform(0.0, 255.0, content.shape).astype(np.float32)
        if self.settings.init == "content":
            return content.astype(np.float32)
        if self.settings.init == "noise":
            return noise
        ratio = self.settings.noise_ratio
        return (ratio * noise + (1.0 - ratio) * content).astype(np.float32)

    def stylize(
        self,
        content: np.ndarray,
        style: np.ndarray,
        progress: bool = True,
        on_save: Callable[[int, np.ndarray], None] | None = None,
    ) -> GatysResult:
        """Optimise an image: content and style are float RGB 0..255 [H, W, 3]; returns the result and losses."""
        s = self.settings
        start = time.perf_counter()
        content = np.asarray(content, np.float32)
        content_target, style_grams = self.targets(
            tf.constant(content[None]), tf.constant(np.asarray(style, np.float32)[None])
        )
        image = self.initial_image(content)[None]
        history: list[dict[str, float]] = []
        disable = None if progress else True
        bar = tqdm(
            total=s.iterations,
            unit="it",
            desc="gatys",
            disable=disable,
            dynamic_ncols=True,
            mininterval=1.0,
            leave=False,
        )

        def evaluate(x: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
            terms, grad = self._value_and_grad(tf.constant(x), content_target, style_grams)
            return {k: float(v) for k, v in terms.items()}, grad.numpy()

        def after_iteration(step: int, terms: dict[str, float], x: np.ndarray) -> None:
            history.append(terms)
            bar.update(1)
            if step % 10 == 0:
                losses_now = {key: f"{terms[key]:.4g}" for key in ("content", "style")}
                bar.set_postfix(loss=f"{terms['total']:.4g}", **losses_now, refresh=False)
            if on_save is not None and s.save_every and step % s.save_every == 0 and step < s.iterations:
                on_save(step, to_uint8(x[0]))

        initial = evaluate(image)[0]
        try:
            if s.optimizer == "adam":
                image = self._adam(image, evaluate, after_iteration)
            else:
                image = self._lbfgs(image, evaluate, after_iteration)
        finally:
            bar.close()
        image = np.clip(image, 0.0, 255.0)
        final = evaluate(image)[0]
        return GatysResult(to_uint8(image[0]), initial, final, history, time.perf_counter() - start)

    def _adam(self, image: np.ndarray, evaluate, after_iteration) -> np.ndarray:
        """Adam on the pixels, clipped to the valid range after every step."""
        variable = keras.Variable(image, name="gatys_image")
        optimizer = keras.optimizers.Adam(self.settings.learning_rate)
        optimizer.build([variable])
        for step in range(1, self.settings.iterations + 1):
            terms, grad = evaluate(variable.numpy())
            optimizer.apply([grad], [variable])
            variable.assign(np.clip(variable.numpy(), 0.0, 255.0))
            after_iteration(step, terms, variable.numpy())
        return variable.numpy()

    def _lbfgs(self, image: np.ndarray, evaluate, after_iteration) -> np.ndarray:
        """L-BFGS-B (SciPy) with the valid range as box constraints."""
        from scipy.optimize import Bounds, minimize  # optional: only this optimizer needs SciPy

        shape = image.shape
        last: dict[str, dict[str, float]] = {}

        def fun(flat: np.ndarray):
            terms, grad = evaluate(flat.reshape(shape).astype(np.float32))
            last["terms"] = terms
            return terms["total"], grad.astype(np.float64).ravel()

        step = 0

        def callback(flat: np.ndarray) -> None:
            nonlocal step
            step += 1
            after_iteration(step, last["terms"], flat.reshape(shape))

        limits = {"maxiter": self.settings.iterations, "maxfun": 2 * self.settings.iterations}
        result = minimize(
            fun,
            image.astype(np.float64).ravel(),
            jac=True,
            method="L-BFGS-B",
            bounds=Bounds(0.0, 255.0),
            callback=callback,
            options=limits,
        )
        return result.x.reshape(shape).astype(np.float32)


def gatys_method(
    iterations: int, style_weight: float | None = None, vgg_weights: str | None = None
) -> tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], dict]:
    """Gatys et al. as an evaluation method ((content, style) -> uint8 image) and what a report says of it,
    so that `adain evaluate` and bench/quality.py run the same optimisation."""
    settings = GatysSettings(iterations=iterations)
    if style_weight is not None:
        settings.style_weight = style_weight
    gatys = Gatys.from_settings(settings, vgg_weights)

    def method(content: np.ndarray, style: np.ndarray) -> np.ndarray:
        return gatys.stylize(content, style).image

    return method, {"method": "gatys", "settings": settings_dict(settings)}


def stylize_files(
    gatys: Gatys,
    contents: Sequence[Path],
    styles: Sequence[Path],
    targets: dict[tuple[int, int], Path],
    content_size: int = 0,
    style_size: int = 0,
    grid: Path | None = None,
) -> None:
    """`adain stylize --method gatys`: every content x style pair optimised and written to targets[(c, s)]
    (with the intermediate images of `save_every`), and a contact sheet of all of them to `grid`."""
    grid_rows = []
    for c, content_path in enumerate(contents):
        content = np.asarray(prepare_image(content_path, content_size))
        row = []
        for s, style_path in enumerate(styles):
            style = np.asarray(prepare_image(style_path, style_size))
            target = targets[(c, s)]

            def save_intermediate(step: int, image: np.ndarray, target: Path = target) -> None:
                save_image(image, target.with_name(f"{target.stem}_iter{step:05d}{target.suffix}"))

            result = gatys.stylize(content, style, on_save=save_intermediate)
            save_image(result.image, target)
            losses_text = f"loss {result.initial['total']:.4g} -> {result.final['total']:.4g}"
            print(f"wrote {target} ({losses_text}, {result.seconds:.1f} s)", file=sys.stderr)
            row.append(result.image)
        grid_rows.append(row)
    if grid is not None:
        sheet = contact_sheet([load_image(c) for c in contents], [load_image(s) for s in styles], grid_rows)
        save_image(sheet, grid)
        print(f"wrote {grid}", file=sys.stderr)
