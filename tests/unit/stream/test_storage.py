"""Storage queries: a bad page cursor says what to pass."""

from __future__ import annotations

import pytest

from stream.storage.queries import decode_cursor


def test_bad_cursor_says_what_to_pass() -> None:
    with pytest.raises(ValueError, match="next_cursor"):
        decode_cursor("not-a-cursor!")


