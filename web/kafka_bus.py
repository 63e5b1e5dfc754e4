"""The :class:`web.bus.EventBus` on Kafka: one aiokafka producer and one group-less consumer.

The consumer reads every partition of each subscribed topic with no consumer group,
starting at the end, so every web replica sees every answer (``web.routing`` keeps the
ones addressed to it). Positions are resolved before ``start()`` returns, so an answer to
anything published after it is never skipped by a late "seek to end".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from kernel.events import ReviewEvent
from web.bus import BrokerUnavailable, Handler

log = logging.getLogger(__name__)
#: Seconds ``start()`` waits for a subscribed topic to appear in the broker's metadata.
TOPIC_WAIT_S = 10.0


class KafkaBus:
    """Publish with ``acks=all``; deliver subscribed topics from the end. ``start()`` before use, ``stop()`` after."""

    def __init__(self, bootstrap: str, publish_timeout_s: float) -> None:
        if not bootstrap:
            raise ValueError("the web app needs KAFKA_BOOTSTRAP (or a running `reviewpulse run`)")
        self.bootstrap = bootstrap
        self.publish_timeout_s = publish_timeout_s
        self._handlers: defaultdict[str, list[Handler]] = defaultdict(list)
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._handlers[topic].append(handler)

    async def start(self) -> None:
        """Connect both clients and position the consumer at the end of every subscribed partition."""
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", linger_ms=0,
            request_timeout_ms=int(self.publish_timeout_s * 1000),
        )
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False,
            auto_offset_reset="latest", fetch_max_wait_ms=20,
        )
        await self._producer.start()
        await self._consumer.start()
        partitions = [p for topic in self._handlers for p in await self._partitions(topic)]
        if partitions:
            self._consumer.assign(partitions)
            await self._consumer.seek_to_end(*partitions)
            for partition in partitions:
                await self._consumer.position(partition)
            self._task = asyncio.create_task(self._consume(), name="bus-consumer")
        log.info("web consuming %s from %d partitions", ", ".join(self._handlers), len(partitions))

    async def _partitions(self, topic: str) -> list[TopicPartition]:
        assert self._consumer is not None
        deadline = asyncio.get_running_loop().time() + TOPIC_WAIT_S
        while True:
            await self._consumer.topics()
            numbers = self._consumer.partitions_for_topic(topic)
            if numbers:
                return [TopicPartition(topic, number) for number in sorted(numbers)]
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"topic {topic} does not exist; start `reviewpulse run` or `reviewpulse worker`")
            await asyncio.sleep(0.1)

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

    async def publish(self, topic: str, event: ReviewEvent) -> None:
        """Send and wait for the broker's acknowledgement; :class:`BrokerUnavailable` if it fails.

        A message not acknowledged within ``publish_timeout_s`` expires in the producer
        (it is not sent later), so a 503 to the client means "not accepted".
        """
        assert self._producer is not None, "KafkaBus.start() was not called"
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

    async def _consume(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=500, max_records=500)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep consuming through broker hiccups
                log.exception("reading %s failed; retrying", ", ".join(self._handlers))
                await asyncio.sleep(1.0)
                continue
            for partition, records in batches.items():
                for record in records:
                    for handler in self._handlers[partition.topic]:
                        handler(record.value)
