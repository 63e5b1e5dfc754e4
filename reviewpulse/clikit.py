"""What every room's ``commands.py`` shares: the error exit, common options, which system a command talks to.

A kernel module: it imports nothing from the rooms, so any room's commands may use it.
Every room registers its commands with ``register(app)``; ``reviewpulse.cli`` calls it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from reviewpulse.settings import Settings, get_settings

Opt = typer.Option
#: ``--json``: print one JSON object instead of lines for people.
JsonFlag = Annotated[bool, Opt("--json", help="print one JSON object")]
#: ``--data-dir``: where the broker log, chDB data and run.json live.
DataDir = Annotated[Path | None, Opt("--data-dir", help="broker log, chDB data, run.json (default: DATA_DIR, ./var)")]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` in red on stderr and exit (2: the user must change something)."""
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(code)


def quiet_kafka_clients(settings: Settings) -> None:
    """kafka-python and aiokafka log every connection at INFO; a command's own summary is what users need."""
    if settings.log_level.upper() != "DEBUG":
        for name in ("kafka", "aiokafka"):
            logging.getLogger(name).setLevel(logging.WARNING)


def command_settings(data_dir: Path | None = None) -> Settings:
    """The settings with ``--data-dir`` applied, Kafka client chatter quiet below LOG_LEVEL=DEBUG."""
    settings = get_settings()
    quiet_kafka_clients(settings)
    return settings.model_copy(update={"data_dir": data_dir}) if data_dir else settings
