"""Small serializable Keras layers: the pieces AdaIN is built from."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from adain.nn.layout import VGG_BGR_MEAN
from adain.nn.ops import EPSILON, adaptive_instance_norm


@keras.saving.register_keras_serializable(package="adain")
class AdaIN(keras.layers.Layer):
    """Adaptive Instance Normalization: align content feature statistics to the style's."""

    def __init__(self, epsilon: float = EPSILON, **kwargs) -> None:
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def call(self, inputs):
        content, style = inputs
        return adaptive_instance_norm(content, style, self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self) -> dict:
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="adain")
class ChannelScale(keras.layers.Layer):
    """Multiply each channel by a fixed positive constant (part of the config, never trained).

    The decoder of a normalised-VGG run starts with it: normalised features times the VGG channel
    means are the unnormalised ones, so every decoder sees inputs of the same scale and the same
    weights make the same images whichever normalisation the losses were measured with.
    """

    def __init__(self, scale, **kwargs) -> None:
        super().__init__(**kwargs)
        self.scale = [float(value) for value in np.ravel(scale)]

    def call(self, inputs):
        return inputs * ops.convert_to_tensor(self.scale, dtype=inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package="adain")
class VGGPreprocess(keras.layers.Layer):
    """RGB in 0..255 -> Caffe VGG input (BGR, mean subtracted), inside the model."""

    def call(self, rgb):
        bgr = ops.flip(rgb, axis=-1)
        return bgr - ops.convert_to_tensor(VGG_BGR_MEAN, dtype=bgr.dtype)


@keras.saving.register_keras_serializable(package="adain")
class ReflectionConv2D(keras.layers.Conv2D):
    """Conv2D with reflection padding ("same" size, no zero border artefacts)."""

    def __init__(self, filters: int, kernel_size: int = 3, **kwargs) -> None:
        kwargs["padding"] = "valid"
        super().__init__(filters, kernel_size, **kwargs)

    def call(self, inputs):
        pad_h, pad_w = (k // 2 for k in self.kernel_size)
        padded = ops.pad(inputs, [[0, 0], [pad_h, pad_h], [pad_w, pad_w], [0, 0]], mode="reflect")
        return super().call(padded)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("padding", None)
        return config
