"""What `adain serve` fixes at start, checked there: limits, and the names and origins it answers.

Kept apart from the app (no TensorFlow here) so the command line checks every value before it loads a
model: a bad value is one line and exit 2 at start, never a 500 on every request later.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

from adain.errors import UserError

STYLE_SIZE = 512  # the style's smaller side: `adain stylize`'s default --style-size
MAX_JSON_BYTES = 64 * 1024  # the settings are a few dozen bytes; a larger JSON body is refused before parsing
MAX_UPLOAD_MB = 4096.0  # the largest --max-upload-mb (an upload is held in memory whole)
MAX_MEGAPIXELS = 10_000.0
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


@dataclass(frozen=True)
class ServeConfig:
    """What `adain serve` fixes at start (the checkpoint among them: a request cannot change the model)."""

    checkpoint: str | None = None  # as `--checkpoint` names it; None: the default model (the shown command omits it)
    model: str = "the shipped model"  # what the page says it runs
    max_upload_mb: float = 20.0
    max_megapixels: float = 40.0
    preview_size: int = 512  # the content's smaller side while the sliders move
    style_size: int = STYLE_SIZE  # the styles' smaller side, previews and downloads alike
    tile: int | None = None  # an original-size download with one plain style is tiled above this side (None: default)
    untiled_megapixels: float = 4.0  # larger downloads that cannot be tiled are refused (memory)
    max_sessions: int = 32  # tabs kept; the least recently used one is forgotten first
    examples: str | None = None  # folder of example contents (default: scikit-image's photos)
    gallery: str | None = None  # folder of the style gallery (default: adain/serve/gallery, else textures)
    host: str = "127.0.0.1"  # the address it listens on: the `Host` names it answers are this and loopback's
    allow_hosts: tuple[str, ...] = ()  # more names `Host` may carry (a machine's name on the network)
    allow_origins: tuple[str, ...] = ()  # other origins ("http://example.org:8080") that may post to it

    def __post_init__(self) -> None:
        """Values checked at start: a bad one is one UserError here, never a 500 on every request later."""
        for name, low, high in (("max_upload_mb", 0.0, MAX_UPLOAD_MB), ("max_megapixels", 0.0, MAX_MEGAPIXELS)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise UserError(f"--{name.replace('_', '-')} must be a finite number, got {value}")
            if not value > low:
                raise UserError(f"--{name.replace('_', '-')} must be > {low:g}, got {value:g}")
            if value > high:
                raise UserError(f"--{name.replace('_', '-')} must be at most {high:g}, got {value:g}")
        if not (math.isfinite(self.untiled_megapixels) and self.untiled_megapixels > 0):
            raise UserError(f"untiled_megapixels must be a finite number > 0, got {self.untiled_megapixels}")
        for name in ("preview_size", "style_size", "tile", "max_sessions"):
            value = getattr(self, name)
            if name == "tile" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UserError(f"{name} must be a positive whole number, got {value!r}")
        for origin in self.allow_origins:
            if normal_origin(origin) is None:
                raise UserError(f"--allow-origin must look like http://host:port, got {origin!r}")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_pixels(self) -> int:
        return int(self.max_megapixels * 1_000_000)


def host_name(value: str) -> str:
    """The name in a `Host` header or URL netloc, without port or brackets, lower case ("[::1]:80" -> "::1")."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def normal_origin(origin: str) -> str | None:
    """`scheme://host[:port]` in lower case without a trailing slash, or None if it is not an origin."""
    origin = origin.strip().lower().rstrip("/")
    scheme, sep, netloc = origin.partition("://")
    if not sep or scheme not in ("http", "https") or not netloc or "/" in netloc or not host_name(netloc):
        return None
    return origin


def is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
