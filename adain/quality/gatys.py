"""The optimisation method of Gatys, Ecker & Bethge (CVPR 2016): the pixels are optimised, not a network.

Content loss: MSE of block4_conv2 (relu4_2) features against the content image's. Style loss: a weighted
sum over block1_conv1..block5_conv1 of the MSE between Gram matrices (normalised by positions) of the
image and of the style image; layer weights are normalised to sum to 1 (default: equal). The image
minimises alpha * content + beta * style (+ optional total variation), with Adam on the pixels (or
L-BFGS-B through SciPy), clipped to 0..255, from the content image, noise, or a mix of both.

It is slow (hundreds of VGG forward and backward passes per image) and needs no training: the
quality reference every feed-forward method is compared with (`python -m adain.evaluate --gatys`).
With `style_statistic="mean_std"` and `content_target="adain"` at block4_conv1 it optimises the AdaIN
paper's training objective instead: per image, what a perfectly trained decoder would output.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from adain.errors import UserError
from adain.weights.sources import VGG19_CONV_LAYERS, Weights

GATYS_CONTENT_LAYER = "block4_conv2"  # relu4_2
GATYS_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
INITS = ("content", "noise", "mix")
STYLE_STATISTICS = ("gram", "mean_std")
CONTENT_TARGETS = ("content", "adain")
OPTIMIZERS = ("adam", "lbfgs")


@dataclass
class GatysSettings:
    iterations: int = 300
    content_weight: float = 1.0  # alpha
    style_weight: float = 10.0  # beta
    content_layer: str = GATYS_CONTENT_LAYER
    style_layers: Sequence[str] = GATYS_STYLE_LAYERS
    layer_weights: Sequence[float] | None = None  # one per style layer; normalised to sum 1; None: equal
    tv_weight: float = 0.0
    optimizer: str = "adam"  # adam | lbfgs
    learning_rate: float = 4.0  # Adam step, in pixel units (0..255)
    init: str = "content"  # content | noise | mix
    noise_ratio: float = 0.5  # mix: ratio * noise + (1 - ratio) * content
    normalization: str = "per_channel"  # VGG normalisation (adain/normalization.py), as in the paper
    seed: int = 0
    save_every: int = 0  # call the save hook every N iterations (0: never)
    # The AdaIN paper's objective instead (mean_std + adain at block4_conv1): what a perfect decoder would output.
    style_statistic: str = "gram"  # gram | mean_std (channel means and stds, as in AdaIN's style loss)
    content_target: str = "content"  # content | adain (AdaIN(content, style) features at the content layer)

    def validate(self) -> GatysSettings:
        from adain.weights.normalization import check_normalization

        if self.iterations < 1:
            raise UserError(f"gatys: iterations must be >= 1, got {self.iterations}")
        for name, value in (("content weight", self.content_weight), ("style weight", self.style_weight),
                            ("tv weight", self.tv_weight)):  # fmt: skip
            if value < 0:
                raise UserError(f"gatys: {name} must be >= 0, got {value}")
        if self.learning_rate <= 0:
            raise UserError(f"gatys: learning rate must be > 0, got {self.learning_rate}")
        for name in (self.content_layer, *self.style_layers):
            if name not in VGG19_CONV_LAYERS:
                raise UserError(f"gatys: unknown VGG-19 layer '{name}' (e.g. block4_conv2)")
        if not self.style_layers:
            raise UserError("gatys: name at least one style layer")
        if self.layer_weights is not None:
            if len(self.layer_weights) != len(self.style_layers):
                raise UserError(
                    f"gatys: {len(self.layer_weights)} layer weights for {len(self.style_layers)} style layers"
                )
            if any(w < 0 for w in self.layer_weights) or sum(self.layer_weights) <= 0:
                raise UserError("gatys: layer weights must be >= 0 with a positive sum")
        if self.optimizer not in OPTIMIZERS:
            raise UserError(f"gatys: optimizer must be one of {', '.join(OPTIMIZERS)}, got '{self.optimizer}'")
        if self.init not in INITS:
            raise UserError(f"gatys: init must be one of {', '.join(INITS)}, got '{self.init}'")
        if not 0.0 <= self.noise_ratio <= 1.0:
            raise UserError(f"gatys: noise ratio must be in [0, 1], got {self.noise_ratio}")
        if self.style_statistic not in STYLE_STATISTICS:
            raise UserError(f"gatys: style statistic must be one of {', '.join(STYLE_STATISTICS)}")
        if self.content_target not in CONTENT_TARGETS:
            raise UserError(f"gatys: content target must be one of {', '.join(CONTENT_TARGETS)}")
        if self.save_every < 0:
            raise UserError(f"gatys: save every must be >= 0, got {self.save_every}")
        check_normalization(self.normalization)
        return self

    def normalized_layer_weights(self) -> list[float]:
        weights = [1.0] * len(self.style_layers) if self.layer_weights is None else list(self.layer_weights)
        return [w / sum(weights) for w in weights]


@dataclass
class GatysResult:
    image: np.ndarray  # uint8 [H, W, 3]
    initial: dict[str, float]  # loss terms of the initial image
    final: dict[str, float]  # loss terms of the returned image
    history: list[dict[str, float]] = field(default_factory=list)  # per iteration, before its update
    seconds: float = 0.0


def style_statistic(features, kind: str = "gram"):
    """Gram matrix [C, C], or channel means and stds stacked [2, C]: what the style loss compares."""
    import tensorflow as tf

    from adain.nn.layers import channel_mean_std

    if kind == "gram":
        return gram_matrix(features)
    mean, std = channel_mean_std(features)
    return tf.concat([tf.reshape(mean, [1, -1]), tf.reshape(std, [1, -1])], axis=0)


def gram_matrix(features):
    """[1, H, W, C] -> [C, C] Gram matrix, divided by the number of positions (size-independent)."""
    import tensorflow as tf

    shape = tf.shape(features)
    flat = tf.reshape(features, [-1, shape[-1]])
    return tf.matmul(flat, flat, transpose_a=True) / tf.cast(shape[1] * shape[2], features.dtype)


class Gatys:
    """Style transfer by optimising the pixels against a frozen VGG-19."""

    def __init__(self, weights: Weights, settings: GatysSettings | None = None) -> None:
        import tensorflow as tf

        from adain.nn.model import build_vgg19_encoder

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
    def from_settings(cls, settings: GatysSettings | None = None, vgg_weights: str | None = None,
                      verbose: bool = False) -> Gatys:  # fmt: skip
        from adain.weights.normalization import encoder_weights

        settings = (settings or GatysSettings()).validate()
        return cls(encoder_weights(vgg_weights, settings.normalization, verbose=verbose), settings)

    def _all_features(self, image):
        features = self.encoder(image, training=False)
        return list(features) if isinstance(features, (list, tuple)) else [features]

    def targets(self, content, style) -> tuple:
        """(content target, style statistics): what the image is optimised towards."""
        from adain.nn.layers import adaptive_instance_norm

        content_features = self._features(content)[self._content_index]
        style_features = self._features(style)
        if self.settings.content_target == "adain":
            content_features = adaptive_instance_norm(content_features, style_features[self._content_index])
        kind = self.settings.style_statistic
        return content_features, tuple(style_statistic(style_features[i], kind) for i in self._style_indices)

    def loss_terms(self, image, content_target, style_grams) -> dict:
        from adain.nn import losses

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
        import tensorflow as tf

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

    def stylize(self, content: np.ndarray, style: np.ndarray, progress: bool = True,
                on_save: Callable[[int, np.ndarray], None] | None = None) -> GatysResult:  # fmt: skip
        """Optimise an image: content and style are float RGB 0..255 [H, W, 3]; returns the result and losses."""
        import tensorflow as tf
        from tqdm.auto import tqdm

        from adain.media.images import to_uint8

        s = self.settings
        start = time.perf_counter()
        content = np.asarray(content, np.float32)
        content_target, style_grams = self.targets(
            tf.constant(content[None]), tf.constant(np.asarray(style, np.float32)[None])
        )
        image = self.initial_image(content)[None]
        history: list[dict[str, float]] = []
        bar = tqdm(total=s.iterations, unit="it", desc="gatys", disable=None if progress else True,
                   dynamic_ncols=True, mininterval=1.0, leave=False)  # fmt: skip

        def evaluate(x: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
            terms, grad = self._value_and_grad(tf.constant(x), content_target, style_grams)
            return {k: float(v) for k, v in terms.items()}, grad.numpy()

        def after_iteration(step: int, terms: dict[str, float], x: np.ndarray) -> None:
            history.append(terms)
            bar.update(1)
            if step % 10 == 0:
                bar.set_postfix(loss=f"{terms['total']:.4g}", content=f"{terms['content']:.4g}",
                                style=f"{terms['style']:.4g}", refresh=False)  # fmt: skip
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
        import keras

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
        from scipy.optimize import Bounds, minimize

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

        result = minimize(fun, image.astype(np.float64).ravel(), jac=True, method="L-BFGS-B",
                          bounds=Bounds(0.0, 255.0), callback=callback,
                          options={"maxiter": self.settings.iterations, "maxfun": 2 * self.settings.iterations})  # fmt: skip
        return result.x.reshape(shape).astype(np.float32)


# ---------------------------------------------------------------------------
# command line: infer.py --method gatys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `infer.py --method gatys`."""
    defaults = GatysSettings()
    group = parser.add_argument_group("--method gatys (pixels optimised per image; no checkpoint needed)")
    group.add_argument("--iterations", type=int, default=defaults.iterations, help="optimisation steps")
    group.add_argument("--content-weight", type=float, default=defaults.content_weight, help="alpha")
    group.add_argument("--style-weight", type=float, default=defaults.style_weight, help="beta")
    group.add_argument("--content-layer", default=defaults.content_layer, help="VGG-19 layer of the content loss")
    group.add_argument("--style-layers", default=",".join(defaults.style_layers),
                       help="comma-separated VGG-19 layers of the Gram style loss")  # fmt: skip
    group.add_argument("--layer-weights", help="comma-separated weight per style layer (default: equal)")
    group.add_argument("--tv-weight", type=float, default=defaults.tv_weight, help="total-variation weight")
    group.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer)
    group.add_argument("--learning-rate", type=float, default=defaults.learning_rate, help="Adam step (pixels)")
    group.add_argument("--init", choices=INITS, default=defaults.init, help="initial image")
    group.add_argument("--noise-ratio", type=float, default=defaults.noise_ratio, help="noise share for --init mix")
    group.add_argument("--vgg-normalization", choices=("none", "per_channel"), default=defaults.normalization)
    group.add_argument("--save-every", type=int, default=0, help="also write the image every N iterations")
    group.add_argument("--seed", type=int, default=defaults.seed, help="noise seed")
    group.add_argument("--style-statistic", choices=STYLE_STATISTICS, default=defaults.style_statistic,
                       help="gram (Gatys et al.) or mean_std (AdaIN's style loss)")  # fmt: skip
    group.add_argument("--content-target", choices=CONTENT_TARGETS, default=defaults.content_target,
                       help="content: the content's features; adain: AdaIN(content, style) features")  # fmt: skip


