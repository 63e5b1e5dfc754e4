"""The corpus a model lineage started from: replay rows and the fixed validation set come from it.

A retrained model records its base's training options (``model.json`` ->
``training.base_training``), so every generation finds the same corpus and the same
seeded split: replay rows are drawn from the base's *training* rows, the fixed
validation set from its *validation* rows, and the two never overlap.

A corpus that grew by appending (``reviews_train.csv`` v1 -> v2) still yields the
base's split: the model card's ``rows`` says how many labelled rows it read, and
only that many are read again.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from inference.artefact import ModelCard
from inference.training.data import DataError, LabelledReviews

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def base_training(card: ModelCard) -> dict[str, Any]:
    """The training options of the lineage's first model (a retrained card carries its base's)."""
    return dict(card.training.get("base_training") or card.training)


def base_max_rows(training: dict[str, Any]) -> int | None:
    """Rows the base read: its own ``max_rows``, else its recorded row count (a grown corpus)."""
    if training.get("max_rows"):
        return int(training["max_rows"])
    if training.get("rows") and not training.get("exclude_sources"):
        return int(training["rows"])
    return None


def resolve_corpus(path: str) -> Path | None:
    """A corpus path as recorded (relative to the working directory, else to the project root)."""
    if not path:
        return None
    for candidate in (Path(path), PROJECT_ROOT / path):
        if candidate.is_file():
            return candidate
    return None


def base_split(card: ModelCard, corpus: str = "") -> tuple[LabelledReviews, list[int], list[int], str]:
    """(reviews, train rows, validation rows, description) of the base corpus.

    ``corpus`` overrides the recorded path. Raises :class:`DataError` naming the
    setting to fix when the file is absent.
    """
    from inference.training.corpus import split_reviews
    from inference.training.options import TrainOptions

    training = base_training(card)
    recorded = corpus or training.get("data", "")
    path = resolve_corpus(recorded)
    if path is None:
        raise DataError(f"base corpus {recorded or '(none recorded in model.json)'} not found: "
                        f"set RETRAIN_CORPUS to the CSV the active model's lineage was trained on")
    options = TrainOptions.from_record(training, data=str(path), max_rows=base_max_rows(training))
    reviews, train_rows, validation_rows = split_reviews(options)
    note = f"{recorded} ({len(reviews)} rows, seed {options.seed}, validation {options.validation_split})"
    return reviews, [int(i) for i in train_rows], [int(i) for i in validation_rows], note


def per_source_sample(reviews: LabelledReviews, rows: list[int], per_source: int, seed: int) -> list[int]:
    """Up to ``per_source`` of ``rows`` from each source, seeded, in row order."""
    by_source: dict[str, list[int]] = {}
    for row in rows:
        by_source.setdefault(reviews.sources[row], []).append(row)
    picked: list[int] = []
    for source in sorted(by_source):
        mine = by_source[source]
        picked.extend(random.Random(f"{seed}:{source}").sample(mine, min(per_source, len(mine))))
    return sorted(picked)
