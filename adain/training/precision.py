"""Which numeric precision and compiler the hot paths use, decided where they pay.

Measured on CPU (docs/performance.md): XLA and bfloat16 do not pay on an AVX2 CPU without
bf16 units, so "auto" keeps float32 and no XLA there. On a GPU with tensor cores, bfloat16
(compute capability >= 8.0) or float16 with loss scaling (7.x) and XLA are the standard wins.
"""

from __future__ import annotations

import tensorflow as tf

from adain.config import PRECISIONS


def gpu_compute_capability() -> tuple[int, int] | None:
    """Compute capability of the first visible GPU, None without one."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    details = tf.config.experimental.get_device_details(gpus[0])
    return tuple(details.get("compute_capability", (0, 0)))


def resolve_precision(name: str) -> str:
    """A Keras dtype policy name; "auto" picks mixed precision only on GPUs whose tensor cores run it."""
    if name not in PRECISIONS:
        raise ValueError(f"unknown precision {name!r}; expected one of {PRECISIONS}")
    if name != "auto":
        return name
    capability = gpu_compute_capability()
    if capability is None or capability < (7, 0):
        return "float32"
    return "mixed_bfloat16" if capability >= (8, 0) else "mixed_float16"


def resolve_jit_compile(flag: bool | None) -> bool | str:
    """XLA switch for `Model.compile`: None defers to Keras' "auto" (XLA with a GPU, not on CPU-only hosts)."""
    return "auto" if flag is None else bool(flag)
