"""A text's verdict from its class probabilities: score, label and suggested rating.

Light on purpose (numpy, no torch): ``inference.process_scorer`` builds verdicts in a
worker that never loads torch itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Sentiment:
    """One text's verdict. ``probs`` follow ``classes`` ([bad, average, good] by default)."""

    probs: list[float]
    score: float
    label: str
    suggested_rating: int


def sentiment_score(probs: Sequence[float], classes: Sequence[str]) -> float:
    """0..1: P(average)*0.5 + P(good) for 3 classes; P(good) for binary; stars mapped linearly for 5."""
    if len(classes) == 2:
        return float(probs[1])
    if len(classes) == 3:
        return float(probs[1] * 0.5 + probs[2])
    return float(sum(p * i for i, p in enumerate(probs)) / (len(probs) - 1))


def suggested_rating(score: float) -> int:
    """The original app's rule: min(int(score * 5 + 1), 5)."""
    return min(int(score * 5 + 1), 5)


def verdicts(probabilities: np.ndarray, classes: Sequence[str]) -> list[Sentiment]:
    """One ``Sentiment`` per row of ``probabilities`` (columns in the order of ``classes``).

    Converted to Python numbers in one call per batch, not per row (the worker builds
    thousands of these a second, on the cores the model needs).
    """
    array = np.asarray(probabilities)
    rows, best = (array.tolist(), array.argmax(axis=1).tolist()) if len(array) else ([], [])
    results = []
    for probs, top in zip(rows, best, strict=True):
        score = sentiment_score(probs, classes)
        results.append(Sentiment(probs, score, classes[top], suggested_rating(score)))
    return results
