"""Shared fixtures: a real tansu broker, a real embedded chDB, a tiny real model, a running system.

* ``broker`` — bootstrap string of an EmbeddedBroker started once per session, topics created.
* ``own_broker`` — a fresh EmbeddedBroker for one test (a fraction of a second to start).
* ``tiny_model_dir`` — an untrained but complete char-CNN artefact (fast to score).
* ``storage`` — a migrated chDB Storage, session-scoped because chDB allows one data
  directory per process: tests must use unique ids/brands and never assume empty tables.
* ``running_system`` — ``reviewpulse run`` as a subprocess on free ports with its own data
  dir; yields a :class:`RunningSystem` (web_url, bootstrap, data_dir, env).
* ``system_env`` — the environment a ``reviewpulse`` subprocess needs for a given data dir.
* ``invoke_cli`` — ``reviewpulse ARGS`` in this process with some settings changed.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from kernel.settings import Settings
from reviewpulse.commands.common import REVIEWPULSE as CHILD_REVIEWPULSE


def _serialise_ast_parse() -> None:
    """One ``ast.parse`` at a time in this process.

    pytest rewrites the modules of every package that ships a pytest plugin (anyio, schemathesis,
    hypothesis) with ``ast.parse`` when they are first imported, and CPython 3.11's ``ast.parse``
    is not thread-safe (gh-106905): a lazy import in the test's thread while a server thread
    imported another such module failed with "AST constructor recursion depth mismatch".
    """
    parse, lock = ast.parse, threading.RLock()

    def serialised(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return parse(*args, **kwargs)

    ast.parse = serialised  # type: ignore[assignment]


_serialise_ast_parse()

REPO = Path(__file__).resolve().parent.parent
_SCRIPT = Path(sys.executable).parent / "reviewpulse"
#: argv prefix that runs the ``reviewpulse`` command with this interpreter.
REVIEWPULSE = [str(_SCRIPT)] if _SCRIPT.exists() else CHILD_REVIEWPULSE


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from kernel.topics import ensure_topics
    from reviewpulse.broker import EmbeddedBroker

    with EmbeddedBroker(tmp_path_factory.mktemp("broker")) as embedded:
        ensure_topics(embedded.bootstrap, Settings())
        yield embedded.bootstrap


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[str]:
    """A fresh embedded broker for one test (a fraction of a second to start)."""
    from kernel.topics import ensure_topics
    from reviewpulse.broker import EmbeddedBroker

    with EmbeddedBroker(tmp_path / "broker") as embedded:
        ensure_topics(embedded.bootstrap, Settings())
        yield embedded.bootstrap


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from inference.artefact import save_untrained

    return save_untrained(tmp_path_factory.mktemp("tiny_model"), name="charcnn-tiny-test", version="tiny-untrained")


@pytest.fixture(scope="session")
def chdb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's one chDB data directory (chDB opens one per process)."""
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture(scope="session")
def storage(chdb_dir: Path) -> Iterator[object]:
    from stream.storage.clickhouse import open_storage
    from stream.storage.migrations import migrate

    opened = open_storage(Settings(data_dir=chdb_dir, clickhouse_url=""))
    migrate(opened)
    yield opened
    opened.close()


@pytest.fixture
def own_database(chdb_dir: Path, storage: object) -> Iterator[object]:
    """A migrated database of its own in the session's chDB, for a test whose rows would change what the shared
    one means to other tests (a promotion changes the registry's active model for everyone)."""
    from stream.storage.clickhouse import open_storage
    from stream.storage.migrations import migrate

    opened = open_storage(Settings(data_dir=chdb_dir, clickhouse_url="",
                                   clickhouse_database=f"own_{uuid.uuid4().hex[:12]}"))
    migrate(opened)
    yield opened
    opened.client.command(f"DROP DATABASE IF EXISTS `{opened.database}`")


def invoke_cli(monkeypatch: pytest.MonkeyPatch, args: list[str], **env: str) -> Any:
    """Run ``reviewpulse ARGS`` in-process (typer's CliRunner) with ``env`` set; the settings re-read around it."""
    from typer.testing import CliRunner

    from kernel.settings import get_settings
    from reviewpulse.cli import app

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, args)
    finally:
        get_settings.cache_clear()


def system_env(data_dir: Path, model_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a ``reviewpulse`` subprocess: its own data dir, the tiny model, small batches."""
    env = {key: value for key, value in os.environ.items() if key.upper() not in {"KAFKA_BOOTSTRAP", "CLICKHOUSE_URL"}}
    env.update(
        DATA_DIR=str(data_dir), MODEL_DIR=str(model_dir), KAFKA_BOOTSTRAP="", CLICKHOUSE_URL="",
        SCORER_THREADS="1", LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1",
        RETRAIN_EVERY_ROWS="0",  # on by default under `reviewpulse run`; tests that want it say so
    )
    env.update(extra)
    return env


@dataclass
class RunningSystem:
    process: subprocess.Popen[bytes]
    web_url: str
    bootstrap: str
    data_dir: Path
    env: dict[str, str]
    log_path: Path

    def stop(self, sig: int = signal.SIGINT, timeout_s: float = 60.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


def start_system(data_dir: Path, model_dir: Path, timeout_s: float = 120.0, **extra: str) -> RunningSystem:
    """Start ``reviewpulse run --port 0`` and wait until run.json is written and /healthz answers."""
    env = system_env(data_dir, model_dir, **extra)
    log_path = data_dir / "run.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [*REVIEWPULSE, "run", "--port", "0", "--data-dir", str(data_dir)],
            env=env, cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT,
        )
    run_file = data_dir / "run.json"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"reviewpulse run exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
        if run_file.exists():
            info = json.loads(run_file.read_text())
            try:
                if httpx.get(f"{info['web']}/healthz", timeout=2).status_code == 200:
                    return RunningSystem(process, info["web"], info["broker"], data_dir, env, log_path)
            except httpx.HTTPError:
                pass
        time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"reviewpulse run did not become healthy:\n{log_path.read_text()[-4000:]}")


@pytest.fixture
def running_system(tmp_path: Path, tiny_model_dir: Path) -> Iterator[RunningSystem]:
    system = start_system(tmp_path / "var", tiny_model_dir)
    yield system
    system.stop()
