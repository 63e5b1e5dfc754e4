"""The reviews.raw backlog recorder on the real tansu broker and chDB: what arrived, what the group took."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from kernel.settings import Settings
from kernel.topics import ensure_topics
from stream.storage.backlog import NEVER_COMMITTED
from stream.worker.backlog import BacklogRecorder


def stored(storage: Any, topic: str) -> list[dict[str, Any]]:
    return storage.query("SELECT partition, end_offset, committed_offset FROM raw_backlog "
                         "WHERE topic = {t:String} ORDER BY at, partition", {"t": topic})


def test_the_recorder_stores_each_partitions_arrivals_and_the_groups_progress(broker: str, storage: Any) -> None:
    run = uuid.uuid4().hex[:10]
    settings = Settings(topic_raw=f"raw-{run}", worker_id=f"group-{run}", topic_partitions=2)
    ensure_topics(broker, settings)
    producer = KafkaProducer(bootstrap_servers=broker, linger_ms=0)
    for _ in range(3):  # one at a time: tansu's end offset is exact for single-record batches
        producer.send(settings.topic_raw, b"{}", partition=1).get(timeout=10)
    producer.close()
    recorder = BacklogRecorder(settings, storage, broker)

    first = asyncio.run(recorder.record_once())
    assert [(p.partition, p.end_offset, p.committed_offset) for p in first] == [
        (0, 0, NEVER_COMMITTED), (1, 3, NEVER_COMMITTED)]

    worker = KafkaConsumer(bootstrap_servers=broker, group_id=settings.worker_id, enable_auto_commit=False,
                           auto_offset_reset="earliest")
    worker.assign([TopicPartition(settings.topic_raw, 1)])
    taken = 0
    for _ in range(20):
        taken += sum(len(batch) for batch in worker.poll(timeout_ms=500).values())
        if taken >= 3:
            break
    worker.commit()
    worker.close()
    asyncio.run(recorder.record_once())

    rows = stored(storage, settings.topic_raw)
    assert [(r["partition"], r["end_offset"], r["committed_offset"]) for r in rows] == [
        (0, 0, NEVER_COMMITTED), (1, 3, NEVER_COMMITTED), (0, 0, NEVER_COMMITTED), (1, 3, 3)]
