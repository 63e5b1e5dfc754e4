"""The ``raw_backlog`` table: how far the scoring worker group is behind on ``reviews.raw``, over time.

Raw arrivals are stored nowhere else (a review reaches ClickHouse only once it is scored), so
the web server records, every ``ALERT_CHECK_S``, each partition's end offset (what arrived)
next to the worker group's committed offset (what it took): ``stream.worker.backlog`` reads
them from the broker, this module writes them. The "scoring stalls" rule of
``stream.storage.alerts`` reads the table; rows expire after 7 days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

BACKLOG_COLUMNS = ("at", "topic", "partition", "end_offset", "committed_offset")
#: ``committed_offset`` of a partition the group has never committed on.
NEVER_COMMITTED = -1


@dataclass(frozen=True)
class PartitionBacklog:
    """One partition at one moment: ``end_offset`` (next offset to be written) and the group's committed one."""

    topic: str
    partition: int
    end_offset: int
    committed_offset: int = NEVER_COMMITTED


def insert_backlog(storage: Any, at: datetime, partitions: Sequence[PartitionBacklog]) -> None:
    """Store one snapshot (``storage``: a ``stream.storage.clickhouse.Storage``; blocking, call it through ``run``)."""
    rows = [[at.astimezone(UTC), p.topic, p.partition, p.end_offset, p.committed_offset] for p in partitions]
    if rows:
        storage.client.insert("raw_backlog", rows, column_names=BACKLOG_COLUMNS)
