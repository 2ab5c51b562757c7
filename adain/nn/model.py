"""The AdaIN network: frozen VGG-19 encoder, AdaIN, decoder, and the training step that fits the decoder."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf
from keras import ops

from adain.nn import losses
from adain.nn.keras_compat import PrebuiltFit, scale_loss, step_logs
from adain.nn.layers import AdaIN
from adain.nn.ops import adaptive_instance_norm, alpha_blend, pad_to_multiple


@keras.saving.register_keras_serializable(package="adain")
class AdaINModel(PrebuiltFit, keras.Model):
    """Encoder + AdaIN + decoder. `fit()` trains the decoder; calling it stylizes."""

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        content_weight: float = 1.0,
        style_weight: float = 10.0,
        tv_weight: float = 0.0,
        style_indices: Sequence[int] | None = None,
        invert_steps: int = 0,
        pixel_weight: float = 0.0,
        output_range_weight: float = 0.0,
        temporal_weight: float = 0.0,
        streak_weight: float = 0.0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.adain = AdaIN(name="adain")
        self.content_weight = content_weight
        self.style_weight = style_weight
        self.tv_weight = tv_weight
        self.invert_steps, self.pixel_weight = invert_steps, pixel_weight
        self.output_range_weight = output_range_weight
        self.temporal_weight = temporal_weight
        self.streak_weight = streak_weight
        # Which encoder outputs the style loss uses (all by default); the last output is the content layer.
        self.style_indices = list(range(len(encoder.outputs))) if style_indices is None else list(style_indices)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "content_weight": self.content_weight,
            "style_weight": self.style_weight,
            "tv_weight": self.tv_weight,
            "style_indices": self.style_indices,
            "invert_steps": self.invert_steps,
            "pixel_weight": self.pixel_weight,
            "output_range_weight": self.output_range_weight,
            "temporal_weight": self.temporal_weight,
            "streak_weight": self.streak_weight,
        }

    @classmethod
    def from_config(cls, config: dict) -> AdaINModel:
        config = dict(config)
        for part in ("encoder", "decoder"):
            config[part] = keras.saving.deserialize_keras_object(config[part])
        return cls(**config)

    def encode(self, images) -> list:
        features = self.encoder(images, training=False)
        return list(features) if isinstance(features, (list, tuple)) else [features]  # one-output encoders

    def decode_target(self, content_features, style_features, alpha=1.0):
        """AdaIN target blended with the content features: alpha=0 keeps content, 1 is full style."""
        return alpha_blend(self.adain([content_features, style_features]), content_features, alpha)

    def call(self, inputs, alpha=1.0, training=False):
        """inputs: {"content": [N,H,W,3], "style": [N,h,w,3]} RGB 0..255 -> stylized [N,H,W,3]."""
        content, style = inputs["content"], inputs["style"]
        padded, height, width = pad_to_multiple(content)
        content_features = self.encode_float32(padded)[-1]
        style_features = self.encode_float32(style)[-1]
        output = self.decoder(self.decode_target(content_features, style_features, alpha), training=training)
        return output[:, :height, :width, :]

    def encode_float32(self, images) -> list:
        """Encoder taps in float32 (statistics and losses stay float32 under a mixed-precision policy)."""
        return [ops.cast(f, "float32") for f in self.encode(images)]

    def training_targets(self, content, style):
        """AdaIN targets and style features: frozen encodings, computed once, outside the gradient tape."""
        style_features = [tf.stop_gradient(f) for f in self.encode_float32(style)]
        content_features = tf.stop_gradient(self.encode_float32(content)[-1])
        target = tf.stop_gradient(adaptive_instance_norm(content_features, style_features[-1]))
        return target, style_features

    def training_targets_warm_start(self, content, style):
        """As `training_targets`, but during the first `invert_steps` the target is the content's own features.

        Returns (target, style features, 1.0 once AdaIN is on else 0.0).
        """
        style_features = [tf.stop_gradient(f) for f in self.encode_float32(style)]
        content_features = tf.stop_gradient(self.encode_float32(content)[-1])
        adain_on = tf.cast(self.optimizer.iterations >= self.invert_steps, tf.float32)
        target = adaptive_instance_norm(content_features, style_features[-1])
        target = tf.stop_gradient(alpha_blend(target, content_features, adain_on))
        return target, style_features, adain_on

    def temporal_loss(self, content, output, style_features, transform=None, noise=None):
        """Compound regularisation (Wang et al., AAAI 2020): the output for a slightly moved, noisy content should
        be the moved output, so that video frames (small motions, sensor noise) do not change the brush strokes.

        MSE on 0..1 pixels between decoder(AdaIN(f(W(c) + noise), s)) and W(output), inside the moved image.
        transform: W as Keras' affine rows [N, 8] (default: random, losses.random_small_affine); noise: [N, H, W, 3]
        0..255 (default: Gaussian, sigma losses.TEMPORAL_NOISE). Identity and no noise give exactly 0."""
        if transform is None:
            transform = losses.random_small_affine(ops.shape(content)[0], ops.shape(content)[1], ops.shape(content)[2])
        if noise is None:
            noise = tf.random.normal(ops.shape(content), stddev=losses.TEMPORAL_NOISE)
        moved, inside = losses.moved(content, transform), losses.moved(ops.ones_like(content[..., :1]), transform)
        moved_features = tf.stop_gradient(self.encode_float32(moved + noise)[-1])
        moved_output = self.decoder(adaptive_instance_norm(moved_features, style_features), training=True)
        expected = losses.moved(ops.cast(output, "float32"), transform)
        inside = tf.cast(inside > 0.999, tf.float32)  # pixels the move filled from outside the image do not count
        difference = (ops.cast(moved_output, "float32") - expected) / 255.0 * inside
        return ops.sum(ops.square(difference)) / (3.0 * ops.maximum(ops.sum(inside), 1.0))

    def train_step(self, data):
        content, style = data["content"], data["style"]
        if self.invert_steps:
            target, style_features, adain_on = self.training_targets_warm_start(content, style)
        else:
            (target, style_features), adain_on = self.training_targets(content, style), None
        with tf.GradientTape() as tape:
            output = self.decoder(target, training=True)
            output_features = self.encode_float32(self.as_written(output))
            content_loss = losses.content_loss(output_features[-1], target)
            style_loss = losses.style_loss(
                [output_features[i] for i in self.style_indices], [style_features[i] for i in self.style_indices]
            )
            style_weight = self.style_weight if adain_on is None else self.style_weight * adain_on
            total = self.content_weight * content_loss + style_weight * style_loss
            if adain_on is not None and self.pixel_weight:  # warm start: anchor colours to the photo
                pixel_loss = losses.mse(ops.cast(output, "float32") / 255.0, content / 255.0)
                total = total + self.pixel_weight * (1.0 - adain_on) * pixel_loss
            if self.tv_weight:
                tv_loss = losses.total_variation(output)
                total = total + self.tv_weight * tv_loss
            if self.output_range_weight:
                range_loss = losses.output_range_excess(ops.cast(output, "float32"))
                total = total + self.output_range_weight * range_loss
            if self.temporal_weight:
                temporal_loss = self.temporal_loss(content, output, style_features[-1])
                total = total + self.temporal_weight * temporal_loss
            if self.streak_weight:
                streak_loss = losses.streak_excess(self.as_written(ops.cast(output, "float32")), content)
                total = total + self.streak_weight * streak_loss
            # Under tf.distribute the optimizer SUMs gradients over replicas: scale to the global-batch mean;
            # then identity unless the optimizer is a LossScaleOptimizer (mixed_float16), which unscales in apply().
            scaled = self.optimizer.scale_loss(scale_loss(total))
        variables = self.decoder.trainable_variables
        gradients = tape.gradient(scaled, variables)
        self.optimizer.apply(gradients, variables)
        logs = {"loss": total, "content_loss": content_loss, "style_loss": style_loss}
        if self.tv_weight:
            logs["tv_loss"] = tv_loss
        if self.output_range_weight:
            logs["range_loss"] = range_loss
        if self.temporal_weight:
            logs["temporal_loss"] = temporal_loss
        if self.streak_weight:
            logs["streak_loss"] = streak_loss
        return step_logs(logs)

    def as_written(self, output):
        """What the losses see: with `output_range_weight` the output clipped to 0..255 as it is written (the
        range loss then alone pulls clipped pixels back), else the raw output (the paper)."""
        return ops.clip(output, 0.0, 255.0) if self.output_range_weight else output
