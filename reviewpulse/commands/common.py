"""What every command module shares: the error exit, common options, which system a command talks to.

The broker and web server a command talks to come from the settings, else the ``run.json``
of a running ``reviewpulse run`` (:mod:`kernel.runfile`); whether a command reads the
running system or the database is :mod:`reviewpulse.system_client`'s choice.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from kernel.runfile import read_run_file, resolve_bootstrap, running_pid
from kernel.settings import Settings, get_settings

#: argv prefix running ``reviewpulse`` in a child with this interpreter (same imports as this process): for
#: work that needs its own process (Twisted's reactor, chDB's one data directory, a retrain beside the worker).
REVIEWPULSE = [sys.executable, "-m", "reviewpulse"]
Opt = typer.Option
#: ``--json``: print one JSON object instead of lines for people.
JsonFlag = Annotated[bool, Opt("--json", help="print one JSON object")]
#: ``--data-dir``: where the broker log, chDB data and run.json live.
DataDir = Annotated[Path | None, Opt("--data-dir", help="broker log, chDB data, run.json (default: DATA_DIR, ./var)")]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` in red on stderr and exit (2: the user must change something)."""
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(code)


def quiet_kafka_clients(settings: Settings) -> None:
    """kafka-python and aiokafka log every connection at INFO; a command's own summary is what users need."""
    if settings.log_level.upper() != "DEBUG":
        for name in ("kafka", "aiokafka"):
            logging.getLogger(name).setLevel(logging.WARNING)


def command_settings(data_dir: Path | None = None) -> Settings:
    """The settings with ``--data-dir`` applied, Kafka client chatter quiet below LOG_LEVEL=DEBUG."""
    settings = get_settings()
    quiet_kafka_clients(settings)
    return settings.model_copy(update={"data_dir": data_dir}) if data_dir else settings


def no_broker(settings: Settings, also: str = "") -> str:
    """The one "no Kafka broker" message, with both fixes (``also``: a command's own, e.g. ``--bootstrap``)."""
    stale = read_run_file(settings) if running_pid(settings) is None else None
    gone = (f"; {settings.run_file} is from a `reviewpulse run` (pid {stale.get('pid')}) that is no longer running"
            if stale else "")
    return (f"no Kafka broker{gone}: set KAFKA_BOOTSTRAP=host:port, or start `reviewpulse run` "
            f"(it writes {settings.run_file} once it prints \"ReviewPulse is running\"){also}")


def require_bootstrap(settings: Settings, override: str | None = None, also: str = "") -> str:
    """The Kafka address this command talks to: ``override``, KAFKA_BOOTSTRAP, else run.json; exits with the fix."""
    bootstrap = override or resolve_bootstrap(settings)
    if not bootstrap:
        fail(no_broker(settings, also))
    return bootstrap


def require_live_broker(settings: Settings, override: str | None = None, also: str = "",
                        timeout_s: float = 5.0) -> str:
    """:func:`require_bootstrap`, then exits with the fix unless the broker answers within ``timeout_s``.

    For commands that publish at once (``import``): without it a dead broker surfaced as a
    Kafka timeout traceback half a minute later.
    """
    from reviewpulse.broker import broker_answers

    bootstrap = require_bootstrap(settings, override, also)
    if not broker_answers(bootstrap, timeout_s):
        fail(f"the Kafka broker at {bootstrap} does not answer (waited {timeout_s:g} s): is `reviewpulse run` "
             "(or your Kafka) running? " + ("KAFKA_BOOTSTRAP is set to it" if settings.kafka_bootstrap else
                                            f"{settings.run_file} names it"))
    return bootstrap


def require_web_url(settings: Settings, override: str | None = None) -> str:
    """The web server this command talks to: ``override`` (--url), else the running system's; exits with the fix."""
    url = override or str((read_run_file(settings) or {}).get("web") or "")
    if not url:
        fail("no running system: start `reviewpulse run` first, or pass --url http://host:port")
    return url
