"""The ``reviewpulse`` command: the composition root and each room (package) register their own subcommands.

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

#: Where commands live: the composition root's own (run, worker, web), then each room's and the benchmarks'.
COMMAND_MODULES = ("reviewpulse.commands", "inference.commands", "stream.commands", "web.commands",
                   "producers.commands", "dashboards.commands", "bench.commands")
#: Commands a person watches: service libraries log only warnings (reviewpulse.logs).
QUIET_COMMANDS = {"run", "drafts-worker"}


@app.callback()
def _configure_logging(ctx: typer.Context) -> None:
    setup_logging(quiet=ctx.invoked_subcommand in QUIET_COMMANDS)


@app.command()
def config() -> None:
    """Print the effective settings (secrets masked)."""
    typer.echo(json.dumps(get_settings().masked(), indent=2))


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register_commands()


def main() -> None:
    app()
