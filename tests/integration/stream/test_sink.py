"""Transient vs permanent storage failures, with real chDB and a real broker (issue 10, item 2).

Rows that pass the schema but that ClickHouse still refuses (built here with
``model_construct``, which skips validation, as a future schema gap would) are isolated by
bisection; a missing table (``DETACH``) is an outage: retried, while drafts flow on.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

from kafka import KafkaProducer

from kernel.events import ScoredReview
from kernel.settings import Settings
from stream.worker.batches import BatchHandler, Incoming
from stream.worker.sink import insert_isolating
from tests.workers import read_until


def scored(source: str, **fields: object) -> ScoredReview:
    values = {"id": uuid.uuid4().hex, "kind": "imported", "text": "fine", "brand": "b", "rating": 4,
              "source": source, "session_id": None, "url": "", "ts": datetime.now(UTC), "meta": {},
              "reply_to": None, "probs": [0.1, 0.1, 0.8], "score": 0.85, "label": "good",
              "suggested_rating": 5, "model_version": "t", "scored_at": datetime.now(UTC), **fields}
    return ScoredReview.model_construct(**values)


def stored_ids(storage, source: str) -> set[str]:
    rows = storage.query("SELECT id FROM reviews FINAL WHERE source = {s:String}", {"s": source})
    return {row["id"] for row in rows}


def test_poison_rows_are_isolated_and_the_rest_stored(storage) -> None:
    source = f"sink-{uuid.uuid4().hex}"
    good = [scored(source) for _ in range(20)]
    poison = [
        scored(source, ts=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))),  # the reported bug
        scored(source, text="lone \ud800 surrogate"),
        scored(source, rating=300),
    ]
    rows = good[:7] + poison[:1] + good[7:15] + poison[1:] + good[15:]

    async def insert(batch) -> None:
        await asyncio.to_thread(storage.insert_reviews, batch)

    rejected = asyncio.run(insert_isolating(insert, rows))
    assert [row.id for row, _ in rejected] == [p.id for p in poison]
    reasons = [why for _, why in rejected]
    assert "OverflowError" in reasons[0] and "UnicodeEncodeError" in reasons[1] and "DataError" in reasons[2]
    assert stored_ids(storage, source) == {g.id for g in good}


def test_outage_is_retried_while_drafts_are_answered(storage, broker: str, tiny_model_dir) -> None:
    from inference.scorer import Scorer

    settings = Settings(retry_max_delay_s=0.2)
    producer = KafkaProducer(bootstrap_servers=broker, acks="all")

    async def send(topic: str, key: bytes | None, value: bytes):
        return asyncio.to_thread(producer.send(topic, key=key, value=value).get, 30)

    handler = BatchHandler(settings, storage, Scorer.load(tiny_model_dir, device="cpu"), send)
    source, review_id, draft_id = f"outage-{uuid.uuid4().hex}", uuid.uuid4().hex, uuid.uuid4().hex
    review = json.dumps({"id": review_id, "kind": "review", "text": "stored later", "source": source}).encode()
    draft = json.dumps({"id": draft_id, "kind": "draft", "text": "typing", "session_id": draft_id}).encode()

    async def scenario() -> bool:
        storage.command("DETACH TABLE reviews")
        try:
            reviews = asyncio.ensure_future(handler.handle_reviews([Incoming(review, settings.topic_raw)]))
            await asyncio.wait_for(handler.handle_drafts([Incoming(draft, settings.topic_drafts)]), 120)
            still_retrying = not reviews.done()
        finally:
            storage.command("ATTACH TABLE reviews")
        await asyncio.wait_for(reviews, 120)
        return still_retrying

    try:
        assert asyncio.run(scenario()), "the review must wait for storage, not be dropped or dead-lettered"
    finally:
        producer.close()
    assert stored_ids(storage, source) == {review_id}
    messages = read_until(broker, [settings.topic_scored],
                          lambda got: {review_id, draft_id} <= {body["id"] for _, body in got}, timeout_s=60)
    assert {review_id, draft_id} <= {body["id"] for _, body in messages}
