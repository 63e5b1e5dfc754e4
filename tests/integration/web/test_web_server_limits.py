"""Limits that need a real server and real sockets: the app under uvicorn with ``uvicorn_options``.

A client that stops reading (small socket buffers make "stopped reading" happen after a
few kilobytes), uvicorn's ``ws_max_size``, and ``X-Forwarded-For`` from trusted proxies
only. The server runs in a thread of this process on the session broker and chDB.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from reviewpulse.webserve import web_app
from tests.integration.web.conftest import web_settings
from web.server import uvicorn_options

pytestmark = pytest.mark.timeout(180)

SMALL_BUFFER_BYTES = 4096


@contextlib.contextmanager
def serving(broker: str, storage: Any, tmp_path: Path, send_buffer_bytes: int | None = None,
            **overrides: Any) -> Iterator[str]:
    """``host:port`` of the app served by uvicorn as ``reviewpulse web`` serves it."""
    settings = web_settings(broker, tmp_path, **overrides)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if send_buffer_bytes:  # accepted sockets inherit it
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer_bytes)
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(web_app(settings, storage), lifespan="on", log_level="warning",
                            **uvicorn_options(settings))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the server stopped during start-up"
        time.sleep(0.05)
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()


def metric(address: str, name: str) -> float:
    for line in httpx.get(f"http://{address}/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_client_that_stops_reading_is_closed(broker: str, storage: Any, tmp_path: Path) -> None:
    with serving(broker, storage, tmp_path, SMALL_BUFFER_BYTES,
                 ws_outbox_messages=8, ws_max_drafts_per_s=1e6) as address:
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER_BYTES)
        raw.connect(("127.0.0.1", int(address.rsplit(":", 1)[1])))
        client = connect(f"ws://{address}/ws", sock=raw, max_queue=4, close_timeout=1)
        stop = threading.Event()

        def flood() -> None:  # pings, never reading the pongs
            with contextlib.suppress(ConnectionClosed, OSError):
                for _ in range(200_000):
                    if stop.is_set():
                        return
                    client.send('{"type": "ping"}')

        flooder = threading.Thread(target=flood, daemon=True)
        flooder.start()
        while flooder.is_alive() and metric(address, "reviewpulse_web_ws_closed_slow_total") < 1:
            time.sleep(0.1)
        closed = metric(address, "reviewpulse_web_ws_closed_slow_total")
        stop.set()
        with contextlib.suppress(OSError):
            raw.shutdown(socket.SHUT_RDWR)
        flooder.join(timeout=30)
        client.close()
        assert closed == 1.0
        assert metric(address, "reviewpulse_web_ws_connections") == 0.0


def test_a_live_viewer_that_stops_reading_is_closed(broker: str, storage: Any, tmp_path: Path) -> None:
    from kafka import KafkaProducer

    from kernel.events import Kind, ScoredReview
    from kernel.settings import Settings

    with serving(broker, storage, tmp_path, SMALL_BUFFER_BYTES, ws_send_timeout_s=0.5) as address:
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER_BYTES)
        raw.connect(("127.0.0.1", int(address.rsplit(":", 1)[1])))
        viewer = connect(f"ws://{address}/ws/live", sock=raw, max_queue=1, close_timeout=1)
        producer = KafkaProducer(bootstrap_servers=broker)
        published = 0
        while metric(address, "reviewpulse_web_ws_closed_slow_total") < 1 and published < 3000:
            for _ in range(50):  # stored reviews, as the worker announces them
                review = ScoredReview(kind=Kind.scraped, text="x" * 2000, probs=[0.1, 0.2, 0.7], score=0.8,
                                      label="good", suggested_rating=5, model_version="t")
                producer.send(Settings().topic_scored, review.to_bytes())
            producer.flush()
            published += 50
        closed = metric(address, "reviewpulse_web_ws_closed_slow_total")
        producer.close()
        with contextlib.suppress(OSError):
            raw.shutdown(socket.SHUT_RDWR)
        viewer.close()
    assert closed == 1.0


def test_uvicorn_closes_frames_over_the_message_limit(broker: str, storage: Any, tmp_path: Path) -> None:
    with serving(broker, storage, tmp_path, ws_max_message_bytes=1000) as address, \
            connect(f"ws://{address}/ws") as client:
        assert json.loads(client.recv())["type"] == "hello"
        client.send(json.dumps({"type": "ping", "padding": "x" * 1000}))
        with pytest.raises(ConnectionClosed) as closed:
            reply = client.recv()
            pytest.fail(f"the server answered instead of closing the socket: {reply}")
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # message too big


@pytest.mark.parametrize(("trusted_proxies", "believed"), [("127.0.0.1", True), ("10.9.9.9", False)])
def test_forwarded_for_is_believed_from_trusted_proxies_only(
    broker: str, storage: Any, tmp_path: Path, trusted_proxies: str, believed: bool
) -> None:
    """Failed logins are limited per client address: the proxy's, unless it is trusted."""
    with serving(broker, storage, tmp_path, trusted_proxies=trusted_proxies, admin_login_attempts=1) as address:
        answers = [
            httpx.post(f"http://{address}/admin/login", data={"password": "wrong"},
                       headers={"x-forwarded-for": forwarded}).status_code
            for forwarded in ("198.51.100.1", "198.51.100.2")
        ]
    assert answers == ([401, 401] if believed else [401, 429])
