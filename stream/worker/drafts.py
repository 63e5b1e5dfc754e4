"""Drafts' own Kafka consumer in the worker, so typing stays fast while a backlog is scored.

``reviewpulse run`` gives its worker no Faust drafts agent (``DRAFTS_CONSUMER``, on by
default): drafts are fetched by an aiokafka consumer of their own, in a group of their
own (``WORKER_ID-drafts``, offsets committed after a batch's scores are published:
at-least-once), on the worker's event loop, and handled by the worker's own
``BatchHandler.handle_drafts`` (parsing, latest-wins per session, dead letters, the
model in use). Why not the Faust agent: during a 20,000-review import on 2 cores, a draft
waited there p95 0.43 s / p99 0.6 s between its publish and its agent, because the one
Faust consumer fetches for both topics, one fetch at a time, and its buffers were full of
reviews. Its scoring call goes ahead of the reviews' in the scoring process
(``inference.protocol.ahead_of_others``), so one process holds the model for both lanes.
This replaced a drafts process of its own, which held a second torch and model (~300 MiB;
docs/benchmarks.md, "Memory at rest").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from kernel.settings import Settings
from stream.worker.batches import BatchHandler, Incoming
from stream.worker.overlap import finish_even_if_cancelled

log = logging.getLogger(__name__)

#: Appended to WORKER_ID: the drafts consumer's group.
GROUP_SUFFIX = "-drafts"
#: Seconds ``consume_drafts`` waits for its consumer group to assign it partitions.
JOIN_TIMEOUT_S = 60.0


async def consume_drafts(settings: Settings, bootstrap: str, handler: BatchHandler,
                         on_ready: Callable[[], None] = lambda: None) -> None:
    """Score ``reviews.drafts`` with ``handler`` (its scores go out through its producer) until cancelled.

    ``on_ready`` runs once the consumer group has assigned partitions, so a draft
    published after it is answered. A cancellation finishes the batch in hand (its scores
    are published and its offsets committed) before it propagates.
    """
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        settings.topic_drafts, bootstrap_servers=bootstrap, group_id=settings.worker_id + GROUP_SUFFIX,
        enable_auto_commit=False, auto_offset_reset="latest", fetch_max_wait_ms=settings.consumer_fetch_wait_ms,
        session_timeout_ms=int(settings.consumer_session_timeout_s * 1000),
        heartbeat_interval_ms=int(max(settings.consumer_session_timeout_s / 6, 0.2) * 1000),
        rebalance_timeout_ms=int(settings.consumer_rebalance_timeout_s * 1000),
        max_partition_fetch_bytes=settings.max_fetch_bytes,
    )
    await consumer.start()
    try:
        await _join(consumer)
        on_ready()
        log.info("scoring drafts from %d partition(s) of %s", len(consumer.assignment()), settings.topic_drafts)
        while True:
            records = await consumer.getmany(timeout_ms=500, max_records=settings.batch_size)
            messages = [Incoming(r.value, r.topic, r.partition, r.offset) for rs in records.values() for r in rs]
            if messages:
                await finish_even_if_cancelled(_handle_and_commit(handler, consumer, messages))
    finally:
        await consumer.stop()


async def _handle_and_commit(handler: BatchHandler, consumer: Any, messages: list[Incoming]) -> None:
    await handler.handle_drafts(messages)
    await consumer.commit()


async def _join(consumer: Any) -> None:
    """Wait for the group's assignment, then fix each partition's position, consuming nothing.

    The position matters: a new group starts at the end ("latest"), and aiokafka looks
    the end up lazily, at the first fetch; a draft published between the assignment and
    that lookup would be skipped. Resolved here, every draft published after ``on_ready``
    is answered (and a restarted group resumes at its committed offsets).
    """
    deadline = asyncio.get_running_loop().time() + JOIN_TIMEOUT_S
    while not consumer.assignment():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"the drafts consumer group got no partitions in {JOIN_TIMEOUT_S:.0f}s")
        await asyncio.sleep(0.05)
    for partition in consumer.assignment():
        await consumer.position(partition)
