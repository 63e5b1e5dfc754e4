"""``reviewpulse migrate``, ``stats``, ``models …``, and ``retrain``: the stream room's commands."""

from __future__ import annotations

import json

import typer

from reviewpulse.clikit import DataDir, JsonFlag, command_settings, fail


def migrate_command(data_dir: DataDir = None) -> None:
    """Create or upgrade the ClickHouse tables (idempotent)."""
    from reviewpulse.runfile import SetupError, check_data_dir_free
    from stream.migrations import migrate
    from stream.storage import StorageError, open_storage

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


def stats_command(
    data_dir: DataDir = None, as_json: JsonFlag = False
) -> None:
    """Counts per source and label, scored in the last minute, dead letters."""
    from stream.stats_source import read_stats

    try:
        figures = read_stats(command_settings(data_dir))
    except RuntimeError as error:
        fail(str(error))
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
    from stream import models_commands, retrain_commands

    app.command("migrate")(migrate_command)
    app.command("stats")(stats_command)
    models_commands.register(app)
    retrain_commands.register(app)
