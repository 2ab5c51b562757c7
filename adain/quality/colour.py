"""What a person sees that the training loss does not: colour fidelity, streaks, and the kind of painting.

The style loss is the objective the decoder minimises, so a recipe tuned on it alone can learn to satisfy
VGG statistics with pictures that look wrong: bleached colours, highlights blown to white, periodic streaks
from the nearest upsampling. These measures are computed on the written pixels (uint8 RGB) with numpy only:

- `colour_distance`: sliced Wasserstein-1 distance between the output's and the painting's pixel colours in
  CIELAB (units of ΔE76): 0 when the output uses the painting's colours in the painting's proportions.
- `streak_ratio`: the share of high-frequency energy (periods 2..8 px) that sits on the horizontal and vertical
  axes of the spectrum and on the period-2/4/8 lattice (streaks, scan lines, checkerboards), relative to the same
  share in the content: 1 means no more axis-aligned and periodic texture than the photo has.
- `painting_kind`: a painting's colour kind from saturation, brightness and flatness, so that results are
  reported per kind and a held-out split can cover every kind (flat saturated posters included).
"""

from __future__ import annotations

import numpy as np

from adain.nn.losses import GREY, axis_periodic_masks

PAINTING_KINDS = ("flat_saturated", "saturated", "muted", "dark", "monochrome")
_DIRECTIONS = 32  # random projections of the sliced Wasserstein distance, besides the three Lab axes


def rgb_to_lab(image: np.ndarray) -> np.ndarray:
    """sRGB (uint8 or float 0..255) [..., 3] -> CIELAB (D65) [..., 3]."""
    rgb = np.asarray(image, np.float64) / 255.0
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    matrix = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = linear @ matrix.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def _pixels(image: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    pixels = rgb_to_lab(image).reshape(-1, 3)
    return pixels[rng.choice(len(pixels), count, replace=len(pixels) < count)]


def colour_distance(output: np.ndarray, painting: np.ndarray, samples: int = 20_000, seed: int = 0) -> float:
    """Sliced Wasserstein-1 distance between the two images' CIELAB pixel distributions (ΔE76 units)."""
    rng = np.random.default_rng(seed)
    a, b = _pixels(output, samples, rng), _pixels(painting, samples, rng)
    directions = np.concatenate([np.eye(3), rng.normal(size=(_DIRECTIONS, 3))])
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    projected_a, projected_b = np.sort(a @ directions.T, axis=0), np.sort(b @ directions.T, axis=0)
    return float(np.mean(np.abs(projected_a - projected_b)))


def _grey(image: np.ndarray) -> np.ndarray:
    return np.asarray(image, np.float64)[..., :3] @ np.array(GREY)


def axis_periodic_share(image: np.ndarray) -> float:
    """Share of the energy at periods 2..8 px lying on the spectrum's axes or the period-2/4/8 lattice
    (the masks are the training penalty's: adain.nn.losses.axis_periodic_masks)."""
    grey = _grey(image)
    window, band, selected = axis_periodic_masks(*grey.shape)
    energy = np.abs(np.fft.fft2((grey - grey.mean()) * window)) ** 2
    return float(energy[selected].sum() / max(energy[band].sum(), 1e-12))


def streak_ratio(output: np.ndarray, content: np.ndarray) -> float:
    """`axis_periodic_share` of the output over that of the content: > 1 is added streak and checkerboard energy."""
    return axis_periodic_share(output) / max(axis_periodic_share(content), 1e-12)


def colour_statistics(image: np.ndarray) -> dict[str, float]:
    """Mean HSV saturation and value (0..1) and flatness (share of pixels whose grey gradient is below 3/255)."""
    rgb = np.asarray(image, np.float64)[..., :3] / 255.0
    value = rgb.max(axis=-1)
    saturation = np.where(value > 0, (value - rgb.min(axis=-1)) / np.maximum(value, 1e-12), 0.0)
    grey = _grey(image)
    gradient = np.abs(np.diff(grey, axis=0))[:, :-1] + np.abs(np.diff(grey, axis=1))[:-1]
    return {
        "saturation": float(saturation.mean()),
        "value": float(value.mean()),
        "flatness": float((gradient < 3).mean()),
    }


def painting_kind(image: np.ndarray) -> str:
    """One of PAINTING_KINDS, from `colour_statistics` of the painting at about 256 px (thresholds in docs/quality.md)."""
    stats = colour_statistics(image)
    if stats["saturation"] >= 0.4 and stats["flatness"] >= 0.25 and stats["value"] >= 0.35:
        return "flat_saturated"
    if stats["value"] < 0.3:
        return "dark"
    if stats["saturation"] < 0.12:
        return "monochrome"
    if stats["saturation"] >= 0.45:
        return "saturated"
    return "muted"
