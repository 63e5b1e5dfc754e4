"""``reviewpulse bench memory``: RSS of ``reviewpulse run`` at idle and during a bulk import.

Starts ``reviewpulse run`` on a fresh data directory and a free port, waits until the
worker consumes (``run.json`` appears), then samples the memory of its whole process
tree (the run process and its children: the tansu broker, the drafts process) from ``/proc``: at idle, while
``reviewpulse import --wait`` pushes ``reviews`` synthetic reviews through it (the peak
and the median of the samples), and at idle again after the import. RSS counts pages
shared between the processes once per process; PSS (``/proc/PID/smaps_rollup``) shares
them out, so the PSS total is the tree's real footprint. Linux only.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from reviewpulse.bench.texts import synthetic_reviews, write_import_file
from reviewpulse.commands.common import REVIEWPULSE

#: Seconds between two memory samples.
SAMPLE_INTERVAL_S = 0.5
#: Samples taken at each idle point.
IDLE_SAMPLES = 6


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants alive now."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += _children(current)
    return tree


def _kib(path: Path, field: str) -> int:
    for line in path.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def tree_memory_mib(pid: int) -> dict[str, Any]:
    """RSS and PSS of ``pid``'s process tree in MiB, total and per command name."""
    rss = pss = 0
    parts: dict[str, float] = {}
    for member in process_tree(pid):
        try:
            member_rss = _kib(Path(f"/proc/{member}/status"), "VmRSS")
            member_pss = _kib(Path(f"/proc/{member}/smaps_rollup"), "Pss")
            name = Path(f"/proc/{member}/comm").read_text().strip()
        except OSError:  # exited between listing and reading
            continue
        rss, pss = rss + member_rss, pss + member_pss
        parts[name] = round(parts.get(name, 0.0) + member_rss / 1024, 1)
    return {"rss_mib": round(rss / 1024, 1), "pss_mib": round(pss / 1024, 1), "rss_by_process_mib": parts}


def _idle(pid: int) -> dict[str, Any]:
    samples = []
    for _ in range(IDLE_SAMPLES):
        samples.append(tree_memory_mib(pid))
        time.sleep(SAMPLE_INTERVAL_S)
    return max(samples, key=lambda sample: sample["rss_mib"])


def _wait_for_run_file(data_dir: Path, run: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not (data_dir / "run.json").is_file():
        if run.poll() is not None:
            raise RuntimeError(f"reviewpulse run exited with {run.returncode} before it consumed")
        if time.monotonic() > deadline:
            raise RuntimeError(f"reviewpulse run did not write {data_dir}/run.json within {timeout_s:.0f} s")
        time.sleep(0.5)


def bench_memory(reviews: int, settle_s: float = 10.0) -> dict[str, Any]:
    """Memory figures as a dict (MiB): idle, during an import of ``reviews`` reviews, idle after."""
    with tempfile.TemporaryDirectory(prefix="reviewpulse-memory-") as scratch_name:
        scratch = Path(scratch_name)
        data_dir = scratch / "var"
        # RETRAIN_EVERY_ROWS=0: the import's stars would start an automatic retrain, a process of its own
        env = dict(os.environ, DATA_DIR=str(data_dir), PORT="0", CLICKHOUSE_URL="", LOG_LEVEL="WARNING",
                   RETRAIN_EVERY_ROWS="0")
        env.pop("KAFKA_BOOTSTRAP", None)  # the embedded broker, a child of the run process
        run = subprocess.Popen([*REVIEWPULSE, "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for_run_file(data_dir, run, 300)
            time.sleep(settle_s)
            idle = _idle(run.pid)
            path = write_import_file(scratch / "reviews.jsonl", synthetic_reviews(reviews), "memory")
            started = time.perf_counter()
            load = subprocess.Popen([*REVIEWPULSE, "import", str(path), "--wait", "--wait-timeout", "3600",
                                     "--no-progress", "--json"], env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL)
            samples = []
            while load.poll() is None:
                samples.append(tree_memory_mib(run.pid))
                time.sleep(SAMPLE_INTERVAL_S)
            seconds = time.perf_counter() - started
            if load.returncode != 0:
                raise RuntimeError(f"reviewpulse import --wait exited with {load.returncode}")
            time.sleep(settle_s)
            after = _idle(run.pid)
        finally:
            run.send_signal(signal.SIGINT)
            run.wait(timeout=120)
    peak = max(samples, key=lambda sample: sample["rss_mib"]) if samples else after
    return {
        "reviews": reviews,
        "import_seconds": round(seconds, 1),
        "idle": idle,
        "under_load_peak": peak,
        "under_load_median_rss_mib": round(statistics.median(s["rss_mib"] for s in samples), 1) if samples else None,
        "idle_after": after,
        "samples": len(samples),
        "load_average": [round(figure, 2) for figure in os.getloadavg()],
    }
