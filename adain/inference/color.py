"""Colour preservation: recolour the style image with the content's colour statistics before encoding.

This is the method the AdaIN paper uses (section 7, after Gatys et al. 2016, "Preserving
color in neural artistic style transfer"): a linear colour transfer x' = A (x - mu_s) + mu_c
of the style's RGB pixels, with A = Sigma_c^(1/2) Sigma_s^(-1/2) (symmetric matrix square
roots) so the recoloured style has exactly the content's RGB mean and covariance. The
network then transfers the style's strokes and textures, but the colours it sees are
already the content's. (The reference PyTorch implementation's `coral()` is the same
transfer.)
"""

from __future__ import annotations

import numpy as np

# Added to both covariances: keeps a flat or grey image (singular covariance) invertible.
REGULARIZER = 1e-5


def _matrix_power(covariance: np.ndarray, power: float) -> np.ndarray:
    values, vectors = np.linalg.eigh(covariance)
    return (vectors * np.maximum(values, REGULARIZER) ** power) @ vectors.T


def color_statistics(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RGB mean [3] and covariance [3, 3] of an image in 0..255 (computed in 0..1 units)."""
    pixels = np.asarray(image, np.float64).reshape(-1, 3) / 255.0
    mean = pixels.mean(axis=0)
    centered = pixels - mean
    covariance = centered.T @ centered / max(len(pixels), 1) + REGULARIZER * np.eye(3)
    return mean, covariance


def match_color(source: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """`source` [H, W, 3] recoloured to the RGB mean and covariance of `reference` (any size); float32 0..255."""
    source_mean, source_cov = color_statistics(source)
    reference_mean, reference_cov = color_statistics(reference)
    transform = _matrix_power(reference_cov, 0.5) @ _matrix_power(source_cov, -0.5)
    pixels = np.asarray(source, np.float64).reshape(-1, 3) / 255.0
    matched = (pixels - source_mean) @ transform.T + reference_mean
    return np.clip(matched * 255.0, 0.0, 255.0).reshape(np.shape(source)).astype(np.float32)
