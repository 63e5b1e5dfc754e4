"""Seeded synthetic labelled reviews whose words say their stars, and a small char-CNN to start from."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from inference.training.candidates import LabelledRow

WORDS = {
    1: ["terrible", "awful", "rude", "dirty", "broken", "never again"],
    3: ["okay", "average", "mediocre", "fine i guess", "so so", "nothing special"],
    5: ["great", "wonderful", "lovely", "excellent", "friendly", "perfect"],
}
FILLER = ["the flight", "our stay", "the crew", "my order", "the app", "this place", "the staff", "service"]
MAX_LENGTH = 256


def review(rng: random.Random, stars: int) -> str:
    parts = [rng.choice(FILLER), "was", rng.choice(WORDS[stars]), "and", rng.choice(FILLER),
             "felt", rng.choice(WORDS[stars]), str(rng.randint(1, 99))]
    return " ".join(parts)


def labelled(count: int, seed: int, source: str = "airline_site", flip: bool = False) -> list[LabelledRow]:
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        stars = rng.choice((1, 3, 5))
        told = {1: 5, 5: 1, 3: 3}[stars] if flip else stars
        rows.append(LabelledRow(review(rng, stars), told, source))
    return rows


def write_corpus(path: Path, count: int, seed: int) -> Path:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "rating", "source"])
        for i in range(count):
            stars = rng.choice((1, 3, 5))
            writer.writerow([review(rng, stars), stars, ("hotels", "apps")[i % 2]])
    return path


def small_model(directory: Path, corpus: Path | None = None, rows: int = 0) -> Path:
    """An untrained char-CNN of input length 256 (fast), recording ``corpus`` as its training data."""
    from inference.artefact import save_untrained

    training = {"data": str(corpus), "validation_split": 0.2, "seed": 7, "rows": rows} if corpus else {}
    return save_untrained(directory, max_length=MAX_LENGTH, name="small", version="small-v0", training=training)
