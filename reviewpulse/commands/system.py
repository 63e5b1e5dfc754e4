"""``reviewpulse run``, ``worker`` and ``web``: build the parts and start them.

Heavy imports (faust, uvicorn, chdb, torch) happen inside the commands.
"""

from __future__ import annotations

from typing import Annotated

import typer

from kernel.runfile import SetupError
from kernel.settings import get_settings
from reviewpulse.commands.common import DataDir, Opt, command_settings, fail, require_bootstrap


def run_command(
    data_dir: DataDir = None,
    host: Annotated[str | None, Opt(help="web interface (default: HOST setting)")] = None,
    port: Annotated[int | None, Opt(help="web port; 0 = any free port (default: PORT setting)")] = None,
) -> None:
    """Run everything in one process: broker, migrations, worker and web server. Ctrl-C stops it."""
    from reviewpulse.broker import BrokerError
    from reviewpulse.runtime import run_system
    from stream.storage.clickhouse import StorageError

    settings = command_settings(data_dir)
    try:
        run_system(settings, host or settings.host, settings.port if port is None else port)
    except (SetupError, StorageError, BrokerError, OSError) as error:
        fail(str(error))


def worker_command(data_dir: DataDir = None) -> None:
    """Run a Faust worker only (scale-out): needs KAFKA_BOOTSTRAP or a running `reviewpulse run`."""
    from reviewpulse.runtime import run_worker
    from stream.storage.clickhouse import StorageError

    settings = command_settings(data_dir)
    bootstrap = require_bootstrap(settings)
    try:
        run_worker(settings, bootstrap)
    except (SetupError, StorageError) as error:
        fail(str(error))


def web_command(
    host: Annotated[str | None, Opt(help="interface to listen on (default: HOST setting)")] = None,
    port: Annotated[int | None, Opt(help="port (default: PORT setting)")] = None,
) -> None:
    """Serve the web app (one replica): needs Kafka and ClickHouse that `reviewpulse run` or you provide."""
    import uvicorn

    from kernel.logs import uvicorn_logging
    from reviewpulse.heap import freeze_startup_objects
    from reviewpulse.webserve import is_loopback, web_app
    from stream.storage.clickhouse import StorageError, open_storage
    from stream.storage.migrations import migrate
    from web.passwords import PasswordHashError
    from web.server import uvicorn_options

    settings = get_settings()
    host = host or settings.host
    if not settings.ip_hash_salt.get_secret_value() and not is_loopback(host):
        fail(f"set IP_HASH_SALT (any long random string, the same on every replica) to serve on {host}: "
             "stored IP hashes are keyed with it")
    settings = settings.model_copy(update={"kafka_bootstrap": require_bootstrap(settings)})
    try:
        storage = open_storage(settings)
        migrate(storage)
        application = web_app(settings, storage)
    except (StorageError, PasswordHashError) as error:
        fail(str(error))
    freeze_startup_objects()
    try:
        uvicorn.run(
            application, host=host, port=settings.port if port is None else port,
            **uvicorn_logging(), **uvicorn_options(settings),
        )
    finally:
        storage.close()


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
    app.command("worker")(worker_command)
    app.command("web")(web_command)
