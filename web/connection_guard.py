"""Every connection bounded in time and number at the socket, before the app sees a byte.

uvicorn times out only the keep-alive wait *between* requests: a partial request line,
headers that never end or a body that stops flowing hold a socket forever, and ~20,000 of
them from one laptop used up ``reviewpulse run``'s file handles (ClickHouse inserts then
failed with "too many open files"). uvicorn has no setting for it (checked: 0.54's
``timeout_keep_alive`` is armed only after a response, and ``limit_concurrency`` answers
503 but keeps the socket), so :class:`GuardedH11Protocol`, uvicorn's h11 protocol with
four bounds, serves the app instead (``web.server.uvicorn_options`` hands it to uvicorn):

* the request line and headers must arrive within ``HTTP_HEADER_TIMEOUT_S`` of the
  connection (or of the end of the previous response);
* a request body that stops flowing for ``HTTP_BODY_IDLE_TIMEOUT_S`` is cut (not while
  the app is the slow side: reading paused by flow control does not count);
* at most ``HTTP_MAX_CONNECTIONS`` open connections in all (websockets included) and
  ``HTTP_MAX_CONNECTIONS_PER_IP`` per client address (a trusted proxy's address is
  bounded by the total only); one over the cap gets a 503 and is closed at once;
* :func:`effective_max_connections` keeps the total below the process's file-handle limit
  with ``FD_HEADROOM`` handles left for storage, the broker and the scorer, and
  :func:`limit_accept_error_logs` keeps a failing ``accept()`` to one log line per window.

A reverse proxy in front is still recommended (deploy/README.md), no longer required.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections.abc import Callable
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from kernel.settings import Settings
from kernel.versions import require_version
from web.ws_guard import ConnectionCaps

log = logging.getLogger(__name__)

#: File handles kept free of web connections: chDB's files, the broker and Kafka clients, the scorer's pipes.
FD_HEADROOM = 512
#: An over-cap or timed-out connection is logged at most once per this many seconds (with a count).
LOG_EVERY_S = 10.0
OVER_CAPACITY = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
                 b"connection: close\r\ncontent-length: 28\r\n\r\ntoo many connections; retry\n")


def effective_max_connections(wanted: int, headroom: int = FD_HEADROOM) -> int:
    """``wanted``, raising the soft file-handle limit toward the hard one if needed, else what fits below it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + headroom
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return wanted
    fitting = max(1, soft - headroom)
    log.warning("HTTP_MAX_CONNECTIONS=%d does not fit below this process's file-handle limit (%d) with %d "
                "handles kept for storage and the broker: capping web connections at %d (raise `ulimit -n`)",
                wanted, soft, headroom, fitting)
    return fitting


