"""The one source of review texts every benchmark uses: a user's file (``--data``), or synthetic ones.

Real texts are preferred because the scorer's cost follows text length; the synthetic
reviews stand in where no file is given, with a realistic spread of lengths (median
about 160 characters), so a figure measured without the data is still comparable.
"""

from __future__ import annotations

import csv
import itertools
import json
import random
from pathlib import Path

WORDS = ("the staff food room service was great awful slow friendly price delivery app "
         "would recommend never again lovely terrible okay fine broken excellent rude clean").split()
#: Whole reviews of each sentiment, typed a few characters at a time by ``bench typing``.
TYPED_REVIEWS = (
    "The delivery was late twice and nobody answered my emails. I want a refund and I will not order again.",
    "Absolutely loved it: friendly staff, fast service, and the quality is excellent. Highly recommended!",
    "It was okay. Nothing special, the price is fair but the app keeps logging me out.",
    "Terrible experience from start to finish, rude support and a broken product on arrival.",
    "Great value for money and the team went out of their way to help me. Five stars from me.",
)


class BenchDataError(ValueError):
    """A texts file cannot give texts; the message names the file and column."""


def synthetic_reviews(count: int, seed: int = 7) -> list[str]:
    """``count`` distinct reviews (``#i`` prefix) with a lognormal spread of lengths, same seed same texts."""
    rng = random.Random(seed)
    texts = []
    for i in range(count):
        words = int(min(max(rng.lognormvariate(3.3, 0.6), 3), 180))
        texts.append(f"#{i} " + " ".join(rng.choice(WORDS) for _ in range(words)))
    return texts


def write_import_file(path: Path, texts: list[str], brand: str) -> Path:
    """``texts`` as a JSON-lines file ``reviewpulse import`` reads (one review of ``brand`` per line)."""
    path.write_text("".join(json.dumps({"text": text, "brand": brand}) + "\n" for text in texts), encoding="utf-8")
    return path


def file_texts(path: Path, text_column: str = "text", limit: int | None = None) -> list[str]:
    """The ``text_column`` of a CSV, file order, at most ``limit`` rows; raises :class:`BenchDataError`."""
    if not path.is_file():
        raise BenchDataError(f"{path}: no such file")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if text_column not in (reader.fieldnames or []):
            raise BenchDataError(
                f"{path}: no column {text_column!r} (columns: {', '.join(reader.fieldnames or [])}); "
                "pass --text-column"
            )
        texts = [row[text_column] or "" for row in itertools.islice(reader, limit)]
    if not texts:
        raise BenchDataError(f"{path}: no rows")
    return texts


def sample_texts(
    count: int = 3000, seed: int = 7, data: str | Path | None = None, text_column: str = "text"
) -> list[str]:
    """A seeded sample of ``count`` texts from ``data``, else synthetic reviews."""
    if not data:
        return synthetic_reviews(count, seed)
    texts = file_texts(Path(data), text_column)
    return random.Random(seed).sample(texts, min(count, len(texts)))


def texts_source(data: str | Path | None) -> str:
    """Where :func:`sample_texts` takes its texts from, for the report."""
    return str(data or "generated")
