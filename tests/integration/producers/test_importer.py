"""``reviewpulse import`` as a child process: without a broker it explains; migrate is idempotent."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from stream.storage.migrations import MIGRATIONS
from tests.conftest import REPO, REVIEWPULSE, system_env


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.slow
def test_cli_without_broker_explains_and_migrate_is_idempotent(tmp_path: Path, tiny_model_dir: Path) -> None:
    env = system_env(tmp_path / "var", tiny_model_dir)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*REVIEWPULSE, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)

    result = cli("import", str(write(tmp_path / "r.csv", "text\nhello\n")))
    assert result.returncode == 2 and "no Kafka broker" in result.stderr
    assert cli("migrate").stdout.strip() == f"applied migrations {[version for version, _, _ in MIGRATIONS]}"
    assert cli("migrate").stdout.strip() == "schema is up to date"
    stats = json.loads(cli("stats", "--json").stdout)
    assert stats["reviews"] == 0 and stats["dead_letters"] == 0


def test_follow_scored_waits_past_other_events_and_duplicates_and_reports_the_publish_time(own_broker: str) -> None:
    """Foreign ids and redeliveries must not end the wait early; the time is the last publish, not the read."""
    import threading
    import time

    from kafka import KafkaProducer

    from kernel.settings import Settings
    from producers.importer import follow_scored, scored_end_offsets

    settings = Settings()
    start = scored_end_offsets(own_broker, settings)
    producer = KafkaProducer(bootstrap_servers=own_broker, acks="all", linger_ms=100)

    def publish(*review_ids: str) -> None:
        for review_id in review_ids:
            producer.send(settings.topic_scored, json.dumps({"id": review_id}).encode(), partition=0)
        producer.flush(timeout=30)

    publish("someone-else")
    late = threading.Timer(1.0, publish, args=("a", "b", "a", "c"))
    late.start()
    began = time.time()
    result = follow_scored(own_broker, settings, {"a", "b", "c"}, start, timeout_s=60, progress=False)
    late.join()
    producer.close()
    assert result.seen == 3
    assert result.last_published_at is not None and began + 0.9 <= result.last_published_at <= time.time()
    assert follow_scored(own_broker, settings, {"a", "never"}, start, timeout_s=1, progress=False).seen == 1


def test_an_import_packs_reviews_into_arrays_on_the_partition_of_their_brand_in_file_order(
        own_broker: str, tmp_path: Path) -> None:
    """Many reviews per message, each brand on the partition the key picks, order kept; a huge one alone."""
    from kafka import KafkaConsumer, TopicPartition

    from kernel.settings import Settings
    from producers.importer import ImportOptions, import_file
    from producers.packing import BYTES_PER_MESSAGE, REVIEWS_PER_MESSAGE, partition_of

    settings = Settings()
    rows = [{"text": f"review number {n}", "brand": f"brand-{n % 7}"} for n in range(500)]
    rows.insert(250, {"text": "x" * (BYTES_PER_MESSAGE + 10), "brand": "brand-3"})
    source = tmp_path / "reviews.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    summary = import_file(source, own_broker, settings, ImportOptions(source="packed"), progress=False)
    assert summary.sent == len(rows) and summary.failed == 0

    consumer = KafkaConsumer(bootstrap_servers=own_broker, enable_auto_commit=False, consumer_timeout_ms=3000)
    partitions = [TopicPartition(settings.topic_raw, p) for p in range(settings.topic_partitions)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    messages = list(consumer)
    consumer.close()
    events_by_message = [(m.partition, json.loads(m.value)) for m in messages]
    events = [(p, e) for p, value in events_by_message for e in (value if isinstance(value, list) else [value])]
    assert len(events) == len(rows) and len(messages) < len(rows) / 10
    assert all(len(value) <= REVIEWS_PER_MESSAGE for _, value in events_by_message if isinstance(value, list))
    assert [len(value["text"]) for _, value in events_by_message if isinstance(value, dict)] == [BYTES_PER_MESSAGE + 10]
    everyone = list(range(settings.topic_partitions))
    for partition, event in events:
        assert partition == partition_of(event["brand"].encode(), everyone)
    for brand in {row["brand"] for row in rows}:
        in_file = [row["text"] for row in rows if row["brand"] == brand]
        assert [event["text"] for _, event in events if event["brand"] == brand] == in_file


def test_follow_scored_reads_arrays_and_skips_what_is_not_an_event(own_broker: str) -> None:
    from kafka import KafkaProducer

    from kernel.settings import Settings
    from producers.importer import follow_scored, scored_end_offsets

    settings = Settings()
    start = scored_end_offsets(own_broker, settings)
    producer = KafkaProducer(bootstrap_servers=own_broker, acks="all")
    for value in (b"not json", b"[1, {}]", json.dumps([{"id": "a"}, {"id": "b"}]).encode(), b'{"id": "c"}'):
        producer.send(settings.topic_scored, value, partition=1)
    producer.close(timeout=30)
    assert follow_scored(own_broker, settings, {"a", "b", "c"}, start, timeout_s=60, progress=False).seen == 3
