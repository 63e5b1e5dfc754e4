"""Slow and greedy clients against a real server: the socket-level bounds of ``web.connection_guard``.

uvicorn serves the app with ``uvicorn_options`` (as ``reviewpulse web`` and ``run`` do) in a
thread of this process, with caps and timeouts set low for the test.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from tests.integration.web.test_web_server_limits import serving

pytestmark = pytest.mark.timeout(120)
LIMITS = {"http_max_connections_per_ip": 5, "http_max_connections": 40, "http_header_timeout_s": 2.0,
          "http_body_idle_timeout_s": 1.0, "trusted_proxies": ""}


def opened(port: int, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket()
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def answer(sock: socket.socket, wait_s: float) -> bytes | None:
    """What the server sent before closing (b"" for a plain close), or None if it still holds the socket."""
    sock.settimeout(wait_s)
    chunks = []
    try:
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    except TimeoutError:
        return b"".join(chunks) or None
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def healthz(port: int, source: str) -> bytes:
    with contextlib.closing(opened(port, source)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        return answer(sock, 10) or b""


def test_one_address_cannot_hold_the_door_and_unfinished_headers_are_closed(
        broker: str, storage: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO), serving(broker, storage, tmp_path, **LIMITS) as address:
        port = int(address.rsplit(":", 1)[1])
        held = [opened(port) for _ in range(12)]
        for sock in held:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: te")  # headers that never end
        answers = [answer(sock, 0.05) for sock in held]  # all within the header timeout
        refused = [a for a in answers if a is not None]
        assert len(refused) == 12 - 5 and all(a.startswith(b"HTTP/1.1 503") for a in refused), answers
        assert healthz(port, "127.0.0.2").startswith(b"HTTP/1.1 200"), "another address is still served"
        time.sleep(2.5)
        assert all(answer(sock, 2) is not None for sock in held), "unfinished headers were not cut"
        assert healthz(port, "127.0.0.1").startswith(b"HTTP/1.1 200"), "the address is served again"
        for sock in held:
            sock.close()
    messages = [record.getMessage() for record in caplog.records if record.name == "web.connection_guard"]
    assert len(messages) <= 4, messages  # rate-limited: one line per kind per window
    assert any("sent no complete request headers" in m for m in messages)


def test_a_body_that_stops_flowing_is_cut_and_logged_in_one_line(
        broker: str, storage: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO), serving(broker, storage, tmp_path, **LIMITS) as address:
        port = int(address.rsplit(":", 1)[1])
        with contextlib.closing(opened(port)) as sock:
            sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100\r\n\r\n{\"review\": \"sl")
            assert answer(sock, 5) is not None, "a stalled body was not cut"
        time.sleep(0.2)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "an ERROR for a client that went away"
    assert any("stopped sending its request body" in r.getMessage() for r in caplog.records)


def test_websockets_count_while_open_and_are_released_when_closed(broker: str, storage: Any, tmp_path: Path) -> None:
    with serving(broker, storage, tmp_path, **LIMITS) as address:
        for _ in range(3 * LIMITS["http_max_connections_per_ip"]):  # never more than one open at a time
            with connect(f"ws://{address}/ws", close_timeout=1) as client:
                assert "hello" in client.recv(timeout=5)
        port = int(address.rsplit(":", 1)[1])
        sockets = [connect(f"ws://{address}/ws", close_timeout=1) for _ in range(LIMITS["http_max_connections_per_ip"])]
        try:
            assert healthz(port, "127.0.0.1").startswith(b"HTTP/1.1 503"), "open websockets did not count"
        finally:
            for client in sockets:
                client.close()


def test_a_websocket_outlives_the_http_timeouts(broker: str, storage: Any, tmp_path: Path) -> None:
    """Once upgraded, the socket is the websocket's: no header or body timer closes it."""
    with serving(broker, storage, tmp_path, **LIMITS) as address, connect(f"ws://{address}/ws",
                                                                           close_timeout=1) as client:
        assert "hello" in client.recv(timeout=5)
        time.sleep(LIMITS["http_header_timeout_s"] + LIMITS["http_body_idle_timeout_s"] + 1)  # idle past both
        client.send('{"type": "ping"}')
        assert client.recv(timeout=5)  # still open: an answer, not a closed connection
