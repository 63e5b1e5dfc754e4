"""Classification metrics: accuracy, macro-F1, per-class precision/recall, confusion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def confusion_matrix(truth: Sequence[int] | np.ndarray, predicted: Sequence[int] | np.ndarray, classes: int) -> np.ndarray:
    """Rows are true classes, columns predicted classes."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(truth, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
    return matrix


def classification_report(
    truth: Sequence[int] | np.ndarray, predicted: Sequence[int] | np.ndarray, class_names: Sequence[str]
) -> dict[str, Any]:
    """JSON-ready report: ``accuracy``, ``macro_f1``, ``n``, ``per_class``, ``confusion``."""
    matrix = confusion_matrix(truth, predicted, len(class_names))
    total = int(matrix.sum())
    per_class = {}
    f1_scores = []
    for index, name in enumerate(class_names):
        true_positive = float(matrix[index, index])
        predicted_count = float(matrix[:, index].sum())
        actual_count = float(matrix[index, :].sum())
        precision = true_positive / predicted_count if predicted_count else 0.0
        recall = true_positive / actual_count if actual_count else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        f1_scores.append(f1)
        per_class[name] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": int(actual_count),
        }
    return {
        "n": total,
        "accuracy": round(float(np.trace(matrix)) / total, 4) if total else 0.0,
        "macro_f1": round(float(np.mean(f1_scores)), 4),
        "per_class": per_class,
        "classes": list(class_names),
        "confusion": matrix.tolist(),
    }


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """Macro-F1, accuracy and per-class F1 of a :func:`classification_report`: a row of a comparison table."""
    return {"macro_f1": report["macro_f1"], "accuracy": report["accuracy"],
            "f1": {name: row["f1"] for name, row in report["per_class"].items()}}
