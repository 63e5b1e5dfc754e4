"""The worker's storage in memory: what ``BatchHandler`` writes, with failures on demand, for unit tests.

It is a ``stream.storage.clickhouse.WorkerStorage`` — the four calls the worker makes of storage
(``insert_reviews``, ``insert_brands``, ``insert_dead_letters``, ``run``) — and keeps the
rows as ClickHouse would show them with ``FINAL``: one review per id. Queries (SQL) are
not imitated: the web app and the registry are tested over a chDB temp dir instead.

Failures, to test the worker's handling of them:

* ``fail_next(error, times)`` — the next ``times`` inserts raise ``error`` (an outage:
  ``ConnectionError`` is transient, the batch is retried);
* ``refuse(predicate, reason)`` — any insert holding a row for which ``predicate`` is true
  raises ``ValueError(reason)`` (a row ClickHouse rejects for its content: permanent).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from kernel.events import Brand, DeadLetter, ScoredReview

T = TypeVar("T")


class MemoryStorage:
    """In-memory stand-in for the worker's side of ``Storage``; see the module docstring."""

    def __init__(self, journal: list[tuple[str, str]] | None = None) -> None:
        self.reviews: dict[str, ScoredReview] = {}
        self.brands: dict[str, Brand] = {}
        self.dead_letters: list[DeadLetter] = []
        #: ("insert <table>", id) per stored row, in order; share it with a fake producer to check ordering.
        self.journal = journal if journal is not None else []
        self.inserts = 0
        self._failures: list[BaseException] = []
        self._refusals: list[tuple[Callable[[Any], bool], str]] = []

    def fail_next(self, error: BaseException, times: int = 1) -> None:
        self._failures += [error] * times

    def refuse(self, predicate: Callable[[Any], bool], reason: str) -> None:
        self._refusals.append((predicate, reason))

    def _check(self, rows: Sequence[Any]) -> None:
        self.inserts += 1
        if self._failures:
            raise self._failures.pop(0)
        for predicate, reason in self._refusals:
            if any(predicate(row) for row in rows):
                raise ValueError(reason)

    def insert_reviews(self, reviews: Sequence[ScoredReview]) -> None:
        if reviews:
            self._check(reviews)
            for review in reviews:
                self.reviews[review.id] = review
                self.journal.append(("insert reviews", review.id))

    def insert_brands(self, brands: Sequence[Brand]) -> None:
        if brands:
            self._check(brands)
            for brand in brands:
                self.brands[brand.name] = brand
                self.journal.append(("insert brands", brand.name))

    def insert_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        if letters:
            self._check(letters)
            self.dead_letters += letters
            self.journal += [("insert dead_letters", letter.error) for letter in letters]

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Call ``fn(*args)`` at once (the real one runs it on the storage thread)."""
        return fn(*args)

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        pass
