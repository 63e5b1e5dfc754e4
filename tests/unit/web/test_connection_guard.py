"""The socket-level bounds' bookkeeping: the connection budget, the rate-limited log, the file-handle fit."""

from __future__ import annotations

import logging
import resource

import pytest

from web import connection_guard
from web.connection_guard import REFUSED, RateLimitedLog, effective_max_connections
from web.ws_guard import ConnectionCaps


def test_the_budget_caps_each_address_and_the_total_and_frees_on_release() -> None:
    budget = ConnectionCaps(max_total=4, max_per_ip=2, unbounded_ips=frozenset({"10.0.0.1"}))
    assert [budget.acquire("a"), budget.acquire("a")] == [None, None]
    assert "HTTP_MAX_CONNECTIONS_PER_IP" in REFUSED[str(budget.acquire("a"))]
    assert budget.acquire("10.0.0.1") is None and budget.acquire("10.0.0.1") is None  # a proxy: the total only
    assert "HTTP_MAX_CONNECTIONS)" in REFUSED[str(budget.acquire("b"))]
    budget.release("a")
    assert budget.acquire("b") is None
    for ip in ("a", "b", "10.0.0.1", "10.0.0.1"):
        budget.release(ip)
    assert budget.total == 0 and budget.acquire("a") is None


def test_the_log_says_each_kind_once_per_window_with_a_count(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    events = RateLimitedLog(logging.getLogger("guard-test"), every_s=10, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="guard-test"):
        for _ in range(1000):
            events(logging.INFO, "slow", "closed a slow one")
        now[0] = 10.0
        events(logging.INFO, "slow", "closed a slow one")
    assert [record.getMessage() for record in caplog.records] == [
        "closed a slow one", "closed a slow one (1000 since the last such line)"]


def test_the_cap_fits_below_the_file_handle_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    limits = {"soft": 1024, "hard": 1024}
    monkeypatch.setattr(connection_guard.resource, "getrlimit", lambda _: (limits["soft"], limits["hard"]))

    def setrlimit(_: int, values: tuple[int, int]) -> None:
        if values[0] > limits["hard"]:
            raise ValueError("not allowed")
        limits["soft"] = values[0]

    monkeypatch.setattr(connection_guard.resource, "setrlimit", setrlimit)
    assert effective_max_connections(4096, headroom=512) == 1024 - 512
    limits.update(soft=1024, hard=100_000)
    assert effective_max_connections(4096, headroom=512) == 4096 and limits["soft"] == 4096 + 512
    monkeypatch.setattr(connection_guard.resource, "getrlimit", lambda _: (resource.RLIM_INFINITY,) * 2)
    assert effective_max_connections(4096) == 4096


def test_failed_accepts_log_one_line_per_window_and_other_errors_pass_on() -> None:
    import asyncio

    from web.connection_guard import limit_accept_error_logs

    lines: list[str] = []
    seen: list[str] = []
    loop = asyncio.new_event_loop()
    try:
        loop.set_exception_handler(lambda _, context: seen.append(context["message"]))
        events = RateLimitedLog(logging.getLogger("accept-test"), every_s=3600)
        events.logger.log = lambda level, fmt, *args: lines.append(fmt % args)  # type: ignore[method-assign]
        limit_accept_error_logs(loop, events)
        for _ in range(500):
            loop.call_exception_handler({"message": "socket.accept() out of system resource",
                                         "exception": OSError(24, "Too many open files")})
        loop.call_exception_handler({"message": "something else"})
    finally:
        loop.close()
    assert len(lines) == 1 and "ulimit -n" in lines[0]
    assert seen == ["something else"]
