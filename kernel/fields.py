"""Field types for the event schema: only values ClickHouse (and a browser) can safely hold.

Validation happens at the edge, where an event is parsed, so a bad value becomes a dead
letter with its reason instead of an insert that fails for the whole batch:

* timestamps become UTC and must lie in [MIN_TS, MAX_TS) — ``DateTime64(3, 'UTC')`` holds
  1900..2299, and converting ``0001-01-01T00:00:00+05:00`` to UTC overflows Python itself;
* free text keeps tabs and newlines but loses NUL and other control characters; one-line
  text also turns tabs and newlines into spaces (a lone surrogate, which UTF-8 cannot
  encode, is already refused by pydantic, from JSON and from Python alike);
* identifiers (ids, sources, sessions) are rejected when they hold control characters,
  because silently changing an id would change which row it replaces;
* URLs are empty or absolute http(s) — no ``javascript:``, ``data:`` or ``file:`` links.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator

#: Earliest and latest event time accepted (UTC): well inside ClickHouse's DateTime64 range.
MIN_TS = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TS = datetime(2200, 1, 1, tzinfo=UTC)

_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile("[\t\n\r\u2028\u2029]+")
_ANY_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def utc_in_window(value: datetime) -> datetime:
    """``value`` in UTC (naive means UTC); ValueError outside [MIN_TS, MAX_TS)."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        inside = MIN_TS <= aware < MAX_TS
        converted = aware.astimezone(UTC) if inside else None
    except OverflowError:
        converted = None
    if converted is None:
        raise ValueError(
            f"timestamp {value.isoformat()} is outside {MIN_TS.date()}..{MAX_TS.date()} (UTC)"
        )
    return converted


def clean_text(value: str) -> str:
    """Free text without NUL and the control characters other than tab, newline, carriage return
    (they break CSV exports, terminals and logs, and no review needs them)."""
    return _CONTROLS.sub("", value)


def clean_line(value: str) -> str:
    """One-line text (names, categories): like ``clean_text``, line breaks become spaces."""
    return _LINE_BREAKS.sub(" ", clean_text(value)).strip()


def no_controls(value: str) -> str:
    """Identifiers are kept exactly or rejected: ValueError on any control character."""
    if _ANY_CONTROL.search(value):
        raise ValueError("must not contain control characters (NUL, newline, ...)")
    return value


def http_url(value: str) -> str:
    """Empty, or an absolute http(s) URL with a host; ValueError otherwise."""
    value = value.strip()
    if not value:
        return value
    no_controls(value)
    try:
        parts = urlsplit(value)
    except ValueError as error:
        raise ValueError(f"not a URL: {error}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or " " in value:
        raise ValueError("must be an absolute http:// or https:// URL")
    return value


def not_bool(value: object) -> object:
    """JSON ``true`` is not a number of stars (pydantic would read it as 1)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


UtcTimestamp = Annotated[datetime, AfterValidator(utc_in_window)]
Text = Annotated[str, AfterValidator(clean_text)]
Line = Annotated[str, AfterValidator(clean_line)]
Identifier = Annotated[str, AfterValidator(no_controls)]
HttpUrl = Annotated[str, AfterValidator(http_url)]
Stars = Annotated[int, BeforeValidator(not_bool)]
