"""``reviewpulse bench scorer | pipeline | memory | crawl | dashboards | typing | train | explain``: every benchmark's command.

Figures are ratios against a baseline measured in the same run; each benchmark module
returns a dict and :mod:`reviewpulse.bench.report` prints it. Heavy imports happen inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kernel.settings import get_settings
from reviewpulse.commands.common import (
    JsonFlag,
    Opt,
    command_settings,
    fail,
    quiet_kafka_clients,
    require_bootstrap,
    require_web_url,
)

bench_app = typer.Typer(help="Benchmarks: figures as ratios against a baseline measured in the same run.")


@bench_app.command("scorer")
def scorer_command(
    model: Annotated[Path | None, Opt(help="model directory (default: MODEL_DIR)")] = None,
    data: Annotated[Path | None, Opt(help="CSV of your texts, e.g. the training CSV (default: generated texts)")] = None,
    text_column: Annotated[str, Opt(help="column of --data holding the text")] = "text",
    sample: Annotated[int, Opt(min=1, help="texts drawn (seeded) from --data")] = 3000,
    subset: Annotated[int, Opt(min=1, help="texts of the sample the slow paths (per-request, bf16) score")] = 300,
    repeats: Annotated[int, Opt(min=1, help="passes per configuration; the median is reported")] = 3,
    seed: int = 7,
    threads: Annotated[int, Opt(min=0, help="torch threads (0 = torch's default, all cores)")] = 0,
    against: Annotated[Path | None, Opt(help="another model timed in the same rounds (a candidate vs today's)")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Reviews/s of score(texts) on real-length texts, fp32 and bf16, vs the per-request path, same run."""
    from reviewpulse.bench.report import emit
    from reviewpulse.bench.scorer import format_table, run_scorer_bench
    from reviewpulse.bench.texts import BenchDataError

    try:
        result = run_scorer_bench(model or command_settings().model_dir, data, text_column, sample, subset, repeats,
                                  seed, threads, progress=not as_json, against=against)
    except BenchDataError as error:
        fail(str(error))
    emit(result, as_json, format_table)


@bench_app.command("train")
def train_command(
    data: Annotated[Path, Opt(help="labelled CSV to train on (e.g. ../shared/data/reviews_train.csv)")],
    rows: Annotated[int, Opt(min=10, help="rows read from --data (seeded draws from them)")] = 3000,
    steps: Annotated[int, Opt(min=1, help="training steps timed per repeat")] = 20,
    repeats: Annotated[int, Opt(min=1, help="timed repeats per configuration, alternated; the median is reported")] = 3,
    batch_size: Annotated[int, Opt(min=1, help="rows per step (the recipe: 128)")] = 128,
    word_buckets: Annotated[int, Opt(min=0, help="word branch buckets (the recipe: 262,144; 0 = the paper's char-CNN)")] = 262_144,
    threads: Annotated[int, Opt(min=0, help="torch threads (0 = torch's default, all cores)")] = 0,
    seed: int = 7,
    as_json: JsonFlag = False,
) -> None:
    """Training rows/s of the shipped recipe (autocast as it trains, and fp32), FLOPs per row, share of the CPU's peak."""
    from inference.training.data import DataError
    from reviewpulse.bench.report import emit
    from reviewpulse.bench.train import format_table, run_train_bench

    try:
        result = run_train_bench(data, rows, steps, repeats, seed, threads,
                                 {"batch_size": batch_size, "word_buckets": word_buckets}, progress=not as_json)
    except DataError as error:
        fail(str(error))
    emit(result, as_json, format_table)


@bench_app.command("pipeline")
def pipeline_command(
    reviews: Annotated[int, Opt(help="reviews to push through the pipeline")] = 5000,
    as_json: JsonFlag = False,
) -> None:
    """End-to-end reviews/s (import -> rows in ClickHouse, embedded stack) vs the scorer alone."""
    from reviewpulse.bench.pipeline import bench_pipeline
    from reviewpulse.bench.report import emit

    emit(bench_pipeline(command_settings(), reviews), as_json)


