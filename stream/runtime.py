"""Process wiring for ``reviewpulse worker`` and ``reviewpulse run``.

``run`` holds everything in ONE process (chDB allows one process per data directory):
the broker child (unless KAFKA_BOOTSTRAP), migrations, the Faust worker and the web server,
all on one event loop under a Faust/mode ``Worker``, which turns SIGINT/SIGTERM into a clean
stop: the batch in hand is finished and stored, then the broker child is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import secrets
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from reviewpulse.logs import ensure_logging, uvicorn_logging
from reviewpulse.settings import Settings
from stream.broker import EmbeddedBroker, read_run_file
from stream.migrations import migrate
from stream.storage import Storage, open_storage
from stream.topics import ensure_topics
from stream.worker import ReviewWorker

log = logging.getLogger(__name__)

#: Seconds a signalled stop may take (finishing the batch in hand) before the process exits anyway.
STOP_GRACE_S = 30.0
#: Seconds a signal received during start-up waits for the worker to finish starting.
READY_WAIT_S = 15.0


class SetupError(RuntimeError):
    """The system cannot start as configured; the message says what to change."""


def load_scorer(settings: Settings) -> Any:
    from inference.artefact import ArtefactError
    from inference.scorer import Scorer

    try:
        return Scorer.load(settings.model_dir, device="cpu", threads=settings.scorer_threads)
    except ArtefactError as error:
        raise SetupError(f"{error}; set MODEL_DIR to a trained model (reviewpulse train ...)") from error


def load_active_scorer(settings: Settings, storage: Storage) -> Any:
    """The registry's active model (a promote survives restarts); MODEL_DIR if that cannot load."""
    from inference.scorer import Scorer
    from stream.registry import Registry

    try:
        record = Registry(storage, settings).active()
    except Exception as error:  # noqa: BLE001 - MODEL_DIR itself is checked below
        log.error("cannot read the model registry (%s); scoring with MODEL_DIR", error)
        return load_scorer(settings)
    if Path(record.path).resolve() == Path(settings.model_dir).resolve():
        return load_scorer(settings)
    try:
        scorer = Scorer.load(record.path, device="cpu", threads=settings.scorer_threads)
    except Exception as error:  # noqa: BLE001 - ArtefactError or worse: the shipped model still works
        log.error("active model %s (%s) cannot be loaded (%s); scoring with MODEL_DIR %s instead",
                  record.version, record.path, error, settings.model_dir)
        return load_scorer(settings)
    log.info("scoring with the registry's active model %s (%s)", record.version, record.path)
    return scorer


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by this user only (run.json holds the registry token)."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def running_pid(settings: Settings) -> int | None:
    """The pid in run.json when that process is alive (a stale file from a crash is ignored)."""
    info = read_run_file(settings) or {}
    pid = info.get("pid")
    if not isinstance(pid, int):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def check_data_dir_free(settings: Settings) -> None:
    pid = running_pid(settings)
    if settings.embedded_clickhouse and pid is not None and pid != os.getpid():
        raise SetupError(
            f"`reviewpulse run` (pid {pid}) holds the embedded ClickHouse in {settings.data_dir}; "
            "stop it, use another --data-dir, or set CLICKHOUSE_URL to a ClickHouse server"
        )


def is_loopback(host: str) -> bool:
    """True for 127.0.0.1, ::1, localhost: addresses only this machine can reach."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
        except OSError:
            return False


def web_app(settings: Settings, storage: Storage) -> Any:
    """The web room's app; ``run`` is the one place that composes worker and web."""
    from web.app import create_app

    return create_app(settings, storage)


def listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def web_service(asgi_app: Any, sock: socket.socket, settings: Settings) -> Any:
    """A mode Service running uvicorn on ``sock``; removes run.json when it stops serving."""
    import uvicorn
    from mode import Service

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # the Faust worker owns the signals
            yield

    class WebServer(Service):
        async def on_start(self) -> None:
            from web.server import uvicorn_options

            config = uvicorn.Config(asgi_app, lifespan="on", **uvicorn_logging(), **uvicorn_options(settings))
            self.server = _Server(config)
            self.task = asyncio.ensure_future(self.server.serve(sockets=[sock]))
            while not self.server.started:
                if self.task.done():
                    self.task.result()
                    raise SetupError("the web server stopped during start-up; see the log above")
                await asyncio.sleep(0.05)

        async def on_stop(self) -> None:
            settings.run_file.unlink(missing_ok=True)
            self.server.should_exit = True
            await self.task

    return WebServer()


