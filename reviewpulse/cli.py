"""The ``reviewpulse`` command: each room (package) registers its own subcommands.

Heavy imports (torch, faust, chdb) happen inside the commands, so ``reviewpulse
--help`` and ``reviewpulse config`` answer at once.
"""

from __future__ import annotations

import importlib
import json

import typer

from reviewpulse.logs import setup_logging
from reviewpulse.settings import get_settings

app = typer.Typer(help="Live sentiment for customer reviews.", no_args_is_help=True, add_completion=False)

ROOMS = ("inference", "stream", "web", "producers", "dashboards", "bench")
#: Commands a person watches: service libraries log only warnings (reviewpulse.logs).
QUIET_COMMANDS = {"run"}


@app.callback()
def _configure_logging(ctx: typer.Context) -> None:
    setup_logging(quiet=ctx.invoked_subcommand in QUIET_COMMANDS)


@app.command()
def config() -> None:
    """Print the effective settings (secrets masked)."""
    typer.echo(json.dumps(get_settings().masked(), indent=2))


def _register_rooms() -> None:
    for room in ROOMS:
        try:
            module = importlib.import_module(f"{room}.commands")
        except ModuleNotFoundError as error:
            if error.name != f"{room}.commands":
                raise
            continue
        module.register(app)


_register_rooms()


def main() -> None:
    app()
