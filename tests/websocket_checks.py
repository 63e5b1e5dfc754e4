"""Websocket assertions shared by the integration and e2e web tests."""

import pytest


def assert_oversized_frames_close_the_socket(url: str, limit_bytes: int) -> None:
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
