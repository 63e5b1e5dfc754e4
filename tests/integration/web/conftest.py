"""Fixtures for the web tests: apps on an in-memory bus answered by the real worker logic.

``make_client`` gives each app a ``web.bus.MemoryBus`` (``client.app.state.bus``) on the
test's ``MemoryBroker``, and one :class:`MemoryWorker` (``client.worker``) stands in for
the Faust worker:
the worker's own ``stream.worker.batches.BatchHandler`` with the tiny (untrained, real) char-CNN,
subscribed to ``reviews.drafts`` and ``reviews.raw`` and answering on ``reviews.scored`` —
the worker's contract with no broker. Its storage is ``stream.storage.memory.MemoryStorage``;
the app's own queries run on the session chDB. ``scoring_loop.score(text)`` is what that
model answers. The Kafka implementation of the bus has its own tests (``test_kafka_bus.py``),
and the browser tests (``tests/e2e/web``) run the whole system against ``reviewpulse run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from kernel.settings import Settings
from stream.storage.memory import MemoryStorage
from stream.worker.batches import BatchHandler, Incoming
from web.bus import MemoryBroker, MemoryBus
from web.passwords import hash_password

ADMIN_PASSWORD = "correct horse battery staple"
ADMIN_HASH = hash_password(ADMIN_PASSWORD, iterations=1000)


class MemoryWorker:
    """The real batch handler answering drafts and reviews on a :class:`MemoryBus`.

    Messages that arrive in one loop turn form one batch (as ``take(N, within=T)`` would).
    """

    def __init__(self, bus: MemoryBus, scorer: Any, settings: Settings) -> None:
        self.bus = bus
        self.scorer = scorer
        self.storage = MemoryStorage()
        self.handler = BatchHandler(settings, self.storage, scorer, self._send)
        self.handlers = {settings.topic_drafts: self.handler.handle_drafts, settings.topic_raw: self.handler.handle_reviews}
        self.waiting: dict[str, list[Incoming]] = {topic: [] for topic in self.handlers}
        self.offset = 0
        self._tasks: set[asyncio.Task[None]] = set()
        for topic in self.handlers:
            bus.subscribe(topic, functools.partial(self._receive, topic))

    def _receive(self, topic: str, raw: bytes) -> None:
        self.offset += 1
        self.waiting[topic].append(Incoming(raw, topic, 0, self.offset))
        if len(self.waiting[topic]) == 1:
            asyncio.get_running_loop().call_soon(self._flush, topic)

    def _flush(self, topic: str) -> None:
        batch, self.waiting[topic] = self.waiting[topic], []
        task = asyncio.ensure_future(self.handlers[topic](batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, topic: str, key: bytes | None, value: bytes) -> asyncio.Future[None]:
        self.bus.deliver(topic, value)
        acknowledged: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        acknowledged.set_result(None)
        return acknowledged

    def close(self) -> None:
        self.handler.close()


@pytest.fixture(scope="session")
def tiny_scorer(tiny_model_dir: Path) -> Any:
    from inference.scorer import Scorer

    return Scorer.load(tiny_model_dir, device="cpu", threads=1)


def web_settings(broker: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "kafka_bootstrap": broker, "data_dir": tmp_path, "secure_cookies": False,
        "admin_password_hash": SecretStr(ADMIN_HASH), "session_secret": SecretStr("test-secret"),
        "ip_hash_salt": SecretStr("test-salt"), "predict_timeout_s": 10.0, "review_wait_timeout_s": 10.0,
    }
    values.update(overrides)
    return Settings(**values)


class TinyScores:
    """What the tiny model answers for a text (the value a test expects the worker to send)."""

    def __init__(self, scorer: Any) -> None:
        self.scorer = scorer

    def score(self, text: str) -> Any:
        return self.scorer.score([text])[0]


@pytest.fixture(scope="session")
def scoring_loop(tiny_scorer: Any) -> TinyScores:
    return TinyScores(tiny_scorer)


@pytest.fixture
def make_client(broker: str, storage: Any, tiny_scorer: Any, tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """Build a started app (lifespan run) on the test's memory broker with settings overrides; all closed after it.

    Apps made in one test are replicas: they share the broker and its one worker.

    ``broker`` is still the session's real one for what does not go through the bus (the
    registry publishes promotes to ``models.control`` itself).
    """
    from reviewpulse.webserve import web_app

    stack = contextlib.ExitStack()
    memory_broker = MemoryBroker()
    workers: list[MemoryWorker] = []

    def make(**overrides: Any) -> TestClient:
        bus = MemoryBus(memory_broker)
        if not workers:  # one worker per test, on the first app's bus (and loop)
            workers.append(MemoryWorker(bus, tiny_scorer, Settings()))
            stack.callback(workers[0].close)
        app = web_app(web_settings(broker, tmp_path, **overrides), storage, bus=bus)
        client = stack.enter_context(TestClient(app, client=("203.0.113.7", 50000)))
        client.worker = workers[0]  # type: ignore[attr-defined]
        return client

    with stack:
        yield make


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()