def _floats(text: str, what: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UserError(f"{what} must be comma-separated numbers, got '{text}'") from None


def settings_from_args(args: argparse.Namespace) -> GatysSettings:
    return GatysSettings(
        iterations=args.iterations, content_weight=args.content_weight, style_weight=args.style_weight,
        content_layer=args.content_layer, style_layers=[x.strip() for x in args.style_layers.split(",") if x.strip()],
        layer_weights=_floats(args.layer_weights, "--layer-weights") if args.layer_weights else None,
        tv_weight=args.tv_weight, optimizer=args.optimizer, learning_rate=args.learning_rate, init=args.init,
        noise_ratio=args.noise_ratio, normalization=args.vgg_normalization, seed=args.seed, save_every=args.save_every,
        style_statistic=args.style_statistic, content_target=args.content_target,
    ).validate()  # fmt: skip


def run_cli(args: argparse.Namespace) -> int:
    """infer.py --method gatys: every content x style pair, written like the AdaIN path writes them."""
    settings = settings_from_args(args)  # bad values fail before TensorFlow is imported
    try:
        alpha = float(args.alpha)
    except ValueError:
        alpha = None
    if alpha != 1.0:
        raise UserError("--alpha applies to --method adain; for gatys trade content and style with --style-weight")

    from adain.media.images import IMAGE_EXTENSIONS, contact_sheet, load_image, save_image
    from adain.cli.stylize import expand_inputs
    from adain.preprocess import resize_smaller_side

    contents = expand_inputs(args.content, "content")
    styles = expand_inputs(args.style, "style")
    if args.content_size < 0 or args.style_size < 0:
        raise UserError("--content-size and --style-size must be >= 0")
    output = Path(args.output)
    single = len(contents) == 1 and len(styles) == 1 and output.suffix.lower() in IMAGE_EXTENSIONS
    ext = args.ext.lstrip(".").lower()
    if f".{ext}" not in IMAGE_EXTENSIONS:
        raise UserError(f"--ext: unknown image extension '{ext}'")
    gatys = Gatys.from_settings(settings, args.vgg_weights, verbose=True)
    grid_rows = []
    for content_path in contents:
        content = np.asarray(resize_smaller_side(load_image(content_path), args.content_size))
        row = []
        for style_path in styles:
            style = np.asarray(resize_smaller_side(load_image(style_path), args.style_size))
            target = output if single else output / f"{content_path.stem}_stylized_{style_path.stem}.{ext}"

            def save_intermediate(step: int, image: np.ndarray, target: Path = target) -> None:
                save_image(image, target.with_name(f"{target.stem}_iter{step:05d}{target.suffix}"))

            result = gatys.stylize(content, style, on_save=save_intermediate)
            save_image(result.image, target)
            print(f"wrote {target} (loss {result.initial['total']:.4g} -> {result.final['total']:.4g}, "
                  f"{result.seconds:.1f} s)", file=sys.stderr)  # fmt: skip
            row.append(result.image)
        grid_rows.append(row)
    if args.grid:
        sheet = contact_sheet([load_image(c) for c in contents], [load_image(s) for s in styles], grid_rows)
        save_image(sheet, args.grid)
        print(f"wrote {args.grid}", file=sys.stderr)
    return 0


def settings_dict(settings: GatysSettings) -> dict:
    data = dataclasses.asdict(settings)
    data["style_layers"] = list(settings.style_layers)
    data["layer_weights"] = settings.normalized_layer_weights()
    return data
