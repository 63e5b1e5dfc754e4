"""In-memory stand-ins the unit tests hand to the real code: a scorer and a producer.

``FakeScorer`` follows ``inference.protocol.Scorer``: a fixed verdict per text (set
``fail_on`` to make texts containing it raise). ``FakeProducer.send`` has the shape the
worker's ``BatchHandler`` expects of Faust's producer (returns once queued, with an
awaitable for the broker's acknowledgement) and records what was published.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FakeVerdict:
    probs: list[float]
    score: float
    label: str
    suggested_rating: int


GOOD = FakeVerdict([0.1, 0.2, 0.7], 0.8, "good", 5)
BAD = FakeVerdict([0.8, 0.1, 0.1], 0.15, "bad", 1)


class FakeScorer:
    """"bad" in a text -> BAD, otherwise GOOD; a text containing ``fail_on`` makes the call raise."""

    def __init__(self, version: str = "fake-1", fail_on: str | None = None) -> None:
        self.version = version
        self.fail_on = fail_on
        self.calls: list[list[str]] = []

    def score(self, texts: Sequence[str], passes: int | None = None) -> list[FakeVerdict]:
        self.calls.append(list(texts))
        if self.fail_on is not None and any(self.fail_on in text for text in texts):
            raise RuntimeError(f"cannot score {self.fail_on!r}")
        return [BAD if "bad" in text else GOOD for text in texts]


class FakeProducer:
    """Records ``(topic, key, value)``; ``fail_next`` errors are raised by the next sends."""

    def __init__(self, journal: list[tuple[str, str]] | None = None) -> None:
        self.journal = journal if journal is not None else []
        self.messages: list[tuple[str, bytes | None, bytes]] = []
        self.fail_next: list[BaseException] = []

    async def send(self, topic: str, key: bytes | None, value: bytes) -> asyncio.Future[None]:
        if self.fail_next:
            raise self.fail_next.pop(0)
        self.messages.append((topic, key, value))
        for body in (decoded if isinstance(decoded := json.loads(value), list) else [decoded]):
            self.journal.append((f"publish {topic}", body.get("id") or body.get("error", "")))
        acknowledged: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        acknowledged.set_result(None)
        return acknowledged

    def published(self, topic: str) -> list[Any]:
        """The messages sent to ``topic``, decoded: an event, or a list of them for an array message."""
        return [json.loads(value) for name, _, value in self.messages if name == topic]
