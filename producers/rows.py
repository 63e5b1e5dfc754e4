"""Reading an import file row by row, so that one bad row never stops the file.

``read_rows`` yields ``(line number, row)`` for a CSV or JSONL file, where a row that
cannot be read is a ``RowError`` with the reason: bytes that are not UTF-8 (the file is
decoded with surrogate escapes, then each row is checked), a CSV record the csv module
refuses (e.g. a cell over ``csv.field_size_limit()``), a line that is not a JSON object
or is nested deeper than ``json`` can follow. Only a wrong file type or an unreadable
header stops a file (``ImportFileError``).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (type, columns); the message says how to fix it."""


class RowError(ValueError):
    """One row cannot become a review; the message is the reason counted in the summary."""


#: (line number in the file where the row starts, the row or why it cannot be read)
Row = tuple[int, dict[str, Any] | RowError]
NOT_UTF8 = "not UTF-8; re-save the file as UTF-8"
#: UTF-8, with the byte-order mark a spreadsheet may write first skipped (it is not part of the first column's name).
ENCODING = "utf-8-sig"
_UNDECODABLE = re.compile("[\udc80-\udcff]")


def has_undecodable(value: Any) -> bool:
    """True when ``value`` (a cell, a row) holds bytes that were not UTF-8 (kept as surrogate escapes)."""
    if isinstance(value, str):
        return bool(_UNDECODABLE.search(value))
    if isinstance(value, dict):
        return any(has_undecodable(k) or has_undecodable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_undecodable(v) for v in value)
    return False


class _CountedLines:
    """The lines of a file, counting how many the csv reader has taken (records may span lines)."""

    def __init__(self, handle: TextIO) -> None:
        self.handle, self.taken = handle, 0

    def __iter__(self) -> Iterator[str]:
        for line in self.handle:
            self.taken += 1
            yield line


def _csv_rows(handle: TextIO) -> Iterator[Row]:
    lines = _CountedLines(handle)
    reader = csv.DictReader(lines)
    try:
        reader.fieldnames  # noqa: B018 - reads the header line
    except csv.Error as error:
        raise ImportFileError(f"the header line cannot be read ({error})") from None
    while True:
        first_line = lines.taken + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # e.g. a cell over csv.field_size_limit(): skip that record only
            yield first_line, RowError(f"unreadable CSV record: {error}")
        else:
            yield first_line, RowError(NOT_UTF8) if has_undecodable(row) else row


def _jsonl_rows(handle: TextIO) -> Iterator[Row]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        if has_undecodable(line):
            yield number, RowError(NOT_UTF8)
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than json can follow
            yield number, RowError("line is not JSON")
            continue
        yield number, row if isinstance(row, dict) else RowError("line is not a JSON object")


def read_rows(path: Path) -> Iterator[Row]:
    """(line number, row) of a .csv or .jsonl/.ndjson file; a row that cannot be read is a RowError.

    One bad row never stops the file: invalid UTF-8 is decoded with surrogate escapes and
    reported per row, a CSV record the csv module refuses is skipped, a bad JSON line too.
    """
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        raise ImportFileError(f"{path}: unknown file type {suffix!r}; use .csv or .jsonl (one JSON object a line)")
    with open(path, encoding=ENCODING, newline="", errors="surrogateescape") as handle:
        yield from (_csv_rows(handle) if suffix == ".csv" else _jsonl_rows(handle))


def csv_columns(path: Path) -> list[str] | None:
    if path.suffix.lower() != ".csv":
        return None
    with open(path, encoding=ENCODING, newline="", errors="surrogateescape") as handle:
        try:
            columns = next(csv.reader(handle), [])
        except csv.Error as error:
            raise ImportFileError(f"{path}: the header line cannot be read ({error})") from None
    if has_undecodable(columns):
        raise ImportFileError(f"{path}: the header line is not UTF-8; re-save the file as UTF-8")
    return columns
