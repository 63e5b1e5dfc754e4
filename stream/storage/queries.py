"""Read helpers over ClickHouse that stay exact when Kafka redelivers a review.

Every query on ``reviews`` and ``brands`` reads ``FINAL``: the ReplacingMergeTree keeps one
row per ``id`` (per brand ``name``) even before a background merge has run. Rows come back
JSON-ready: datetimes as ISO-8601 UTC strings, so the web tier can send them as they are.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stream.storage.clickhouse import Storage

LIST_COLUMNS = (
    "id, kind, text, brand, rating, source, session_id, url, ts, user_agent, p_bad, p_avg, p_good, "
    "score, label, suggested_rating, model_version, scored_at, latency_ms, language, explanation"
)
#: The label a person's stars imply (1-2 bad, 3 average, 4-5 good), for "disagreement".
RATING_LABEL_SQL = "multiIf(rating <= 2, 'bad', rating = 3, 'average', 'good')"
#: Rows the model scored: a review in a language it does not read is stored with label '' (kernel/languages.py),
#: so figures of scores, labels and suggestions leave it out; counts of reviews keep it.
SCORED = "label != ''"


@dataclass
class ReviewFilter:
    """What ``list_reviews`` narrows to; every field left empty means "any"."""

    brand: str | None = None
    label: str | None = None
    source: str | None = None
    disagreement: bool = False  # stars given and the model's label differs from them (unscored languages: never)
    since: datetime | None = None
    until: datetime | None = None
    search: str | None = None  # case-insensitive substring of the text


@dataclass
class ReviewPage:
    rows: list[dict[str, Any]]
    total: int
    next_cursor: str | None = None


def jsonable(row: dict[str, Any]) -> dict[str, Any]:
    """Datetimes to ISO-8601 UTC strings (naive values from ClickHouse are UTC)."""
    out = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
        out[key] = value
    return out


def _where(flt: ReviewFilter) -> tuple[str, dict[str, Any]]:
    clauses, params = ["1"], {}
    for name in ("brand", "label", "source"):
        value = getattr(flt, name)
        if value:
            clauses.append(f"{name} = {{{name}:String}}")
            params[name] = value
    if flt.disagreement:
        clauses.append(f"rating IS NOT NULL AND label != '' AND {RATING_LABEL_SQL} != label")
    if flt.since:
        clauses.append("ts >= {since:DateTime64(3, 'UTC')}")
        params["since"] = flt.since.astimezone(UTC)
    if flt.until:
        clauses.append("ts < {until:DateTime64(3, 'UTC')}")
        params["until"] = flt.until.astimezone(UTC)
    if flt.search:
        clauses.append("positionCaseInsensitiveUTF8(text, {search:String}) > 0")
        params["search"] = flt.search
    return " AND ".join(clauses), params


def encode_cursor(row: dict[str, Any]) -> str:
    ts = row["ts"] if isinstance(row["ts"], datetime) else datetime.fromisoformat(row["ts"])
    millis = int((ts if ts.tzinfo else ts.replace(tzinfo=UTC)).timestamp() * 1000)
    return base64.urlsafe_b64encode(f"{millis}:{row['id']}".encode()).decode("ascii")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """(ts in ms, id) from a cursor; ValueError with a clear message when it is not one of ours."""
    try:
        millis, _, review_id = base64.urlsafe_b64decode(cursor.encode("ascii")).decode().partition(":")
        return int(millis), review_id
    except (ValueError, UnicodeError) as error:
        raise ValueError(f"invalid cursor {cursor!r}: pass next_cursor from a previous page") from error


def list_reviews(
    storage: Storage, flt: ReviewFilter | None = None, limit: int = 50, offset: int = 0,
    cursor: str | None = None,
) -> ReviewPage:
    """Newest first (ts, then id). ``cursor`` (keyset, from ``next_cursor``) beats ``offset``."""
    where, params = _where(flt or ReviewFilter())
    total = int(storage.query(f"SELECT count() AS n FROM reviews FINAL WHERE {where}", params)[0]["n"])
    page_where = where
    if cursor:
        millis, review_id = decode_cursor(cursor)
        page_where += " AND (toUnixTimestamp64Milli(ts), id) < ({c_ms:Int64}, {c_id:String})"
        params = {**params, "c_ms": millis, "c_id": review_id}
        offset = 0
    rows = storage.query(
        f"SELECT {LIST_COLUMNS} FROM reviews FINAL WHERE {page_where} "
        f"ORDER BY ts DESC, id DESC LIMIT {int(limit)} OFFSET {int(offset)}",
        params,
    )
    next_cursor = encode_cursor(rows[-1]) if rows and len(rows) == limit else None
    return ReviewPage([jsonable(r) for r in rows], total, next_cursor)


def stats(storage: Storage) -> dict[str, Any]:
    """Counts per source and label, scored in the last minute, dead letters, brands (all exact)."""
    by_source = storage.query("SELECT source, count() AS n FROM reviews FINAL GROUP BY source ORDER BY source")
    by_label = storage.query("SELECT label, count() AS n FROM reviews FINAL GROUP BY label ORDER BY label")
    # '' = not detected (too short to tell: scored as English) or stored before languages were detected
    by_language = storage.query("SELECT language, count() AS n FROM reviews FINAL GROUP BY language ORDER BY n DESC")
    last_minute = storage.query(
        "SELECT count() AS n FROM reviews FINAL WHERE scored_at >= now64(3) - INTERVAL 1 MINUTE"
    )[0]["n"]
    dead = storage.query("SELECT count() AS n FROM dead_letters")[0]["n"]
    return {
        "reviews": sum(int(r["n"]) for r in by_source),
        "by_source": {r["source"]: int(r["n"]) for r in by_source},
        "by_label": {r["label"]: int(r["n"]) for r in by_label},
        "by_language": {r["language"]: int(r["n"]) for r in by_language},
        "scored_last_minute": int(last_minute),
        "dead_letters": int(dead),
        "brands": count_brands(storage),
    }


def random_brand(storage: Storage, exclude: str | None = None) -> dict[str, Any] | None:
    """A random catalogue brand other than ``exclude``, or None when there is none."""
    rows = storage.query(
        "SELECT * FROM brands FINAL WHERE name != {exclude:String} ORDER BY rand() LIMIT 1",
        {"exclude": exclude or ""},
    )
    return jsonable(rows[0]) if rows else None


def count_brands(storage: Storage) -> int:
    return int(storage.query("SELECT count() AS n FROM brands FINAL")[0]["n"])
