"""The AdaIN network: frozen VGG-19 encoder, AdaIN, mirrored decoder, and its training step."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from adain.nn import losses
from adain.config import ModelConfig
from adain.training.distribute import PrebuiltFit, scale_loss, step_logs
from adain.nn.layers import VGG_BGR_MEAN, AdaIN, ChannelScale, ReflectionConv2D, VGGPreprocess, adaptive_instance_norm
from adain.weights.sources import VGG19_CONV_LAYERS, Weights

# relu1_1, relu2_1, relu3_1, relu4_1: Keras names a conv layer's ReLU output after the conv.
STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1")
CONTENT_LAYER = "block4_conv1"
VGG19_CHANNELS = {
    name: {"1": 64, "2": 128, "3": 256}.get(name[5], 512) for name in VGG19_CONV_LAYERS
}  # output channels of each conv layer
# The encoder downsamples 3 times before relu4_1; inputs are padded to a multiple of this.
ENCODER_STRIDE = 8


def build_vgg19_encoder(
    weights: Weights, outputs: Sequence[str] = STYLE_LAYERS, name: str = "vgg19_encoder", dtype: str | None = None
) -> keras.Model:
    """Frozen VGG-19 (Keras layout: zero 'same' padding, max pooling) up to the deepest requested layer.

    Input: RGB float in 0..255, any size. Output: list of the requested ReLU activations
    (in the compute dtype of `dtype`, a Keras dtype policy such as "mixed_bfloat16"; None: the global one).
    """
    deepest = max(VGG19_CONV_LAYERS.index(n) for n in outputs)
    rgb = keras.Input((None, None, 3), name="rgb")
    x = VGGPreprocess(name="vgg_preprocess", dtype=dtype)(rgb)
    taps = {}
    block = 1
    for layer_name in VGG19_CONV_LAYERS[: deepest + 1]:
        layer_block = int(layer_name[5])
        if layer_block != block:
            x = layers.MaxPooling2D(2, name=f"block{block}_pool", dtype=dtype)(x)
            block = layer_block
        kernel, bias = weights[layer_name]
        conv = layers.Conv2D(kernel.shape[-1], 3, padding="same", activation="relu", name=layer_name, dtype=dtype)
        x = conv(x)
        conv.set_weights([kernel, bias])
        taps[layer_name] = x
    encoder = keras.Model(rgb, [taps[n] for n in outputs], name=name)
    encoder.trainable = False
    return encoder


def build_decoder(
    name: str = "decoder",
    content_layer: str = CONTENT_LAYER,
    dtype: str | None = None,
    input_scale: Sequence[float] | None = None,
) -> keras.Sequential:
    """Mirror of the encoder up to `content_layer`: reflection-padded convs, nearest upsampling, no norm layers.

    For relu4_1 that is the paper's decoder (conv1..conv9). Output: RGB in 0..255 units, unclipped (clipping
    happens when images are written), always float32: under a mixed policy (`dtype`) the last conv (0.4% of
    the FLOPs) runs in float32 too. `input_scale` (per channel, `decoder_input_scale`) first brings normalised
    VGG features back to the unnormalised scale, so Adam trains the same parametrisation either way.
    """
    last_dtype = "float32" if dtype is not None and str(dtype).startswith("mixed") else dtype
    mirrored = list(reversed(VGG19_CONV_LAYERS[: VGG19_CONV_LAYERS.index(content_layer) + 1]))
    stack: list = [keras.Input((None, None, VGG19_CHANNELS[content_layer]), name="features")]
    if input_scale is not None:
        stack.append(ChannelScale(input_scale, name="feature_scale", dtype=dtype))
    ups = 0
    for index, layer_name in enumerate(mirrored, start=1):
        last = index == len(mirrored)
        filters = 3 if last else VGG19_CHANNELS[mirrored[index]]
        stack.append(ReflectionConv2D(filters, 3, activation=None if last else "relu", name=f"conv{index}",
                                      dtype=last_dtype if last else dtype))  # fmt: skip
        if layer_name.endswith("_conv1") and not last:  # undo the pooling in front of this block
            ups += 1
            stack.append(layers.UpSampling2D(2, interpolation="nearest", name=f"up{ups}", dtype=dtype))
    return keras.Sequential(stack, name=name)


def build_configured_decoder(model: ModelConfig, dtype: str | None = None) -> keras.Sequential:
    """The decoder a config asks for: its content layer, and the input scale its VGG normalisation needs."""
    from adain.weights.normalization import decoder_input_scale

    return build_decoder(content_layer=model.content_layer, dtype=dtype, input_scale=decoder_input_scale(model))


def transpose_encoder_into(decoder: keras.Model, weights: Weights, images: Sequence) -> list[tuple[str, float]]:
    """Start the decoder as the transpose of the encoder it mirrors: Zeiler & Fergus' deconvnet, not noise.

    Decoder conv k gets the spatially flipped, transposed kernel of the VGG conv it mirrors (the adjoint
    of that convolution; with the decoder's ReLU and nearest upsampling the net is a deconvnet), scaled so
    its activations on `images` (RGB 0..255, any sizes) have the spread of the encoder activations it
    stands for; biases start at 0, the last conv outputs RGB around the ImageNet mean. An untrained
    decoder then already draws the content's edges, and training starts from structure. `weights` are
    the unnormalised VGG weights (a normalised run's decoder starts with `ChannelScale` back to them).
    """
    convs = [layer for layer in decoder.layers if isinstance(layer, ReflectionConv2D)]
    taps = VGG19_CONV_LAYERS[: len(convs)]  # the encoder convs the decoder mirrors, by depth
    mirrored = taps[::-1]  # decoder conv k mirrors mirrored[k]
    encoder = build_vgg19_encoder(weights, taps, name="vgg19_taps")
    activations = [dict(zip(taps, encoder(tf.convert_to_tensor(image, tf.float32)[None]), strict=True))
                   for image in images]  # fmt: skip
    spread = {name: float(np.sqrt(np.mean([np.var(a[name]) for a in activations]))) for name in mirrored[1:]}
    image_spread = float(np.mean([np.std(np.asarray(image, np.float32)) for image in images]))
    rgb_mean = np.asarray(VGG_BGR_MEAN[::-1], np.float32)
    xs = [a[mirrored[0]] for a in activations]  # unnormalised features the decoder sees
    scales = []
    for layer in decoder.layers:
        if isinstance(layer, ChannelScale):  # inputs are unnormalised already
            continue
        if not isinstance(layer, ReflectionConv2D):
            xs = [layer(x) for x in xs]
            continue
        k = len(scales)
        last = k == len(convs) - 1
        kernel = np.transpose(weights[mirrored[k]][0][::-1, ::-1], (0, 1, 3, 2))  # (3, 3, out, in): the adjoint
        if last:
            kernel = kernel[..., ::-1]  # VGG's input is BGR
        bias = np.zeros(kernel.shape[-1], np.float32)
        layer.set_weights([kernel, bias])
        outputs = [layer(x) for x in xs]
        observed = float(np.sqrt(np.mean([np.var(np.asarray(y)) for y in outputs])))
        factor = (image_spread if last else spread[mirrored[k + 1]]) / max(observed, 1e-12)
        layer.set_weights([kernel * factor, rgb_mean if last else bias])
        scales.append((layer.name, factor))
        xs = [y * factor for y in outputs]  # = layer(x) now: zero bias, and ReLU commutes with a positive factor
    return scales


def adain_encoder_layers(style_layers: Sequence[str] = STYLE_LAYERS, content_layer: str = CONTENT_LAYER
                         ) -> tuple[list[str], list[int]]:  # fmt: skip
    """Encoder outputs for AdaIN (style and content layers by depth, content last) and the style ones' indices."""
    outputs = sorted({*style_layers, content_layer}, key=VGG19_CONV_LAYERS.index)
    if outputs[-1] != content_layer:
        raise ValueError(f"style layers must not be deeper than the content layer {content_layer}")
    return outputs, [outputs.index(name) for name in style_layers]


def build_configured_encoder(model: ModelConfig, vgg_weights: str | None = None, verbose: bool = False,
                             dtype: str | None = None) -> tuple[keras.Model, list[int]]:  # fmt: skip
    """The encoder a config asks for (weights, normalisation, layers) and the indices of its style outputs."""
    from adain.weights.normalization import encoder_weights

    weights = encoder_weights(vgg_weights or model.vgg_weights, model.vgg_normalization, verbose=verbose)
    outputs, style_indices = adain_encoder_layers(model.style_layers, model.content_layer)
    return build_vgg19_encoder(weights, outputs, dtype=dtype), style_indices


def pad_to_multiple(images, multiple: int = ENCODER_STRIDE):
    """Reflect-pad H and W up to a multiple, so the decoder gives back the exact input size."""
    height, width = ops.shape(images)[1], ops.shape(images)[2]
    pad_h = (-height) % multiple
    pad_w = (-width) % multiple
    return ops.pad(images, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], mode="symmetric"), height, width


class AdaINModel(PrebuiltFit, keras.Model):
    """Encoder + AdaIN + decoder. `fit()` trains the decoder; calling it stylizes."""

    def __init__(self, encoder: keras.Model, decoder: keras.Model, content_weight: float = 1.0,
                 style_weight: float = 10.0, tv_weight: float = 0.0, style_indices: Sequence[int] | None = None,
                 invert_steps: int = 0, pixel_weight: float = 0.0, **kwargs) -> None:  # fmt: skip
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.adain = AdaIN(name="adain")
        self.content_weight = content_weight
        self.style_weight = style_weight
        self.tv_weight = tv_weight
        self.invert_steps, self.pixel_weight = invert_steps, pixel_weight
        # Which encoder outputs the style loss uses (all by default); the last output is the content layer.
        self.style_indices = list(range(len(encoder.outputs))) if style_indices is None else list(style_indices)

    def encode(self, images) -> list:
        features = self.encoder(images, training=False)
        return list(features) if isinstance(features, (list, tuple)) else [features]  # one-output encoders

    def decode_target(self, content_features, style_features, alpha=1.0):
        """AdaIN target blended with the content features: alpha=0 keeps content, 1 is full style."""
        target = self.adain([content_features, style_features])
        return alpha * target + (1.0 - alpha) * content_features

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
        target = tf.stop_gradient(adain_on * target + (1.0 - adain_on) * content_features)
        return target, style_features, adain_on

    def train_step(self, data):
        content, style = data["content"], data["style"]
        if self.invert_steps:
            target, style_features, adain_on = self.training_targets_warm_start(content, style)
        else:
            (target, style_features), adain_on = self.training_targets(content, style), None
        with tf.GradientTape() as tape:
            output = self.decoder(target, training=True)
            output_features = self.encode_float32(output)
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
            # Under tf.distribute the optimizer SUMs gradients over replicas: scale to the global-batch mean;
            # then identity unless the optimizer is a LossScaleOptimizer (mixed_float16), which unscales in apply().
            scaled = self.optimizer.scale_loss(scale_loss(total))
        variables = self.decoder.trainable_variables
        gradients = tape.gradient(scaled, variables)
        self.optimizer.apply(gradients, variables)
        logs = {"loss": total, "content_loss": content_loss, "style_loss": style_loss}
        if self.tv_weight:
            logs["tv_loss"] = tv_loss
        return step_logs(logs)
