"""The composition root's processes: ``reviewpulse worker`` and ``reviewpulse run``.

``run`` holds the database in ONE process (chDB allows one process per data directory):
the broker child (unless KAFKA_BOOTSTRAP), migrations, the Faust worker with the drafts'
own consumer, and the web server, all on one event loop under a Faust/mode ``Worker``,
which turns SIGINT/SIGTERM into a clean stop: the batch in hand is finished and stored,
then the children are stopped. The model lives in one child, the scoring process
(``inference.process_scorer``), for reviews and drafts alike: ``run`` itself imports no torch.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from inference.loading import load_cpu_scorer
from inference.protocol import Scorer
from kernel.logs import ensure_logging
from kernel.memory import QuietTrim
from kernel.periodic import every
from kernel.runfile import SetupError, check_data_dir_free, write_private
from kernel.settings import Settings
from kernel.topics import ensure_topics
from reviewpulse.broker import EmbeddedBroker
from reviewpulse.heap import freeze_startup_objects
from reviewpulse.webserve import WebServer, is_loopback, listening_socket, web_app
from stream.storage.clickhouse import Storage, open_storage
from stream.storage.migrations import migrate
from stream.worker.app import ReviewWorker
from stream.worker.faust_patches import SignalSafeWorker

log = logging.getLogger(__name__)

#: Seconds a signalled stop may take (finishing the batch in hand) before the process exits anyway.
STOP_GRACE_S = 30.0
#: Seconds between two looks at whether the worker went quiet (then freed memory is handed back).
QUIET_CHECK_S = 5.0
#: Seconds a signal received during start-up waits for the worker to finish starting.
READY_WAIT_S = 15.0


def retraining_line(settings: Settings) -> str:
    """What ``reviewpulse run`` says at start about automatic retraining, and how to change it."""
    from stream.learning.automatic import OFF_HINT, every_rows

    every = every_rows(settings, single_machine=True)
    if not every:
        return "Automatic retraining is off (RETRAIN_EVERY_ROWS=0); `reviewpulse retrain` trains by hand."
    promote = "promoted only if it passes the gates" if settings.auto_promote else "registered, not promoted"
    return (f"Automatic retraining: after every {every} new rated reviews a candidate is trained and {promote}; "
            f"{OFF_HINT}.")


def load_scorer(settings: Settings) -> Scorer:
    """MODEL_DIR's model, as ``inference.loading.load_cpu_scorer`` loads it."""
    from inference.artefact import ArtefactError

    try:
        return load_cpu_scorer(settings.model_dir, settings)
    except ArtefactError as error:
        raise SetupError(f"{error}; set MODEL_DIR to a trained model (reviewpulse train ...)") from error


def load_active_scorer(settings: Settings, storage: Storage) -> tuple[Scorer, Path]:
    """The registry's active model (a promote survives restarts) and its directory; MODEL_DIR if that cannot load."""
    from stream.registry.store import Registry

    shipped = Path(settings.model_dir)
    try:
        record = Registry(storage, settings).active()
    except Exception as error:  # noqa: BLE001 - MODEL_DIR itself is checked below
        log.error("cannot read the model registry (%s); scoring with MODEL_DIR", error)
        return load_scorer(settings), shipped
    if Path(record.path).resolve() != shipped.resolve():
        try:
            scorer = load_cpu_scorer(record.path, settings)
        except Exception as error:  # noqa: BLE001 - ArtefactError or worse: the shipped model still works
            log.error("active model %s (%s) cannot be loaded (%s); scoring with MODEL_DIR %s instead",
                      record.version, record.path, error, settings.model_dir)
        else:
            log.info("scoring with the registry's active model %s (%s)", record.version, record.path)
            return scorer, Path(record.path)
    return load_scorer(settings), shipped


def run_faust(
    app: Any, *services: Any, log_level: str, on_ready: Callable[[], None] = lambda: None,
    on_force_exit: Callable[[], None] = lambda: None, ready_when: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run the Faust app (plus services) until SIGINT/SIGTERM; returns after a clean stop.

    ``on_ready`` runs once the worker consumes (and ``ready_when`` has returned); a stop not finished STOP_GRACE_S after
    the signal calls ``on_force_exit`` and ends the process (``stream.worker.faust_patches.SignalSafeWorker``).
    """
    worker = SignalSafeWorker(
        app, *services, log_level=log_level, setup_logging=ensure_logging, on_ready=on_ready,
        on_force_exit=on_force_exit, stop_grace_s=STOP_GRACE_S, ready_wait_s=READY_WAIT_S, ready_when=ready_when,
    )
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
        worker = ReviewWorker(settings, bootstrap, storage, load_active_scorer(settings, storage)[0])
        run_faust(worker.app, log_level=settings.log_level, on_ready=freeze_startup_objects)
    finally:
        storage.close()


def run_system(settings: Settings, host: str, port: int) -> None:
    """``reviewpulse run``: broker (embedded unless KAFKA_BOOTSTRAP), migrations, worker, web server."""
    check_data_dir_free(settings)
    settings.run_file.unlink(missing_ok=True)  # a killed run's: no command may use its addresses meanwhile
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
        worker = ReviewWorker(settings, bootstrap, storage, load_active_scorer(settings, storage)[0],
                              drafts_consumer=settings.drafts_consumer)
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
            freeze_startup_objects()
            write_private(settings.run_file, json.dumps(run_info))
            print(f"ReviewPulse is running: open {run_info['web']}  (Ctrl-C stops)", flush=True)
            print(retraining_line(settings), flush=True)

        quiet = QuietTrim(lambda: worker.scored_count)
        worker.app.task(lambda: every(QUIET_CHECK_S, quiet.check, log, "hand freed memory back"))
        run_faust(worker.app, WebServer(web_app(settings, storage, single_machine=True), sock, settings),
                  log_level=settings.log_level, on_ready=ready, on_force_exit=force_exit, ready_when=worker.drafts_ready)
    finally:
        settings.run_file.unlink(missing_ok=True)
        if storage is not None:
            storage.close()
        if broker is not None:
            broker.stop()
