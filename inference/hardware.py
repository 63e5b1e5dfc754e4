"""What the hardware runs natively: decides whether bf16 and int8 are worth using.

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


#: Quantized kernels wanted, best first ("x86" picks fbgemm or oneDNN per shape).
ENGINES = ("x86", "fbgemm", "onednn")


@lru_cache(maxsize=1)
def int8_engine() -> str | None:
    """The quantized engine this torch build offers on x86, or None (then int8 is not offered)."""
    supported = torch.backends.quantized.supported_engines
    return next((engine for engine in ENGINES if engine in supported), None)


def int8_is_native(device: str) -> bool:
    """int8 scoring runs on the CPU only, where torch ships an x86 quantized engine."""
    return device == "cpu" and int8_engine() is not None
