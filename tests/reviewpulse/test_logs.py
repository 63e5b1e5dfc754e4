"""One log format for every logger: JSON lines by default, text on request; a quiet `reviewpulse run`."""

from __future__ import annotations

import json
import logging
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reviewpulse.logs import HANDLER_NAME, SERVICE_LOGGERS, setup_logging, uvicorn_logging
from reviewpulse.settings import Settings
from tests.conftest import REPO, REVIEWPULSE, system_env

#: Loggers of every library whose output reaches a ReviewPulse process's log.
LIBRARY_LOGGERS = ("faust.worker", "mode.services", "uvicorn.error", "uvicorn.access", "scrapy.core.engine",
                   "aiokafka.consumer", "stream.worker", "web.app")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Leave the root logger and the library levels as they were for the next test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    names = (*SERVICE_LOGGERS, *LIBRARY_LOGGERS)
    saved = {name: (logging.getLogger(name).level, logging.getLogger(name).propagate) for name in names}
    for name in LIBRARY_LOGGERS:  # earlier tests' servers (uvicorn, Scrapy) may have changed them
        logging.getLogger(name).setLevel(logging.NOTSET)
        logging.getLogger(name).propagate = True
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, (old_level, old_propagate) in saved.items():
        logging.getLogger(name).setLevel(old_level)
        logging.getLogger(name).propagate = old_propagate


def emit_from_every_library() -> None:
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).info("hello from %s\nsecond line", name)


def test_every_logger_writes_one_json_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(level="INFO", log_format="json")
    emit_from_every_library()
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("stream.worker").exception("batch failed", extra={"batch_rows": 3})
    lines = capsys.readouterr().err.splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["logger"] for e in entries] == [*LIBRARY_LOGGERS, "stream.worker"]
    assert entries[0]["msg"] == "hello from faust.worker\nsecond line" and entries[0]["level"] == "INFO"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", entries[0]["ts"])
    assert "RuntimeError: boom" in entries[-1]["exc"] and entries[-1]["batch_rows"] == 3


def test_text_format_is_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(level="INFO", log_format="text")
    logging.getLogger("scrapy.core.engine").warning("spider closed")
    line = capsys.readouterr().err.strip()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING scrapy\.core\.engine: spider closed", line)


def test_level_applies_to_libraries_that_lower_their_own(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(level="WARNING", log_format="json")
    logging.getLogger("scrapy").setLevel(logging.DEBUG)  # what Scrapy's configure_logging does
    logging.getLogger("scrapy.core.engine").debug("Crawled (200) <GET http://x/>")
    assert capsys.readouterr().err == ""


def test_setup_twice_keeps_one_handler() -> None:
    setup_logging(level="INFO")
    setup_logging(level="INFO", log_format="text")
    assert [h.get_name() for h in logging.getLogger().handlers].count(HANDLER_NAME) == 1


def test_log_format_setting_accepts_only_json_or_text() -> None:
    assert Settings().log_format == "json"
    assert Settings(log_format="text").log_format == "text"
    with pytest.raises(ValueError, match="log_format"):
        Settings(log_format="xml")


def test_uvicorn_logs_through_the_shared_handler(capsys: pytest.CaptureFixture[str]) -> None:
    import uvicorn

    setup_logging(level="INFO", log_format="json")

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    uvicorn.Config(app, **uvicorn_logging()).load()
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        assert logger.propagate, f"{name} does not reach the root handler"
        assert not [h for h in logger.handlers if type(h) is logging.StreamHandler], f"{name} has its own handler"
    logging.getLogger("uvicorn.error").info("Uvicorn running")
    assert json.loads(capsys.readouterr().err)["logger"] == "uvicorn.error"


def start_and_capture(tmp_path: Path, model_dir: Path, **env: str) -> tuple[str, list[str]]:
    """Start `reviewpulse run`; once it prints its URL, return stdout and the log lines so far."""
    environment = system_env(tmp_path / "var", model_dir, **env)
    if "LOG_LEVEL" not in env:
        environment.pop("LOG_LEVEL")
    stdout_path, stderr_path = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        process = subprocess.Popen([*REVIEWPULSE, "run", "--port", "0", "--data-dir", str(tmp_path / "var")],
                                   env=environment, cwd=REPO, stdout=out, stderr=err)
    try:
        for _ in range(600):
            if "ReviewPulse is running" in stdout_path.read_text() or process.poll() is not None:
                break
            time.sleep(0.2)
        stdout, stderr = stdout_path.read_text(), stderr_path.read_text()
        assert "ReviewPulse is running" in stdout, f"run did not start:\n{stdout}\n{stderr[-4000:]}"
        return stdout, [line for line in stderr.splitlines() if line.strip()]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_run_is_quiet_at_start(tmp_path: Path, tiny_model_dir: Path) -> None:
    stdout, log_lines = start_and_capture(tmp_path, tiny_model_dir)
    assert re.fullmatch(r"ReviewPulse is running: open http://127\.0\.0\.1:\d+ .*\n", stdout)
    assert len(log_lines) <= 4, "\n".join(log_lines)
    assert all(json.loads(line)["level"] in ("WARNING", "ERROR") for line in log_lines)


@pytest.mark.slow
def test_run_at_info_logs_only_json_lines(tmp_path: Path, tiny_model_dir: Path) -> None:
    _, log_lines = start_and_capture(tmp_path, tiny_model_dir, LOG_LEVEL="INFO")
    entries = [json.loads(line) for line in log_lines]  # mode/Faust, uvicorn, ours: one format
    assert {"stream.migrations", "reviewpulse.broker"} <= {entry["logger"] for entry in entries}
    assert not any(entry["logger"].split(".")[0] in ("faust", "mode", "aiokafka") for entry in entries)
