"""The event bus the web tier talks through: publish, subscribe, and an in-memory implementation.

The web process publishes drafts and reviews and follows ``reviews.scored``; that is all
it needs of Kafka, so it sees Kafka only through :class:`EventBus`. ``web.kafka_bus``
is the real one (aiokafka); :class:`MemoryBus` here delivers in-process, so the web app
can be tested with no broker (a test plays the worker by subscribing to the drafts and
reviews topics and delivering answers on the scored topic). Request–reply sits on top,
in ``web.replies``.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import Protocol

from kernel.events import ReviewEvent

#: Receives the raw value of every message on a subscribed topic, on the event loop; must not block.
Handler = Callable[[bytes], None]


class BrokerUnavailable(RuntimeError):
    """The bus did not accept a message; the caller answers 503 and nothing is half-done."""


class EventBus(Protocol):
    """What the web app needs of a message bus. ``subscribe`` before ``start``; ``stop`` after use."""

    def subscribe(self, topic: str, handler: Handler) -> None:
        """Deliver every message published on ``topic`` after ``start()`` returned (no history)."""

    async def start(self) -> None:
        """Connect; when it returns, nothing published later is missed by a subscriber."""

    async def stop(self) -> None: ...

    async def publish(self, topic: str, event: ReviewEvent) -> None:
        """Return once the bus has the event (keyed by ``event.key``); :class:`BrokerUnavailable` if not."""

    async def ping(self) -> bool:
        """True when the bus answers (``/readyz``)."""


class MemoryBroker:
    """Topics shared by several :class:`MemoryBus` clients (web replicas, a test worker), as a broker is.

    Every message reaches every started client subscribed to its topic, each on its own
    event loop (so apps served from different threads can share it).
    """

    def __init__(self) -> None:
        self.clients: list[MemoryBus] = []

    def deliver(self, topic: str, value: bytes) -> None:
        for client in self.clients:
            client.receive(topic, value)


class MemoryBus:
    """An :class:`EventBus` in this process: what is published reaches the subscribers on their next loop turn.

    Buses made on one :class:`MemoryBroker` see each other's messages (replicas); one made
    alone has a broker of its own. ``published`` records every ``(topic, event)`` this bus
    accepted; ``available = False`` makes ``publish`` raise :class:`BrokerUnavailable` and
    ``ping`` answer False, as a lost broker would.
    """

    def __init__(self, broker: MemoryBroker | None = None) -> None:
        self.broker = broker or MemoryBroker()
        self.broker.clients.append(self)
        self._handlers: defaultdict[str, list[Handler]] = defaultdict(list)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.published: list[tuple[str, ReviewEvent]] = []
        self.available = True

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._handlers[topic].append(handler)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        self._loop = None

    async def publish(self, topic: str, event: ReviewEvent) -> None:
        if not self.available:
            raise BrokerUnavailable("the memory bus is set unavailable")
        self.published.append((topic, event))
        self.deliver(topic, event.to_bytes())

    def deliver(self, topic: str, value: bytes) -> None:
        """Put raw ``value`` on ``topic`` for every client of the broker (what a worker's answer does); any thread."""
        self.broker.deliver(topic, value)

    def receive(self, topic: str, value: bytes) -> None:
        """Hand ``value`` to this bus's subscribers of ``topic`` on its loop; a bus not started misses it."""
        loop = self._loop
        if loop is None:
            return
        for handler in self._handlers[topic]:
            loop.call_soon_threadsafe(handler, value)

    async def ping(self) -> bool:
        return self.available
