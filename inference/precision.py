"""Which arithmetic precision the scorer may use: a quality gate, then the hardware.

bf16 is judged by what users see, not by raw probabilities: on labelled texts
(the validation split when a model is saved, the user's file in ``evaluate``) it
must give the fp32 label for at least 99.5% of texts and a macro-F1 within 0.002
of fp32's. The figures go to ``model.json`` (``precision``); ``auto`` then picks
bf16 only where the gate passed *and* the chip runs bf16 natively
(:mod:`inference.hardware`): emulated bf16 is many times slower than fp32.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from inference.hardware import PRECISIONS, bf16_is_native
from inference.metrics import classification_report

if TYPE_CHECKING:
    from inference.artefact import ModelCard
    from inference.scorer import Scorer

MIN_LABEL_AGREEMENT = 0.995
MAX_MACRO_F1_DELTA = 0.002
#: Lower precisions the gate tries, fastest first.
CANDIDATES = ("bf16",)
#: Texts the gate scores by default (a seeded sample): 0.5% of them, 5, may change label.
GATE_TEXTS = 1000


def gate_passed(card: ModelCard, precision: str) -> bool:
    """True when ``card.precision`` records a passed gate for ``precision``."""
    return bool((getattr(card, "precision", None) or {}).get(precision, {}).get("passed"))


def resolve_precision(requested: str, card: ModelCard, device: str) -> str:
    """``fp32`` or ``bf16``: explicit choices are kept; ``auto`` needs a passed gate and native bf16."""
    if requested not in PRECISIONS:
        raise ValueError(
            f"precision must be one of {', '.join(PRECISIONS)} (SCORER_PRECISION), not {requested!r}"
        )
    if requested != "auto":
        return requested
    for candidate in CANDIDATES:
        if gate_passed(card, candidate) and bf16_is_native(device):
            return candidate
    return "fp32"


def precision_gate(
    scorer: Scorer, texts: Sequence[str], labels: Sequence[int], max_texts: int = GATE_TEXTS, seed: int = 0,
    candidates: Sequence[str] = CANDIDATES,
) -> dict[str, Any]:
    """Label agreement and macro-F1 of each candidate precision against fp32.

    On a seeded sample of at most ``max_texts`` of ``texts`` (0 = all): emulated bf16
    scores ~10x slower than fp32, so the full validation split would take long on
    a CPU without bf16. ``scorer`` is a :class:`inference.scorer.Scorer` (its own
    precision is left alone). Returns the dict ``model.json`` records as ``precision``.
    """
    if max_texts and len(texts) > max_texts:
        rows = np.sort(np.random.default_rng(seed).choice(len(texts), max_texts, replace=False))
        texts, labels = [texts[i] for i in rows], [labels[i] for i in rows]
    classes = list(scorer.classes)
    gate = {"min_label_agreement": MIN_LABEL_AGREEMENT, "max_macro_f1_delta": MAX_MACRO_F1_DELTA}
    if not len(texts):
        return {"texts": 0, "gate": gate, **{name: {"passed": False} for name in candidates}}

    def predicted(precision: str) -> np.ndarray:
        variant = copy.copy(scorer)
        variant.precision = precision
        return variant.probabilities(list(texts)).argmax(1)

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
    return report


def record_precision_gate(
    directory: str | Path, texts: Sequence[str], labels: Sequence[int], max_texts: int = GATE_TEXTS
) -> dict[str, Any]:
    """Run the gate on a saved model directory (its stored weights) and write it into ``model.json``."""
    from inference.artefact import CONFIG_FILE
    from inference.scorer import Scorer

    scorer = Scorer.load(directory, device="cpu", precision="fp32")
    report = precision_gate(scorer, texts, labels, max_texts)
    path = Path(directory) / CONFIG_FILE
    card = json.loads(path.read_text(encoding="utf-8"))
    card["precision"] = report
    path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return report
