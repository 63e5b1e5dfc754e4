"""The ``reviewpulse`` command: every command module of ``reviewpulse/commands/`` adds its subcommands.

Heavy imports (torch, faust, chdb) happen inside the commands, so ``reviewpulse
--help`` and ``reviewpulse config`` answer at once.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from kernel.logs import setup_logging
from kernel.settings import get_settings
from reviewpulse import __version__
from reviewpulse.commands import (
    alerts,
    bench,
    crawl,
    dashboards,
    imports,
    model,
    models,
    retrain,
    storage,
    system,
    web,
)

#: The name usage lines show, also when a command runs as ``python -m reviewpulse`` in a child process.
PROG_NAME = "reviewpulse"
app = typer.Typer(help="Live sentiment for customer reviews.", no_args_is_help=True, add_completion=False)
#: Commands a person watches: service libraries log only warnings (kernel.logs).
QUIET_COMMANDS = {"run"}


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"{PROG_NAME} {__version__}")
        raise typer.Exit()


@app.callback()
def _configure_logging(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="print the version and exit")] = False,
) -> None:
    setup_logging(quiet=ctx.invoked_subcommand in QUIET_COMMANDS)


@app.command()
def config() -> None:
    """Print the effective settings (secrets masked)."""
    typer.echo(json.dumps(get_settings().masked(), indent=2))


for module in (system, model, storage, alerts, models, retrain, web, imports, crawl, dashboards, bench):
    module.register(app)


def main() -> None:
    app(prog_name=PROG_NAME)
