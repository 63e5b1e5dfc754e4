"""What Grafana does to a ClickHouse panel's SQL before ClickHouse sees it, done here for tests and benchmarks.

Grafana cannot run on the build machine, so the dashboards tests and ``bench dashboards``
expand every panel query the way Grafana and the ``grafana-clickhouse-datasource`` plugin (v4)
do and run the result on chDB. It lives in ``bench/`` rather than ``tests/`` because the
installed ``reviewpulse bench dashboards`` needs it; the product never expands macros.
The steps, in the plugin's order:

1. ``$__conditionalAll(condition, $var)``: ``condition`` when the variable selects some values,
   ``1=1`` when it selects All (the frontend does this before interpolating variables).
2. Template variables: ``$var``, ``${var}``, ``${var:singlequote}``, ``${var:sqlstring}``,
   ``${var:csv}``, ``${var:raw}``; a multi-value variable with no format becomes ``'a','b'``.
3. Backend macros, output exactly as the plugin documents them::

     $__timeFilter(c)    -> c >= toDateTime(FROM) AND c <= toDateTime(TO)
     $__timeFilter_ms(c) -> c >= fromUnixTimestamp64Milli(FROM_MS) AND c <= fromUnixTimestamp64Milli(TO_MS)
     $__dateFilter(c)    -> c >= toDate('YYYY-MM-DD') AND c <= toDate('YYYY-MM-DD')
     $__dateTimeFilter(d, t) / $__dt(d, t) -> $__dateFilter(d) AND $__timeFilter(t)
     $__fromTime / $__toTime       -> toDateTime(SECONDS)
     $__fromTime_ms / $__toTime_ms -> fromUnixTimestamp64Milli(MILLISECONDS)
     $__interval_s                 -> the interval in seconds
     $__timeInterval(c)    -> toStartOfInterval(toDateTime(c), INTERVAL N second)
     $__timeInterval_ms(c) -> toStartOfInterval(toDateTime64(c, 3), INTERVAL N millisecond)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

#: A variable's value meaning "All" (what Grafana stores when includeAll is picked).
ALL = "$__all"


class MacroError(ValueError):
    """The SQL uses a macro or variable wrongly; the message names it."""


@dataclass(frozen=True)
class QueryContext:
    """The dashboard state a query is expanded for: time range, interval, variable values."""

    time_from: datetime
    time_to: datetime
    interval_s: int = 60
    variables: Mapping[str, str | Sequence[str]] = field(default_factory=dict)

    @property
    def from_s(self) -> int:
        return int(self.time_from.timestamp())

    @property
    def to_s(self) -> int:
        return int(self.time_to.timestamp())

    @property
    def from_ms(self) -> int:
        return int(self.time_from.timestamp() * 1000)

    @property
    def to_ms(self) -> int:
        return int(self.time_to.timestamp() * 1000)


def expand(sql: str, context: QueryContext) -> str:
    """The SQL Grafana would send to ClickHouse for this dashboard state."""
    sql = _replace_calls(sql, "$__conditionalAll", lambda args: _conditional_all(args, context))
    sql = _interpolate_variables(sql, context)
    return _expand_macros(sql, context)


def _conditional_all(args: list[str], context: QueryContext) -> str:
    if len(args) < 2:
        raise MacroError("$__conditionalAll needs (condition, $variable)")
    condition, variable = ",".join(args[:-1]).strip(), args[-1].strip()
    name = variable.lstrip("$").strip("{}").split(":")[0]
    if name not in context.variables:
        raise MacroError(f"$__conditionalAll names unknown variable {variable!r}")
    value = context.variables[name]
    selects_all = value == ALL or (not isinstance(value, str) and ALL in value)
    return "1=1" if selects_all else condition


_VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)|\[\[(\w+)\]\]")


def _interpolate_variables(sql: str, context: QueryContext) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3) or match.group(4)
        if name.startswith("__"):
            return match.group(0)  # a macro, not a variable
        if name not in context.variables:
            raise MacroError(f"template variable ${name} has no value in this context")
        value = context.variables[name]
        if value == ALL or (not isinstance(value, str) and ALL in value):
            raise MacroError(f"${name} selects All but is used outside $__conditionalAll")
        return _format_value(value, match.group(2))

    return _VARIABLE.sub(replace, sql)


def _format_value(value: str | Sequence[str], fmt: str | None) -> str:
    values = [value] if isinstance(value, str) else list(value)
    if fmt == "singlequote":
        return ",".join("'" + v.replace("'", "\\'") + "'" for v in values)
    if fmt == "sqlstring":
        return ",".join("'" + v.replace("'", "''") + "'" for v in values)
    if fmt in ("csv", "raw") or (fmt is None and isinstance(value, str)):
        return ",".join(values)
    if fmt is None:  # the ClickHouse plugin's own format for multi-value variables
        return "'" + "','".join(values) + "'"
    raise MacroError(f"variable format {fmt!r} is not supported here")


def _expand_macros(sql: str, context: QueryContext) -> str:
    interval_s = max(int(context.interval_s), 1)

    def time_filter(args: list[str]) -> str:
        column = _one_arg("$__timeFilter", args)
        return f"{column} >= toDateTime({context.from_s}) AND {column} <= toDateTime({context.to_s})"

    def time_filter_ms(args: list[str]) -> str:
        column = _one_arg("$__timeFilter_ms", args)
        return (f"{column} >= fromUnixTimestamp64Milli({context.from_ms}) "
                f"AND {column} <= fromUnixTimestamp64Milli({context.to_ms})")

    def date_filter(args: list[str]) -> str:
        column = _one_arg("$__dateFilter", args)
        day_from = datetime.fromtimestamp(context.from_s, UTC).date().isoformat()
        day_to = datetime.fromtimestamp(context.to_s, UTC).date().isoformat()
        return f"{column} >= toDate('{day_from}') AND {column} <= toDate('{day_to}')"

    def date_time_filter(args: list[str]) -> str:
        if len(args) != 2:
            raise MacroError("$__dateTimeFilter needs (dateColumn, timeColumn)")
        return f"{date_filter([args[0]])} AND {time_filter([args[1]])}"

    calls: list[tuple[str, Callable[[list[str]], str]]] = [
        ("$__timeFilter_ms", time_filter_ms),
        ("$__timeFilter", time_filter),
        ("$__dateTimeFilter", date_time_filter),
        ("$__dateFilter", date_filter),
        ("$__dt", date_time_filter),
        ("$__timeInterval_ms", lambda a: "toStartOfInterval(toDateTime64("
                                         f"{_one_arg('$__timeInterval_ms', a)}, 3), "
                                         f"INTERVAL {interval_s * 1000} millisecond)"),
        ("$__timeInterval", lambda a: f"toStartOfInterval(toDateTime({_one_arg('$__timeInterval', a)}), "
                                      f"INTERVAL {interval_s} second)"),
    ]
    for name, render in calls:
        sql = _replace_calls(sql, name, render)
    constants = {
        "$__fromTime_ms": f"fromUnixTimestamp64Milli({context.from_ms})",
        "$__toTime_ms": f"fromUnixTimestamp64Milli({context.to_ms})",
        "$__fromTime": f"toDateTime({context.from_s})",
        "$__toTime": f"toDateTime({context.to_s})",
        "$__interval_s": str(interval_s),
    }
    for name, text in constants.items():
        sql = re.sub(re.escape(name) + r"(?!\w)", text, sql)
    leftover = re.search(r"\$__\w+", sql)
    if leftover:
        raise MacroError(f"unknown macro {leftover.group(0)} (reviewpulse/bench/grafana_macros.py lists the supported ones)")
    return sql


def _one_arg(name: str, args: list[str]) -> str:
    if len(args) != 1 or not args[0].strip():
        raise MacroError(f"{name} takes exactly one column, got {args!r}")
    return args[0].strip()


def _replace_calls(sql: str, name: str, render: Callable[[list[str]], str]) -> str:
    """Replace every ``name(args)`` (nested parentheses and quotes allowed) with ``render(args)``."""
    pattern = re.compile(re.escape(name) + r"\s*\(")
    while (match := pattern.search(sql)) is not None:
        args, end = _split_args(sql, match.end())
        sql = sql[: match.start()] + render(args) + sql[end:]
    return sql


def _split_args(sql: str, start: int) -> tuple[list[str], int]:
    """Top-level comma-separated arguments from ``start`` (just past '(') to the matching ')'."""
    depth, quote, args, current = 0, "", [], []
    for index in range(start, len(sql)):
        char = sql[index]
        if quote:
            current.append(char)
            if char == quote and sql[index - 1] != "\\":
                quote = ""
            continue
        if char in "'\"`":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                args.append("".join(current))
                return args, index + 1
            depth -= 1
        elif char == "," and depth == 0:
            args.append("".join(current))
            current = []
            continue
        current.append(char)
    raise MacroError(f"unbalanced parentheses after position {start} in: {sql[start - 20:start + 40]!r}")
