"""int8 convolutions for scoring on a CPU: convs 2..6 of the char-CNN in 8-bit integers.

Convs 2..6 are most of a pass's arithmetic (conv1 is a gather, fc1 multiplies only
the computed columns), and x86 CPUs multiply int8 about twice as fast as fp32
(fbgemm / oneDNN kernels, AVX2 and up). Weights are quantized per output channel;
activations per tensor with scales measured on real texts (:func:`calibrate`) and
recorded in ``model.json`` beside the gate's figures (:mod:`inference.precision`).
Every activation here follows a ReLU, so it is unsigned: zero point 0, the full
0..255 range. Conv and ReLU run fused; max-pool after the ReLU equals the reference's
pool-then-ReLU (ReLU is monotonic). Everything else (conv1's gather, fc layers, the
word branch, the padding tail) stays fp32.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.ao.nn.intrinsic.quantized import ConvReLU1d

from inference.model import POOLED_AFTER, CharCNN

if TYPE_CHECKING:
    from inference.scorer import Scorer

# torch marks quantized tensors for removal in a later release; the pinned torch has them
warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor", category=UserWarning)

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


def calibrate(scorer: Scorer, texts: Sequence[str]) -> list[float]:
    """Activation scales: conv2's input, then each of convs 2..6's outputs (after ReLU and pool).

    The fp32 scorer runs ``texts`` with a recording stack in place of its own; the
    scale is the largest value seen / 255, so nothing that occurred saturates (a
    percentile clip was tried: same labels, larger probability errors).
    """
    model = scorer.model
    highest = [0.0] * len(model.convs)
    lock = threading.Lock()  # passes may run on two lanes at once

    def seen(layer: int, x: torch.Tensor) -> None:
        value = float(x.max()) if x.numel() else 0.0
        with lock:
            highest[layer] = max(highest[layer], value)

    def recording(x: torch.Tensor) -> torch.Tensor:
        seen(0, x)
        return model._upper_convs(x, observe=seen)

    fp32 = scorer.at_precision("fp32")
    fp32.upper_convs = recording
    fp32.probabilities(list(texts))
    return [round(max(value, 1e-6) / 255, 9) for value in highest]


class Int8Convs:
    """Convs 2..6 quantized: a drop-in for :meth:`CharCNN._upper_convs` in eval mode (read-only, thread-safe)."""

    def __init__(self, model: CharCNN, scales: Sequence[float]) -> None:
        if len(scales) != len(model.convs):
            raise ValueError(f"int8 needs {len(model.convs)} activation scales, model.json has {len(scales)}")
        engine = int8_engine()
        if engine is None:
            raise ValueError("this torch build has no x86 quantized engine: int8 is not available here")
        torch.backends.quantized.engine = engine
        self.input_scale = float(scales[0])
        self.layers: list[tuple[ConvReLU1d, bool]] = []
        for layer in range(1, len(model.convs)):
            conv = cast(nn.Conv1d, model.convs[layer])
            weight = conv.weight.detach().float().cpu()
            channels = weight.shape[0]
            weight_scales = (weight.abs().amax((1, 2)) / 127).clamp_min(1e-12).double()
            quantized = ConvReLU1d(weight.shape[1], channels, weight.shape[2])
            quantized.set_weight_bias(
                torch.quantize_per_channel(weight, weight_scales, torch.zeros(channels, dtype=torch.long), 0,
                                           torch.qint8),
                None if conv.bias is None else conv.bias.detach().float().cpu(),
            )
            quantized.scale, quantized.zero_point = float(scales[layer]), 0
            self.layers.append((quantized, layer in POOLED_AFTER))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        q = torch.quantize_per_tensor(x.float(), self.input_scale, 0, torch.quint8)
        for conv, pooled in self.layers:
            q = conv(q)
            if pooled:
                q = F.max_pool1d(q, 3)
        return q.dequantize()