def run_faust(
    app: Any, *services: Any, log_level: str, on_ready: Callable[[], None] = lambda: None,
    on_force_exit: Callable[[], None] = lambda: None,
) -> None:
    """Run the Faust app (plus services) until SIGINT/SIGTERM; returns after a clean stop.

    ``on_ready`` runs once the worker consumes. A signal that arrives before that waits
    (up to READY_WAIT_S) for start-up to finish: aiokafka's consumer thread hangs when
    stopped in the middle of its start. A stop not finished STOP_GRACE_S after the
    signal calls ``on_force_exit`` and ends the process.
    """
    from faust.worker import Worker

    def force_exit() -> None:
        log.error("clean stop took longer than %ss: exiting now", STOP_GRACE_S)
        on_force_exit()
        os._exit(1)

    class _Worker(Worker):  # type: ignore[misc]
        ready = False
        stop_requested = False

        def _setup_logging(self) -> None:  # keep the one log format, not mode's handlers
            ensure_logging()

        async def on_startup_finished(self) -> None:
            await super().on_startup_finished()
            self.ready = True
            on_ready()

        def _schedule_shutdown(self, signal: Any) -> None:
            if self.stop_requested:
                return
            self.stop_requested = True
            watchdog = threading.Timer(STOP_GRACE_S, force_exit)
            watchdog.daemon = True
            watchdog.start()
            self.add_future(self._shutdown_when_started(signal))

        async def _shutdown_when_started(self, signal: Any) -> None:
            deadline = self.loop.time() + READY_WAIT_S
            while not self.ready and self.loop.time() < deadline:
                await asyncio.sleep(0.05)
            super()._schedule_shutdown(signal)

    worker = _Worker(app, *services, loglevel=log_level, quiet=True, redirect_stdouts=False)
    if not sys.stdout.isatty():
        worker.spinner = None  # its cursor escapes would litter log files
    with contextlib.suppress(SystemExit):
        worker.execute_from_commandline()


def run_worker(settings: Settings, bootstrap: str) -> None:
    """``reviewpulse worker``: score from ``bootstrap`` into the configured ClickHouse."""
    check_data_dir_free(settings)
    ensure_topics(bootstrap, settings)
    storage = open_storage(settings)
    try:
        migrate(storage)
        worker = ReviewWorker(settings, bootstrap, storage, load_active_scorer(settings, storage))
        run_faust(worker.app, log_level=settings.log_level)
    finally:
        storage.close()


def run_system(settings: Settings, host: str, port: int) -> None:
    """``reviewpulse run``: broker (embedded unless KAFKA_BOOTSTRAP), migrations, worker, web server."""
    check_data_dir_free(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    broker = EmbeddedBroker(settings.data_dir) if settings.embedded_broker else None
    storage = None
    try:
        bootstrap = broker.start() if broker else settings.kafka_bootstrap
        ensure_topics(bootstrap, settings)
        settings = settings.model_copy(update={"kafka_bootstrap": bootstrap})
        if settings.secure_cookies and is_loopback(host):
            # Plain HTTP on this machine only: browsers would drop Secure cookies, so no admin login.
            settings = settings.model_copy(update={"secure_cookies": False})
        token = settings.registry_token.get_secret_value() or secrets.token_urlsafe(32)
        settings = settings.model_copy(update={"registry_token": SecretStr(token)})
        storage = open_storage(settings)
        migrate(storage)
        worker = ReviewWorker(settings, bootstrap, storage, load_active_scorer(settings, storage))
        sock = listening_socket(host, port)
        web_host = f"[{host}]" if ":" in host else host
        run_info = {
            "broker": bootstrap, "web": f"http://{web_host}:{sock.getsockname()[1]}", "pid": os.getpid(),
            "data_dir": str(Path(settings.data_dir).resolve()), "registry_token": token,
        }
        def force_exit() -> None:
            settings.run_file.unlink(missing_ok=True)
            if broker is not None:
                broker.stop()

        def ready() -> None:
            write_private(settings.run_file, json.dumps(run_info))
            print(f"ReviewPulse is running: open {run_info['web']}  (Ctrl-C stops)", flush=True)

        run_faust(worker.app, web_service(web_app(settings, storage), sock, settings),
                  log_level=settings.log_level, on_ready=ready, on_force_exit=force_exit)
    finally:
        settings.run_file.unlink(missing_ok=True)
        if storage is not None:
            storage.close()
        if broker is not None:
            broker.stop()
