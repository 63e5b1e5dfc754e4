"""The batched scorer the stream worker calls: texts in, sentiment out, one forward pass.

Thread-safety: ``score`` only reads the model, so one ``Scorer`` may serve a
thread pool; torch parallelises each forward pass across ``threads`` cores itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from inference.artefact import ModelCard, load_artefact
from inference.encoding import Alphabet
from inference.model import CharCNN, WordBags
from inference.words import ngram_bags


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


class Scorer:
    """A loaded char-CNN ready to score batches of review texts."""

    def __init__(self, model: CharCNN, card: ModelCard, alphabet: Alphabet, device: str = "cpu") -> None:
        self.model = model
        self.card = card
        self.alphabet = alphabet
        self.device = device
        self.model.freeze_tail()
        bias = card.calibration.get("class_bias")
        self.class_bias = torch.tensor(bias, dtype=torch.float32, device=device) if bias else None

    @classmethod
    def load(cls, directory: str | Path, device: str | None = None, threads: int = 0) -> Scorer:
        """Load an artefact directory; CUDA when present unless ``device`` says otherwise."""
        if threads > 0:
            torch.set_num_threads(threads)
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        model, card, alphabet = load_artefact(directory, device)
        return cls(model, card, alphabet, device)

    @property
    def version(self) -> str:
        return self.card.version

    @property
    def classes(self) -> list[str]:
        return self.card.classes

    def probabilities(self, texts: Sequence[str], passes: int = 1) -> np.ndarray:
        """``(len(texts), classes)`` probabilities; one forward pass per batch by default.

        ``passes > 1`` sorts the batch by length and runs that many passes over
        length-similar slices: the fast forward then crops less padding away from
        short texts (same outputs, less work when lengths are mixed).
        """
        if isinstance(texts, str):
            raise TypeError("score() takes a list of texts, not a single str")
        for position, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{position}] is {type(text).__name__}, expected str")
        result = np.zeros((len(texts), len(self.classes)), dtype=np.float32)
        if not texts:
            return result
        indices, lengths = self.alphabet.encode_batch(texts, self.card.max_length)
        order = np.argsort(lengths, kind="stable") if passes > 1 else np.arange(len(texts))
        with torch.inference_mode():
            for rows in np.array_split(order, min(max(passes, 1), len(texts))):
                logits = self.model(
                    torch.from_numpy(indices[rows]).to(self.device), torch.from_numpy(lengths[rows]),
                    self._word_bags([texts[i] for i in rows]),
                ).float()
                if self.class_bias is not None:
                    logits = logits + self.class_bias
                result[rows] = F.softmax(logits, dim=1).cpu().numpy()
        return result

    def _word_bags(self, texts: Sequence[str]) -> WordBags | None:
        if not self.model.word_buckets:
            return None
        ids, offsets = ngram_bags(texts, self.model.word_buckets)
        return torch.from_numpy(ids).to(self.device), torch.from_numpy(offsets).to(self.device)

    def score(self, texts: Sequence[str], passes: int = 1) -> list[Sentiment]:
        """Sentiment for each text; empty texts score, long ones are truncated."""
        results = []
        for row in self.probabilities(texts, passes):
            probs = [float(p) for p in row]
            score = sentiment_score(probs, self.classes)
            results.append(
                Sentiment(probs, score, self.classes[int(np.argmax(row))], suggested_rating(score))
            )
        return results
