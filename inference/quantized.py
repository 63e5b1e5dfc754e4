"""int8 convolutions for scoring on a CPU: convs 2..6 of the char-CNN in 8-bit integers.

Convs 2..6 are most of a pass's arithmetic (conv1 is a gather, fc1 multiplies only
the computed columns), and x86 CPUs multiply int8 about twice as fast as fp32
(fbgemm / oneDNN kernels, AVX2 and up). Weights are quantized per output channel;
activations per tensor with scales measured on real texts (``inference.training.precision_gate.calibrate``) and
recorded in ``model.json`` beside the gate's figures (``inference.training.precision_gate``).
Every activation here follows a ReLU, so it is unsigned: zero point 0, the full
0..255 range. Conv and ReLU run fused; max-pool after the ReLU equals the reference's
pool-then-ReLU (ReLU is monotonic). Everything else (conv1's gather, fc layers, the
word branch, the padding tail) stays fp32.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.ao.nn.intrinsic.quantized import ConvReLU1d

from inference.hardware import int8_engine
from inference.model import POOLED_AFTER, CharCNN

# torch marks quantized tensors for removal in a later release; the pinned torch has them
warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor", category=UserWarning)

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
        """``x``: conv1's output ``(B, 256, L)``, which the scorer's gather leaves laid out as ``(B, L, 256)``.

        Quantized in that memory order and handed on as a view: a strided quantize
        costs ~9x a contiguous one, and fbgemm's convolutions read channels-last
        directly (~25% faster than ``(B, C, L)``). The values are the same either way.
        """
        q = torch.quantize_per_tensor(x.transpose(1, 2).float().contiguous(), self.input_scale, 0, torch.quint8)
        q = q.transpose(1, 2)
        for conv, pooled in self.layers:
            q = conv(q)
            if pooled:
                q = F.max_pool1d(q, 3)
        return q.dequantize()

