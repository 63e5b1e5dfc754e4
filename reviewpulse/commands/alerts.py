"""``reviewpulse alerts``: the alert rules that fire now, one line per firing subject.

The rules and their SQL are ``stream.storage.alerts``, the same Grafana's provisioned rules
run. While ``reviewpulse run`` holds the embedded ClickHouse the running web server evaluates
them (``GET /api/alerts`` with run.json's token); otherwise this process opens the storage.

Exit status: 0 when no rule fires, 1 when at least one does (so cron or a script can act on
it), 2 when the rules could not be checked (the running system refused or did not answer,
the storage could not be opened).
"""

from __future__ import annotations

import json
from typing import Any

import typer

from kernel.settings import Settings
from reviewpulse.commands.common import DataDir, JsonFlag, command_settings, fail

NONE_FIRES = "no alert fires"


def read_alerts(settings: Settings) -> tuple[list[dict[str, Any]], str]:
    """(firing subjects as dicts, where they were evaluated): the running system's, else ClickHouse's."""
    from reviewpulse.system_client import alerts_from_web, open_local_storage
    from stream.storage.alerts import evaluate

    firing = alerts_from_web(settings)
    if firing is not None:
        return firing, "the running system (GET /api/alerts)"
    storage = open_local_storage(settings)
    try:
        return [found.to_dict() for found in evaluate(storage, settings)], "ClickHouse"
    finally:
        storage.close()


def alerts_command(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Print the alert rules that fire now, one line each (exit 0: none fires, 1: some fire, 2: could not check)."""
    from stream.storage.alerts import RULES

    try:
        firing, source = read_alerts(command_settings(data_dir))
    except RuntimeError as error:  # SetupError, StorageError, RegistryUnavailable: each says what to do
        fail(str(error))
    if as_json:
        typer.echo(json.dumps({"firing": firing, "source": source}))
    elif firing:
        for found in firing:
            typer.echo(found["message"])
    else:
        typer.echo(f"{NONE_FIRES} ({len(RULES)} rules checked on {source})")
    raise typer.Exit(1 if firing else 0)


def register(app: typer.Typer) -> None:
    app.command("alerts")(alerts_command)
