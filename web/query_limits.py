"""The web tier's view of ClickHouse: the same queries, each under time and memory limits.

A public filter such as ``q=`` over millions of rows must not hold the storage thread
(shared with the worker under ``reviewpulse run``) or the server's memory, so every
query the web runs carries ``max_execution_time`` (``WEB_QUERY_TIMEOUT_S``) and
``max_memory_usage`` (``WEB_QUERY_MAX_MEMORY_BYTES``). A query over a limit raises
:class:`QueryOverLimit`, answered 503 with the setting to change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from clickhouse_connect.driver.exceptions import DatabaseError

T = TypeVar("T")
#: ClickHouse error names -> the setting to raise. TOO_SLOW: ClickHouse estimated it would time out.
LIMIT_ERRORS = {
    "TIMEOUT_EXCEEDED": "WEB_QUERY_TIMEOUT_S", "TOO_SLOW": "WEB_QUERY_TIMEOUT_S",
    "MEMORY_LIMIT_EXCEEDED": "WEB_QUERY_MAX_MEMORY_BYTES",
}


class QueryOverLimit(RuntimeError):
    """A web query hit ``max_execution_time`` or ``max_memory_usage``; the message names the setting."""


class LimitedStorage:
    """Wraps a ``stream.storage.clickhouse.Storage``: ``query`` adds the limits, everything else passes through."""

    def __init__(self, storage: Any, timeout_s: float, max_memory_bytes: int) -> None:
        self._storage = storage
        self.limits = {"max_execution_time": timeout_s, "max_memory_usage": max_memory_bytes}

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows as dicts, like ``Storage.query``; :class:`QueryOverLimit` past a limit."""
        try:
            result = self._storage.client.query(sql, parameters=parameters or {}, settings=self.limits)
        except DatabaseError as error:
            for code, setting in LIMIT_ERRORS.items():
                if code in str(error):
                    raise QueryOverLimit(
                        f"the query went over its limit ({code}); narrow the filter, or raise {setting}"
                    ) from error
            raise
        return list(result.named_results())

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the storage thread; pass this object (not the raw storage) as ``fn``'s storage."""
        return await self._storage.run(fn, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)
