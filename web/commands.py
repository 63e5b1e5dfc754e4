"""``reviewpulse web``, ``reviewpulse hash-password`` and ``reviewpulse bench typing``."""

from __future__ import annotations

import json
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


def bench_typing_command(
    url: Annotated[str | None, Opt(help="web base URL (default: the running `reviewpulse run`)")] = None,
    sessions: Annotated[int, Opt(min=1, help="concurrent websocket sessions")] = 20,
    rate: Annotated[float, Opt(min=0.1, help="drafts per second per session")] = 4.0,
    duration: Annotated[float, Opt(min=1.0, help="seconds of typing")] = 30.0,
    as_json: Annotated[bool, Opt("--json", help="print one JSON object")] = False,
) -> None:
    """Draft -> score latency through Kafka and the worker, as people typing would see it."""
    import asyncio

    from stream.broker import read_run_file
    from web.bench import TARGET_P99_MS, run_typing_bench

    if url is None:
        running = read_run_file(get_settings()) or {}
        url = str(running.get("web") or "")
        if not url:
            _fail("no running system: start `reviewpulse run` first, or pass --url http://host:port")
    result = asyncio.run(run_typing_bench(url, sessions, rate, duration))
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(
        f"{result['sessions']} sessions x {result['drafts_per_s']:g} drafts/s x {result['duration_s']:g} s "
        f"against {result['url']}\n"
        f"drafts sent {result['drafts_sent']}, scores received {result['scores_received']}, "
        f"superseded {result['superseded']}, errors {result['errors']}\n"
        f"draft -> score  p50 {result['p50_ms']} ms  p95 {result['p95_ms']} ms  p99 {result['p99_ms']} ms  "
        f"(target p99 <= {TARGET_P99_MS} ms)\n"
        f"websocket ping baseline p50 {result['ping_p50_ms']} ms"
    )


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.command("web")(web_command)
    app.command("hash-password")(hash_password_command)
    bench.command("typing")(bench_typing_command)
