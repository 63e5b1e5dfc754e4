"""Promote and rollback against the real system: ``reviewpulse run`` plus a scaled-out ``reviewpulse worker``.

The run process holds its chDB, so the registry is reached the way a person reaches it:
``reviewpulse models ...`` (HTTP with the token from run.json) and ``registry_client``.
The extra worker has its own data dir (its own chDB) and a model of its own version, so
the scored events say which worker scored them before the promote; after it, both say
the promoted version, because every worker follows ``models.control``.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from kafka import KafkaProducer

from kernel.settings import Settings
from reviewpulse.system_client import registry_client
from stream.registry.store import ModelRecord, artefact_dir
from tests.conftest import REPO, REVIEWPULSE, RunningSystem, start_system
from tests.model_artefacts import artefact_copy, corrupt_weights
from tests.workers import read_until, start_worker, stop, stored_stats

pytestmark = pytest.mark.slow
SETTINGS = Settings()
PARTITIONS = SETTINGS.topic_partitions


def models(system: RunningSystem, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*REVIEWPULSE, "models", *args, "--data-dir", str(system.data_dir)], env=system.env,
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def register(system: RunningSystem, source: Path, version: str) -> Path:
    """A copy of ``source`` as ``version`` under the system's DATA_DIR/models, registered as a candidate."""
    path = artefact_copy(source, artefact_dir(Settings(data_dir=system.data_dir), version), version)
    with registry_client(Settings(data_dir=system.data_dir)) as client:
        client.register(ModelRecord(version=version, path=str(path), parent_version="tiny-untrained"))
    return path


def predicted_version(system: RunningSystem) -> str:
    response = httpx.post(f"{system.web_url}/api/predict?detail=1", json={"review": "good food"}, timeout=30)
    response.raise_for_status()
    return str(response.json()["model_version"])


def wait_for_version(system: RunningSystem, version: str, timeout_s: float = 120) -> str:
    deadline = time.monotonic() + timeout_s
    seen = predicted_version(system)
    while seen != version and time.monotonic() < deadline:
        time.sleep(0.3)
        seen = predicted_version(system)
    return seen


def review(tag: str, i: int) -> bytes:
    return json.dumps({"id": f"{tag}-{i}", "kind": "imported", "text": f"{tag} review {i}: fine, mostly",
                       "source": tag, "rating": 1 + i % 5}).encode()


