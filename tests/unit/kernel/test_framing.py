"""The one message format: one event as an object, several as an array, read back by every reader."""

from __future__ import annotations

import json

import pytest

from kernel.framing import FramingError, decode_items, encode_array, encode_message, events_of, holds_many, item_bytes

ONE = b'{"id": "a", "text": "fine"}'
TWO = b'{"id": "b", "text": "caf\xc3\xa9"}'


def test_one_event_travels_as_itself_several_as_an_array() -> None:
    assert encode_message([ONE]) == ONE and not holds_many(ONE)
    packed = encode_message([ONE, TWO])
    assert holds_many(b"  " + packed)
    assert json.loads(packed) == [json.loads(ONE), json.loads(TWO)]
    assert holds_many(encode_array([ONE])), "an answer to an array message stays an array, even of one"


def test_every_reader_gets_the_same_events_from_either_form() -> None:
    assert events_of(ONE) == [{"id": "a", "text": "fine"}]
    assert [event["id"] for event in events_of(encode_message([ONE, TWO]))] == ["a", "b"]
    assert decode_items(encode_array([ONE, TWO]))[1]["text"] == "café"


@pytest.mark.parametrize(("raw", "reason"), [
    (b"[\xff]", "not UTF-8"), (b"[1,", "not JSON"), (b"[" * 200_000, "not JSON"), (b"[]", "not an event"),
    (b"{}", "not an event"),
])
def test_an_unusable_array_message_says_why(raw: bytes, reason: str) -> None:
    with pytest.raises(FramingError, match=reason):
        decode_items(raw)
    assert events_of(raw) in ([], [{}])


def test_an_items_bytes_survive_a_lone_surrogate() -> None:
    assert item_bytes({"text": "café"}) == '{"text": "café"}'.encode()
    assert json.loads(item_bytes({"text": "x\ud800"})) == {"text": "x\ud800"}
