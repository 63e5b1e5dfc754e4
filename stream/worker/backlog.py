"""How far the scoring worker group is behind on ``reviews.raw``, recorded for the "scoring stalls" alert.

A review reaches ClickHouse only once it is scored, so a stalled worker leaves no trace
there; the broker knows what arrived (each partition's end offset) and what the worker group
(``WORKER_ID``, Faust's consumer group) took (its committed offset). :class:`BacklogRecorder`
reads both every ``ALERT_CHECK_S`` and stores them in ``raw_backlog``
(``stream.storage.backlog``), where Grafana's rule and ``reviewpulse alerts`` read them with
the same SQL (``stream.storage.alerts``). It runs in the web process (the composition root
hands it in as a background job), outside the worker it watches, so a dead worker is seen.

The broker is asked with kafka-python (blocking, on a thread) without joining the group:
reading a group's committed offsets does not disturb its members. Each snapshot opens and
closes its own client (one connection a minute costs nothing), so a web server that stops
in the middle of one leaves no client thread behind. tansu,
the embedded broker, reports the end of a partition as the base offset of its last record
batch plus one, which can trail the true end; a stall still shows (nothing committed past
that batch), a partly consumed last batch can hide one.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from kernel.periodic import every
from kernel.settings import Settings
from stream.storage.backlog import NEVER_COMMITTED, PartitionBacklog, insert_backlog

log = logging.getLogger(__name__)


class BacklogRecorder:
    """``run()`` records a snapshot of ``reviews.raw`` every ``ALERT_CHECK_S`` until cancelled."""

    def __init__(self, settings: Settings, storage: Any, bootstrap: str) -> None:
        self.settings = settings
        self.storage = storage
        self.bootstrap = bootstrap

    def read(self) -> list[PartitionBacklog]:
        """Every partition's end offset and the worker group's committed offset (blocking)."""
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=self.settings.worker_id,
                                 enable_auto_commit=False, client_id="reviewpulse-backlog")
        try:
            topic = self.settings.topic_raw
            numbers = sorted(consumer.partitions_for_topic(topic) or ())
            partitions = [TopicPartition(topic, number) for number in numbers]
            ends = consumer.end_offsets(partitions) if partitions else {}
            return [PartitionBacklog(topic, tp.partition, int(ends[tp]), _committed(consumer, tp))
                    for tp in partitions]
        finally:
            consumer.close()

    async def record_once(self) -> list[PartitionBacklog]:
        """One snapshot, read off the event loop and stored through the storage's own thread."""
        partitions = await asyncio.to_thread(self.read)
        await self.storage.run(insert_backlog, self.storage, datetime.now(UTC), partitions)
        return partitions

    async def run(self) -> None:
        await every(self.settings.alert_check_s, self.record_once, log,
                    f"record the {self.settings.topic_raw} backlog (the scoring-stall alert misses it)")


def _committed(consumer: Any, partition: Any) -> int:
    offset = consumer.committed(partition)
    return NEVER_COMMITTED if offset is None else int(offset)
