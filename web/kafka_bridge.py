"""The web process's Kafka clients: publish drafts and reviews, route scored answers back.

Every web process reads ``reviews.scored`` from ALL partitions with no consumer group,
starting at the end. It therefore sees every answer and keeps those addressed to it:
by ``session_id`` to its websocket sessions, by ``id`` to pending ``/api/predict`` and
``?wait=1`` requests; stored (non-draft) reviews go to its live viewers. Any number of
replicas can run side by side; none needs sticky routing from Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import ValidationError

from reviewpulse.events import Kind, ReviewEvent, ScoredReview
from reviewpulse.settings import Settings
from web.live import LiveHub
from web.metrics import WebMetrics

log = logging.getLogger(__name__)

SessionHandler = Callable[[ScoredReview], None]


class BrokerUnavailable(RuntimeError):
    """Kafka did not accept a message; the caller answers 503 and nothing is half-done."""


class KafkaBridge:
    """Producer + group-less consumer of ``reviews.scored``; start() before use, stop() after."""

    def __init__(self, settings: Settings, metrics: WebMetrics) -> None:
        if not settings.kafka_bootstrap:
            raise ValueError("the web app needs KAFKA_BOOTSTRAP (or a running `reviewpulse run`)")
        self.settings = settings
        self.metrics = metrics
        self.live = LiveHub(settings.live_buffer_messages, on_drop=metrics.live_dropped.inc)
        self._sessions: dict[str, SessionHandler] = {}
        self._waiters: dict[str, list[asyncio.Future[ScoredReview]]] = {}
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        #: Called with every stored (non-draft) review, e.g. the Grafana Live pusher's ``observe``.
        self.stored_observers: list[Callable[[ScoredReview], None]] = []

    async def start(self) -> None:
        """Connect both clients and position the consumer at the end of every partition.

        Positions are resolved before returning, so an answer to anything published
        after start() is never skipped by a late "seek to end".
        """
        bootstrap = self.settings.kafka_bootstrap
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", linger_ms=0,
            request_timeout_ms=int(self.settings.kafka_publish_timeout_s * 1000),
        )
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
            auto_offset_reset="latest", fetch_max_wait_ms=20,
        )
        await self._producer.start()
        await self._consumer.start()
        partitions = await self._scored_partitions()
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)
        for partition in partitions:
            await self._consumer.position(partition)
        self._task = asyncio.create_task(self._consume(), name="scored-consumer")
        log.info("web consuming %s from %d partitions", self.settings.topic_scored, len(partitions))

    async def _scored_partitions(self) -> list[TopicPartition]:
        topic = self.settings.topic_scored
        assert self._consumer is not None
        for _ in range(100):
            await self._consumer.topics()
            numbers = self._consumer.partitions_for_topic(topic)
            if numbers:
                return [TopicPartition(topic, number) for number in sorted(numbers)]
            await asyncio.sleep(0.1)
        raise RuntimeError(f"topic {topic} does not exist; start `reviewpulse run` or `reviewpulse worker`")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for client in (self._consumer, self._producer):
            if client is not None:
                # gather: a client that cancels its own tasks while the broker is gone must not
                # abort the shutdown (its CancelledError becomes a result); ours still propagates.
                await asyncio.gather(client.stop(), return_exceptions=True)
        for futures in self._waiters.values():
            for future in futures:
                future.cancel()
        self._waiters.clear()

    async def publish(self, topic: str, event: ReviewEvent) -> None:
        """Send and wait for the broker's acknowledgement; :class:`BrokerUnavailable` if it fails.

        A message not acknowledged within ``kafka_publish_timeout_s`` expires in the
        producer (it is not sent later), so a 503 to the client means "not accepted".
        """
        assert self._producer is not None, "KafkaBridge.start() was not called"
        try:
            await self._producer.send_and_wait(topic, event.to_bytes(), key=event.key)
        except Exception as error:  # noqa: BLE001 - any client error means "not accepted"
            raise BrokerUnavailable(f"Kafka did not accept the message ({error})") from error

    async def ping(self) -> bool:
        """True when the broker answers a metadata request."""
        if self._consumer is None:
            return False
        try:
            await asyncio.wait_for(self._consumer.topics(), timeout=3.0)
            return True
        except Exception:  # noqa: BLE001
            return False

    def add_session(self, session_id: str, handler: SessionHandler) -> None:
        """Route scored events with this ``session_id`` to ``handler`` (called on the event loop)."""
        self._sessions[session_id] = handler

    def remove_session(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def expect(self, event_id: str) -> asyncio.Future[ScoredReview]:
        """A future for the scored event of ``event_id``; call BEFORE publishing the event."""
        future: asyncio.Future[ScoredReview] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(event_id, []).append(future)
        return future

    def forget(self, event_id: str, future: asyncio.Future[ScoredReview]) -> None:
        futures = self._waiters.get(event_id, [])
        if future in futures:
            futures.remove(future)
        if not futures:
            self._waiters.pop(event_id, None)

    async def wait_for(
        self, event_id: str, future: asyncio.Future[ScoredReview], timeout_s: float
    ) -> ScoredReview:
        """The scored event, or :class:`TimeoutError` after ``timeout_s``."""
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout_s)
        finally:
            self.forget(event_id, future)

    async def _consume(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=500, max_records=500)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep consuming through broker hiccups
                log.exception("reading %s failed; retrying", self.settings.topic_scored)
                await asyncio.sleep(1.0)
                continue
            for records in batches.values():
                for record in records:
                    self.route(record.value)

    def route(self, raw: bytes) -> None:
        """Deliver one scored event to whoever in this process waits for it."""
        self.metrics.scored_consumed.inc()
        try:
            event = ScoredReview.model_validate_json(raw)
        except ValidationError:
            log.warning("ignoring a malformed event on %s", self.settings.topic_scored)
            return
        if event.session_id and (handler := self._sessions.get(event.session_id)):
            handler(event)
        for future in self._waiters.pop(event.id, []):
            if not future.done():
                future.set_result(event)
        if event.kind is not Kind.draft:
            self.live.publish(event)
            for observe in self.stored_observers:
                observe(event)