def send_steadily(bootstrap: str, tag: str, count: int, every: int = 20, pause_s: float = 0.05,
                  sent: list[int] | None = None, stop: threading.Event | None = None) -> None:
    """``count`` reviews (or until ``stop``), review i on partition i % PARTITIONS, ``every`` at a time."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    for i in range(count):
        if stop is not None and stop.is_set():
            break
        producer.send(SETTINGS.topic_raw, value=review(tag, i), partition=i % PARTITIONS)
        if sent is not None:
            sent.append(i)
        if i % every == every - 1:
            producer.flush()
            time.sleep(pause_s)
    producer.flush()
    producer.close()


def scored(bootstrap: str, ids: set[str], timeout_s: float = 300) -> list[dict]:
    """Every scored event of ``ids`` (duplicates included) once each id was seen at least once."""
    def done(messages: list[tuple[str, dict]]) -> bool:
        return ids <= {value["id"] for _, value in messages}
    messages = read_until(bootstrap, [SETTINGS.topic_scored], done, timeout_s)
    return [value for _, value in messages if value["id"] in ids]


def send_rounds_until(bootstrap: str, tag: str, enough: Callable[[set[str]], bool], what: str,
                      timeout_s: float = 300) -> None:
    """Send rounds of reviews over every partition until the versions one round met are ``enough``.

    Each worker has its own partitions and loads a new model in the background at low
    priority, so on a loaded machine one worker may switch many seconds after the other.
    """
    deadline = time.monotonic() + timeout_s
    round_ = 0
    while time.monotonic() < deadline:
        source = f"{tag}{round_}"
        send_steadily(bootstrap, source, 4 * PARTITIONS)
        seen = {e["model_version"] for e in scored(bootstrap, {f"{source}-{i}" for i in range(4 * PARTITIONS)}, 60)}
        if enough(seen):
            return
        round_ += 1
    raise AssertionError(f"never saw {what}")


def test_promote_under_a_steady_stream_switches_every_worker_at_a_batch_boundary(
    running_system: RunningSystem, tiny_model_dir: Path, tmp_path: Path
) -> None:
    system = running_system
    worker_model = artefact_copy(tiny_model_dir, tmp_path / "worker-model", "tiny-w2")
    worker = start_worker(tmp_path / "worker2", worker_model, system.bootstrap)
    try:
        send_rounds_until(system.bootstrap, "warm", lambda seen: {"tiny-untrained", "tiny-w2"} <= seen,
                          "both workers answer (the group is settled)")
        register(system, tiny_model_dir, "tiny-v2")

        # The stream goes on until every partition (so both workers) has answered with the
        # promoted model, then for 200 more reviews: however slow the machine, the promote lands
        # in the middle of it.
        sent: list[int] = []
        stop_sending = threading.Event()
        stream = threading.Thread(target=send_steadily, args=(system.bootstrap, "swap", 100_000),
                                  kwargs={"sent": sent, "stop": stop_sending, "every": 10})
        stream.start()
        try:
            while len(sent) < 300:
                time.sleep(0.05)
            promoted = models(system, "promote", "tiny-v2", "--force")
            assert promoted.returncode == 0, promoted.stderr
            assert "active model: tiny-v2" in promoted.stdout
            read_until(system.bootstrap, [SETTINGS.topic_scored], lambda got: {
                int(v["id"].split("-")[1]) % PARTITIONS for _, v in got
                if v["id"].startswith("swap-") and v["model_version"] == "tiny-v2"} == set(range(PARTITIONS)),
                timeout_s=300)
            switched_at = len(sent)
            while len(sent) < switched_at + 200:
                time.sleep(0.05)
        finally:
            stop_sending.set()
            stream.join()
        count = len(sent)

        events = scored(system.bootstrap, {f"swap-{i}" for i in range(count)})
        copies = Counter(e["id"] for e in events)
        assert len(copies) == count and set(copies.values()) == {1}  # none lost, none scored twice

        for partition in range(PARTITIONS):
            order = {f"swap-{i}": i for i in range(partition, count, PARTITIONS)}
            mine = sorted((e for e in events if e["id"] in order), key=lambda e: order[e["id"]])
            versions = [e["model_version"] for e in mine]
            first_new = versions.index("tiny-v2")  # every worker switched
            assert 0 < first_new and set(versions[first_new:]) == {"tiny-v2"}, f"partition {partition}"
            batches = defaultdict(set)
            for e in mine:
                batches[e["scored_at"]].add(e["model_version"])
            assert all(len(v) == 1 for v in batches.values()), "a batch was scored by two models"

        rolled = models(system, "rollback")
        assert rolled.returncode == 0 and "active model: tiny-untrained" in rolled.stdout, rolled.stderr
        assert wait_for_version(system, "tiny-untrained") == "tiny-untrained"
        send_rounds_until(system.bootstrap, "settle", lambda seen: seen == {"tiny-untrained"},
                          "every worker back on tiny-untrained")
        send_steadily(system.bootstrap, "after", 8 * PARTITIONS)
        later = scored(system.bootstrap, {f"after-{i}" for i in range(8 * PARTITIONS)})
        versions_after = {e["model_version"] for e in later}
        # Both workers are back on the previous model, and no worker switches back by itself.
        assert versions_after == {"tiny-untrained"}, versions_after
    finally:
        assert stop(worker) == 0
    stored_here = httpx.get(f"{system.web_url}/api/stats", timeout=30).json()["by_source"].get("swap", 0)
    stored_there = stored_stats(tmp_path / "worker2", worker_model)["by_source"].get("swap", 0)
    assert stored_here + stored_there == count


def test_bad_artefacts_are_refused_two_promotes_end_on_the_last_and_a_restart_keeps_the_active_one(
    running_system: RunningSystem, tiny_model_dir: Path
) -> None:
    system = running_system
    assert predicted_version(system) == "tiny-untrained"
    unknown = models(system, "promote", "no-such-model", "--force")
    assert unknown.returncode == 2 and "known versions: tiny-untrained" in unknown.stderr

    corrupt_weights(register(system, tiny_model_dir, "tiny-corrupt"))
    assert models(system, "promote", "tiny-corrupt", "--force").returncode == 0
    deadline = time.monotonic() + 60
    while "tiny-corrupt" not in system.log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.3)
    assert "tiny-corrupt" in system.log_path.read_text() and "refused" in system.log_path.read_text()
    assert predicted_version(system) == "tiny-untrained"  # still scoring with the model it had

    for version in ("tiny-v2", "tiny-v3"):
        register(system, tiny_model_dir, version)
    with registry_client(Settings(data_dir=system.data_dir)) as client:
        client.promote("tiny-v2", by="test")
        client.promote("tiny-v3", by="test")
    assert wait_for_version(system, "tiny-v3") == "tiny-v3"
    time.sleep(1.0)
    assert predicted_version(system) == "tiny-v3"

    register(system, tiny_model_dir, "tiny-v4")
    with registry_client(Settings(data_dir=system.data_dir)) as client:
        client.promote("tiny-v4", by="test")
    system.process.send_signal(signal.SIGKILL)  # most likely while tiny-v4 loads
    system.process.wait()

    restarted = start_system(system.data_dir, tiny_model_dir)
    try:
        assert predicted_version(restarted) == "tiny-v4"  # the registry survived; loaded at start
        listed = json.loads(models(restarted, "list", "--json").stdout)
        assert [m["version"] for m in listed if m["status"] == "active"] == ["tiny-v4"]
        assert models(restarted, "rollback").returncode == 0
        assert wait_for_version(restarted, "tiny-v3") == "tiny-v3"
        assert httpx.get(f"{restarted.web_url}/api/models", timeout=10).status_code == 401  # not public
    finally:
        restarted.stop()
