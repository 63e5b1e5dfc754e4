"""10,000 generated events through the real broker and a real worker (issue 10, item 3).

Every valid event must be stored exactly once, every invalid one must become a dead letter
with a reason (matched by partition and offset), and the worker must still be alive and
answering drafts at the end. The generator is seeded (``tests.stream.fuzz``).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from kafka import KafkaProducer

from kernel.settings import Settings
from tests.e2e.stream.fuzz import generate
from tests.workers import read_until, start_worker, stop, stored_stats

pytestmark = pytest.mark.slow
SETTINGS = Settings()
SEED = 20261201


def publish(bootstrap: str, raws: list[bytes]) -> list[tuple[int, int]]:
    """Send every message to reviews.raw; returns where each landed (partition, offset)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_request_size=8_000_000)
    try:
        futures = [producer.send(SETTINGS.topic_raw, key=str(i % 7).encode(), value=raw) for i, raw in enumerate(raws)]
        producer.flush()
        return [(meta.partition, meta.offset) for meta in (future.get(timeout=60) for future in futures)]
    finally:
        producer.close()


def test_ten_thousand_fuzzed_events(tmp_path: Path, tiny_model_dir: Path, own_broker: str) -> None:
    cases = generate(10_000, SEED)
    valid_ids = {case.id for case in cases if case.valid}
    data_dir = tmp_path / "var"
    worker = start_worker(data_dir, tiny_model_dir, own_broker, BATCH_SIZE="128")
    try:
        where = publish(own_broker, [case.raw for case in cases])
        invalid_at = {spot for spot, case in zip(where, cases, strict=True) if not case.valid}

        def done(messages: list[tuple[str, dict]]) -> bool:
            letters = sum(topic == SETTINGS.topic_dead for topic, _ in messages)
            return letters >= len(invalid_at) and len(messages) - letters >= len(valid_ids)

        messages = read_until(own_broker, [SETTINGS.topic_scored, SETTINGS.topic_dead], done, timeout_s=540)
        scored = [body for topic, body in messages if topic == SETTINGS.topic_scored]
        letters = [body for topic, body in messages if topic == SETTINGS.topic_dead]
        assert {body["id"] for body in scored} == valid_ids
        assert {(letter["partition"], letter["offset"]) for letter in letters} == invalid_at
        assert len(letters) == len(invalid_at) and all(letter["error"].strip() for letter in letters)

        producer = KafkaProducer(bootstrap_servers=own_broker, acks="all")
        draft = {"id": "fuzz-draft", "kind": "draft", "text": "still answering?", "session_id": "fuzz"}
        producer.send(SETTINGS.topic_drafts, key=b"fuzz", value=json.dumps(draft).encode())
        producer.close()
        answered = read_until(own_broker, [SETTINGS.topic_scored],
                              lambda got: any(body["id"] == "fuzz-draft" for _, body in got), timeout_s=120)
        assert any(body["id"] == "fuzz-draft" for _, body in answered)
        assert worker.poll() is None, "the worker must still be alive"
    finally:
        assert stop(worker) == 0
    figures = stored_stats(data_dir, tiny_model_dir)
    assert figures["by_source"] == {"fuzz": len(valid_ids)}  # FINAL: each valid event exactly once
    assert figures["dead_letters"] == len(invalid_at)


def test_fuzzed_events_packed_in_arrays_are_stored_or_dead_lettered_one_by_one(
        tmp_path: Path, tiny_model_dir: Path, own_broker: str) -> None:
    """A bulk import's array messages: each event stored once or a dead letter of its own at the array's offset."""
    objects = [(case, event) for case in generate(3_000, SEED + 1, huge=0)
               if isinstance(event := object_or_none(case.raw), dict)]
    arrays = [objects[first:first + 50] for first in range(0, len(objects), 50)]
    valid_ids = {case.id for case, _ in objects if case.valid}
    data_dir = tmp_path / "var"
    worker = start_worker(data_dir, tiny_model_dir, own_broker)
    try:
        where = publish(own_broker, [json.dumps([event for _, event in array]).encode() for array in arrays])
        invalid_at = Counter(spot for spot, array in zip(where, arrays, strict=True)
                             for case, _ in array if not case.valid)

        def done(messages: list[tuple[str, dict]]) -> bool:
            letters = sum(topic == SETTINGS.topic_dead for topic, _ in messages)
            return letters >= invalid_at.total() and len(messages) - letters >= len(valid_ids)

        messages = read_until(own_broker, [SETTINGS.topic_scored, SETTINGS.topic_dead], done, timeout_s=300)
    finally:
        assert stop(worker) == 0
    scored = [body["id"] for topic, body in messages if topic == SETTINGS.topic_scored]
    letters = [body for topic, body in messages if topic == SETTINGS.topic_dead]
    assert sorted(scored) == sorted(valid_ids)  # each once
    assert Counter((letter["partition"], letter["offset"]) for letter in letters) == invalid_at
    assert all(letter["error"].startswith("event ") and letter["raw"].startswith("{") for letter in letters)
    assert stored_stats(data_dir, tiny_model_dir)["by_source"] == {"fuzz": len(valid_ids)}


def object_or_none(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None
