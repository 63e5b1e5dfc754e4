"""``reviewpulse web`` as a child process serves a replica of a running system's broker and storage."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.websocket_checks import assert_oversized_frames_close_the_socket


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_web_command_serves_a_replica(broker: str, tmp_path: Path) -> None:
    """``reviewpulse web`` as its own process: a replica on the shared broker, its own ClickHouse."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    from reviewpulse.broker import free_port

    port = free_port()
    env = {**os.environ, "KAFKA_BOOTSTRAP": broker, "DATA_DIR": str(tmp_path), "CLICKHOUSE_URL": "",
           "LOG_LEVEL": "WARNING"}
    command = [str(Path(sys.executable).parent / "reviewpulse"), "web", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        ready = None
        for _ in range(600):
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert ready is not None and ready.json() == {"status": "ready", "broker": True, "storage": True}
        assert httpx.get(f"http://127.0.0.1:{port}/api/brands/random").json()["name"]
        assert_oversized_frames_close_the_socket(f"ws://127.0.0.1:{port}/ws", limit_bytes=20_000)
    finally:
        process.terminate()
        process.wait(timeout=30)


