"""``reviewpulse bench memory``: what ``reviewpulse run`` holds at idle, during bulk imports, and after.

Starts ``reviewpulse run`` on a fresh data directory and a free port, waits until the
worker consumes (``run.json`` appears), then samples the memory of its whole process
tree (the run process and its children: the tansu broker, the scoring process) from
``/proc``: at idle, while ``reviewpulse import --wait`` pushes ``reviews`` synthetic
reviews through it (the peak), and at idle again after it; ``imports`` times in a row,
so memory that is not handed back shows as growth from one idle to the next. RSS counts
pages shared between the processes once per process; PSS (``/proc/PID/smaps_rollup``)
shares them out, so the PSS total is the tree's real footprint, and each process's PSS
is reported under its role. Linux only.
"""

from __future__ import annotations

import os
import signal
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


def role(pid: int, root: int) -> str:
    """What process ``pid`` of the tree is: ``run``, ``scoring``, ``broker``, ``retrain``, or its command name."""
    if pid == root:
        return "run"
    command = Path(f"/proc/{pid}/cmdline").read_bytes()
    for marker, name in ((b"inference.process_scorer", "scoring"), (b"tansu", "broker"), (b"retrain", "retrain")):
        if marker in command:
            return name
    return Path(f"/proc/{pid}/comm").read_text().strip()


def tree_memory_mib(pid: int) -> dict[str, Any]:
    """RSS and PSS of ``pid``'s process tree in MiB: totals, and PSS per role (:func:`role`)."""
    rss = pss = 0
    parts: dict[str, float] = {}
    for member in process_tree(pid):
        try:
            member_rss = _kib(Path(f"/proc/{member}/status"), "VmRSS")
            member_pss = _kib(Path(f"/proc/{member}/smaps_rollup"), "Pss")
            name = role(member, pid)
        except OSError:  # exited between listing and reading
            continue
        rss, pss = rss + member_rss, pss + member_pss
        parts[name] = round(parts.get(name, 0.0) + member_pss / 1024, 1)
    return {"rss_mib": round(rss / 1024, 1), "pss_mib": round(pss / 1024, 1), "pss_by_process_mib": parts}


def _idle(pid: int) -> dict[str, Any]:
    samples = []
    for _ in range(IDLE_SAMPLES):
        samples.append(tree_memory_mib(pid))
        time.sleep(SAMPLE_INTERVAL_S)
    return max(samples, key=lambda sample: sample["pss_mib"])


def _wait_for_run_file(data_dir: Path, run: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not (data_dir / "run.json").is_file():
        if run.poll() is not None:
            raise RuntimeError(f"reviewpulse run exited with {run.returncode} before it consumed")
        if time.monotonic() > deadline:
            raise RuntimeError(f"reviewpulse run did not write {data_dir}/run.json within {timeout_s:.0f} s")
        time.sleep(0.5)


def _import(env: dict[str, str], path: Path, pid: int) -> tuple[float, list[dict[str, Any]]]:
    """``reviewpulse import --wait`` of ``path``: its seconds, and the tree's memory sampled meanwhile."""
    started = time.perf_counter()
    load = subprocess.Popen([*REVIEWPULSE, "import", str(path), "--wait", "--wait-timeout", "3600",
                             "--no-progress", "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    samples = []
    while load.poll() is None:
        samples.append(tree_memory_mib(pid))
        time.sleep(SAMPLE_INTERVAL_S)
    if load.returncode != 0:
        raise RuntimeError(f"reviewpulse import --wait exited with {load.returncode}")
    return time.perf_counter() - started, samples


def bench_memory(reviews: int, imports: int = 3, settle_s: float = 10.0) -> dict[str, Any]:
    """Memory figures as a dict (MiB): idle, then per import of ``reviews`` reviews its peak and the idle after it."""
    with tempfile.TemporaryDirectory(prefix="reviewpulse-memory-") as scratch_name:
        scratch = Path(scratch_name)
        data_dir = scratch / "var"
        # RETRAIN_EVERY_ROWS=0: the import's stars would start an automatic retrain, a process of its own
        env = dict(os.environ, DATA_DIR=str(data_dir), PORT="0", CLICKHOUSE_URL="", LOG_LEVEL="WARNING",
                   RETRAIN_EVERY_ROWS="0")
        env.pop("KAFKA_BOOTSTRAP", None)  # the embedded broker, a child of the run process
        run = subprocess.Popen([*REVIEWPULSE, "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rounds: list[dict[str, Any]] = []
        try:
            _wait_for_run_file(data_dir, run, 300)
            time.sleep(settle_s)
            idle = _idle(run.pid)
            for number in range(imports):
                path = write_import_file(scratch / "reviews.jsonl", synthetic_reviews(reviews), f"memory-{number}")
                seconds, samples = _import(env, path, run.pid)
                time.sleep(settle_s)
                peak = max(samples, key=lambda sample: sample["pss_mib"]) if samples else None
                rounds.append({"import_seconds": round(seconds, 1), "samples": len(samples), "peak": peak,
                               "idle_after": _idle(run.pid)})
        finally:
            run.send_signal(signal.SIGINT)
            run.wait(timeout=120)
    last = rounds[-1]["idle_after"]["pss_mib"] if rounds else idle["pss_mib"]
    peaks = [r["peak"]["pss_mib"] for r in rounds if r["peak"]]
    return {
        "reviews_per_import": reviews,
        "idle": idle,
        "imports": rounds,
        "summary_pss_mib": {
            "idle": idle["pss_mib"], "peak": max(peaks) if peaks else None, "idle_after_last": last,
            "idle_after_last_vs_idle": round(last / idle["pss_mib"], 3),
        },
        "load_average": [round(figure, 2) for figure in os.getloadavg()],
    }
