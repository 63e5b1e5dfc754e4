"""Labelled review files: reading, validating, grouping stars into classes, splitting.

Errors name the file, the row and the column, because the person who meets them
is pointing ``reviewpulse train`` or ``evaluate`` at a CSV their crawler wrote.
A bad row (no text, a rating outside 1-5, bytes that are not UTF-8) does not stop
the run: it is skipped and recorded in ``LabelledReviews.rejected`` with its row
number, and the training report counts it, so nothing is dropped silently.
"""

from __future__ import annotations

import csv
import hashlib
import math
import random
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

GROUPED_CLASSES = ("bad", "average", "good")
BINARY_CLASSES = ("bad", "good")
STAR_CLASSES = ("1", "2", "3", "4", "5")

_SURROGATES = re.compile("[\udc80-\udcff]")


class DataError(ValueError):
    """A labelled file cannot be used; the message says where and why."""


@dataclass
class LabelledReviews:
    texts: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    classes: tuple[str, ...] = GROUPED_CLASSES
    #: ``(row number, reason)`` of every skipped row; row 1 is the header.
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def rejection_report(self, examples: int = 5) -> dict[str, Any]:
        """Counts of skipped rows by reason, with the first few row numbers, for reports."""
        counts: dict[str, int] = {}
        for _, reason in self.rejected:
            kind = reason.split(":")[0]
            counts[kind] = counts.get(kind, 0) + 1
        return {"rows": len(self.rejected), "by_reason": counts,
                "examples": [f"row {row}: {reason}" for row, reason in self.rejected[:examples]]}

    def subset(self, rows: list[int]) -> LabelledReviews:
        return LabelledReviews(
            [self.texts[i] for i in rows],
            [self.labels[i] for i in rows],
            [self.sources[i] for i in rows],
            self.classes,
            self.rejected,
        )


@overload
def star_to_class(stars: int, group_labels: bool = True, ignore_center: Literal[False] = False) -> int: ...
@overload
def star_to_class(stars: int, group_labels: bool, ignore_center: bool) -> int | None: ...
@overload
def star_to_class(stars: int, group_labels: bool = True, *, ignore_center: bool) -> int | None: ...
def star_to_class(stars: int, group_labels: bool = True, ignore_center: bool = False) -> int | None:
    """Class index for a 1-5 star rating; None when the row is dropped (3 stars, binary)."""
    if not group_labels:
        return stars - 1
    if ignore_center:
        return None if stars == 3 else (0 if stars <= 2 else 1)
    return 0 if stars <= 2 else (1 if stars == 3 else 2)


def class_names(group_labels: bool = True, ignore_center: bool = False) -> tuple[str, ...]:
    if not group_labels:
        return STAR_CLASSES
    return BINARY_CLASSES if ignore_center else GROUPED_CLASSES


def parse_stars(value: str, column: str) -> int:
    """Whole stars 1-5 (``4`` or ``4.0``), else a :class:`DataError` saying what was found."""
    try:
        number = float(value)
    except ValueError:
        raise DataError(f"bad rating: column {column!r} is {value!r}, not a rating 1-5") from None
    if not math.isfinite(number) or number != int(number) or not 1 <= number <= 5:
        raise DataError(f"bad rating: column {column!r} is {value!r}, outside the ratings 1-5")
    return int(number)


def _row_problem(row: dict[str, Any], text_column: str) -> str | None:
    """Why a CSV row cannot be used as text, or None; undecodable bytes arrive as surrogates."""
    text = row.get(text_column)
    if text is None or not text.strip():
        return f"empty text: column {text_column!r} is empty"
    if any(value and _SURROGATES.search(value) for value in row.values() if isinstance(value, str)):
        return "not valid UTF-8: re-save the file as UTF-8"
    return None


@contextmanager
def any_cell_size() -> Iterator[None]:
    """Long reviews are fine in a training file; the limit is process-wide, so put it back after."""
    previous = csv.field_size_limit(sys.maxsize)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def read_labelled_csv(
    path: str | Path,
    text_column: str = "text",
    label_column: str = "rating",
    source_column: str = "source",
    group_labels: bool = True,
    ignore_center: bool = False,
    max_rows: int | None = None,
) -> LabelledReviews:
    """Read a CSV of review texts and 1-5 star ratings into class-labelled reviews."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    reviews = LabelledReviews(classes=class_names(group_labels, ignore_center))
    with any_cell_size(), path.open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        if not header:
            raise DataError(f"{path}: the file is empty (expected a header row)")
        for column in (text_column, label_column):
            if column not in header:
                raise DataError(
                    f"{path}: no column {column!r}; the header has {', '.join(header)} "
                    f"(choose with --text-column / --label-column)"
                )
        for row_number, row in enumerate(reader, start=2):
            if max_rows is not None and len(reviews) >= max_rows:
                break
            try:
                problem = _row_problem(row, text_column)
                if problem:
                    raise DataError(problem)
                stars = parse_stars((row[label_column] or "").strip(), label_column)
            except DataError as error:
                reviews.rejected.append((row_number, str(error)))
                continue
            label = star_to_class(stars, group_labels, ignore_center)
            if label is None:
                continue
            reviews.texts.append(row[text_column])
            reviews.labels.append(label)
            reviews.sources.append((row.get(source_column) or "unknown") if source_column else "unknown")
    if not reviews.texts:
        found = "; ".join(reviews.rejection_report()["examples"])
        raise DataError(f"{path}: no labelled rows" + (f" ({found})" if found else ""))
    return reviews


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def split_rows(
    count: int, validation_split: float, seed: int, prefix_rows: int = 0
) -> tuple[list[int], list[int]]:
    """Seeded shuffle into (train, validation) row indices.

    With ``prefix_rows``, the first rows are split exactly as a file of that many
    rows was, and the rest on their own: a corpus that grew by appending keeps its
    old validation rows, so a model warm-started from one trained on the old file
    is never validated on rows it trained on.
    """
    if 0 < prefix_rows < count:
        old_train, old_validation = split_rows(prefix_rows, validation_split, seed)
        new_train, new_validation = split_rows(count - prefix_rows, validation_split, seed)
        return (old_train + [prefix_rows + i for i in new_train],
                old_validation + [prefix_rows + i for i in new_validation])
    rows = list(range(count))
    random.Random(seed).shuffle(rows)
    cut = int(round(count * validation_split))
    if validation_split > 0 and cut == 0 and count > 1:
        cut = 1
    return rows[cut:], rows[:cut]
