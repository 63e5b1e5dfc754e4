"""``reviewpulse import`` as a child process: without a broker it explains; migrate is idempotent."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from stream.migrations import MIGRATIONS
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

    from producers.importer import follow_scored, scored_end_offsets
    from reviewpulse.settings import Settings

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
