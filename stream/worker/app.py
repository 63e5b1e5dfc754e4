"""The Faust worker: agents over reviews.raw, reviews.drafts and brands.discovered.

Each agent takes micro-batches and hands them to ``stream.worker.batches.BatchHandler``: parse
(what cannot be used becomes a dead letter with the reason), latest-wins for drafts,
scoring in a thread, insert reviews and dead letters into ClickHouse (transient failures
retried, rows rejected for their content dead-lettered), and only then publish one
``reviews.scored`` event per input and the dead letters. Reviews and drafts have their
own agents, so drafts keep being answered while the reviews agent waits for ClickHouse;
under ``reviewpulse run`` drafts have a Kafka consumer of their own instead of an agent
(``stream.worker.drafts``, ``DRAFTS_CONSUMER``).

The reviews and drafts agents take with ``stream.worker.overlap.gather_ready``: the taking goes
on while a batch is scored, so the next batch is all that arrived meanwhile, and on a
quiet stream the first message opens a ``BATCH_WINDOW_MS`` window for others to join it
(Faust's ``take`` instead wakes every window, idle or not). Under a backlog a reviews
batch holds up to ``REVIEW_TAKE_BATCHES`` × ``BATCH_SIZE`` reviews (an array message of a
bulk import counts as the reviews it holds, about one per 512 bytes); it is scored in one
call (the scorer cuts it into length-sorted passes on its lanes), and one insert and one
publish round serve it all.

The reviews agent overlaps batches (``stream.worker.overlap.store_behind``): while batch N is
inserted and published, batches N+1 and N+2 are scored (``REVIEW_SCORINGS``: the second
keeps the lanes busy while the first parses or builds its events). Each batch is still
inserted before its events are published, batches are stored one at a time in order, and
a batch's messages are acknowledged only after its events are published
(``stream.noack()`` + ``stream.ack``), so a crash at any point means redelivery, never
loss. The drafts agent acknowledges a batch once it is answered; the brands agent uses
Faust's ``take_events``, which acknowledges a batch when the loop body ends, also when it
raises or is cancelled. So no body lets a storage error escape, and a stopping worker
finishes the batch in hand (flushing its inserts) first. ClickHouse's ReplacingMergeTree
makes a redelivered copy invisible to exact queries. At-least-once, never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Sequence
from typing import Any

from inference.protocol import Scorer
from kernel.framing import holds_many
from kernel.settings import Settings
from stream.registry.hotswap import ModelSlot, follow_control, scorer_loader
from stream.storage.clickhouse import Storage
from stream.worker.batches import REVIEW_SCORINGS, REVIEW_TAKE_BATCHES, BatchHandler, Incoming, ScoredBatch
from stream.worker.drafts import consume_drafts
from stream.worker.faust_patches import shorten_fetch_wait
from stream.worker.overlap import finish_even_if_cancelled, gather_ready, store_behind

log = logging.getLogger(__name__)


#: Seconds ``ReviewWorker.drafts_ready`` waits for the drafts consumer to join its group.
DRAFTS_READY_WAIT_S = 90.0
#: Seconds before a failed background loop (control events, the drafts consumer) starts again.
RETRY_S = 2.0

#: Messages an agent may hold unprocessed; Faust pauses fetching a partition at 1/1.25 of it.
STREAM_BUFFER_MESSAGES = 4096
#: Records one poll may return. Below the buffer's headroom over that pause mark (819), so
#: a stalled agent (reviews waiting for ClickHouse) is paused before its buffer is full:
#: a full buffer would block the consumer's delivery loop, and drafts with it.
MAX_POLL_RECORDS = 500


def faust_app(settings: Settings, bootstrap: str, drafts: bool = True) -> Any:
    """A Faust app tuned for tansu and quick joins (topics are created by ``ensure_topics``).

    ``drafts`` False (no drafts agent): its fetches wait ``REVIEWS_FETCH_WAIT_MS``, not the
    typing path's ``CONSUMER_FETCH_WAIT_MS``: fewer empty fetches for the broker to answer.
    """
    import faust

    shorten_fetch_wait(settings.consumer_fetch_wait_ms if drafts else settings.reviews_fetch_wait_ms)

    return faust.App(
        settings.worker_id,
        broker=[f"kafka://{address.strip()}" for address in bootstrap.split(",")],
        store="memory://",
        web_enabled=False,
        autodiscover=False,
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.consumer_session_timeout_s,
        broker_heartbeat_interval=max(settings.consumer_session_timeout_s / 6, 0.2),
        broker_rebalance_timeout=settings.consumer_rebalance_timeout_s,
        broker_commit_interval=1.0,
        producer_max_request_size=settings.max_request_bytes,
        consumer_max_fetch_size=settings.max_fetch_bytes,
        stream_buffer_maxsize=STREAM_BUFFER_MESSAGES,
        broker_max_poll_records=MAX_POLL_RECORDS,
    )


#: Discovered brands stored per insert at most, and how long a take waits for them.
BRANDS_TAKE, BRANDS_WINDOW_S = 500, 1.0
#: An array message (bulk import) counts as one review per this many bytes towards a batch's size.
BYTES_PER_PACKED_REVIEW = 512


def reviews_in(event: Any) -> int:
    """About how many reviews a message holds, without parsing it: one, or its size's worth for an array."""
    value = event.value or b""
    return max(1, len(value) // BYTES_PER_PACKED_REVIEW) if holds_many(value) else 1


def incoming(events: Sequence[Any]) -> list[Incoming]:
    return [Incoming(e.value, e.message.topic, e.message.partition, e.message.offset) for e in events]


class ReviewWorker:
    """Owns the Faust app and its agents; the batch logic lives in ``BatchHandler``."""

    def __init__(self, settings: Settings, bootstrap: str, storage: Storage, scorer: Scorer,
                 drafts_consumer: bool = False) -> None:
        """``drafts_consumer``: drafts get a Kafka consumer of their own (``stream.worker.drafts``), not an agent."""
        self.settings = settings
        self.app = faust_app(settings, bootstrap, drafts=not drafts_consumer)
        self.bootstrap = bootstrap
        self.storage = storage
        self.handler = BatchHandler(settings, storage, scorer, self._send)
        if settings.shadow_scoring:
            self.handler.shadow = ModelSlot(None, scorer_loader(settings), "shadow model")
        self._drafts_joined = asyncio.Event()
        self.app.task(lambda: self._keep_running(f"following {settings.topic_control}", lambda: follow_control(
            settings, bootstrap, storage, self.handler.models, self.handler.shadow)))
        self._review_agent(settings.batch_size * REVIEW_TAKE_BATCHES)
        if drafts_consumer:
            self.app.task(lambda: self._keep_running("the drafts consumer", lambda: consume_drafts(
                settings, bootstrap, self.handler, self._drafts_joined.set)))
        else:
            self._drafts_joined.set()
            self._drafts_agent()
        self._brands_agent()

    @property
    def scored_count(self) -> int:
        return self.handler.scored_count

    @property
    def models(self) -> ModelSlot:
        """The model in use (and the one loading): see ``stream.registry.hotswap``."""
        return self.handler.models

    async def drafts_ready(self) -> None:
        """Returns once drafts are consumed (at most DRAFTS_READY_WAIT_S: then they are answered once it joins)."""
        try:
            await asyncio.wait_for(self._drafts_joined.wait(), DRAFTS_READY_WAIT_S)
        except TimeoutError:
            log.error("the drafts consumer has not joined its group after %.0f s; drafts wait until it does",
                      DRAFTS_READY_WAIT_S)

    @staticmethod
    async def _keep_running(what: str, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``loop`` for as long as the worker runs, starting it again RETRY_S after a failure."""
        while True:
            try:
                await loop()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - keep going; each loop re-reads its state on restart
                log.error("%s failed (%s: %s); retrying", what, type(error).__name__, error)
                await asyncio.sleep(RETRY_S)

    def _review_agent(self, limit: int) -> None:
        """``score-reviews``: batches of up to ``limit`` reviews; acknowledges each after its events are published."""
        handler = self.handler

        async def agent(stream: Any) -> None:
            async def store(events: list[Any], scored: ScoredBatch) -> None:
                await handler.store_and_publish(scored)
                for event in events:
                    await stream.ack(event)

            async def score(events: list[Any]) -> ScoredBatch:
                return await handler.score_reviews(incoming(events))

            async with contextlib.aclosing(self._gathered(stream, limit, reviews_in)) as batches:
                await store_behind(batches, score, store, REVIEW_SCORINGS)

        self.app.agent(self._raw_channel(self.settings.topic_raw), name="score-reviews")(agent)

    def _drafts_agent(self) -> None:
        """``score-drafts``: what waits, up to BATCH_SIZE, in one call; acknowledged once answered.

        A cancellation finishes the batch in hand; its messages are then left
        unacknowledged (redelivered, scored again: harmless for drafts).
        """
        handler, size = self.handler, self.settings.batch_size

        async def agent(stream: Any) -> None:
            async with contextlib.aclosing(self._gathered(stream, size)) as batches:
                async for events in batches:
                    await finish_even_if_cancelled(handler.handle_drafts(incoming(events)))
                    for event in events:
                        await stream.ack(event)

        self.app.agent(self._raw_channel(self.settings.topic_drafts), name="score-drafts")(agent)

    def _brands_agent(self) -> None:
        """``store-brands``: Faust's take (it acknowledges a batch when the loop body ends); a 1 s window wakes it rarely."""

        async def agent(stream: Any) -> None:
            async for events in stream.take_events(BRANDS_TAKE, within=BRANDS_WINDOW_S):
                await finish_even_if_cancelled(self.handler.handle_brands(incoming(events)))

        self.app.agent(self._raw_channel(self.settings.topic_brands), name="store-brands")(agent)

    def _raw_channel(self, topic: str) -> Any:
        return self.app.topic(topic, key_serializer="raw", value_serializer="raw")

    def _gathered(self, stream: Any, limit: int, weight: Callable[[Any], int] = lambda _: 1) -> AsyncGenerator[list[Any], None]:
        """The stream's events in batches (``stream.worker.overlap.gather_ready``), acknowledged by the caller."""
        return gather_ready(stream.noack().events(), limit, weight, self.settings.batch_window_ms / 1000)

    async def _send(self, topic: str, key: bytes | None, value: bytes) -> Awaitable[Any]:
        return await self.app.producer.send(topic, key, value, None, None, None)
