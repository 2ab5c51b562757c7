"""Synthetic flat posters: the kind of painting a corpus of old masters lacks.

Poster art, pop art, Matisse cut-outs and Mondrians are large uniform fields of saturated colour with
black ink. The project's corpus holds 9 such paintings among 530, and a decoder trained on it answered
them with a grey-purple wash. `flat_poster` draws such images from a seed: a few saturated fields
(rectangles, discs, bands), black ink lines and outlines, sometimes a white ground. They train the
decoder on colours it must reach (tools/corpus_split.py writes a folder of them beside the training
styles) and, from other seeds, stress the evaluation (the colour stress set).
"""

from __future__ import annotations

import colorsys

import numpy as np
from PIL import Image, ImageDraw


def _saturated_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    hue = rng.random()
    saturation = rng.uniform(0.65, 1.0)
    value = rng.uniform(0.55, 1.0)
    return tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(hue, saturation, value))


def flat_poster(size: int = 512, seed: int = 0) -> np.ndarray:
    """A size x size uint8 RGB poster of flat saturated fields and black ink, the same for the same seed."""
    rng = np.random.default_rng(seed)
    ground = (245, 240, 228) if rng.random() < 0.25 else _saturated_colour(rng)
    image = Image.new("RGB", (size, size), ground)
    draw = ImageDraw.Draw(image)
    ink = (10, 10, 12)
    for _ in range(int(rng.integers(3, 9))):
        colour = _saturated_colour(rng)
        x0, y0 = (int(v) for v in rng.integers(-size // 4, size, 2))
        w, h = (int(v) for v in rng.integers(size // 8, size // 2, 2))
        shape = rng.integers(3)
        outline = ink if rng.random() < 0.5 else None
        width = int(rng.integers(2, max(3, size // 64)))
        if shape == 0:
            draw.rectangle([x0, y0, x0 + w, y0 + h], fill=colour, outline=outline, width=width)
        elif shape == 1:
            draw.ellipse([x0, y0, x0 + w, y0 + w], fill=colour, outline=outline, width=width)
        else:
            points = [tuple(int(v) for v in rng.integers(-size // 8, size + size // 8, 2)) for _ in range(3)]
            draw.polygon(points, fill=colour, outline=outline)
    for _ in range(int(rng.integers(1, 6))):  # ink strokes, straight like a Mondrian or a woodcut
        width = int(rng.integers(size // 128 + 1, size // 24 + 2))
        if rng.random() < 0.5:
            y = int(rng.integers(0, size))
            draw.line([(0, y), (size, y)], fill=ink, width=width)
        else:
            x = int(rng.integers(0, size))
            draw.line([(x, 0), (x, size)], fill=ink, width=width)
    return np.asarray(image)
