"""Bulk import parsing: rows to events with stable ids, and clear reasons for rejected rows."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from producers.importer import (
    ImportFileError,
    ImportOptions,
    ImportSummary,
    RowError,
    check_columns,
    events,
    parse_rating,
    read_rows,
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_same_file_gives_same_ids_and_identical_rows_stay_distinct(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "body,stars,shop\nGreat,5,Acme\nGreat,5,Acme\nMeh,3,Acme\n")
    options = check_columns(path, ImportOptions(text_column="body", rating_column="stars", brand_column="shop"))

    def ids() -> list[str]:
        return [e.id for e in events(read_rows(path), options, ImportSummary())]

    first = ids()
    assert first == ids() and len(set(first)) == 3
    event = next(events(read_rows(path), options, ImportSummary()))
    assert (event.text, event.rating, event.brand, event.kind, event.source) == ("Great", 5, "Acme", "imported", "import")


def test_rejected_rows_are_counted_by_reason(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", "\n".join([
        json.dumps({"text": "ok", "rating": 4.0}), json.dumps({"text": "  "}), "nope",
        json.dumps({"text": "x", "rating": 0}), json.dumps({"text": "y" * 200_000}), "",
    ]))
    summary = ImportSummary()
    kept = list(events(read_rows(path), ImportOptions(), summary))
    assert [e.rating for e in kept] == [4]
    assert summary.rejected == Counter({
        "empty or missing 'text'": 1, "line is not JSON": 1, "rating is not a whole number 1-5": 1,
        "text: String should have at most 100000 characters": 1,
    })


@pytest.mark.parametrize(("value", "expected"), [("", None), (None, None), ("3", 3), (5, 5), ("4.0", 4)])
def test_ratings(value: object, expected: int | None) -> None:
    assert parse_rating(value) == expected


@pytest.mark.parametrize("value", ["x", "2.5", "6", 0])
def test_bad_ratings(value: object) -> None:
    with pytest.raises(RowError):
        parse_rating(value)


def test_file_level_errors_say_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="pass --text-column"):
        check_columns(write(tmp_path / "a.csv", "review,stars\nx,1\n"), ImportOptions())
    with pytest.raises(ImportFileError, match="use .csv or .jsonl"):
        list(read_rows(write(tmp_path / "a.xlsx", "")))
    missing_optional = check_columns(write(tmp_path / "b.csv", "text\nx\n"), ImportOptions())
    assert missing_optional.rating_column is None and missing_optional.brand_column is None


def test_a_bad_csv_row_is_rejected_with_its_line_and_the_file_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"text,rating\n"
                     b"first,5\n"
                     b'"' + b"x" * 200_000 + b'",4\n'   # over csv.field_size_limit()
                     b"caf\xe9 latin-1,3\n"              # not UTF-8
                     b'"two\nlines",2\n'
                     b"last,1\n")
    summary = ImportSummary()
    kept = list(events(read_rows(path), check_columns(path, ImportOptions()), summary))
    assert [e.text for e in kept] == ["first", "two\nlines", "last"]
    assert [line for line, _ in read_rows(path)] == [2, 3, 4, 5, 7]
    assert summary.rejected_lines == [(3, "unreadable CSV record: field larger than field limit (131072)"),
                                      (4, "not UTF-8; re-save the file as UTF-8")]
    assert summary.as_dict()["rejected_lines"][1] == {"line": 4, "reason": "not UTF-8; re-save the file as UTF-8"}


def test_a_bad_jsonl_line_is_rejected_with_its_number_and_the_file_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\n".join([
        b'{"text": "first"}', b'{"text": "trunc', b'{"text": "caf\xe9"}', b"[" * 100_000,
        b'{"text": "x", "brand": {"nested": 1}}', b'{"text": "last", "rating": 1e400}', b'{"text": "end"}',
    ]))
    summary = ImportSummary()
    kept = list(events(read_rows(path), ImportOptions(), summary))
    assert [e.text for e in kept] == ["first", "end"]
    assert [line for line, _ in summary.rejected_lines] == [2, 3, 4, 5, 6]
    assert summary.rejected == Counter({"line is not JSON": 2, "not UTF-8; re-save the file as UTF-8": 1,
                                        "'brand' is not text": 1, "rating is not a whole number 1-5": 1})


def test_a_header_that_is_not_utf8_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"t\xe9xt,rating\nx,1\n")
    with pytest.raises(ImportFileError, match="header line is not UTF-8"):
        check_columns(path, ImportOptions(text_column="t\xe9xt"))


@pytest.mark.parametrize("name", ["bom.csv", "bom.jsonl"])
def test_a_file_saved_with_a_byte_order_mark_imports_whole(tmp_path: Path, name: str) -> None:
    from producers.rows import csv_columns, read_rows

    path = tmp_path / name
    body = "text,rating\nfirst review,5\nsecond,1\n" if name.endswith(".csv") else (
        '{"text": "first review", "rating": 5}\n{"text": "second", "rating": 1}\n')
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    rows = [row for _, row in read_rows(path)]
    assert [row["text"] for row in rows] == ["first review", "second"]  # type: ignore[index]
    if name.endswith(".csv"):
        assert csv_columns(path) == ["text", "rating"]


def test_a_row_of_nul_bytes_is_refused_with_its_line_not_stored_empty(tmp_path: Path) -> None:
    from producers.importer import ImportOptions, ImportSummary, events
    from producers.rows import read_rows

    path = tmp_path / "nul.csv"
    path.write_bytes(b"text\nfine\n\x00\x00\x00\nalso fine\n")
    summary = ImportSummary()
    kept = list(events(read_rows(path), ImportOptions("text", None, None, "test"), summary))
    assert [event.text for event in kept] == ["fine", "also fine"]
    assert summary.rejected == {"empty or missing 'text'": 1}
    assert [line for line, _ in summary.rejected_lines] == [3]


def test_a_date_column_gives_each_review_its_own_date_and_a_bad_date_is_refused_with_its_line(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from producers.importer import ImportOptions, ImportSummary, check_columns, events
    from producers.rows import read_rows

    path = tmp_path / "dated.csv"
    path.write_text("text,when\nplain date,2025-03-01\nwith offset,2025-03-01T10:00:00+02:00\nzulu,2025-03-01T10:00:00Z\n"
                    "words,yesterday\nno date,\nancient,1960-01-01\n")
    options = check_columns(path, ImportOptions("text", None, None, "test", "when"))
    summary = ImportSummary()
    kept = {event.text: event.ts for event in events(read_rows(path), options, summary)}
    assert kept == {"plain date": datetime(2025, 3, 1, tzinfo=UTC), "with offset": datetime(2025, 3, 1, 8, tzinfo=UTC),
                    "zulu": datetime(2025, 3, 1, 10, tzinfo=UTC)}
    reasons = dict(summary.rejected_lines)
    assert "not an ISO 8601 date" in reasons[5] and reasons[6] == "empty or missing 'when'"
    assert reasons[7].startswith("ts:")  # outside the events' bounds (1970..2200)
    with pytest.raises(ImportFileError, match="no column 'date'"):
        check_columns(path, ImportOptions("text", None, None, "test", "date"))