class RateLimitedLog:
    """One log line per ``every_s`` per kind of event, saying how many happened since the last one."""

    def __init__(self, logger: logging.Logger, every_s: float = LOG_EVERY_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger, self.every_s, self.clock = logger, every_s, clock
        self._last: dict[str, float] = {}
        self._count: dict[str, int] = {}

    def __call__(self, level: int, kind: str, message: str) -> None:
        self._count[kind] = self._count.get(kind, 0) + 1
        now = self.clock()
        if now - self._last.get(kind, -self.every_s) >= self.every_s:
            count = self._count.pop(kind)
            self._last[kind] = now
            self.logger.log(level, "%s%s", message, f" ({count} since the last such line)" if count > 1 else "")


#: Why ``ConnectionCaps.acquire`` refused, in words an operator can act on.
REFUSED = {"too_many_connections": "too many connections in all (HTTP_MAX_CONNECTIONS)",
           "too_many_from_ip": "too many connections from one address (HTTP_MAX_CONNECTIONS_PER_IP)"}


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the bounds of the module docstring; made by :func:`guarded_protocol`."""

    budget: ConnectionCaps
    header_timeout_s: float
    body_idle_timeout_s: float
    events: RateLimitedLog

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ip = ""
        self._counted = False
        self._deadline: asyncio.TimerHandle | None = None
        self._deadline_kind = ""
        #: Set once a websocket took the socket over: from then on no HTTP timer may run on it.
        self._upgraded = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        peer = transport.get_extra_info("peername")
        self._ip = str(peer[0]) if peer else ""
        refused = self.budget.acquire(self._ip)
        if refused:
            self.events(logging.WARNING, "refused", f"refused a connection from {self._ip}: {REFUSED[refused]}")
            transport.write(OVER_CAPACITY)
            transport.close()
            return
        self._counted = True
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._counted:
            return
        self._release()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        """The websocket protocol takes the socket over; the budget is released when it closes.

        ``data_received`` calls :meth:`_watch` after the events that led here: without ``_upgraded``
        it saw an idle HTTP connection and armed the header timer, which closed every websocket
        ``HTTP_HEADER_TIMEOUT_S`` after it opened.
        """
        self._upgraded = True
        self._arm(None)
        super().handle_websocket_upgrade(event)
        websocket = self.transport.get_protocol()
        closed = websocket.connection_lost

        def connection_lost(exc: Exception | None) -> None:
            try:
                closed(exc)
            finally:
                self._release()

        websocket.connection_lost = connection_lost  # type: ignore[method-assign]

    def _release(self) -> None:
        self._arm(None)
        if self._counted:
            self._counted = False
            self.budget.release(self._ip)

    def _watch(self) -> None:
        """Arm the timer the connection's state calls for: headers, a flowing body, or none."""
        if self._upgraded or self.transport is None or self.transport.is_closing():
            self._arm(None)
        elif self.conn.their_state is h11.IDLE and (self.cycle is None or self.cycle.response_complete):
            self._arm("headers")
        elif self.conn.their_state is h11.SEND_BODY and not self.flow.read_paused:
            self._arm("body", restart=True)
        else:
            self._arm(None)

    def _arm(self, kind: str | None, restart: bool = False) -> None:
        if self._deadline is not None and (kind != self._deadline_kind or restart):
            self._deadline.cancel()
            self._deadline = None
        if kind and self._deadline is None:
            seconds = self.header_timeout_s if kind == "headers" else self.body_idle_timeout_s
            self._deadline = self.loop.call_later(seconds, self._too_slow, kind, seconds)
            self._deadline_kind = kind

    def _too_slow(self, kind: str, seconds: float) -> None:
        self._deadline = None
        what = "sent no complete request headers" if kind == "headers" else "stopped sending its request body"
        self.events(logging.INFO, f"slow-{kind}", f"closed a connection from {self._ip} that {what} for {seconds:g} s")
        self.transport.abort()


def limit_accept_error_logs(loop: asyncio.AbstractEventLoop, events: RateLimitedLog | None = None) -> None:
    """asyncio logs every failed ``accept()`` (out of file handles: about once a second per socket, with a
    traceback); this keeps one line per ``LOG_EVERY_S`` with a count and passes every other error on."""
    events = events or RateLimitedLog(log)
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if str(context.get("message", "")).startswith("socket.accept() out of system resource"):
            events(logging.WARNING, "accept", f"cannot accept connections: {context.get('exception')} "
                                              "(out of file handles: lower HTTP_MAX_CONNECTIONS or raise `ulimit -n`)")
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


def guarded_protocol(settings: Settings) -> type[GuardedH11Protocol]:
    """A protocol class for one server: its own budget, the timeouts and caps from ``settings``."""
    require_version("uvicorn", "the connection guard (a subclass of uvicorn's H11Protocol)")
    budget = ConnectionCaps(
        effective_max_connections(settings.http_max_connections), settings.http_max_connections_per_ip,
        frozenset(ip.strip() for ip in settings.trusted_proxies.split(",") if ip.strip()),
    )
    attributes = {"budget": budget, "header_timeout_s": settings.http_header_timeout_s,
                  "body_idle_timeout_s": settings.http_body_idle_timeout_s, "events": RateLimitedLog(log)}
    return type("GuardedH11Protocol", (GuardedH11Protocol,), attributes)
