"""``reviewpulse bench pipeline``: end-to-end throughput next to the scorer alone, same run.

The scorer alone scores the benchmark texts in this process the way the worker scores a
backlog (takes of ``REVIEW_TAKE_BATCHES`` × ``BATCH_SIZE``, one ``score`` call each: the
scorer cuts a call into length-sorted passes on its lanes), before and after the
pipeline run (the mean is reported: load on a shared box drifts). For comparison with
earlier figures it also scores them once in arrival-order calls of ``BATCH_SIZE``
(what the worker did before it gathered takes).
Both sides first see up to ``WARMUP_TEXTS`` warm-up texts of the same length spread, so first-use
costs (allocations, the kernels built per pass shape, consumer-group join) are paid before the clock runs.
The pipeline then runs on the embedded stack: a tansu broker, ``reviewpulse worker`` as a
subprocess with its own chDB, and the bulk importer; the clock runs from the first
message sent until the last review's ``reviews.scored`` event, which the worker publishes
only after its ClickHouse insert (the publish time that event's record carries, so how
far this process's reader lags is not counted, ``producers.importer.follow_scored``).
The ratio says how much of the scorer's speed the broker, Faust and ClickHouse leave;
the target is >= 0.8.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from kernel.settings import Settings
from reviewpulse.bench.memory import process_tree
from reviewpulse.bench.report import ratio
from reviewpulse.bench.texts import synthetic_reviews, write_import_file
from reviewpulse.commands.common import REVIEWPULSE
from stream.worker.batches import REVIEW_TAKE_BATCHES

#: Texts each side scores before its clock runs: after 1,000 the scorer alone still ran ~20% below its warm speed.
WARMUP_TEXTS = 5000


def bench_model_dir(settings: Settings, scratch: Path) -> tuple[Path, str]:
    """The configured model if it exists, else an untrained artefact of the same architecture."""
    if (Path(settings.model_dir) / "model.json").is_file():
        return Path(settings.model_dir), "configured"
    from inference.artefact import save_untrained

    directory = save_untrained(scratch / "model", name="bench", version="bench-untrained")
    return directory, "untrained (models/charcnn missing)"


def scorer_rate(model_dir: Path, texts: list[str], warmup: list[str], threads: int, take: int) -> tuple[float, float]:
    """The scorer alone, in this process, one call per take of ``take`` texts as the worker: the pipeline's ceiling.

    Reviews/s, and µs of CPU per review (all of this process's threads: the lanes), to set
    beside what the scoring process used in the pipeline (``worker_children``).
    """
    from inference.scorer import Scorer

    scorer = Scorer.load(model_dir, device="cpu", threads=threads)

    def score_all(items: list[str]) -> None:
        for first in range(0, len(items), take):
            scorer.score(items[first:first + take])

    score_all(warmup)  # first use of each input width is slow
    started, cpu_started = time.perf_counter(), time.process_time()
    score_all(texts)
    return len(texts) / (time.perf_counter() - started), (time.process_time() - cpu_started) * 1e6 / len(texts)


def _worker_env(settings: Settings, data_dir: Path, model_dir: Path, bootstrap: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DATA_DIR=str(data_dir), MODEL_DIR=str(model_dir), KAFKA_BOOTSTRAP=bootstrap, CLICKHOUSE_URL="",
               BATCH_SIZE=str(settings.batch_size), BATCH_WINDOW_MS=str(settings.batch_window_ms),
               SCORER_THREADS=str(settings.scorer_threads), SCORER_PROCESS=str(settings.scorer_process).lower(),
               LOG_LEVEL="WARNING")
    return env


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used so far (all its threads); 0.0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuShares:
    """CPU seconds per part of the pipeline over a stretch of time: where the cores went.

    Parts: the worker process, its children (the scoring process with ``SCORER_PROCESS``),
    the broker, and this process (the importer and the reader of ``reviews.scored``).
    """

    def __init__(self, worker: int, broker: int) -> None:
        self.pids = {"worker": [worker], "broker": [broker]}
        self.pids["worker_children"] = process_tree(worker)[1:]
        self.start = self._now()

    def _now(self) -> dict[str, float]:
        now = {part: sum(cpu_seconds(pid) for pid in pids) for part, pids in self.pids.items()}
        now["importer_and_reader"] = time.process_time()
        return now

    def since_start(self) -> dict[str, float]:
        end = self._now()
        return {part: end[part] - self.start[part] for part in end}


def pipeline_rate(
    settings: Settings, scratch: Path, model_dir: Path, texts: list[str], warmup: list[str]
) -> tuple[float, int, dict[str, float]]:
    """Reviews/s through import -> broker -> worker -> ClickHouse; the rows stored; CPU seconds per part."""
    from kernel.topics import ensure_topics
    from producers.importer import ImportOptions, follow_scored, import_file, scored_end_offsets
    from reviewpulse.broker import EmbeddedBroker

    data_dir = scratch / "var"
    with EmbeddedBroker(scratch / "broker") as broker:
        ensure_topics(broker.bootstrap, settings)
        env = _worker_env(settings, data_dir, model_dir, broker.bootstrap)
        worker = subprocess.Popen([*REVIEWPULSE, "worker"], env=env, stdout=subprocess.DEVNULL)
        try:
            def send(name: str, rows: list[str]) -> tuple[set[str], float]:
                path = write_import_file(scratch / name, rows, "bench")
                start = scored_end_offsets(broker.bootstrap, settings)
                began = time.time()
                summary = import_file(path, broker.bootstrap, settings, ImportOptions(source=name), progress=False)
                done = follow_scored(broker.bootstrap, settings, summary.ids, start, 1800, progress=False)
                if done.seen != len(summary.ids) or done.last_published_at is None:
                    raise RuntimeError(f"only {done.seen} of {len(summary.ids)} reviews came back scored")
                return summary.ids, done.last_published_at - began

            send("warmup.jsonl", warmup)
            assert broker.process is not None
            shares = CpuShares(worker.pid, broker.process.pid)
            ids, seconds = send("bench.jsonl", texts)
            cpu = shares.since_start()
        finally:
            worker.send_signal(signal.SIGINT)
            worker.wait(timeout=120)
        stats = subprocess.run([*REVIEWPULSE, "stats", "--json"], env=env, capture_output=True, check=True)
        stored = json.loads(stats.stdout)["by_source"].get("bench.jsonl", 0)
    return len(ids) / seconds, stored, cpu


def bench_pipeline(settings: Settings, reviews: int) -> dict[str, Any]:
    """Figures as a dict: the pipeline's and the scorer's reviews/s and their ratio."""
    texts = synthetic_reviews(reviews)
    warmup = synthetic_reviews(min(reviews, WARMUP_TEXTS), seed=99)  # same length spread, other texts
    with tempfile.TemporaryDirectory(prefix="reviewpulse-bench-") as scratch_name:
        scratch = Path(scratch_name)
        model_dir, model_kind = bench_model_dir(settings, scratch)
        take = settings.batch_size * REVIEW_TAKE_BATCHES
        # the scorer alone before and after the pipeline: on a shared machine the load drifts
        scorer_before, cpu_before = scorer_rate(model_dir, texts, warmup, settings.scorer_threads, take)
        pipeline, stored, cpu = pipeline_rate(settings, scratch, model_dir, texts, warmup)
        scorer_after, cpu_after = scorer_rate(model_dir, texts, warmup, settings.scorer_threads, take)
        plain_batches, _ = scorer_rate(model_dir, texts, warmup, settings.scorer_threads, settings.batch_size)
    scorer = (scorer_before + scorer_after) / 2
    return {
        "reviews": reviews,
        "stored_rows": stored,
        "pipeline_reviews_per_s": round(pipeline, 1),
        "scorer_reviews_per_s": round(scorer, 1),
        "scorer_before_after": [round(scorer_before, 1), round(scorer_after, 1)],
        "ratio": ratio(pipeline, scorer, 3),
        # while the measured import ran: µs of CPU per review, per part (the scorer alone needs all cores)
        "cpu_us_per_review": {part: round(seconds * 1e6 / reviews, 1) for part, seconds in cpu.items()},
        "cores_busy": round(sum(cpu.values()) * pipeline / reviews, 2),
        # the model's own CPU per review alone, to set beside worker_children (the same model in the pipeline)
        "scorer_cpu_us_per_review": round((cpu_before + cpu_after) / 2, 1),
        "scorer_plain_batches_reviews_per_s": round(plain_batches, 1),
        "review_take": take,
        "batch_size": settings.batch_size,
        "batch_window_ms": settings.batch_window_ms,
        "scorer_passes": settings.scorer_passes,
        "scorer_threads": settings.scorer_threads,
        "scorer_process": settings.scorer_process,
        "model": model_kind,
        "median_text_chars": sorted(len(t) for t in texts)[len(texts) // 2],
    }
