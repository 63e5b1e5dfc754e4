"""``reviewpulse hash-password``: the admin password's hash for ADMIN_PASSWORD_HASH (``web`` is in ``system``)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from reviewpulse.commands.common import Opt, fail


def hash_password_command(
    password: Annotated[str | None, Opt(help="read from a prompt (or stdin when piped) if not given")] = None,
) -> None:
    """Print a pbkdf2_sha256 hash for ADMIN_PASSWORD_HASH."""
    from web.passwords import hash_password

    if password is None:
        if sys.stdin.isatty():
            password = typer.prompt("Admin password", hide_input=True, confirmation_prompt=True)
        else:
            password = sys.stdin.readline().rstrip("\n")
    if not password:
        fail("the password must not be empty")
    typer.echo(hash_password(password))


def register(app: typer.Typer) -> None:
    app.command("hash-password")(hash_password_command)
