"""The frozen VGG-19 encoder, built from a weights dict (see adain.weights for where weights come from)."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from adain.nn.layers import VGGPreprocess
from adain.nn.layout import CONTENT_LAYER, STYLE_LAYERS, VGG19_CONV_LAYERS, Weights


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


def adain_encoder_layers(
    style_layers: Sequence[str] = STYLE_LAYERS, content_layer: str = CONTENT_LAYER
) -> tuple[list[str], list[int]]:
    """Encoder outputs for AdaIN (style and content layers by depth, content last) and the style ones' indices."""
    outputs = sorted({*style_layers, content_layer}, key=VGG19_CONV_LAYERS.index)
    if outputs[-1] != content_layer:
        raise ValueError(f"style layers must not be deeper than the content layer {content_layer}")
    return outputs, [outputs.index(name) for name in style_layers]
