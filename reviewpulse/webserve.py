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


def background_jobs(settings: Settings, storage: Storage) -> tuple[list[Callable[[], Coroutine[Any, Any, None]]], list[Any]]:
    """(coroutines the web process runs for its lifetime, observers of every stored review)."""
    from dashboards import LivePusher, live_enabled
    from reviewpulse.commands.common import REVIEWPULSE
    from stream.learning.automatic import AutoRetrainer, spawn_retrain

    jobs: list[Callable[[], Coroutine[Any, Any, None]]] = []
    observers: list[Any] = []
    if live_enabled(settings):
        pusher = LivePusher(settings)
        jobs.append(pusher.run)
        observers.append(pusher.observe)
    if settings.retrain_every_rows:
        jobs.append(AutoRetrainer(settings, storage, functools.partial(spawn_retrain, command=REVIEWPULSE)).run)
    return jobs, observers


def web_app(settings: Settings, storage: Storage, bus: Any = None) -> Any:
    """The Starlette app of ``reviewpulse run`` and ``reviewpulse web``, with its background jobs.

    ``bus`` defaults to Kafka at ``settings.kafka_bootstrap``; tests hand in a ``web.bus.MemoryBus``.
    """
    from stream.registry.control import kafka_publisher
    from stream.registry.store import Registry
    from web.app import create_app
    from web.kafka_bus import KafkaBus

    jobs, observers = background_jobs(settings, storage)
    bus = bus if bus is not None else KafkaBus(settings.kafka_bootstrap, settings.kafka_publish_timeout_s)
    registry = Registry(storage, settings, kafka_publisher(settings.kafka_bootstrap, settings))
    return create_app(settings, storage, bus, registry, background=jobs, stored_observers=observers)


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
