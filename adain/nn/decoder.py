"""The decoder: a mirror of the encoder up to the content layer, and its optional deconvnet start."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from adain.nn.layers import ChannelScale, ReflectionConv2D
from adain.nn.layout import CONTENT_LAYER, VGG19_CHANNELS, VGG19_CONV_LAYERS, VGG_BGR_MEAN, Weights
from adain.nn.vgg import build_vgg19_encoder


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
        activation, layer_dtype = (None, last_dtype) if last else ("relu", dtype)
        stack.append(ReflectionConv2D(filters, 3, activation=activation, name=f"conv{index}", dtype=layer_dtype))
        if layer_name.endswith("_conv1") and not last:  # undo the pooling in front of this block
            ups += 1
            stack.append(layers.UpSampling2D(2, interpolation="nearest", name=f"up{ups}", dtype=dtype))
    return keras.Sequential(stack, name=name)


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
    activations = [
        dict(zip(taps, encoder(tf.convert_to_tensor(image, tf.float32)[None]), strict=True)) for image in images
    ]
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
