"""Which arithmetic precision the scorer may use: a quality gate, then the hardware.

Lower precisions are judged by what users see, not by raw probabilities: on labelled
texts (the validation split when a model is saved, the hold-out when a candidate is
retrained, the user's file in ``evaluate``) a precision must give the fp32 label for at
least 99.5% of texts and a macro-F1 within 0.002 of fp32's. The figures go to
``model.json`` (``precision``), int8's with the activation scales it was calibrated
with. ``auto`` then picks, among the precisions whose gate passed, int8 on an x86 CPU
(:mod:`inference.quantized`), else bf16 where the chip runs it natively
(:mod:`inference.hardware`; emulated bf16 is many times slower than fp32), else fp32.
int8 comes first because it was the fastest wherever both were measured: on an AVX-512
CPU with native bf16 and VNNI, int8 scored real reviews 2.3x as fast as fp32 and bf16
1.6x (each against fp32 on the same texts; README, Benchmarks); on a GPU only bf16 applies.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from inference.artefact import ArtefactError
from inference.hardware import bf16_is_native
from inference.metrics import classification_report
from inference.quantized import calibrate, int8_is_native

if TYPE_CHECKING:
    from inference.artefact import ModelCard
    from inference.scorer import Scorer

#: What ``SCORER_PRECISION`` accepts.
SCORER_PRECISIONS = ("auto", "fp32", "bf16", "int8")
MIN_LABEL_AGREEMENT = 0.995
MAX_MACRO_F1_DELTA = 0.002
#: Lower precisions the gate tries, in the order ``auto`` prefers them.
CANDIDATES = ("int8", "bf16")
#: Texts the gate scores by default (a seeded sample): 0.5% of them, 5, may change label.
GATE_TEXTS = 1000
#: Texts int8's activation scales are measured on (a seeded sample apart from the gate's, where there are enough).
CALIBRATION_TEXTS = 1000


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


def precision_gate(
    scorer: Scorer, texts: Sequence[str], labels: Sequence[int], max_texts: int = GATE_TEXTS, seed: int = 0,
    candidates: Sequence[str] = CANDIDATES,
) -> dict[str, Any]:
    """Label agreement and macro-F1 of each candidate precision against fp32.

    On a seeded sample of at most ``max_texts`` of ``texts`` (0 = all): emulated bf16
    scores ~10x slower than fp32, so the full validation split would take long on
    a CPU without bf16. int8 is calibrated on up to ``CALIBRATION_TEXTS`` other texts
    of the file (the judged ones where there are no others), and gated on a CPU only.
    ``scorer`` is a :class:`inference.scorer.Scorer` (its own precision is left alone).
    Returns the dict ``model.json`` records as ``precision``.
    """
    candidates = [name for name in candidates if name != "int8" or int8_is_native(scorer.device)]
    all_texts = list(texts)
    order = np.random.default_rng(seed).permutation(len(all_texts))
    rows = np.sort(order[:max_texts]) if max_texts else np.arange(len(all_texts))
    texts, labels = [all_texts[i] for i in rows], [labels[i] for i in rows]
    classes = list(scorer.classes)
    gate = {"min_label_agreement": MIN_LABEL_AGREEMENT, "max_macro_f1_delta": MAX_MACRO_F1_DELTA}
    if not len(texts):
        return {"texts": 0, "gate": gate, **{name: {"passed": False} for name in candidates}}
    scales: list[float] | None = None
    if "int8" in candidates:
        # measured on other texts than those judged, where the file has them
        others = order[max_texts : max_texts + CALIBRATION_TEXTS] if max_texts else order[:0]
        calibration = [all_texts[i] for i in others] if len(others) else texts[:CALIBRATION_TEXTS]
        scales = calibrate(scorer, calibration)

    def predicted(precision: str) -> np.ndarray:
        return scorer.at_precision(precision, scales).probabilities(texts).argmax(1)

    reference = predicted("fp32")
    reference_f1 = classification_report(labels, reference, classes)["macro_f1"]
    report: dict[str, Any] = {
        "texts": len(texts), "fp32_macro_f1": reference_f1,
        "gate": gate,
    }
    for candidate in candidates:
        labels_here = predicted(candidate)
        agreement = float((labels_here == reference).mean())
        f1 = classification_report(labels, labels_here, classes)["macro_f1"]
        delta = abs(f1 - reference_f1)
        report[candidate] = {
            "label_agreement": round(agreement, 5), "macro_f1": f1, "macro_f1_delta": round(delta, 5),
            "passed": agreement >= MIN_LABEL_AGREEMENT and delta <= MAX_MACRO_F1_DELTA,
        }
        if candidate == "int8":
            report[candidate].update(scales=scales, calibration_texts=len(calibration))
    return report


def record_precision_gate(
    directory: str | Path, texts: Sequence[str], labels: Sequence[int], max_texts: int = GATE_TEXTS,
    candidates: Sequence[str] = CANDIDATES,
) -> dict[str, Any]:
    """Run the gate on a saved model directory (its stored weights) and write it into ``model.json``."""
    from inference.scorer import Scorer

    scorer = Scorer.load(directory, device="cpu", precision="fp32")
    report = precision_gate(scorer, texts, labels, max_texts, candidates=candidates)
    write_precision(directory, report)
    return report


def write_precision(directory: str | Path, report: dict[str, Any]) -> None:
    """Store a gate report as ``model.json``'s ``precision`` (what ``auto`` and int8 read at load)."""
    from inference.artefact import CONFIG_FILE

    path = Path(directory) / CONFIG_FILE
    card = json.loads(path.read_text(encoding="utf-8"))
    card["precision"] = report
    path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
