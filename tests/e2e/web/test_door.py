"""The web door cannot starve the worker: ``reviewpulse run`` held at its connection cap still stores an import.

``run`` gets a file-handle limit of 1,024; the connection cap then fits below it with 512
handles kept (``web.connection_guard``). One client opens more half-finished requests
than that; the cap refuses the rest with 503, and an import through the same process's
worker is stored whole while every web connection it allows is held.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.e2e.reviewpulse.test_kill import import_reviews, start_run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
FILE_HANDLES = 1024
HELD = 700  # more than the 512 connections that fit below 1,024 handles with 512 kept


def low_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_HANDLES, FILE_HANDLES))


def test_a_held_web_door_leaves_the_import_its_file_handles(tmp_path: Path, tiny_model_dir: Path) -> None:
    data_dir, log = tmp_path / "var", tmp_path / "run.log"
    csv = tmp_path / "reviews.csv"
    csv.write_text("text,rating\n" + "".join(f"held door review {n} was fine,4\n" for n in range(300)))
    run = start_run(data_dir, tiny_model_dir, log, preexec_fn=low_file_limit,
                    HTTP_MAX_CONNECTIONS_PER_IP="100000", HTTP_HEADER_TIMEOUT_S="300")
    held: list[socket.socket] = []
    try:
        port = int(json.loads((data_dir / "run.json").read_text())["web"].rsplit(":", 1)[1])
        for _ in range(HELD):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: te")  # headers that never end
            held.append(sock)
        refused = 0
        for sock in held:
            sock.settimeout(0.05)
            with contextlib.suppress(TimeoutError):
                refused += sock.recv(64).startswith(b"HTTP/1.1 503")
        assert HELD - 512 <= refused < HELD, f"{refused} of {HELD} refused: the cap did not fit the handles"
        stored = import_reviews(data_dir, tiny_model_dir, csv)
        assert stored.returncode == 0, stored.stderr + log.read_text()[-3000:]
        assert "too many open files" not in log.read_text().lower()
    finally:
        for sock in held:
            sock.close()
        os.killpg(run.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            run.wait(timeout=60)
