"""``reviewpulse run`` end to end: one process with broker child, worker and web server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, REVIEWPULSE, RunningSystem, start_system
from tests.integration.stream.test_worker import write_csv

pytestmark = pytest.mark.slow


def children(pid: int) -> list[int]:
    """Child processes of ``pid``, whichever of its threads started them."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except FileNotFoundError:  # a thread that just ended
            continue
    return found


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def wait_gone(pid: int, timeout_s: float = 30) -> bool:
    deadline = time.monotonic() + timeout_s
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not alive(pid)


def reviewpulse(system: RunningSystem, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*REVIEWPULSE, *args], env=system.env, cwd=REPO, capture_output=True, timeout=300)


def test_import_2000_reviews_gives_2000_distinct_rows(running_system: RunningSystem, tmp_path: Path) -> None:
    source = "import-2000"
    csv_path = write_csv(tmp_path / "2k.csv", 2000, source)
    result = reviewpulse(running_system, "import", str(csv_path), "--source", source, "--wait", "--json",
                         "--no-progress")
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    summary = json.loads(result.stdout)
    assert summary["sent"] == 2000 and summary["stored"] == 2000 and summary["rejected"] == 0

    again = reviewpulse(running_system, "import", str(csv_path), "--source", source, "--wait", "--json",
                        "--no-progress")
    assert json.loads(again.stdout)["stored"] == 2000  # same ids: scored again, stored once

    stats = json.loads(reviewpulse(running_system, "stats", "--json").stdout)  # asks the running server
    assert stats["by_source"][source] == 2000
    api = httpx.get(f"{running_system.web_url}/api/stats", timeout=10).json()
    assert api["by_source"][source] == 2000


def test_the_running_system_keeps_its_start_up_objects_out_of_the_collector_s_passes(
    running_system: RunningSystem,
) -> None:
    """A full collection over what start-up built stopped the event loop for 100-290 ms (reviewpulse.heap)."""
    metrics = httpx.get(f"{running_system.web_url}/metrics", timeout=10).text
    frozen = next(float(line.split()[-1]) for line in metrics.splitlines()
                  if line.startswith("reviewpulse_web_gc_frozen_objects "))
    assert frozen > 10_000


def test_import_reports_rejected_rows_with_reasons(running_system: RunningSystem, tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join([
        json.dumps({"text": "good one", "rating": 5}), "{broken", json.dumps({"text": ""}),
        json.dumps({"text": "bad stars", "rating": "seven"}), json.dumps(["not", "an", "object"]),
    ]) + "\n")
    result = reviewpulse(running_system, "import", str(path), "--json", "--no-progress")
    summary = json.loads(result.stdout)
    assert summary["sent"] == 1 and summary["rejected"] == 4
    assert summary["rejected_reasons"] == {
        "line is not JSON": 1, "empty or missing 'text'": 1, "rating is not a number": 1,
        "line is not a JSON object": 1,
    }
    missing = reviewpulse(running_system, "import", str(write_csv(tmp_path / "x.csv", 1, "x")),
                          "--text-column", "body")
    assert missing.returncode == 2 and b"no column 'body'" in missing.stderr


def test_sigint_stops_cleanly_and_leaves_no_broker(tmp_path: Path, tiny_model_dir: Path) -> None:
    system = start_system(tmp_path / "var", tiny_model_dir, LOG_LEVEL="INFO")
    brokers = children(system.process.pid)
    assert brokers, "the embedded broker runs as a child of `reviewpulse run`"
    assert system.stop(signal.SIGINT) == 0
    assert all(wait_gone(pid) for pid in brokers)
    assert not (system.data_dir / "run.json").exists()


def test_broker_child_dies_with_a_killed_parent(tmp_path: Path, tiny_model_dir: Path) -> None:
    system = start_system(tmp_path / "var", tiny_model_dir)
    brokers = children(system.process.pid)
    os.kill(system.process.pid, signal.SIGKILL)
    system.process.wait()
    assert brokers and all(wait_gone(pid) for pid in brokers)


def test_second_run_on_same_data_dir_is_refused(running_system: RunningSystem) -> None:
    result = reviewpulse(running_system, "run", "--port", "0", "--data-dir", str(running_system.data_dir))
    assert result.returncode == 2
    assert b"holds the embedded ClickHouse" in result.stderr


def test_bench_typing_during_an_import_types_while_the_backlog_is_scored(running_system: RunningSystem) -> None:
    result = reviewpulse(running_system, "bench", "typing", "--during-import", "300", "--sessions", "2",
                         "--rate", "2", "--duration", "4", "--json")
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    figures = json.loads(result.stdout)
    assert figures["during_import"]["reviews"] == 300 and figures["during_import"]["failed"] == 0
    assert figures["scores_received"] > 0 and figures["errors"] == 0 and figures["p99_ms"] is not None


def scoring_children(pid: int) -> list[int]:
    return [child for child in children(pid) if b"inference.process_scorer" in Path(f"/proc/{child}/cmdline").read_bytes()]


def maps_torch(pid: int) -> bool:
    return "libtorch_cpu" in Path(f"/proc/{pid}/maps").read_text()


def predict(system: RunningSystem, text: str) -> dict:
    response = httpx.post(f"{system.web_url}/api/predict?detail=1", json={"review": text}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_one_process_holds_the_model_for_reviews_and_drafts(running_system: RunningSystem) -> None:
    """`run` is the run process, its broker and one scoring process; only the scoring process loads torch."""
    pid = running_system.process.pid
    tree = children(pid)
    scoring = scoring_children(pid)
    assert len(scoring) == 1, "one scoring process, a child of `reviewpulse run`"
    assert len(tree) == 2 and any(b"tansu" in Path(f"/proc/{p}/cmdline").read_bytes() for p in tree), tree
    assert children(scoring[0]) == [], "the scoring process starts none of its own"
    assert maps_torch(scoring[0]) and not maps_torch(pid), "torch (and the model) live in the scoring process only"
    assert predict(running_system, "friendly staff and quick delivery")["label"] in {"bad", "average", "good"}
    assert scoring_children(pid) == scoring and not maps_torch(pid), "a draft is scored there too"


def test_a_killed_scoring_process_is_replaced_and_typing_works_again(running_system: RunningSystem) -> None:
    first = scoring_children(running_system.process.pid)
    assert predict(running_system, "friendly staff and quick delivery")["label"] in {"bad", "average", "good"}

    os.kill(first[0], signal.SIGKILL)
    deadline = time.monotonic() + 120  # the next call starts a new process, which imports torch first
    while (answer := httpx.post(f"{running_system.web_url}/api/predict", json={"review": "typed after the kill"},
                                params={"detail": "1"}, timeout=30)).status_code == 503:
        assert time.monotonic() < deadline, "drafts were not answered again after the kill"
    assert answer.status_code == 200 and answer.json()["label"] in {"bad", "average", "good"}
    again = scoring_children(running_system.process.pid)
    assert len(again) == 1 and again != first
    assert b"starting a new scoring process" in running_system.log_path.read_bytes()


def test_without_a_drafts_consumer_the_faust_agent_answers_drafts(tmp_path: Path, tiny_model_dir: Path) -> None:
    system = start_system(tmp_path / "var", tiny_model_dir, DRAFTS_CONSUMER="false")
    try:
        assert predict(system, "friendly staff")["label"] in {"bad", "average", "good"}
        assert len(scoring_children(system.process.pid)) == 1
    finally:
        assert system.stop() == 0
