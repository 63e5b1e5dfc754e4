"""ClickHouse access: one small class for both embedded chDB and a ClickHouse server.

``open_storage(settings)`` picks the backend: empty ``CLICKHOUSE_URL`` opens chDB under
``<data_dir>/clickhouse`` through clickhouse-connect's ``chdb://`` URL; otherwise the URL
names a server. Same client code, same SQL for both.

Thread-safety: a ``Storage`` is NOT thread-safe, and chDB allows one data directory per
process. Async code calls it through :meth:`Storage.run`, which runs every call on one
dedicated thread so the event loop never blocks on ClickHouse.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from typing import Any, Protocol, TypeVar

from kernel.events import Brand, DeadLetter, ScoredReview
from kernel.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

REVIEW_COLUMNS = (
    "id", "kind", "text", "brand", "rating", "source", "session_id", "url", "ts", "meta",
    "user_agent", "ip_hash", "p_bad", "p_avg", "p_good", "score", "label", "suggested_rating",
    "model_version", "scored_at", "latency_ms", "language", "explanation",
)
BRAND_COLUMNS = ("name", "website", "logo", "category", "sub_category", "url", "source", "ts")
DEAD_LETTER_COLUMNS = ("raw", "raw_base64", "error", "topic", "partition", "offset", "ts")


class StorageError(RuntimeError):
    """ClickHouse could not be opened; the message says which setting to check."""


def _three_probs(probs: Sequence[float]) -> tuple[float, float, float]:
    """[bad, average, good] from a 3-class (as is) or binary ([bad, good]) model."""
    if len(probs) == 3:
        return float(probs[0]), float(probs[1]), float(probs[2])
    if len(probs) == 2:
        return float(probs[0]), 0.0, float(probs[1])
    raise ValueError(f"expected 2 or 3 class probabilities, got {len(probs)}")


def review_row(review: ScoredReview) -> list[Any]:
    """A scored review flattened to the ``reviews`` columns (in REVIEW_COLUMNS order)."""
    p_bad, p_avg, p_good = _three_probs(review.probs)
    meta = dict(review.meta)
    return [
        review.id, str(review.kind), review.text, review.brand, review.rating, review.source,
        review.session_id or "", review.url, review.ts.astimezone(UTC), meta,
        meta.get("user_agent", ""), meta.get("ip_hash", ""), p_bad, p_avg, p_good, review.score,
        review.label, review.suggested_rating, review.model_version, review.scored_at.astimezone(UTC),
        review.latency_ms, review.language,
        review.explanation.model_dump_json() if review.explanation is not None else "",
    ]


class WorkerStorage(Protocol):
    """What the worker's batch handler needs of storage: :class:`Storage`, or ``stream.storage.memory.MemoryStorage``.

    The inserts are blocking and raise on failure (transient or permanent, see
    ``stream.worker.sink``); async code calls them through ``run``.
    """

    def insert_reviews(self, reviews: Sequence[ScoredReview]) -> None: ...

    def insert_brands(self, brands: Sequence[Brand]) -> None: ...

    def insert_dead_letters(self, letters: Sequence[DeadLetter]) -> None: ...

    async def run(self, fn: Callable[..., T], *args: Any) -> T: ...


class Storage:
    """A ClickHouse client plus the inserts the worker needs. See the module docstring."""

    def __init__(self, client: Any, database: str) -> None:
        self.client = client
        self.database = database
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows as dicts; parameters use ClickHouse's ``{name:Type}`` placeholders."""
        return list(self.client.query(sql, parameters=parameters or {}).named_results())

    def command(self, sql: str, parameters: dict[str, Any] | None = None) -> Any:
        return self.client.command(sql, parameters=parameters or {})

    def insert_reviews(self, reviews: Sequence[ScoredReview]) -> None:
        if reviews:
            self.client.insert("reviews", [review_row(r) for r in reviews], column_names=REVIEW_COLUMNS)

    def insert_brands(self, brands: Sequence[Brand]) -> None:
        if brands:
            rows = [[getattr(b, c) if c != "ts" else b.ts.astimezone(UTC) for c in BRAND_COLUMNS] for b in brands]
            self.client.insert("brands", rows, column_names=BRAND_COLUMNS)

    def insert_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        if letters:
            rows = [
                [d.raw, int(d.raw_base64), d.error, d.topic, d.partition, d.offset, d.ts.astimezone(UTC)]
                for d in letters
            ]
            self.client.insert("dead_letters", rows, column_names=DEAD_LETTER_COLUMNS)

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except Exception:  # noqa: BLE001 - "not reachable" is the answer
            return False

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Await ``fn(*args)`` on this storage's one dedicated thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.client.close()


def _rows_not_dataframes() -> None:
    """Tell clickhouse-connect to look for no pandas: we insert rows, never DataFrames.

    Its insert asks whether the data is a pandas DataFrame, and that question imports
    pandas and pyarrow: ~70 MiB more in every process that stores (docs/benchmarks.md,
    "Memory at rest"). Set only where nothing resolved it yet.
    """
    from clickhouse_connect.driver import options

    if "pd" not in vars(options):
        options.pd = None
        options.pd_time_test = None


def open_storage(settings: Settings) -> Storage:
    """Open (and create the database of) embedded chDB or the ClickHouse server in the settings."""
    import clickhouse_connect

    _rows_not_dataframes()
    database = settings.clickhouse_database
    try:
        if settings.embedded_clickhouse:
            path = (settings.data_dir / "clickhouse").resolve()
            path.mkdir(parents=True, exist_ok=True)
            client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
        else:
            client = clickhouse_connect.get_client(dsn=settings.clickhouse_url)
            database = client.database if client.database not in (None, "", "default") else database
    except Exception as error:
        where = f"chDB under {settings.data_dir}/clickhouse" if settings.embedded_clickhouse else "CLICKHOUSE_URL"
        hint = " (is another reviewpulse process using this --data-dir?)" if settings.embedded_clickhouse else ""
        raise StorageError(f"cannot open ClickHouse ({where}){hint}: {error}") from error
    client.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    client.database = database
    return Storage(client, database)
