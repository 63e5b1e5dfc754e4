"""The Faust and mode internals the worker reaches into, each pinned to the version it was written for.

Faust offers no setting for the consumer's fetch wait and no hook for our logging,
readiness and safe shutdown; these patches add them. Each calls
``kernel.versions.require_version`` first, so a different Faust fails loudly instead of
running with behaviour nobody verified. Import it only where Faust runs (the worker
and ``reviewpulse run``), never from a command module.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.worker import Worker

from kernel.versions import require_version

log = logging.getLogger(__name__)


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
    * ``on_startup_finished``: calls ``on_ready`` once the worker consumes and ``ready_when`` has returned.
    * ``_schedule_shutdown``: a signal that arrives during start-up waits (up to
      ``ready_wait_s``) for start-up to finish, because aiokafka's consumer thread hangs
      when stopped in the middle of its start; a stop not finished ``stop_grace_s``
      after the signal calls ``on_force_exit`` and ends the process.
    """

    def __init__(
        self, app: Any, *services: Any, log_level: str, setup_logging: Callable[[], None],
        on_ready: Callable[[], None], on_force_exit: Callable[[], None], stop_grace_s: float, ready_wait_s: float,
        ready_when: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        for distribution in ("faust-streaming", "mode-streaming"):
            require_version(distribution, "the Faust worker's start-up, logging and shutdown hooks")
        self.ready = False
        self.stop_requested = False
        self._our_logging, self._on_ready, self._on_force_exit = setup_logging, on_ready, on_force_exit
        self._stop_grace_s, self._ready_wait_s = stop_grace_s, ready_wait_s
        self._ready_when = ready_when
        super().__init__(app, *services, loglevel=log_level, quiet=True, redirect_stdouts=False)

    def _setup_logging(self) -> None:
        self._our_logging()

    async def on_startup_finished(self) -> None:
        await super().on_startup_finished()
        if self._ready_when is not None:
            await self._ready_when()
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
