"""The precision gate: may a lower precision score this model? Judged on labelled texts, recorded in model.json.

A precision must give the fp32 label for at least 99.5% of texts and a macro-F1 within
0.002 of fp32's; int8's activation scales are measured here too (:func:`calibrate`).
What the scorer then picks from the recorded gate is ``inference.precision``'s.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from inference.hardware import int8_is_native
from inference.precision import CANDIDATES
from inference.training.metrics import classification_report

if TYPE_CHECKING:
    from inference.scorer import Scorer

MIN_LABEL_AGREEMENT = 0.995
MAX_MACRO_F1_DELTA = 0.002
#: Texts the gate scores by default (a seeded sample): 0.5% of them, 5, may change label.
GATE_TEXTS = 1000
#: Texts int8's activation scales are measured on (a seeded sample apart from the gate's, where there are enough).
CALIBRATION_TEXTS = 1000


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
