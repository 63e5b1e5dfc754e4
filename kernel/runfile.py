"""Which running system a command talks to: ``run.json`` and the one-process rule of chDB.

``reviewpulse run`` writes ``DATA_DIR/run.json`` (broker, web URL, pid, registry token)
once it serves. Other commands read it to find the broker and web server, and refuse
to open the embedded ClickHouse while that process holds it (chDB allows one process
per data directory). Kernel module: every room may import it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kernel.settings import Settings


class SetupError(RuntimeError):
    """The system cannot start as configured; the message says what to change."""


def read_run_file(settings: Settings) -> dict[str, object] | None:
    """The addresses a running ``reviewpulse run`` wrote, or None (missing or unreadable)."""
    try:
        info = json.loads(settings.run_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None  # not an object: unreadable too


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by this user only (run.json holds the registry token)."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def resolve_bootstrap(settings: Settings) -> str | None:
    """KAFKA_BOOTSTRAP, else the broker of a running ``reviewpulse run`` (run.json, its pid alive), else None."""
    if settings.kafka_bootstrap:
        return settings.kafka_bootstrap
    running = read_run_file(settings)
    broker = running.get("broker") if running else None
    if not broker or running_pid(settings) is None:  # a run.json left behind by a killed run names a dead broker
        return None
    return str(broker)


def running_pid(settings: Settings) -> int | None:
    """The pid in run.json when that process is alive (a stale file from a crash is ignored)."""
    info = read_run_file(settings) or {}
    pid = info.get("pid")
    if not isinstance(pid, int):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def check_data_dir_free(settings: Settings) -> None:
    """:class:`SetupError` when another live ``reviewpulse run`` holds this embedded ClickHouse."""
    pid = running_pid(settings)
    if settings.embedded_clickhouse and pid is not None and pid != os.getpid():
        raise SetupError(
            f"`reviewpulse run` (pid {pid}) holds the embedded ClickHouse in {settings.data_dir}; "
            "stop it, use another --data-dir, or set CLICKHOUSE_URL to a ClickHouse server"
        )
