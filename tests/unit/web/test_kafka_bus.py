"""The memory event bus, when down, refuses to publish and delivers nothing."""

from __future__ import annotations

import asyncio

import pytest

from kernel.events import Kind, ReviewEvent
from kernel.settings import Settings
from web.bus import BrokerUnavailable, MemoryBus

TOPIC = Settings().topic_scored


def test_a_memory_bus_that_is_down_refuses_and_delivers_nothing() -> None:
    async def scenario() -> list[bytes]:
        bus = MemoryBus()
        inbox: list[bytes] = []
        bus.subscribe(TOPIC, inbox.append)
        await bus.start()
        bus.available = False
        with pytest.raises(BrokerUnavailable):
            await bus.publish(TOPIC, ReviewEvent(kind=Kind.review, text="lost", brand="BusCo"))
        assert not await bus.ping()
        await asyncio.sleep(0)
        return inbox

    assert asyncio.run(scenario()) == []
