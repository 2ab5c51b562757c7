"""Which numeric precision and compiler the hot paths use, decided where they pay.

Measured on CPU (docs/performance.md): on a CPU with bfloat16 units (AVX512_BF16 or AMX) oneDNN's
bfloat16 convolutions make a training step 1.8x faster, so "auto" trains in mixed bfloat16 there;
on an AVX2 CPU without them bfloat16 and XLA do not pay and "auto" keeps float32. On a GPU with
tensor cores, bfloat16 (compute capability >= 8.0) or float16 with loss scaling (7.x) and XLA are
the standard wins.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from adain.config import PRECISIONS


def gpu_compute_capability() -> tuple[int, int] | None:
    """Compute capability of the first visible GPU, None without one."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    details = tf.config.experimental.get_device_details(gpus[0])
    return tuple(details.get("compute_capability", (0, 0)))


def cpu_has_bfloat16_units(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether the CPU computes bfloat16 natively (AVX512_BF16 or AMX), where oneDNN's bfloat16 convolutions pay."""
    try:
        flags = Path(cpuinfo).read_text()
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))


def resolve_precision(name: str) -> str:
    """A Keras dtype policy name; "auto" picks mixed precision where the hardware runs it faster."""
    if name not in PRECISIONS:
        raise ValueError(f"unknown precision {name!r}; expected one of {PRECISIONS}")
    if name != "auto":
        return name
    capability = gpu_compute_capability()
    if capability is None:
        return "mixed_bfloat16" if cpu_has_bfloat16_units() else "float32"
    if capability < (7, 0):
        return "float32"
    return "mixed_bfloat16" if capability >= (8, 0) else "mixed_float16"


def resolve_jit_compile(flag: bool | None) -> bool | str:
    """XLA switch for `Model.compile`: None defers to Keras' "auto" (XLA with a GPU, not on CPU-only hosts)."""
    return "auto" if flag is None else bool(flag)
