"""A poison event is isolated, never retried forever (issue 10), with a real broker and worker.

The reported case: one crawled review dated ``0001-01-01T00:00:00+05:00`` made every insert
fail (``OverflowError: date value out of range``); the worker retried that batch forever,
so no later review was stored and live drafts stopped too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kafka import KafkaProducer

from kernel.settings import Settings
from tests.workers import read_until, start_worker, stop, stored_stats

pytestmark = pytest.mark.slow
SETTINGS = Settings()


def review(review_id: str, **fields: object) -> bytes:
    body = {"id": review_id, "kind": "scraped", "text": f"text of {review_id}", "brand": "Acme",
            "source": "poison-test", **fields}
    return json.dumps(body).encode()


def test_review_dated_year_one_is_dead_lettered_and_the_stream_goes_on(
    tmp_path: Path, tiny_model_dir: Path, own_broker: str
) -> None:
    data_dir = tmp_path / "var"
    worker = start_worker(data_dir, tiny_model_dir, own_broker)
    producer = KafkaProducer(bootstrap_servers=own_broker, acks="all")
    producer.send(SETTINGS.topic_raw, key=b"Acme", value=review("poison", ts="0001-01-01T00:00:00+05:00"))
    for i in range(20):
        producer.send(SETTINGS.topic_raw, key=b"Acme", value=review(f"ok-{i}"))
    draft = {"id": "draft-1", "kind": "draft", "text": "still typing", "session_id": "s-poison"}
    producer.send(SETTINGS.topic_drafts, key=b"s-poison", value=json.dumps(draft).encode())
    producer.flush()
    producer.close()

    wanted = {f"ok-{i}" for i in range(20)} | {"draft-1"}

    def done(messages: list[tuple[str, dict]]) -> bool:
        scored = {body["id"] for topic, body in messages if topic == SETTINGS.topic_scored}
        return wanted <= scored and any(topic == SETTINGS.topic_dead for topic, _ in messages)

    try:
        messages = read_until(own_broker, [SETTINGS.topic_scored, SETTINGS.topic_dead], done, timeout_s=120)
    finally:
        assert stop(worker) == 0
    scored = {body["id"] for topic, body in messages if topic == SETTINGS.topic_scored}
    letters = [body for topic, body in messages if topic == SETTINGS.topic_dead]
    assert scored == wanted
    assert len(letters) == 1 and "ts" in letters[0]["error"] and "0001-01-01" in letters[0]["raw"]
    figures = stored_stats(data_dir, tiny_model_dir)
    assert figures["by_source"] == {"poison-test": 20}
    assert figures["dead_letters"] == 1
