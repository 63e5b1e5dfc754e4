"""Storing a batch when some of its rows may be poison: transient vs permanent failures.

A *transient* failure (ClickHouse or the broker unreachable, a timeout, a missing table
while someone migrates) says nothing about the rows: the caller retries the same batch
with backoff. A *permanent* failure is caused by the rows themselves (a value the column
cannot hold, text that is not UTF-8): retrying can never succeed, so ``insert_isolating``
splits the batch in halves until every row that can be stored is stored, and returns the
others with the reason, for the caller to dead-letter. With k poison rows in n, that is
about k * log2(n) extra inserts; a clean batch costs one.
"""

from __future__ import annotations

import asyncio
import logging
import re
import struct
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

#: ClickHouse error codes caused by the data sent, not by the server's state.
CONTENT_ERROR_CODES = frozenset({
    6,    # CANNOT_PARSE_TEXT
    27,   # CANNOT_PARSE_INPUT_ASSERTION_FAILED
    32,   # ATTEMPT_TO_READ_AFTER_EOF
    33,   # CANNOT_READ_ALL_DATA
    38,   # CANNOT_PARSE_DATE
    41,   # CANNOT_PARSE_DATETIME
    53,   # TYPE_MISMATCH
    69,   # ARGUMENT_OUT_OF_BOUND
    70,   # CANNOT_CONVERT_TYPE
    72,   # CANNOT_PARSE_NUMBER
    117,  # INCORRECT_DATA
    131,  # TOO_LARGE_STRING_SIZE
    321,  # VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
    349,  # CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
    469,  # VIOLATED_CONSTRAINT
})
_CODE = re.compile(r"Code: (\d+)\.")
#: Broker errors that mean "this message can never be accepted" (aiokafka / kafka-python names).
PERMANENT_BROKER_ERRORS = frozenset({"MessageSizeTooLargeError", "RecordTooLargeError", "InvalidRecordError"})


def is_permanent(error: BaseException) -> bool:
    """True when ``error`` comes from the content of what was sent, so a retry cannot help."""
    if isinstance(error, ValueError | TypeError | ArithmeticError | struct.error):
        return True  # client-side conversion: OverflowError, UnicodeEncodeError, bad number
    names = {cls.__name__ for cls in type(error).__mro__}
    if names & PERMANENT_BROKER_ERRORS or names & {"DataError", "ProgrammingError"}:
        return True  # clickhouse-connect: DataError = a value the column type cannot take
    match = _CODE.search(str(error))
    return match is not None and int(match.group(1)) in CONTENT_ERROR_CODES


def reason(error: BaseException) -> str:
    return f"storage rejected it: {type(error).__name__}: {error}"[:2000]


async def insert_isolating(insert: Callable[[Sequence[T]], Awaitable[None]],
                           rows: Sequence[T]) -> list[tuple[T, str]]:
    """Insert ``rows``; on a permanent failure bisect, and return the rows that cannot be stored.

    A transient failure propagates (the caller retries everything; re-inserting the rows
    already stored is harmless: ``reviews`` replaces by id).
    """
    if not rows:
        return []
    try:
        await insert(rows)
        return []
    except Exception as error:  # noqa: BLE001 - classified just below
        if not is_permanent(error):
            raise
        if len(rows) == 1:
            log.warning("row rejected by storage: %s", reason(error))
            return [(rows[0], reason(error))]
    middle = len(rows) // 2
    return await insert_isolating(insert, rows[:middle]) + await insert_isolating(insert, rows[middle:])


async def retry_transient(what: str, call: Callable[[], Awaitable[R]], max_delay_s: float) -> R:
    """Await ``call`` until it succeeds, backing off up to ``max_delay_s``; logs each failure.

    Meant for transient failures only: ``call`` must handle permanent ones itself (see
    ``insert_isolating``), or they would be retried forever.
    """
    delay = 0.2
    while True:
        try:
            return await call()
        except Exception as error:  # noqa: BLE001 - storage/broker outages: wait and retry
            log.error("%s failed (%s: %s); retrying in %.1fs", what, type(error).__name__, error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay_s)
