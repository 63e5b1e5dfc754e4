"""``reviewpulse run``, ``worker``, ``migrate``, ``import``, ``stats``, ``models`` and ``retrain``."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from reviewpulse.settings import Settings, get_settings

Opt = typer.Option
DataDir = Annotated[Path | None, Opt("--data-dir", help="broker log, chDB data, run.json (default: DATA_DIR, ./var)")]


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(2)


def _settings(data_dir: Path | None) -> Settings:
    """The settings with ``--data-dir`` applied; Kafka client chatter only at LOG_LEVEL=DEBUG."""
    settings = get_settings()
    if settings.log_level.upper() != "DEBUG":
        for name in ("kafka", "aiokafka"):
            logging.getLogger(name).setLevel(logging.WARNING)
    return settings.model_copy(update={"data_dir": data_dir}) if data_dir else settings


def run_command(
    data_dir: DataDir = None,
    host: Annotated[str | None, Opt(help="web interface (default: HOST setting)")] = None,
    port: Annotated[int | None, Opt(help="web port; 0 = any free port (default: PORT setting)")] = None,
) -> None:
    """Run everything in one process: broker, migrations, worker and web server. Ctrl-C stops it."""
    from stream.broker import BrokerError
    from stream.runtime import SetupError, run_system
    from stream.storage import StorageError

    settings = _settings(data_dir)
    try:
        run_system(settings, host or settings.host, settings.port if port is None else port)
    except (SetupError, StorageError, BrokerError, OSError) as error:
        _fail(str(error))


def worker_command(data_dir: DataDir = None) -> None:
    """Run a Faust worker only (scale-out): needs KAFKA_BOOTSTRAP or a running `reviewpulse run`."""
    from stream.broker import resolve_bootstrap
    from stream.runtime import SetupError, run_worker
    from stream.storage import StorageError

    settings = _settings(data_dir)
    bootstrap = resolve_bootstrap(settings)
    if not bootstrap:
        _fail("no Kafka broker: set KAFKA_BOOTSTRAP=host:port, or start `reviewpulse run` (run.json is read)")
    try:
        run_worker(settings, bootstrap)
    except (SetupError, StorageError) as error:
        _fail(str(error))


def migrate_command(data_dir: DataDir = None) -> None:
    """Create or upgrade the ClickHouse tables (idempotent)."""
    from stream.migrations import migrate
    from stream.runtime import SetupError, check_data_dir_free
    from stream.storage import StorageError, open_storage

    settings = _settings(data_dir)
    try:
        check_data_dir_free(settings)
        storage = open_storage(settings)
    except (SetupError, StorageError) as error:
        _fail(str(error))
    try:
        applied = migrate(storage)
    finally:
        storage.close()
    typer.echo(f"applied migrations {applied}" if applied else "schema is up to date")


def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a .csv or .jsonl file")],
    text_column: Annotated[str, Opt(help="column (key) holding the review text")] = "text",
    rating_column: Annotated[str, Opt(help="column with 1-5 stars; ignored when absent")] = "rating",
    brand_column: Annotated[str, Opt(help="column with the brand; ignored when absent")] = "brand",
    source: Annotated[str, Opt(help="source name stored with each review (part of its id)")] = "import",
    wait: Annotated[bool, Opt(help="block until every review is scored and stored")] = False,
    wait_timeout: Annotated[float, Opt(help="seconds --wait gives up after")] = 600.0,
    as_json: Annotated[bool, Opt("--json", help="print the summary as JSON")] = False,
    progress: Annotated[bool, Opt(help="show progress bars on stderr")] = True,
    data_dir: DataDir = None,
) -> None:
    """Publish reviews from a CSV/JSONL file to reviews.raw (stable ids: re-importing never duplicates)."""
    from stream.broker import resolve_bootstrap
    from stream.importer import ImportFileError, ImportOptions, import_file, scored_end_offsets, wait_for_scored

    settings = _settings(data_dir)
    bootstrap = resolve_bootstrap(settings)
    if not bootstrap:
        _fail(f"no Kafka broker: start `reviewpulse run --data-dir {settings.data_dir}` or set KAFKA_BOOTSTRAP")
    options = ImportOptions(text_column, rating_column, brand_column, source)
    start = scored_end_offsets(bootstrap, settings) if wait else {}
    try:
        summary = import_file(file, bootstrap, settings, options, progress=progress)
    except ImportFileError as error:
        _fail(str(error))
    result: dict[str, Any] = summary.as_dict()
    if wait:
        result["stored"] = wait_for_scored(bootstrap, settings, summary.ids, start, wait_timeout, progress)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        reasons = "".join(f"\n  {n} x {reason}" for reason, n in summary.rejected.most_common())
        reasons += "".join(f"\n  line {line}: {reason}" for line, reason in summary.rejected_lines[:10])
        typer.echo(f"sent {result['sent']} rows, rejected {result['rejected']}{reasons}\n"
                   f"{result['rows_per_s']} rows/s over {result['seconds']} s")
        if wait:
            typer.echo(f"scored and stored: {result['stored']} of {len(summary.ids)}")
    if summary.failed or (wait and result["stored"] < len(summary.ids)):
        raise typer.Exit(1)


def stats_command(
    data_dir: DataDir = None, as_json: Annotated[bool, Opt("--json", help="print JSON")] = False
) -> None:
    """Counts per source and label, scored in the last minute, dead letters."""
    from stream.stats_source import read_stats

    try:
        figures = read_stats(_settings(data_dir))
    except RuntimeError as error:
        _fail(str(error))
    if as_json:
        typer.echo(json.dumps(figures))
        return
    typer.echo(f"reviews: {figures['reviews']}   scored in the last minute: {figures['scored_last_minute']}   "
               f"dead letters: {figures['dead_letters']}   brands: {figures.get('brands', 0)}")
    for title in ("by_source", "by_label"):
        typer.echo(title.replace("_", " ") + ":")
        for name, count in figures[title].items():
            typer.echo(f"  {name or '(none)'}: {count}")


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
    app.command("worker")(worker_command)
    app.command("migrate")(migrate_command)
    app.command("import")(import_command)
    app.command("stats")(stats_command)
    from stream import models_commands

    models_commands.register(app)
    from stream import retrain_commands

    retrain_commands.register(app)
