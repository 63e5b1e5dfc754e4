"""Drafts scored in a process of their own, so typing stays fast while a backlog is scored.

``reviewpulse run`` starts ``reviewpulse drafts-worker`` as a child (``DRAFTS_PROCESS``,
on by default; ``reviewpulse.drafts_child``). Why a process and not the Faust worker's
drafts agent: during a 20,000-review import on 2 cores, a draft waited in the worker
p95 0.43 s / p99 0.6 s between its publish and its agent (one Faust consumer, one fetch
at a time, shared with the review backlog), and its scoring shared one GIL and one event
loop with the reviews' batches. In a process of its own the same draft reaches its
scorer within p99 0.05 s (docs/benchmarks.md).

The process is small: an aiokafka consumer in a group of its own (``WORKER_ID-drafts``,
offsets committed after a batch's scores are published: at-least-once), an aiokafka
producer, and the worker's own ``BatchHandler.handle_drafts`` (parsing, latest-wins per
session, dead letters). It scores on one thread at normal priority: the reviews' lanes
run at nice 5, so a draft takes a core from them as soon as it arrives.

It opens no database: embedded ClickHouse allows one process per data directory, and
drafts are never stored. So a bad draft's dead letter goes to ``reviews.dead`` only
(:class:`TopicOnlyStorage`). Model switches arrive as in every worker, on
``models.control`` (``stream.registry.hotswap.follow_control``); the model it starts with is the
one its parent found active in the registry (``MODEL_DIR``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from inference.protocol import Scorer
from kernel.settings import Settings
from stream.registry.hotswap import follow_control
from stream.worker.batches import BatchHandler, Incoming
from stream.worker.overlap import finish_even_if_cancelled

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Appended to WORKER_ID: the drafts process's consumer group.
GROUP_SUFFIX = "-drafts"
#: Seconds ``serve_drafts`` waits for its consumer group to assign it partitions.
JOIN_TIMEOUT_S = 60.0


class TopicOnlyStorage:
    """The ``WorkerStorage`` of a process without a database: dead letters stay on their topic."""

    def __init__(self) -> None:
        self.dead_letters_not_stored = 0

    def insert_dead_letters(self, letters: Sequence[Any]) -> None:
        self.dead_letters_not_stored += len(letters)
        log.info("%d dead letter(s) of drafts kept on the dead-letter topic only (this process has no database)",
                 len(letters))

    def insert_reviews(self, reviews: Sequence[Any]) -> None:
        raise RuntimeError("the drafts process stores no reviews")

    def insert_brands(self, brands: Sequence[Any]) -> None:
        raise RuntimeError("the drafts process stores no brands")

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        return call(*args)


async def serve_drafts(settings: Settings, bootstrap: str, scorer: Scorer,
                       on_ready: Callable[[], None] = lambda: None) -> None:
    """Score ``reviews.drafts`` and publish to ``reviews.scored`` until cancelled.

    ``on_ready`` runs once the consumer group has assigned partitions, so a draft
    published after it is answered. A cancellation finishes the batch in hand (its scores
    are published and its offsets committed) before it propagates.
    """
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0,
                                max_request_size=settings.max_request_bytes)

    async def send(topic: str, key: bytes | None, value: bytes) -> Awaitable[Any]:
        return await producer.send(topic, value, key=key)

    consumer = AIOKafkaConsumer(
        settings.topic_drafts, bootstrap_servers=bootstrap, group_id=settings.worker_id + GROUP_SUFFIX,
        enable_auto_commit=False, auto_offset_reset="latest", fetch_max_wait_ms=settings.consumer_fetch_wait_ms,
        session_timeout_ms=int(settings.consumer_session_timeout_s * 1000),
        heartbeat_interval_ms=int(max(settings.consumer_session_timeout_s / 6, 0.2) * 1000),
        rebalance_timeout_ms=int(settings.consumer_rebalance_timeout_s * 1000),
        max_partition_fetch_bytes=settings.max_fetch_bytes,
    )
    handler = BatchHandler(settings, TopicOnlyStorage(), scorer, send)
    await producer.start()
    control: asyncio.Task[None] | None = None
    try:
        await consumer.start()
        control = asyncio.create_task(follow_control(settings, bootstrap, None, handler.models, None))
        await _join(consumer)
        on_ready()
        log.info("scoring drafts from %d partition(s) of %s", len(consumer.assignment()), settings.topic_drafts)
        while True:
            records = await consumer.getmany(timeout_ms=500, max_records=settings.batch_size)
            messages = [Incoming(r.value, r.topic, r.partition, r.offset) for rs in records.values() for r in rs]
            if messages:
                await finish_even_if_cancelled(_handle_and_commit(handler, consumer, messages))
    finally:
        if control is not None:
            control.cancel()
        await asyncio.gather(*(task for task in (control,) if task), consumer.stop(), producer.stop(),
                             return_exceptions=True)
        handler.close()


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
