"""scikit-image's bundled photographs and textures: real images in every install, no download.

The demo trains on them and the VGG normalisation measures its channel means on them.
"""

from __future__ import annotations

import numpy as np

from adain.errors import UserError

DEMO_IMAGES = {
    "photos": ("astronaut", "chelsea", "coffee", "rocket", "stereo_motorcycle"),
    "textures": ("hubble_deep_field", "immunohistochemistry", "retina", "colorwheel", "brick", "grass", "gravel"),
}
ALL_DEMO_IMAGES = DEMO_IMAGES["photos"] + DEMO_IMAGES["textures"]


def demo_image(name: str, why: str = "the demo images come from scikit-image") -> np.ndarray:
    """One of scikit-image's images (as named in skimage.data) as RGB uint8 [H, W, 3]."""
    try:
        import skimage.data  # optional: the `demo` extra
    except ImportError:
        raise UserError(f"{why}: pip install scikit-image (the demo extra: pip install 'adain[demo]')") from None
    image = getattr(skimage.data, name)()
    image = np.asarray(image[0] if isinstance(image, tuple) else image)  # stereo pairs: the left image
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    if image.dtype != np.uint8:
        image = (image / image.max() * 255).astype(np.uint8)
    return image[..., :3]
