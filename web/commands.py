"""``reviewpulse web`` and ``reviewpulse hash-password``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from reviewpulse.logs import uvicorn_logging
from reviewpulse.settings import get_settings

Opt = typer.Option


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(2)


def web_command(
    host: Annotated[str | None, Opt(help="interface to listen on (default: HOST setting)")] = None,
    port: Annotated[int | None, Opt(help="port (default: PORT setting)")] = None,
) -> None:
    """Serve the web app (one replica): needs Kafka and ClickHouse that `reviewpulse run` or you provide."""
    import uvicorn

    from stream.broker import resolve_bootstrap
    from stream.migrations import migrate
    from stream.runtime import is_loopback
    from stream.storage import StorageError, open_storage
    from web.app import create_app
    from web.passwords import PasswordHashError
    from web.server import uvicorn_options

    settings = get_settings()
    host = host or settings.host
    if not settings.ip_hash_salt.get_secret_value() and not is_loopback(host):
        _fail(f"set IP_HASH_SALT (any long random string, the same on every replica) to serve on {host}: "
              "stored IP hashes are keyed with it")
    bootstrap = resolve_bootstrap(settings)
    if not bootstrap:
        _fail("no Kafka broker: set KAFKA_BOOTSTRAP=host:port, or start `reviewpulse run` (run.json is read)")
    settings = settings.model_copy(update={"kafka_bootstrap": bootstrap})
    try:
        storage = open_storage(settings)
        migrate(storage)
        application = create_app(settings, storage)
    except (StorageError, PasswordHashError) as error:
        _fail(str(error))
    try:
        uvicorn.run(
            application, host=host, port=settings.port if port is None else port,
            **uvicorn_logging(), **uvicorn_options(settings),
        )
    finally:
        storage.close()


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
        _fail("the password must not be empty")
    typer.echo(hash_password(password))


def register(app: typer.Typer) -> None:
    app.command("web")(web_command)
    app.command("hash-password")(hash_password_command)
