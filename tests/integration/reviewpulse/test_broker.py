"""The embedded tansu broker: starts, answers Kafka clients, creates topics idempotently, stops."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient

from kernel.settings import Settings
from kernel.topics import ensure_topics, topic_partitions
from reviewpulse.broker import EmbeddedBroker, broker_answers


def test_topics_exist_with_configured_partitions(broker: str) -> None:
    ensure_topics(broker, Settings())  # second call: idempotent
    admin = KafkaAdminClient(bootstrap_servers=broker)
    try:
        described = {t["name"]: len(t["partitions"]) for t in admin.describe_topics()}
    finally:
        admin.close()
    for name, partitions in topic_partitions(Settings()).items():
        assert described[name] == partitions


@pytest.mark.slow
def test_consumer_group_reads_and_commits(broker: str) -> None:
    topic = f"test.group.{time.time_ns()}"
    ensure_topics(broker, Settings(topic_brands=topic))
    producer = KafkaProducer(bootstrap_servers=broker, acks="all")

    def produce(numbers: range) -> None:
        for i in numbers:
            producer.send(topic, key=b"k", value=f"m{i}".encode())
        producer.flush()

    def consume(group: str, expected: int) -> list[bytes]:
        consumer = KafkaConsumer(
            topic, bootstrap_servers=broker, group_id=group, auto_offset_reset="earliest",
            enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=1000,
        )
        values: list[bytes] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for messages in consumer.poll(500).values():
                values.extend(m.value for m in messages)
            if len(values) >= expected:
                break
        consumer.commit()
        consumer.close()
        return values

    produce(range(20))
    assert consume("g-commit", 20) == [f"m{i}".encode() for i in range(20)]
    produce(range(20, 25))
    # the group's committed offsets are honoured: only the new messages come back
    assert consume("g-commit", 5) == [f"m{i}".encode() for i in range(20, 25)]
    producer.close()


def test_broker_stops_and_logs(tmp_path: Path) -> None:
    with EmbeddedBroker(tmp_path) as embedded:
        bootstrap = embedded.bootstrap
        process = embedded.process
        assert broker_answers(bootstrap)
    assert process is not None and process.poll() is not None
    assert not broker_answers(bootstrap, timeout_s=0.5)
    assert "tansu" in (tmp_path / "broker.log").read_text()