@bench_app.command("memory")
def memory_command(
    reviews: Annotated[int, Opt(min=1, help="reviews bulk-imported while memory is sampled")] = 20_000,
    imports: Annotated[int, Opt(min=1, help="imports in a row (growth from one idle to the next is kept memory)")] = 3,
    as_json: JsonFlag = False,
) -> None:
    """PSS of `reviewpulse run` (run, scoring process, broker) at idle, during bulk imports and after each."""
    from reviewpulse.bench.memory import bench_memory
    from reviewpulse.bench.report import emit

    emit(bench_memory(reviews, imports), as_json)


@bench_app.command("crawl")
def crawl_command(as_json: JsonFlag = False) -> None:
    """Crawl speed (items/s, pages/s) on the local site, politeness off, and Kafka publish throughput."""
    from reviewpulse.bench.crawl import run_bench
    from reviewpulse.bench.report import emit

    quiet_kafka_clients(get_settings())
    emit(run_bench(), as_json)


@bench_app.command("dashboards")
def dashboards_command(
    reviews: Annotated[int, Opt(help="scored reviews loaded over one day")] = 100_000,
    repeats: Annotated[int, Opt(help="timings per query; the median is reported")] = 5,
) -> None:
    """Panel query times on a day of reviews, disk per review, per-minute view vs raw table (JSON)."""
    from reviewpulse.bench.dashboards import run_bench
    from reviewpulse.bench.report import emit
    from reviewpulse.bench.texts import BenchDataError

    try:
        figures = run_bench(command_settings(), reviews, repeats)
    except BenchDataError as error:
        fail(str(error))
    emit(figures, as_json=True, indent=2)


@bench_app.command("typing")
def typing_command(
    url: Annotated[str | None, Opt(help="web base URL (default: the running `reviewpulse run`)")] = None,
    sessions: Annotated[int, Opt(min=1, help="concurrent websocket sessions")] = 20,
    rate: Annotated[float, Opt(min=0.1, help="drafts per second per session")] = 4.0,
    duration: Annotated[float, Opt(min=1.0, help="seconds of typing")] = 30.0,
    during_import: Annotated[int, Opt(min=0, help="import this many generated reviews first and type while "
                                              "the worker scores them (0 = no import)")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Draft -> score latency through Kafka and the worker, as people typing would see it."""
    import asyncio

    from reviewpulse.bench.report import emit
    from reviewpulse.bench.typing_latency import format_summary, run_typing_bench, typing_during_import

    settings = command_settings()
    base_url = require_web_url(settings, url)
    if during_import:
        bootstrap = require_bootstrap(settings)
        result = asyncio.run(typing_during_import(base_url, bootstrap, settings, during_import, sessions, rate,
                                                  duration))
    else:
        result = asyncio.run(run_typing_bench(base_url, sessions, rate, duration))
    emit(result, as_json, format_summary)


@bench_app.command("explain")
def explain_command(
    data: Annotated[Path, Opt(help="labelled CSV (text, rating, source), e.g. ../shared/data/reviews_train.csv")],
    model: Annotated[Path | None, Opt(help="model directory (default: MODEL_DIR)")] = None,
    reviews: Annotated[int, Opt(min=10, help="mixed reviews built (and at most as many real 3-star ones)")] = 160,
    rows: Annotated[int, Opt(min=100, help="rows of --data sampled (seeded) for the sentence pools")] = 20_000,
    seed: int = 7,
    threads: Annotated[int, Opt(min=0, help="torch threads (0 = torch's default, all cores)")] = 1,
    as_json: JsonFlag = False,
) -> None:
    """Which sentence-effect method highlights the sentence a person would pick, and each one's cost per review."""
    from reviewpulse.bench.explanations import format_table, run_explain_bench
    from reviewpulse.bench.report import emit

    settings = command_settings()
    if not data.is_file():
        fail(f"no CSV at {data}: pass --data with text, rating and source columns")
    result = run_explain_bench(model or settings.model_dir, data, reviews, seed, threads,
                               settings.explain_max_sentences or 20, rows)
    emit(result, as_json, format_table)


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
