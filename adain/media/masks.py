"""Spatial control masks (paper, Fig. 11): which style paints which part of the content.

* One mask and two styles: white (bright) pixels take the first style, black the second.
* K masks and K styles: each pixel takes the style whose mask is brightest there
  (ties go to the earlier mask).

Masks may have any size: they are resized (bilinear, then the choice above) to the
content's size after its resizing. Plain numpy/PIL: no TensorFlow, so the command line
can validate masks before loading the model.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from PIL import Image

from adain.errors import UserError
from adain.media.images import load_image, to_rgb_uint8

MaskLike = str | os.PathLike | Image.Image | np.ndarray


def styles_needed(mask_count: int) -> int:
    """How many styles a number of masks assigns: one mask splits the image in two."""
    return 2 if mask_count == 1 else mask_count


def check_mask_count(mask_count: int, style_count: int) -> None:
    needed = styles_needed(mask_count)
    if style_count != needed:
        what = "one mask (white: first style, black: second) needs" if mask_count == 1 else f"{mask_count} masks need"
        raise UserError(f"--mask: {what} {needed} styles, got {style_count}")


def as_mask(mask: MaskLike) -> np.ndarray:
    """Path, PIL image or array -> float32 [H, W] in 0..1 (luminance)."""
    if isinstance(mask, (str, os.PathLike)):
        rgb = load_image(mask)
    elif isinstance(mask, Image.Image):
        rgb = to_rgb_uint8(mask)
    else:
        array = np.asarray(mask)
        if array.ndim == 3:
            array = array[..., :3].mean(axis=-1)
        if array.ndim != 2:
            raise UserError(f"expected a mask array of shape (H, W) or (H, W, 3), got {np.shape(mask)}")
        peak = 1.0 if array.dtype.kind == "b" or (array.dtype.kind == "f" and array.max(initial=0) <= 1.0) else 255.0
        return (array.astype(np.float32) / peak).clip(0.0, 1.0)
    return rgb.astype(np.float32).mean(axis=-1) / 255.0


def resize_mask(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    if mask.shape == (height, width):
        return mask
    return np.asarray(Image.fromarray(mask.astype(np.float32), "F").resize((width, height), Image.BILINEAR))


def mask_regions(masks: Sequence[MaskLike], height: int, width: int) -> np.ndarray:
    """Masks -> one-hot regions [H, W, K] at the content's size, K = styles_needed(len(masks))."""
    if not masks:
        raise UserError("--mask: no mask given")
    resized = [resize_mask(as_mask(m), height, width) for m in masks]
    if len(resized) == 1:
        labels = (resized[0] < 0.5).astype(np.int64)  # 0: white -> first style, 1: black -> second
    else:
        labels = np.argmax(np.stack(resized, axis=-1), axis=-1)
    count = styles_needed(len(masks))
    return np.eye(count, dtype=np.float32)[labels]
