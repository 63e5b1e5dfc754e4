"""The drafts' own consumer (``stream.worker.drafts.consume_drafts``) against a real tansu broker.

The model is ``tests.fakes.FakeScorer`` (the loop, not the char-CNN, is under test); Kafka
is real: the drafts are published, and the answers sent by a real producer and read over TCP.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
from aiokafka import AIOKafkaProducer
from kafka import KafkaProducer

from kernel.events import Kind, ReviewEvent
from kernel.settings import Settings
from kernel.topics import ensure_topics
from stream.worker.batches import BatchHandler
from stream.worker.drafts import consume_drafts
from tests.fakes import FakeScorer
from tests.workers import read_until

pytestmark = pytest.mark.slow
T = TypeVar("T")


class LettersKept:
    """The handler's storage: the dead letters it was given (drafts store nothing else)."""

    def __init__(self) -> None:
        self.letters: list[Any] = []
        self.shadow = None

    def insert_dead_letters(self, letters: Sequence[Any]) -> None:
        self.letters += letters

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        return call(*args)


@contextmanager
def drafts_worker(settings: Settings, bootstrap: str, scorer: FakeScorer) -> Iterator[LettersKept]:
    """``consume_drafts`` on a loop of its own, until the block ends (then cancelled, as a stop does)."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    storage = LettersKept()

    async def consume() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
        await producer.start()

        async def send(topic: str, key: bytes | None, value: bytes) -> Any:
            return await producer.send(topic, value, key=key)

        handler = BatchHandler(settings, storage, scorer, send)  # type: ignore[arg-type]
        try:
            await consume_drafts(settings, bootstrap, handler, ready.set)
        finally:
            await producer.stop()
            handler.close()

    task = loop.create_task(consume())
    thread = threading.Thread(target=lambda: loop.run_until_complete(asyncio.gather(task, return_exceptions=True)))
    thread.start()
    try:
        assert ready.wait(60), "the drafts consumer group assigned no partitions"
        yield storage
    finally:
        loop.call_soon_threadsafe(task.cancel)
        thread.join(30)
        loop.close()
    assert task.cancelled() or task.exception() is None, task.exception()


def draft(text: str, session: str = "s-1") -> ReviewEvent:
    return ReviewEvent(kind=Kind.draft, text=text, session_id=session, source="web", meta={"seq": "1"})


def publish(bootstrap: str, topic: str, *values: bytes) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for value in values:
        producer.send(topic, value)
    producer.flush()
    producer.close()


def test_drafts_are_scored_and_bad_ones_dead_lettered(own_broker: str) -> None:
    settings = Settings(worker_id="drafts-test")
    ensure_topics(own_broker, settings)
    good, bad_words = draft("lovely staff", "s-1"), draft("a bad experience", "s-2")
    with drafts_worker(settings, own_broker, FakeScorer()) as storage:
        publish(own_broker, settings.topic_drafts, good.to_bytes(), bad_words.to_bytes(), b"{not json")
        messages = read_until(own_broker, [settings.topic_scored, settings.topic_dead],
                              lambda seen: len(seen) >= 3, timeout_s=30)
    scored = {m["id"]: m for topic, m in messages if topic == settings.topic_scored}
    dead = [m for topic, m in messages if topic == settings.topic_dead]
    assert scored[good.id]["label"] == "good" and scored[good.id]["kind"] == "draft"
    assert scored[bad_words.id]["label"] == "bad" and scored[bad_words.id]["model_version"] == "fake-1"
    assert len(dead) == 1 and "{not json" in json.dumps(dead[0])
    assert len(storage.letters) == 1, "the worker's storage keeps the dead letter too"


def test_a_restarted_drafts_worker_scores_what_was_published_while_it_was_down(own_broker: str) -> None:
    """Offsets are committed after each batch: the group resumes there, so nothing typed while down is skipped."""
    settings = Settings(worker_id="drafts-restart")
    ensure_topics(own_broker, settings)
    first, while_down = draft("first draft"), draft("typed while the process restarted", "s-9")
    with drafts_worker(settings, own_broker, FakeScorer()):
        publish(own_broker, settings.topic_drafts, first.to_bytes())
        assert read_until(own_broker, [settings.topic_scored], lambda seen: len(seen) >= 1, timeout_s=30)
    publish(own_broker, settings.topic_drafts, while_down.to_bytes())
    scorer = FakeScorer(version="fake-2")
    with drafts_worker(settings, own_broker, scorer):
        messages = read_until(own_broker, [settings.topic_scored], lambda seen: len(seen) >= 2, timeout_s=30)
    answers = {m["id"]: m["model_version"] for _, m in messages}
    assert answers == {first.id: "fake-1", while_down.id: "fake-2"}
    assert scorer.calls == [[while_down.text]], "the restarted process scores only what it had not answered"
