"""Query-string parsing shared by ``GET /api/reviews``, ``/admin`` and its CSV export.

Bad values raise :class:`BadInput` naming the parameter, which the API turns into a
422 and the admin page into a message above the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from starlette.datastructures import QueryParams

from stream.queries import ReviewFilter

LABELS = ("bad", "average", "good")
TRUE_VALUES = ("1", "true", "yes", "on")


class BadInput(ValueError):
    """A request parameter or body field is invalid; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass
class PageRequest:
    limit: int
    offset: int
    cursor: str | None


def parse_datetime(field: str, value: str, end_of_day: bool = False) -> datetime:
    """ISO date or datetime; naive values are UTC. A bare ``until`` date includes that whole day."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value) + timedelta(days=1 if end_of_day else 0)
            return datetime.combine(day, time.min, tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        example = "2026-01-31 or 2026-01-31T12:00"
        raise BadInput(field, f"{value!r} is not an ISO date or datetime ({example})") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_filter(params: QueryParams) -> ReviewFilter:
    """brand, label, source, disagreement, since, until, q (text search)."""
    label = params.get("label") or None
    if label and label not in LABELS:
        raise BadInput("label", f"must be one of {', '.join(LABELS)}")
    since = parse_datetime("since", params["since"]) if params.get("since") else None
    until = parse_datetime("until", params["until"], end_of_day=True) if params.get("until") else None
    if since and until and since >= until:
        raise BadInput("until", "must be after since")
    return ReviewFilter(
        brand=params.get("brand") or None,
        label=label,
        source=params.get("source") or None,
        disagreement=params.get("disagreement", "").lower() in TRUE_VALUES,
        since=since,
        until=until,
        search=params.get("q") or params.get("search") or None,
    )


def parse_int(params: QueryParams, field: str, default: int, low: int, high: int) -> int:
    raw = params.get(field)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise BadInput(field, f"{raw!r} is not a whole number") from error
    if not low <= value <= high:
        raise BadInput(field, f"must be between {low} and {high}")
    return value


def parse_page(params: QueryParams, max_limit: int, default_limit: int = 50) -> PageRequest:
    """limit (1..max_limit), offset (>= 0) and an optional cursor (``next_cursor`` of a previous page)."""
    limit = parse_int(params, "limit", default_limit, 1, max_limit)
    offset = parse_int(params, "offset", 0, 0, 10_000_000)
    return PageRequest(limit, offset, params.get("cursor") or None)


def filter_query(flt: ReviewFilter) -> dict[str, str]:
    """The filter back as query parameters (for pagination and CSV links)."""
    query = {}
    for name in ("brand", "label", "source"):
        if getattr(flt, name):
            query[name] = getattr(flt, name)
    if flt.disagreement:
        query["disagreement"] = "1"
    if flt.since:
        query["since"] = flt.since.isoformat()
    if flt.until:
        query["until"] = flt.until.isoformat()
    if flt.search:
        query["q"] = flt.search
    return query
