"""Where ``reviewpulse stats`` gets its figures: the running system's web server, or ClickHouse.

While ``reviewpulse run`` holds the embedded ClickHouse, no other process may open that
data directory, so ``stats`` asks the server's ``/api/stats`` (address in run.json).
Without a running system it opens storage itself.
"""

from __future__ import annotations

from typing import Any

from reviewpulse.runfile import read_run_file
from reviewpulse.settings import Settings


def stats_from_web(settings: Settings) -> dict[str, Any] | None:
    """``/api/stats`` of the system in run.json; None when there is none or it does not answer."""
    import httpx

    info = read_run_file(settings) or {}
    web = info.get("web")
    if not web:
        return None
    try:
        response = httpx.get(f"{web}/api/stats", timeout=10)
        response.raise_for_status()
        return dict(response.json())
    except (httpx.HTTPError, ValueError):
        return None


def stats_from_storage(settings: Settings) -> dict[str, Any]:
    from reviewpulse.runfile import check_data_dir_free
    from stream.migrations import migrate
    from stream.queries import stats
    from stream.storage import open_storage

    check_data_dir_free(settings)
    storage = open_storage(settings)
    try:
        migrate(storage)
        return stats(storage)
    finally:
        storage.close()


def read_stats(settings: Settings) -> dict[str, Any]:
    """Figures from the running system if there is one, else straight from ClickHouse."""
    return stats_from_web(settings) or stats_from_storage(settings)
