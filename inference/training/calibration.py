"""Class-bias calibration: predict each class about as often as it occurs.

A model trained on mostly positive reviews under-predicts the rare "average"
class, or, trained on a balanced draw, over-predicts it. The fix is one bias per
class added to the logits (a shift of the log-probabilities), fitted on held-out
rows weighted so every class counts the same: a balanced held-out set. Adding a
constant per class never reorders one text's classes beyond those biases, and
it costs nothing at scoring time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from inference.training.metrics import classification_report

ROUNDS = 200
STEP = 0.5


def balanced_weights(labels: np.ndarray, classes: int) -> np.ndarray:
    """Per-row weights that make every present class weigh the same in total."""
    counts = np.bincount(labels, minlength=classes).astype(np.float64)
    return np.where(counts[labels] > 0, 1.0 / np.maximum(counts[labels], 1), 0.0)


def predicted_shares(log_probs: np.ndarray, bias: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted share of rows predicted as each class with ``bias`` added."""
    predicted = (log_probs + bias).argmax(1)
    shares = np.bincount(predicted, weights=weights, minlength=log_probs.shape[1])
    return shares / max(weights.sum(), 1e-12)


def fit_class_bias(log_probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Biases (first class fixed at 0) under which predicted shares match true shares, balanced.

    A damped fixed-point iteration: a class predicted too often gets its bias
    lowered by the log of the ratio. Deterministic; converges in a few dozen rounds.
    """
    classes = log_probs.shape[1]
    weights = balanced_weights(labels, classes)
    target = np.bincount(labels, weights=weights, minlength=classes) / weights.sum()
    bias = np.zeros(classes)
    for _ in range(ROUNDS):
        shares = predicted_shares(log_probs, bias, weights)
        bias -= STEP * np.log(np.maximum(shares, 1e-6) / np.maximum(target, 1e-6))
        bias -= bias[0]
    return bias


def calibration_report(log_probs: np.ndarray, labels: np.ndarray, bias: np.ndarray, names: list[str]) -> dict[str, Any]:
    """Per-class F1 and predicted shares on the balanced held-out rows, before and after ``bias``."""
    weights = balanced_weights(labels, len(names))
    # Balanced evaluation by resampling: every class down-sampled to the rarest one, seeded.
    rng = np.random.default_rng(0)
    smallest = min(int((labels == c).sum()) for c in range(len(names)) if (labels == c).any())
    rows = np.concatenate([rng.choice(np.flatnonzero(labels == c), smallest, replace=False)
                           for c in range(len(names)) if (labels == c).any()])
    report: dict[str, Any] = {}
    for name, shift in (("before", np.zeros(len(names))), ("after", bias)):
        result = classification_report(labels[rows], (log_probs[rows] + shift).argmax(1), names)
        report[name] = {
            "macro_f1": result["macro_f1"],
            "f1": {cls: row["f1"] for cls, row in result["per_class"].items()},
            "predicted_share": dict(zip(names, np.round(predicted_shares(log_probs, shift, weights), 4).tolist(),
                                        strict=True)),
        }
    report["balanced_rows"] = int(len(rows))
    return report
