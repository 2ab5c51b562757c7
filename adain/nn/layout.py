"""VGG-19's layer names and shapes, and the layers AdaIN uses: plain constants, no TensorFlow.

The config validates layer names against these before TensorFlow is imported.
"""

from __future__ import annotations

import numpy as np

VGG19_CONV_LAYERS = (
    *("block1_conv1", "block1_conv2"),
    *("block2_conv1", "block2_conv2"),
    *("block3_conv1", "block3_conv2", "block3_conv3", "block3_conv4"),
    *("block4_conv1", "block4_conv2", "block4_conv3", "block4_conv4"),
    *("block5_conv1", "block5_conv2", "block5_conv3", "block5_conv4"),
)
VGG19_CHANNELS = {name: {"1": 64, "2": 128, "3": 256}.get(name[5], 512) for name in VGG19_CONV_LAYERS}
# relu1_1, relu2_1, relu3_1, relu4_1: Keras names a conv layer's ReLU output after the conv.
STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1")
CONTENT_LAYER = "block4_conv1"
# The encoder downsamples 3 times before relu4_1; inputs are padded to a multiple of this.
ENCODER_STRIDE = 8
# ImageNet BGR means used by the Caffe-trained VGG (keras.applications "caffe" mode).
VGG_BGR_MEAN = (103.939, 116.779, 123.68)

# Weights as {layer_name: (kernel (kh, kw, in, out) float32, bias (out,) float32)}
Weights = dict[str, tuple[np.ndarray, np.ndarray]]
