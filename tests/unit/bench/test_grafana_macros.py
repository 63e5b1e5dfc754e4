"""The ClickHouse plugin's macros and Grafana's variable interpolation, on known values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reviewpulse.bench.grafana_macros import ALL, MacroError, QueryContext, expand

FROM = datetime(2014, 11, 12, 11, 45, 26, 123000, tzinfo=UTC)  # 1415792726.123
TO = datetime(2015, 11, 12, 11, 45, 26, 456000, tzinfo=UTC)  # 1447328726.456


def ctx(**variables: str | list[str]) -> QueryContext:
    return QueryContext(FROM, TO, interval_s=20, variables=variables)


def test_time_filters_match_the_plugin_documentation() -> None:
    assert expand("$__timeFilter(ts)", ctx()) == "ts >= toDateTime(1415792726) AND ts <= toDateTime(1447328726)"
    assert expand("$__timeFilter_ms(ts)", ctx()) == (
        "ts >= fromUnixTimestamp64Milli(1415792726123) AND ts <= fromUnixTimestamp64Milli(1447328726456)")
    assert expand("$__dateFilter(d)", ctx()) == "d >= toDate('2014-11-12') AND d <= toDate('2015-11-12')"
    assert expand("$__dt(d, t)", ctx()) == expand("$__dateFilter(d) AND $__timeFilter(t)", ctx())
    assert expand("$__dateTimeFilter(d, t)", ctx()) == expand("$__dt(d, t)", ctx())


def test_time_constants_and_intervals() -> None:
    assert expand("$__fromTime $__toTime", ctx()) == "toDateTime(1415792726) toDateTime(1447328726)"
    assert expand("$__fromTime_ms,$__toTime_ms", ctx()) == (
        "fromUnixTimestamp64Milli(1415792726123),fromUnixTimestamp64Milli(1447328726456)")
    assert expand("$__interval_s", ctx()) == "20"
    assert expand("$__timeInterval(ts)", ctx()) == "toStartOfInterval(toDateTime(ts), INTERVAL 20 second)"
    assert expand("$__timeInterval_ms(ts)", ctx()) == (
        "toStartOfInterval(toDateTime64(ts, 3), INTERVAL 20000 millisecond)")


def test_macro_arguments_may_nest_parentheses_and_quotes() -> None:
    assert expand("$__timeFilter(toDateTime(ts, 'UTC'))", ctx()).startswith(
        "toDateTime(ts, 'UTC') >= toDateTime(1415792726)")
    assert expand("x = ',)' AND $__timeInterval(coalesce(a, b))", ctx()).endswith(
        "toStartOfInterval(toDateTime(coalesce(a, b)), INTERVAL 20 second)")


def test_conditional_all_keeps_the_condition_only_for_a_selection() -> None:
    sql = "WHERE $__conditionalAll(brand IN (${brand:singlequote}), $brand)"
    assert expand(sql, ctx(brand=ALL)) == "WHERE 1=1"
    assert expand(sql, ctx(brand=[ALL])) == "WHERE 1=1"
    assert expand(sql, ctx(brand=["Acme", "O'Neil"])) == "WHERE brand IN ('Acme','O\\'Neil')"
    assert expand(sql, ctx(brand="Acme")) == "WHERE brand IN ('Acme')"


def test_variable_formats() -> None:
    assert expand("${v:sqlstring}", ctx(v=["a'b", "c"])) == "'a''b','c'"
    assert expand("${v:csv}", ctx(v=["a", "b"])) == "a,b"
    assert expand("$v", ctx(v=["a", "b"])) == "'a','b'"  # the plugin's own multi-value format
    assert expand("$v [[v]] ${v}", ctx(v="x")) == "x x x"


@pytest.mark.parametrize(("sql", "message"), [
    ("$__timeFilter(a, b)", "exactly one column"),
    ("$__timeFilter(ts", "unbalanced"),
    ("$__timeFilters(ts)", "unknown macro"),
    ("$nobody", "no value"),
    ("brand IN ($brand)", "outside $__conditionalAll"),
    ("$__conditionalAll(x, $nobody)", "unknown variable"),
])
def test_mistakes_are_reported_by_name(sql: str, message: str) -> None:
    with pytest.raises(MacroError, match=message.replace("$", r"\$")):
        expand(sql, ctx(brand=ALL))
