"""Bulk import (``reviewpulse import FILE``): CSV or JSONL rows to ``reviews.raw`` events.

Ids are stable (sha1 of source, brand, text and the how-many-th copy of that text in the
file), so importing the same file twice stores every review once. Rows that cannot become
a review are counted with the reason and their line number and skipped — one bad row
(a cell over the csv module's limit, a line that is not JSON, bytes that are not UTF-8)
never aborts the file; the rest go through the room's one ``KafkaPublisher``, up to 64
in a message (``producers.packing``). ``follow_scored`` then follows ``reviews.scored``
until every imported id has come back, which the worker publishes only after the
ClickHouse insert succeeded.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kernel.events import Kind, ReviewEvent, stable_id
from kernel.fields import clean_text
from kernel.framing import events_of
from kernel.settings import Settings
from producers.kafka_publisher import KafkaPublisher, PublishError
from producers.packing import BYTES_PER_MESSAGE, ReviewPacker
from producers.rows import ImportFileError, Row, RowError, csv_columns, read_rows

__all__ = ["ImportFileError", "ImportOptions", "ImportSummary", "PublishError", "RowError", "check_columns", "events",
           "follow_scored", "import_file", "read_rows", "scored_ids", "wait_for_scored"]


#: The summary lists this many rejected rows by line number (all are counted by reason).
MAX_LISTED_REJECTIONS = 100


@dataclass
class ImportOptions:
    text_column: str = "text"
    rating_column: str | None = "rating"
    brand_column: str | None = "brand"
    source: str = "import"
    #: The review's own date (ISO 8601 date or datetime); None: the time of the import.
    date_column: str | None = None


@dataclass
class ImportSummary:
    sent: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    rejected_lines: list[tuple[int, str]] = field(default_factory=list)
    failed: int = 0
    seconds: float = 0.0
    ids: set[str] = field(default_factory=set)

    @property
    def rows_per_s(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "rejected": sum(self.rejected.values()), "rejected_reasons": dict(self.rejected),
                "rejected_lines": [{"line": line, "reason": why} for line, why in self.rejected_lines],
                "failed": self.failed, "seconds": round(self.seconds, 3), "rows_per_s": round(self.rows_per_s, 1)}

    def reject(self, line: int, reason: str) -> None:
        self.rejected[reason] += 1
        if len(self.rejected_lines) < MAX_LISTED_REJECTIONS:
            self.rejected_lines.append((line, reason))


def check_columns(path: Path, options: ImportOptions) -> ImportOptions:
    """Fail early when the text column is missing; drop optional columns the CSV does not have."""
    columns = csv_columns(path)
    if columns is None:
        return options
    if options.text_column not in columns:
        raise ImportFileError(
            f"{path}: no column {options.text_column!r} (columns: {', '.join(columns)}); pass --text-column"
        )
    if options.date_column and options.date_column not in columns:
        raise ImportFileError(
            f"{path}: no column {options.date_column!r} (columns: {', '.join(columns)}); fix --date-column"
        )
    return ImportOptions(
        options.text_column,
        options.rating_column if options.rating_column in columns else None,
        options.brand_column if options.brand_column in columns else None,
        options.source,
        options.date_column,
    )


def parse_rating(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RowError("rating is not a number") from None
    if not number.is_integer() or not 1 <= number <= 5:
        raise RowError("rating is not a whole number 1-5")
    return int(number)


def parse_review_date(value: Any, column: str) -> datetime:
    """An ISO 8601 date (midnight UTC) or datetime (UTC when it names no offset); RowError naming the column."""
    if not isinstance(value, str) or not value.strip():
        raise RowError(f"empty or missing {column!r}")
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise RowError(f"{column!r} is not an ISO 8601 date or datetime (e.g. 2026-03-01 or "
                       "2026-03-01T14:30:00+01:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def to_event(row: dict[str, Any], options: ImportOptions, copies: Counter[str]) -> ReviewEvent:
    """The review in ``row``; ``copies`` counts identical reviews so each keeps its own stable id."""
    text = row.get(options.text_column)
    if not isinstance(text, str) or not clean_text(text).strip():
        raise RowError(f"empty or missing {options.text_column!r}")  # NUL and control characters do not count
    brand = row.get(options.brand_column) if options.brand_column else ""
    if isinstance(brand, dict | list):
        raise RowError(f"{options.brand_column!r} is not text")
    brand = str(brand or "")
    rating = parse_rating(row.get(options.rating_column)) if options.rating_column else None
    dated = {"ts": parse_review_date(row.get(options.date_column), options.date_column)} if options.date_column else {}
    natural = stable_id(options.source, brand, text)
    copies[natural] += 1
    try:
        return ReviewEvent(
            id=stable_id(options.source, brand, text, str(copies[natural])), kind=Kind.imported,
            text=text, brand=brand, rating=rating, source=options.source, **dated,
        )
    except ValidationError as error:
        raise RowError("; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}" for d in error.errors())) from None


def events(rows: Iterable[Row], options: ImportOptions, summary: ImportSummary) -> Iterator[ReviewEvent]:
    """The reviews among ``rows``; every other row is counted in ``summary`` with its line and reason."""
    copies: Counter[str] = Counter()
    for line, row in rows:
        try:
            if isinstance(row, RowError):
                raise row
            yield to_event(row, options, copies)
        except RowError as error:
            summary.reject(line, str(error))
        except Exception as error:  # noqa: BLE001 - one odd row must never abort the file
            summary.reject(line, f"unusable row: {type(error).__name__}: {error}")


def scored_end_offsets(bootstrap: str, settings: Settings) -> dict[Any, int]:
    """Current end of every reviews.scored partition: where ``wait_for_scored`` starts reading."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(settings.topic_scored) or set()
        return consumer.end_offsets([TopicPartition(settings.topic_scored, p) for p in partitions])
    finally:
        consumer.close()


