"""One log format for every logger in a ReviewPulse process: ours, Faust's, uvicorn's, Scrapy's.

``LOG_FORMAT=json`` (the default) writes one JSON object per line to stderr, for machines
(``ts``, ``level``, ``logger``, ``msg``, ``exc`` and any ``extra=`` fields);
``LOG_FORMAT=text`` writes ``time level logger: message`` for people. stdout stays for
what a command prints on purpose (the URL of ``reviewpulse run``, a crawl summary).

Every entry point goes through :func:`setup_logging` (the CLI callback in
``reviewpulse.cli``). Libraries that would install handlers of their own are told not to,
so their records reach the one root handler:

* Faust / mode: the worker's ``_setup_logging`` calls :func:`ensure_logging` (``stream.worker.faust_patches``)
  instead of mode's, which clears the root handlers and writes coloured text to stdout;
* uvicorn: ``uvicorn.Config(**uvicorn_logging())`` — ``log_config=None`` stops its dictConfig;
* Scrapy: ``LOG_INSTALL_ROOT_HANDLER=False`` (``producers.crawl``); Scrapy routes
  Twisted's log into ``logging`` itself and sets its own loggers to DEBUG, which is why the
  handler, not only the root logger, carries ``LOG_LEVEL``.

``quiet=True`` (``reviewpulse run``) logs warnings only unless ``LOG_LEVEL`` is set, and holds
the service libraries at WARNING unless ``LOG_LEVEL=DEBUG``: a person sees the URL and any
warning, not every start-up step (``LOG_LEVEL=INFO reviewpulse run`` shows ReviewPulse's own).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

HANDLER_NAME = "reviewpulse"
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
#: Libraries whose INFO lines describe their own start-up and connections, not ReviewPulse's work.
SERVICE_LOGGERS = ("faust", "mode", "aiokafka", "kafka", "uvicorn", "scrapy", "twisted", "clickhouse_connect",
                   "chdb", "asyncio")
#: Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines inside messages are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in entry:
                entry[key] = value
        return json.dumps(entry, ensure_ascii=False, default=str)


def make_formatter(log_format: str) -> logging.Formatter:
    """``json`` or ``text``; anything else is a ValueError naming the setting."""
    if log_format == "json":
        return JsonFormatter()
    if log_format == "text":
        return logging.Formatter(TEXT_FORMAT)
    raise ValueError(f"LOG_FORMAT must be json or text, not {log_format!r}")


def setup_logging(level: str | None = None, log_format: str | None = None, quiet: bool = False) -> None:
    """Install the one root handler (replacing any earlier one of ours); defaults from the settings.

    Safe to call again: the latest call wins. Other handlers on the root logger (pytest's
    caplog, say) are left alone.
    """
    from kernel.settings import get_settings

    settings = get_settings()
    if level is None and quiet and "log_level" not in settings.model_fields_set:
        level = "WARNING"
    level_name = (level or settings.log_level).upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(make_formatter(log_format or settings.log_format))
    handler.setLevel(level_name)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level_name)
    logging.captureWarnings(True)  # warnings.warn() too, as logger py.warnings
    service_level = logging.WARNING if quiet and level_name != "DEBUG" else logging.NOTSET
    for logger in logging.Logger.manager.loggerDict.values():
        if isinstance(logger, logging.Logger):
            logger.disabled = False  # an earlier dictConfig (disable_existing_loggers) must not silence ours
            if logger.name.split(".")[0] in SERVICE_LOGGERS:
                _route_to_root(logger)
    for name in SERVICE_LOGGERS:
        _route_to_root(logging.getLogger(name))
        logging.getLogger(name).setLevel(service_level)


def _route_to_root(logger: logging.Logger) -> None:
    """A library logger writes through our root handler only: no stream handler of its own, propagating.

    uvicorn's default config (used by anything that starts it without ``uvicorn_logging``)
    gives ``uvicorn.access`` its own stdout handler and turns propagation off.
    """
    logger.propagate = True
    logger.setLevel(logging.NOTSET)  # the top-level service loggers get their level after this
    for own in [h for h in logger.handlers if type(h) is logging.StreamHandler]:
        logger.removeHandler(own)


def ensure_logging() -> None:
    """Set up logging unless an entry point already did (for libraries' start-up hooks)."""
    if not any(h.get_name() == HANDLER_NAME for h in logging.getLogger().handlers):
        setup_logging()


def uvicorn_logging(level: str | None = None) -> dict[str, Any]:
    """Keywords for ``uvicorn.Config`` / ``uvicorn.run``: no handlers of its own; ``level`` (e.g.
    ``"warning"``) pins its loggers, None lets them follow :func:`setup_logging`."""
    return {"log_config": None, "log_level": level}
