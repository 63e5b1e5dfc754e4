"""Every place ReviewPulse reaches into a library's internals, each pinned to the version it was written for.

A workaround that patches a private method or subclasses a class for its private
hooks breaks silently when the library changes. So each one here calls
:func:`require_version` first: on a different major.minor of the library it raises
:class:`CompatError` naming the workaround and what to re-check, instead of running
with behaviour nobody verified. After re-checking, update :data:`WRITTEN_FOR`.

Kernel module (rooms may import it); it imports Faust and uvicorn, so import it only
where those run (the worker and the runtime), never from a command module.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import threading
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Any

import uvicorn
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.worker import Worker

log = logging.getLogger(__name__)

#: Distribution -> the major.minor every workaround for it was written and tested against.
WRITTEN_FOR = {"faust-streaming": "0.15", "mode-streaming": "0.7", "uvicorn": "0.54"}


class CompatError(RuntimeError):
    """An installed library is not the version a workaround was written for."""


def major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def require_version(distribution: str, workaround: str) -> None:
    """Raise :class:`CompatError` unless ``distribution``'s installed major.minor is ``WRITTEN_FOR``'s."""
    expected = WRITTEN_FOR[distribution]
    installed = metadata.version(distribution)
    if major_minor(installed) != expected:
        raise CompatError(
            f"{workaround} was written for {distribution} {expected}.x, but {installed} is installed: "
            f"re-check it in reviewpulse/compat.py, then update WRITTEN_FOR[{distribution!r}] "
            f"(or install {distribution}=={expected}.*)"
        )


def shorten_fetch_wait(fetch_wait_ms: int) -> None:
    """Make Faust's consumers use ``fetch_wait_ms`` instead of its hard-coded 1500 ms.

    tansu holds a fetch that finds no data until ``fetch_max_wait_ms`` expires, even when
    data arrives meanwhile, so Faust's 1.5 s setting became typing latency (measured:
    median delivery 348 ms at 1500 ms, 3 ms at 20 ms). Faust offers no setting for it
    (no upstream issue known), so the consumer it creates is adjusted before it starts.
    Idempotent: patching twice wraps the original once.
    """
    require_version("faust-streaming", "the Faust fetch-wait patch (AIOKafkaConsumerThread._create_worker_consumer)")
    thread = faust_aiokafka.AIOKafkaConsumerThread
    create = getattr(thread._create_worker_consumer, "__wrapped__", None) or thread._create_worker_consumer

    @functools.wraps(create)
    def create_with_short_wait(self: Any, transport: Any) -> Any:
        consumer = create(self, transport)
        consumer._fetch_max_wait_ms = fetch_wait_ms
        return consumer

    # Replacing the library's method is the point of this patch; mypy forbids assigning to a method.
    thread._create_worker_consumer = create_with_short_wait  # type: ignore[method-assign]


class SignalSafeWorker(Worker):
    """A ``faust.Worker`` that keeps our logging, reports readiness and stops safely on a signal.

    Three of mode's private hooks are overridden (mode-streaming's ``Worker``):

    * ``_setup_logging``: mode installs its own handlers; ``setup_logging`` keeps the one format.
    * ``on_startup_finished``: calls ``on_ready`` once the worker consumes.
    * ``_schedule_shutdown``: a signal that arrives during start-up waits (up to
      ``ready_wait_s``) for start-up to finish, because aiokafka's consumer thread hangs
      when stopped in the middle of its start; a stop not finished ``stop_grace_s``
      after the signal calls ``on_force_exit`` and ends the process.
    """

    def __init__(
        self, app: Any, *services: Any, log_level: str, setup_logging: Callable[[], None],
        on_ready: Callable[[], None], on_force_exit: Callable[[], None], stop_grace_s: float, ready_wait_s: float,
    ) -> None:
        for distribution in ("faust-streaming", "mode-streaming"):
            require_version(distribution, "the Faust worker's start-up, logging and shutdown hooks")
        self.ready = False
        self.stop_requested = False
        self._our_logging, self._on_ready, self._on_force_exit = setup_logging, on_ready, on_force_exit
        self._stop_grace_s, self._ready_wait_s = stop_grace_s, ready_wait_s
        super().__init__(app, *services, loglevel=log_level, quiet=True, redirect_stdouts=False)

    def _setup_logging(self) -> None:
        self._our_logging()

    async def on_startup_finished(self) -> None:
        await super().on_startup_finished()
        self.ready = True
        self._on_ready()

    def _schedule_shutdown(self, signal: Any) -> None:
        if self.stop_requested:
            return
        self.stop_requested = True
        watchdog = threading.Timer(self._stop_grace_s, self._force_exit)
        watchdog.daemon = True
        watchdog.start()
        self.add_future(self._shutdown_when_started(signal))

    async def _shutdown_when_started(self, signal: Any) -> None:
        deadline = self.loop.time() + self._ready_wait_s
        while not self.ready and self.loop.time() < deadline:
            await asyncio.sleep(0.05)
        super()._schedule_shutdown(signal)

    def _force_exit(self) -> None:
        log.error("clean stop took longer than %ss: exiting now", self._stop_grace_s)
        self._on_force_exit()
        os._exit(1)


class ServerWithoutSignals(uvicorn.Server):
    """A ``uvicorn.Server`` that leaves SIGINT/SIGTERM alone (the Faust worker owns them in ``run``).

    uvicorn installs its own handlers in ``Server.capture_signals`` and offers no option
    to skip it when embedded in another program's event loop; a no-op context manager does.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        require_version("uvicorn", "the uvicorn signal-capture override (Server.capture_signals)")
        super().__init__(config)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
