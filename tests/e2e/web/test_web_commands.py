"""``reviewpulse run`` serves with the web limits (oversized WebSocket frames close the socket)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.websocket_checks import assert_oversized_frames_close_the_socket


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_run_serves_with_the_web_limits(running_system: Any) -> None:
    """``reviewpulse run`` starts uvicorn with ``web.server.uvicorn_options`` too."""
    assert_oversized_frames_close_the_socket(running_system.web_url.replace("http://", "ws://") + "/ws",
                                              limit_bytes=20_000)
