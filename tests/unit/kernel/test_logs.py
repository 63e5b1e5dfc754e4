"""One log format for every logger: JSON lines by default, text on request; a quiet `reviewpulse run`."""

from __future__ import annotations

import json
import logging
import re

import pytest

from kernel.logs import HANDLER_NAME, setup_logging, uvicorn_logging
from kernel.settings import Settings

#: Loggers of every library whose output reaches a ReviewPulse process's log.
LIBRARY_LOGGERS = ("faust.worker", "mode.services", "uvicorn.error", "uvicorn.access", "scrapy.core.engine",
                   "aiokafka.consumer", "stream.worker.app", "web.app")


def emit_from_every_library() -> None:
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).info("hello from %s\nsecond line", name)


def test_every_logger_writes_one_json_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(level="INFO", log_format="json")
    emit_from_every_library()
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("stream.worker.app").exception("batch failed", extra={"batch_rows": 3})
    lines = capsys.readouterr().err.splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["logger"] for e in entries] == [*LIBRARY_LOGGERS, "stream.worker.app"]
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


