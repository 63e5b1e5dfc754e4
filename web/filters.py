"""Query-string parsing shared by ``GET /api/reviews``, ``/admin`` and its CSV export.

Bad values raise :class:`BadInput` naming the parameter, which the API turns into a
422 and the admin page into a message above the table. Dates must fall inside what
ClickHouse's ``DateTime64`` holds (1900-01-01 to 2299-12-31), so an out-of-range
``since`` is a 422, never an overflow deep in the driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from starlette.datastructures import QueryParams

from stream.storage.queries import ReviewFilter, decode_cursor

LABELS = ("bad", "average", "good")
TRUE_VALUES = ("1", "true")
FALSE_VALUES = ("", "0", "false")


def parse_flag(params: QueryParams, field: str) -> bool:
    """A yes/no parameter: 1 or true, 0, false or empty (absent: no); anything else is a 422 naming it."""
    value = params.get(field, "")
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise BadInput(field, "must be true or false")
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2299, 12, 31, tzinfo=UTC)


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
            moment = datetime.combine(day, time.min, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(value)
            moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError) as error:
        example = "2026-01-31 or 2026-01-31T12:00"
        raise BadInput(field, f"{value!r} is not an ISO date or datetime ({example})") from error
    if not EARLIEST <= moment <= LATEST:
        raise BadInput(field, f"must be between {EARLIEST.date()} and {LATEST.date()}")
    return moment


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
        disagreement=parse_flag(params, "disagreement"),
        since=since,
        until=until,
        search=params.get("q") or params.get("search") or None,
    )


def parse_int(params: QueryParams, field: str, default: int, low: int, high: int) -> int:
    """``field`` as a whole number in ``low..high`` (absent: ``default``; empty or anything else: a 422 naming it)."""
    raw = params.get(field)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise BadInput(field, f"{raw!r} is not a whole number") from error
    if not low <= value <= high:
        raise BadInput(field, f"must be between {low} and {high}")
    return value


def parse_cursor(raw: str | None) -> str | None:
    """A ``next_cursor`` of ours, checked here so a forged one is a 422, not a ClickHouse error."""
    if not raw:
        return None
    try:
        millis, review_id = decode_cursor(raw)
    except ValueError as error:
        raise BadInput("cursor", str(error)) from error
    if not EARLIEST.timestamp() * 1000 <= millis <= LATEST.timestamp() * 1000 or not review_id:
        raise BadInput("cursor", "not a cursor of this server: pass next_cursor from a previous page")
    return raw


def parse_page(params: QueryParams, max_limit: int, default_limit: int = 50, max_offset: int = 10_000) -> PageRequest:
    """limit (1..max_limit), offset (0..max_offset; deeper pages use the cursor) and an optional cursor."""
    limit = parse_int(params, "limit", default_limit, 1, max_limit)
    try:
        offset = parse_int(params, "offset", 0, 0, max_offset)
    except BadInput as error:
        raise BadInput("offset", f"{error.message}; page deeper with `cursor` (next_cursor)") from error
    return PageRequest(limit, offset, parse_cursor(params.get("cursor")))


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