def import_file(path: Path, bootstrap: str, settings: Settings, options: ImportOptions,
                progress: bool = True) -> ImportSummary:
    """Send every valid row of ``path`` to reviews.raw; returns counts (and the ids sent)."""
    from tqdm import tqdm

    options = check_columns(path, options)
    summary = ImportSummary()
    started = time.perf_counter()
    with KafkaPublisher(bootstrap, client_id="reviewpulse-import", max_request_bytes=settings.max_request_bytes) \
            as publisher:
        packer = ReviewPacker(publisher, settings.topic_raw, max_bytes=min(BYTES_PER_MESSAGE, settings.max_text_bytes))
        rows = tqdm(read_rows(path), desc=f"import {path.name}", unit=" rows", disable=not progress)
        for event in events(rows, options, summary):
            packer.add(event)
            summary.ids.add(event.id)
        packer.flush()
        publisher.flush()
        summary.failed = publisher.failed
    summary.sent = len(summary.ids) - summary.failed
    summary.seconds = time.perf_counter() - started
    return summary


def scored_ids(value: bytes | None) -> list[Any]:
    """The ids in one reviews.scored message (one event, or an array of them); none if it is unreadable."""
    return [event.get("id") for event in events_of(value) if isinstance(event, dict)]


@dataclass
class ScoredFollow:
    """What ``follow_scored`` found: distinct ids seen, and when the last of them was published."""

    seen: int
    #: Unix time (s) of the newest first sighting's record timestamp: when the worker published it.
    last_published_at: float | None = None


def follow_scored(bootstrap: str, settings: Settings, ids: set[str], start: dict[Any, int],
                  timeout_s: float, progress: bool = True, stop_after: int | None = None) -> ScoredFollow:
    """Read reviews.scored from ``start`` until every id in ``ids`` (or ``stop_after`` of them) was seen.

    Fewer ids than asked when ``timeout_s`` runs out. Reading costs this process about
    80 µs per scored event (kafka-python and ``json.loads``), as they arrive.
    """
    wanted = len(ids) if stop_after is None else min(stop_after, len(ids))
    from kafka import KafkaConsumer
    from tqdm import tqdm

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    seen: set[str] = set()
    last_published_at: float | None = None
    bar = tqdm(total=len(ids), desc="scored and stored", unit=" reviews", disable=not progress)
    try:
        consumer.assign(list(start))
        for partition, offset in start.items():
            consumer.seek(partition, offset)
        deadline = time.monotonic() + timeout_s
        while len(seen) < wanted and time.monotonic() < deadline:
            for messages in consumer.poll(timeout_ms=500).values():
                for message in messages:
                    for review_id in scored_ids(message.value):
                        if review_id in ids and review_id not in seen:
                            seen.add(review_id)
                            last_published_at = max(last_published_at or 0.0, message.timestamp / 1000)
                            bar.update(1)
    finally:
        bar.close()
        consumer.close()
    return ScoredFollow(len(seen), last_published_at)


def wait_for_scored(bootstrap: str, settings: Settings, ids: set[str], start: dict[Any, int],
                    timeout_s: float, progress: bool = True, stop_after: int | None = None) -> int:
    """How many distinct ids of ``ids`` came back scored (``follow_scored``)."""
    return follow_scored(bootstrap, settings, ids, start, timeout_s, progress, stop_after).seen
