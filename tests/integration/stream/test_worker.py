"""The Faust worker as a real process against a real tansu broker and real chDB.

Each test starts its own broker (``own_broker``, a fraction of a second) and ``reviewpulse
worker`` subprocess with its own data dir (``tests.stream.workers``).
"""

from __future__ import annotations

import csv
import json
import signal
import time
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer

from kernel.events import Brand
from kernel.settings import Settings
from producers.importer import ImportOptions, import_file, scored_end_offsets, wait_for_scored
from reviewpulse.bench.memory import process_tree
from tests.workers import start_worker, stop, stored_stats

pytestmark = pytest.mark.slow
SETTINGS = Settings()


def write_csv(path: Path, count: int, source_tag: str) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "rating", "brand"])
        for i in range(count):
            writer.writerow([f"{source_tag} review {i}: the service was {'great' if i % 2 else 'slow'}",
                             1 + i % 5, f"brand-{i % 13}"])
    return path


def scoring_children(pid: int) -> list[int]:
    """Pids of the ``inference.process_scorer`` processes under process ``pid``."""
    found = []
    for member in process_tree(pid)[1:]:
        try:
            if b"inference.process_scorer" in Path(f"/proc/{member}/cmdline").read_bytes():
                found.append(member)
        except OSError:
            continue
    return found


def gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return not Path(f"/proc/{pid}").exists()


@pytest.mark.parametrize("scorer_process", ["false", "true"])
def test_worker_killed_mid_stream_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, tiny_model_dir: Path, own_broker: str, scorer_process: str
) -> None:
    """Also with the model in a child process (SCORER_PROCESS): the child ends with its killed worker.

    BATCH_SIZE 8 (batches of up to 512 reviews): with the default 4,096 the 5,000 reviews
    could be stored in one or two batches, before there is a middle to kill the worker in.
    """
    data_dir = tmp_path / "var"
    small = {"SCORER_PROCESS": scorer_process, "BATCH_SIZE": "8"}
    worker = start_worker(data_dir, tiny_model_dir, own_broker, **small)
    start = scored_end_offsets(own_broker, SETTINGS)
    summary = import_file(write_csv(tmp_path / "5k.csv", 5000, "kill"), own_broker, SETTINGS,
                          ImportOptions(source="kill-test"), progress=False)
    assert summary.sent == 5000

    seen_before_kill = wait_for_scored(own_broker, SETTINGS, summary.ids, start, timeout_s=120,
                                       progress=False, stop_after=300)
    children = scoring_children(worker.pid)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert 300 <= seen_before_kill < 5000, "the kill must land in the middle of the stream"
    assert len(children) == (1 if scorer_process == "true" else 0)
    assert all(gone(child, 30) for child in children), "the scoring process outlived its worker"

    worker = start_worker(data_dir, tiny_model_dir, own_broker, **small)
    try:
        assert wait_for_scored(own_broker, SETTINGS, summary.ids, start, timeout_s=300, progress=False) == 5000
    finally:
        assert stop(worker) == 0
    figures = stored_stats(data_dir, tiny_model_dir)
    assert figures["by_source"] == {"kill-test": 5000}  # exact (FINAL): no duplicates, none lost


def test_bad_messages_go_to_dead_letters_and_valid_ones_around_them_are_scored(
    tmp_path: Path, tiny_model_dir: Path, own_broker: str
) -> None:
    data_dir = tmp_path / "var"
    worker = start_worker(data_dir, tiny_model_dir, own_broker)
    producer = KafkaProducer(bootstrap_servers=own_broker, acks="all", max_request_size=8_000_000)
    valid = [json.dumps({"id": f"ok-{i}", "kind": "review", "text": f"fine {i}", "source": "dead-test"}).encode()
             for i in range(2)]
    bad = {
        b"this is not json": "not JSON",
        b"\xff\xfe\xfa not utf-8": "not UTF-8",
        json.dumps({"id": "no-text", "kind": "review"}).encode(): "text: Field required",
        json.dumps({"kind": "review", "text": "x" * 5_000_000}).encode(): "exceeds MAX_TEXT_BYTES",
        json.dumps({"id": "odd", "kind": "sonnet", "text": "x"}).encode(): "kind: Input should be",
    }
    for raw in [valid[0], *bad, valid[1]]:
        producer.send(SETTINGS.topic_raw, key=b"same-partition", value=raw)
    producer.send(SETTINGS.topic_brands, value=Brand(name="Dead Test Brand", website="https://x.example").to_bytes())
    producer.send(SETTINGS.topic_brands, value=b'{"website": "no name"}')
    producer.flush()
    producer.close()

    consumer = KafkaConsumer(SETTINGS.topic_dead, SETTINGS.topic_scored, bootstrap_servers=own_broker,
                             auto_offset_reset="earliest", group_id=None)
    letters, scored_ids = [], set()
    deadline = time.monotonic() + 180
    try:
        while (len(letters) < len(bad) + 1 or len(scored_ids) < 2) and time.monotonic() < deadline:
            for partition, messages in consumer.poll(500).items():
                for message in messages:
                    body = json.loads(message.value)
                    if partition.topic == SETTINGS.topic_dead:
                        letters.append(body)
                    else:
                        scored_ids.add(body["id"])
    finally:
        consumer.close()
        assert stop(worker) == 0
    assert scored_ids == {"ok-0", "ok-1"}
    assert len(letters) == len(bad) + 1
    for expected in [*bad.values(), "invalid brand: name: Field required"]:
        assert sum(expected in letter["error"] for letter in letters) == 1, expected
    assert all(letter["offset"] >= 0 for letter in letters)
    figures = stored_stats(data_dir, tiny_model_dir)
    assert figures["dead_letters"] == len(bad) + 1
    assert figures["by_source"] == {"dead-test": 2}
    assert figures["brands"] == 1


def test_worker_consumer_fetch_wait_is_short() -> None:
    """Faust hard-codes a 1.5 s fetch wait, which tansu turns into latency; ours is the setting."""
    import asyncio

    from kernel.settings import Settings
    from stream.worker.app import faust_app

    async def build(drafts: bool) -> int:
        settings = Settings(consumer_fetch_wait_ms=17, reviews_fetch_wait_ms=230)
        app = faust_app(settings, "127.0.0.1:9", drafts)
        consumer = app.consumer._new_consumer_thread()._create_worker_consumer(app.transport)
        return consumer._fetch_max_wait_ms

    assert asyncio.run(build(drafts=True)) == 17
    # a worker that answers no drafts (``reviewpulse run``'s) polls the broker less often
    assert asyncio.run(build(drafts=False)) == 230


def test_a_stalled_agent_is_paused_before_its_buffer_blocks_the_others() -> None:
    """Faust pauses a partition once its agent's buffer reaches maxsize / 1.25; one poll must
    fit in the rest, or delivering it would block every topic (drafts stuck behind reviews)."""
    from mode.utils.queues import FlowControlQueue

    from stream.worker.app import faust_app

    conf = faust_app(Settings(), "127.0.0.1:9").conf
    pause_at = conf.stream_buffer_maxsize / FlowControlQueue.pressure_high_ratio
    assert conf.broker_max_poll_records is not None
    assert conf.broker_max_poll_records < conf.stream_buffer_maxsize - pause_at
