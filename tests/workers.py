"""Helpers for tests that run ``reviewpulse worker`` as a real process against a real broker.

The worker holds chDB while it runs (one process per data directory), so figures are read
with ``reviewpulse stats`` once it has stopped; Kafka is read and written from the test.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from kafka import KafkaConsumer

from tests.conftest import REPO, REVIEWPULSE, system_env


def start_worker(data_dir: Path, model_dir: Path, bootstrap: str, **extra: str) -> subprocess.Popen[bytes]:
    data_dir.mkdir(parents=True, exist_ok=True)
    env = system_env(data_dir, model_dir, KAFKA_BOOTSTRAP=bootstrap, **extra)
    with open(data_dir / "worker.log", "ab") as log:
        return subprocess.Popen([*REVIEWPULSE, "worker"], env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def stored_stats(data_dir: Path, model_dir: Path) -> dict:
    out = subprocess.run(
        [*REVIEWPULSE, "stats", "--json"], env=system_env(data_dir, model_dir), cwd=REPO,
        capture_output=True, check=True, timeout=120,
    )
    return json.loads(out.stdout)


def read_until(bootstrap: str, topics: Iterable[str], done: Callable[[list[tuple[str, dict]]], bool],
               timeout_s: float) -> list[tuple[str, dict]]:
    """(topic, JSON value) of every event on ``topics`` from the start, until ``done(messages)``.

    Returns what was read when ``timeout_s`` runs out, so the caller's assertion says what is missing.
    """
    consumer = KafkaConsumer(*topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None,
                             fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=16 * 1024 * 1024)
    messages: list[tuple[str, dict]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while not done(messages) and time.monotonic() < deadline:
            for partition, batch in consumer.poll(500).items():
                for message in batch:  # an array message (a bulk import's) holds several events
                    value = json.loads(message.value)
                    messages += [(partition.topic, body) for body in (value if isinstance(value, list) else [value])]
    finally:
        consumer.close()
    return messages
