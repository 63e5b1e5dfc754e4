"""The web tier as the composition root builds it: the app with its helpers from other rooms, and uvicorn.

``web_app`` is where rooms meet: the web room's app gets the Grafana Live pusher
(dashboards room) and the automatic retrainer (stream room) handed in, so the web room
imports neither. ``WebServer`` runs uvicorn inside ``reviewpulse run``'s Faust worker
(one event loop, the worker owns the signals).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from mode import Service

from kernel.logs import uvicorn_logging
from kernel.runfile import SetupError
from kernel.settings import Settings
from reviewpulse.uvicorn_server import ServerWithoutSignals
from stream.storage.clickhouse import Storage


def is_loopback(host: str) -> bool:
    """True for 127.0.0.1, ::1, localhost: addresses only this machine can reach."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
        except OSError:
            return False


@dataclass
class BackgroundJobs:
    """What the web process runs beside serving: coroutines for its lifetime, observers of every stored
    review, and the automatic retrainer's status for the admin's model page (None when it is off)."""

    jobs: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    observers: list[Any] = field(default_factory=list)
    retraining: Callable[[], dict[str, Any]] | None = None


def background_jobs(settings: Settings, storage: Storage, single_machine: bool) -> BackgroundJobs:
    """The Grafana Live pusher when configured; the reviews.raw backlog recorder (stream.worker.backlog) when
    Kafka is; the automatic retrainer when on (``single_machine``: under ``reviewpulse run``, where it is on
    unless RETRAIN_EVERY_ROWS says otherwise)."""
    from dashboards import LivePusher, live_enabled
    from reviewpulse.commands.common import REVIEWPULSE
    from stream.learning.automatic import AutoRetrainer, every_rows, spawn_retrain
    from stream.worker.backlog import BacklogRecorder

    background = BackgroundJobs()
    if live_enabled(settings):
        pusher = LivePusher(settings)
        background.jobs.append(pusher.run)
        background.observers.append(pusher.observe)
    if settings.kafka_bootstrap:  # the broker's view of the scoring worker, for the "scoring stalls" alert
        background.jobs.append(BacklogRecorder(settings, storage, settings.kafka_bootstrap).run)
    every = every_rows(settings, single_machine)
    if every:
        retrainer = AutoRetrainer(settings, storage, functools.partial(spawn_retrain, command=REVIEWPULSE), every)
        background.jobs.append(retrainer.run)
        background.retraining = retrainer.status
    return background


def web_app(settings: Settings, storage: Storage, bus: Any = None, single_machine: bool = False) -> Any:
    """The Starlette app of ``reviewpulse run`` (``single_machine``) and ``reviewpulse web``, with its background jobs.

    ``bus`` defaults to Kafka at ``settings.kafka_bootstrap``; tests hand in a ``web.bus.MemoryBus``.
    """
    from stream.registry.control import kafka_publisher
    from stream.registry.store import Registry
    from web.app import create_app
    from web.kafka_bus import KafkaBus

    background = background_jobs(settings, storage, single_machine)
    bus = bus if bus is not None else KafkaBus(settings.kafka_bootstrap, settings.kafka_publish_timeout_s)
    registry = Registry(storage, settings, kafka_publisher(settings.kafka_bootstrap, settings))
    return create_app(settings, storage, bus, registry, background=background.jobs,
                      stored_observers=background.observers, retraining=background.retraining)


def listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


class WebServer(Service):
    """A mode Service running uvicorn on ``sock``; removes run.json when it stops serving."""

    def __init__(self, asgi_app: Any, sock: socket.socket, settings: Settings) -> None:
        super().__init__()
        self.asgi_app, self.sock, self.settings = asgi_app, sock, settings

    async def on_start(self) -> None:
        import uvicorn

        from web.server import uvicorn_options

        config = uvicorn.Config(self.asgi_app, lifespan="on", **uvicorn_logging(), **uvicorn_options(self.settings))
        self.server = ServerWithoutSignals(config)
        # Not ``self.task``: that name is mode's ``Service.task`` decorator.
        self.serving: asyncio.Future[None] = asyncio.ensure_future(self.server.serve(sockets=[self.sock]))
        while not self.server.started:
            if self.serving.done():
                self.serving.result()
                raise SetupError("the web server stopped during start-up; see the log above")
            await asyncio.sleep(0.05)

    async def on_stop(self) -> None:
        self.settings.run_file.unlink(missing_ok=True)
        self.server.should_exit = True
        await self.serving
