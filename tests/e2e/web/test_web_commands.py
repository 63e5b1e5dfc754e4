"""``reviewpulse run`` serves with the web limits (oversized WebSocket frames close the socket)."""

from __future__ import annotations

from typing import Any

import pytest


def _assert_oversized_frames_close_the_socket(url: str, limit_bytes: int) -> None:
    """uvicorn's ``ws_max_size`` is the message limit: the server closes with 1009 (message too big)."""
    import json

    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    with connect(url) as socket:
        assert json.loads(socket.recv())["type"] == "hello"
        socket.send(json.dumps({"type": "draft", "seq": 1, "text": "x" * limit_bytes}))
        with pytest.raises(ConnectionClosed) as closed:
            reply = socket.recv()
            pytest.fail(f"the server answered instead of closing the socket: {reply}")
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_run_serves_with_the_web_limits(running_system: Any) -> None:
    """``reviewpulse run`` starts uvicorn with ``web.server.uvicorn_options`` too."""
    _assert_oversized_frames_close_the_socket(running_system.web_url.replace("http://", "ws://") + "/ws",
                                              limit_bytes=20_000)
