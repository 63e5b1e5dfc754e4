"""``reviewpulse migrate`` and ``stats``: the ClickHouse tables and what they hold."""

from __future__ import annotations

import json
from typing import Any

import typer

from kernel.settings import Settings
from reviewpulse.commands.common import DataDir, JsonFlag, command_settings, fail


def migrate_command(data_dir: DataDir = None) -> None:
    """Create or upgrade the ClickHouse tables (idempotent)."""
    from kernel.runfile import SetupError, check_data_dir_free
    from stream.storage.clickhouse import StorageError, open_storage
    from stream.storage.migrations import migrate

    settings = command_settings(data_dir)
    try:
        check_data_dir_free(settings)
        storage = open_storage(settings)
    except (SetupError, StorageError) as error:
        fail(str(error))
    try:
        applied = migrate(storage)
    finally:
        storage.close()
    typer.echo(f"applied migrations {applied}" if applied else "schema is up to date")


def read_stats(settings: Settings) -> dict[str, Any]:
    """The running system's figures if there is one, else straight from ClickHouse."""
    from reviewpulse.system_client import open_local_storage, stats_from_web
    from stream.storage.dead_letters import dead_letter_reasons
    from stream.storage.queries import stats

    figures = stats_from_web(settings)
    if figures is not None:
        return figures
    storage = open_local_storage(settings)
    try:
        return {**stats(storage), "dead_letter_reasons": dead_letter_reasons(storage)}
    finally:
        storage.close()


def stats_command(
    data_dir: DataDir = None, as_json: JsonFlag = False
) -> None:
    """Counts per source, label and language, scored in the last minute, dead letters and their reasons."""
    try:
        figures = read_stats(command_settings(data_dir))
    except RuntimeError as error:
        fail(str(error))
    if as_json:
        typer.echo(json.dumps(figures))
        return
    typer.echo(f"reviews: {figures['reviews']}   scored in the last minute: {figures['scored_last_minute']}   "
               f"dead letters: {figures['dead_letters']}   brands: {figures.get('brands', 0)}")
    for title in ("by_source", "by_label", "by_language"):
        typer.echo(title.replace("_", " ") + ":")
        for name, count in figures.get(title, {}).items():
            typer.echo(f"  {name or ('(not scored)' if title == 'by_label' else '(none)')}: {count}")
    if figures.get("dead_letter_reasons"):
        typer.echo("dead letters by reason (newest first; numbers as N; all of them: /admin/dead-letters):")
        for group in figures["dead_letter_reasons"]:
            typer.echo(f"  {group['count']:>6} x {group['reason'][:160]}   (latest {group['latest'][:19]})")


def register(app: typer.Typer) -> None:
    app.command("migrate")(migrate_command)
    app.command("stats")(stats_command)
