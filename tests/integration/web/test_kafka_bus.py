"""The two event buses keep one contract: what is published after start reaches every subscriber.

``web.kafka_bus.KafkaBus`` runs against the session's real tansu broker; ``MemoryBus`` in
process. The web tests use the memory one, so this is what says they test the real thing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from kernel.events import Kind, ReviewEvent
from kernel.settings import Settings
from web.bus import EventBus, MemoryBus
from web.kafka_bus import KafkaBus

TOPIC = Settings().topic_scored


def kafka(broker: str) -> EventBus:
    return KafkaBus(broker, publish_timeout_s=5.0)


def memory(broker: str) -> EventBus:
    return MemoryBus()


async def exchange(bus: EventBus, events: list[ReviewEvent], subscribers: int = 2) -> list[list[bytes]]:
    received: list[list[bytes]] = [[] for _ in range(subscribers)]
    for inbox in received:
        bus.subscribe(TOPIC, inbox.append)
    await bus.start()
    try:
        assert await bus.ping()
        for event in events:
            await bus.publish(TOPIC, event)
        for _ in range(300):
            if all(len(inbox) >= len(events) for inbox in received):
                break
            await asyncio.sleep(0.02)
    finally:
        await bus.stop()
    return received


@pytest.mark.parametrize("make_bus", [kafka, memory], ids=["kafka", "memory"])
def test_every_subscriber_gets_every_event_published_after_start(make_bus: Callable[[str], EventBus],
                                                                 broker: str) -> None:
    events = [ReviewEvent(kind=Kind.review, text=f"contract {n}", brand="BusCo") for n in range(5)]
    received = asyncio.run(exchange(make_bus(broker), events))
    for inbox in received:
        ids = [ReviewEvent.model_validate_json(raw).id for raw in inbox]
        assert sorted(ids) == sorted(event.id for event in events)


def test_the_kafka_bus_starts_at_the_end_and_refuses_without_a_broker(broker: str) -> None:
    async def scenario() -> tuple[list[bytes], Any]:
        before = KafkaBus(broker, 5.0)
        await before.start()
        await before.publish(TOPIC, ReviewEvent(kind=Kind.review, text="published before", brand="BusCo"))
        await before.stop()
        later = ReviewEvent(kind=Kind.review, text="published after", brand="BusCo")
        [inbox] = await exchange(KafkaBus(broker, 5.0), [later], subscribers=1)
        return inbox, later

    inbox, later = asyncio.run(scenario())
    assert [ReviewEvent.model_validate_json(raw).id for raw in inbox] == [later.id]
    with pytest.raises(ValueError, match="KAFKA_BOOTSTRAP"):
        KafkaBus("", 5.0)


