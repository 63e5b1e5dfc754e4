"""Which storage failures are permanent (isolate the rows) and which are an outage (retry)."""

from __future__ import annotations

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError, DataError

from stream.worker.sink import is_permanent


@pytest.mark.parametrize(("error", "permanent"), [
    (OverflowError("date value out of range"), True),
    (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"), True),
    (DataError("Unable to create native array for column `rating`"), True),
    (DatabaseError("Code: 53. DB::Exception: Type mismatch (TYPE_MISMATCH)"), True),
    (DatabaseError("Code: 60. DB::Exception: Table reviewpulse.reviews does not exist. (UNKNOWN_TABLE)"), False),
    (DatabaseError("Code: 241. DB::Exception: Memory limit exceeded (MEMORY_LIMIT_EXCEEDED)"), False),
    (ConnectionRefusedError(111, "Connection refused"), False),
    (TimeoutError(), False),
])
def test_failures_are_classified(error: Exception, permanent: bool) -> None:
    assert is_permanent(error) is permanent


