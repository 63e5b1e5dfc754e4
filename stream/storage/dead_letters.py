"""Dead letters for operators: why events were refused, grouped, and the letters themselves.

Every event the worker takes is stored or dead-lettered with a reason (``dead_letters``:
the raw message, the reason, topic, partition and offset). ``reviewpulse stats`` and
``/api/stats`` (with the registry token or an admin session) show the reasons grouped
with counts; ``/admin/dead-letters`` lists the letters, filterable, with the raw message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stream.storage.clickhouse import Storage
from stream.storage.queries import jsonable

#: A reason's numbers (array indexes, sizes, offsets) become N, so the same fault groups as one.
REASON_GROUP = "replaceRegexpAll(substring(error, 1, 300), '[0-9]+', 'N')"


def dead_letter_reasons(storage: Storage, limit: int = 10) -> list[dict[str, Any]]:
    """The most recent reasons, grouped: ``[{"reason", "count", "latest"}]``, newest group first."""
    rows = storage.query(
        f"SELECT {REASON_GROUP} AS reason, count() AS count, max(ts) AS latest FROM dead_letters "
        "GROUP BY reason ORDER BY latest DESC LIMIT {limit:UInt32}", {"limit": limit})
    return [{"reason": row["reason"], "count": int(row["count"]), "latest": jsonable(row)["latest"]} for row in rows]


@dataclass
class DeadLetterFilter:
    """What ``/admin/dead-letters`` narrows the list by (all optional)."""

    topic: str = ""
    q: str = ""
    since: datetime | None = None


def list_dead_letters(storage: Storage, flt: DeadLetterFilter, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """(one page of letters, newest first, as JSON-ready rows; how many match)."""
    where: list[str] = ["1"]
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if flt.topic:
        where.append("topic = {topic:String}")
        params["topic"] = flt.topic
    if flt.q:
        where.append("(positionCaseInsensitiveUTF8(error, {q:String}) > 0 OR positionCaseInsensitiveUTF8(raw, {q:String}) > 0)")
        params["q"] = flt.q
    if flt.since is not None:
        where.append("ts >= {since:DateTime64(3, 'UTC')}")
        params["since"] = flt.since
    condition = " AND ".join(where)
    rows = storage.query(
        f"SELECT raw, raw_base64, error, topic, partition, offset, ts FROM dead_letters WHERE {condition} "
        "ORDER BY ts DESC LIMIT {limit:UInt32} OFFSET {offset:UInt32}", params)
    total = storage.query(f"SELECT count() AS n FROM dead_letters WHERE {condition}", params)[0]["n"]
    return [jsonable(row) for row in rows], int(total)
