"""What the hardware runs natively: decides whether bf16 is worth using.

bf16 pays only where the chip has bf16 arithmetic (AVX-512 BF16 or AMX on x86
CPUs, Ampere or newer GPUs). Elsewhere torch emulates it, and a training step
measured on an AVX2-only CPU was 15x slower than fp32, so ``auto`` means fp32 there.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch

PRECISIONS = ("auto", "fp32", "bf16")


@lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True when /proc/cpuinfo lists AVX-512 BF16 or AMX BF16 (False where it cannot be read)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def bf16_is_native(device: str) -> bool:
    if device.startswith("cuda"):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return cpu_has_native_bf16()


def autocast_dtype(device: str, precision: str = "auto") -> torch.dtype | None:
    """``torch.bfloat16`` to autocast with, or None for plain fp32."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "bf16" or (precision == "auto" and bf16_is_native(device)):
        return torch.bfloat16
    return None
