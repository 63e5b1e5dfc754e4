"""Which arithmetic precision the scorer may use: a passed quality gate, then the hardware.

Lower precisions are judged by what users see, not by raw probabilities: on labelled
texts (the validation split when a model is saved, the hold-out when a candidate is
retrained, the user's file in ``evaluate``) a precision must give the fp32 label for at
least 99.5% of texts and a macro-F1 within 0.002 of fp32's. The figures go to
``model.json`` (``precision``), int8's with the activation scales it was calibrated
with (the gate itself: ``inference.training.precision_gate``). ``auto`` then picks, among the precisions whose gate passed, int8 on an x86 CPU
(:mod:`inference.quantized`), else bf16 where the chip runs it natively
(:mod:`inference.hardware`; emulated bf16 is many times slower than fp32), else fp32.
int8 comes first because it was the fastest wherever both were measured: on an AVX-512
CPU with native bf16 and VNNI, int8 scored real reviews 2.3x as fast as fp32 and bf16
1.6x (each against fp32 on the same texts; docs/benchmarks.md); on a GPU only bf16 applies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inference.artefact import ArtefactError
from inference.hardware import bf16_is_native, int8_is_native

if TYPE_CHECKING:
    from inference.artefact import ModelCard

#: What ``SCORER_PRECISION`` accepts.
SCORER_PRECISIONS = ("auto", "fp32", "bf16", "int8")
#: Lower precisions the gate tries, in the order ``auto`` prefers them.
CANDIDATES = ("int8", "bf16")


class PrecisionError(ArtefactError, ValueError):
    """An explicit SCORER_PRECISION this model or device cannot use: reported like any unusable artefact."""


def gate_passed(card: ModelCard, precision: str) -> bool:
    """True when ``card.precision`` records a passed gate for ``precision``."""
    return bool((getattr(card, "precision", None) or {}).get(precision, {}).get("passed"))


def int8_scales(card: ModelCard) -> list[float] | None:
    """The activation scales int8 was calibrated with (``model.json`` ``precision.int8.scales``), if any."""
    return ((getattr(card, "precision", None) or {}).get("int8") or {}).get("scales")


def int8_available(card: ModelCard, device: str) -> bool:
    """int8 can score this model here: an x86 CPU and recorded activation scales."""
    return int8_is_native(device) and bool(int8_scales(card))


def native_candidates(device: str) -> tuple[str, ...]:
    """The lower precisions ``device`` runs natively: the ones worth gating for a model used here."""
    return tuple(name for name in CANDIDATES if _native(name, device))


def _native(precision: str, device: str) -> bool:
    return bf16_is_native(device) if precision == "bf16" else int8_is_native(device)


def resolve_precision(requested: str, card: ModelCard, device: str) -> str:
    """``fp32``, ``bf16`` or ``int8``: explicit choices are kept; ``auto`` needs a passed gate and native support.

    Raises ``ValueError`` for an unknown name, and :class:`PrecisionError` for an explicit
    ``int8`` the device cannot run or the model has no calibration for.
    """
    if requested not in SCORER_PRECISIONS:
        raise ValueError(
            f"precision must be one of {', '.join(SCORER_PRECISIONS)} (SCORER_PRECISION), not {requested!r}"
        )
    if requested == "int8":
        if not int8_is_native(device):
            raise PrecisionError(f"SCORER_PRECISION=int8 runs on an x86 CPU only, not on {device!r}: use auto or fp32")
        if not int8_scales(card):
            raise PrecisionError(
                f"SCORER_PRECISION=int8: model {card.version} has no int8 calibration in model.json "
                "(record one with `reviewpulse evaluate --model DIR --data FILE --record-precision`), "
                "or use auto or fp32")
    if requested != "auto":
        return requested
    for candidate in CANDIDATES:
        usable = int8_available(card, device) if candidate == "int8" else _native(candidate, device)
        if gate_passed(card, candidate) and usable:
            return candidate
    return "fp32"
