"""The event schema accepts only what storage can hold (issue 10, item 1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from kernel.events import Brand, DeadLetter, ReviewEvent, ScoredReview
from stream.worker.processing import parse


def review(**fields: object) -> dict:
    return {"kind": "review", "text": "fine", **fields}


def reason(**fields: object) -> str:
    letter = parse(json.dumps(review(**fields)).encode(), "reviews.raw")
    assert isinstance(letter, DeadLetter), f"{fields} should be rejected"
    return letter.error


@pytest.mark.parametrize("ts", [
    "0001-01-01T00:00:00+05:00", "0001-01-01T00:00:00", "1969-12-31T23:59:59Z", "1900-01-01T00:00:00Z",
    "2200-01-01T00:00:00Z", "9999-12-31T23:59:59-05:00", -10**11,
])
def test_timestamps_outside_the_window_are_rejected_with_the_reason(ts: object) -> None:
    assert "is outside 1970-01-01..2200-01-01 (UTC)" in reason(ts=ts)


def test_timestamps_are_converted_to_utc() -> None:
    event = ReviewEvent.model_validate(review(ts="2026-03-01T12:00:00+05:00"))
    assert event.ts == datetime(2026, 3, 1, 7, tzinfo=UTC) and event.ts.utcoffset() == timedelta(0)
    assert ReviewEvent.model_validate(review(ts="2026-03-01T12:00:00")).ts.tzinfo is UTC
    near_edge = datetime(1970, 1, 1, 3, tzinfo=timezone(timedelta(hours=2)))
    assert ReviewEvent(kind="review", text="x", ts=near_edge).ts == datetime(1970, 1, 1, 1, tzinfo=UTC)
    with pytest.raises(ValidationError, match="outside"):
        ReviewEvent(kind="review", text="x", ts=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))))


@pytest.mark.parametrize(("fields", "expected"), [
    ({"rating": 1e400}, "finite number"),
    ({"rating": True}, "not true/false"),
    ({"rating": 2.5}, "rating"),
    ({"rating": 10**30}, "rating"),
    ({"id": "a\x00b"}, "control characters"),
    ({"session_id": "s\n1"}, "control characters"),
    ({"source": "x\x1b[31m"}, "control characters"),
    ({"url": "javascript:alert(1)"}, "http:// or https://"),
    ({"brand": "b" * 501}, "at most 500"),
    ({"meta": {f"k{i}": "v" for i in range(33)}}, "at most 32"),
    ({"meta": {"user_agent": "u" * 2001}}, "at most 2000"),
    ({"meta": {"nested": {"a": 1}}}, "meta.nested"),
])
def test_values_storage_cannot_hold_are_rejected(fields: dict, expected: str) -> None:
    assert expected in reason(**fields)


def test_nul_and_control_characters_are_removed_from_text() -> None:
    event = ReviewEvent(kind="review", text="ok\x00 go\x07od\ttab\nline\x7f\x85", brand="Acme\n\x00Inc",
                        meta={"reviewer": "Ann\r\nB"})
    assert event.text == "ok good\ttab\nline"
    assert event.brand == "Acme Inc" and event.meta == {"reviewer": "Ann B"}


def test_lone_surrogates_are_refused() -> None:
    """UTF-8 cannot encode them, so ClickHouse could not store them (UnicodeEncodeError)."""
    with pytest.raises(ValidationError, match="unicode"):
        ReviewEvent(kind="review", text="broken \ud800 pair")
    assert isinstance(parse(b'{"kind": "review", "text": "\\ud800"}', "reviews.raw"), DeadLetter)


def test_brand_urls_are_http_only() -> None:
    brand = Brand(name="Acme", website="https://acme.example", logo="http://cdn.example/a.png")
    assert brand.website == "https://acme.example"
    for url in ("javascript:alert(1)", "data:image/png;base64,AAAA", "file:///etc/passwd", "acme.example",
                "//acme.example", "https://", "https://a b.example", "http://a.example/\x00"):
        for field in ("website", "logo", "url"):
            with pytest.raises(ValidationError, match="http"):
                Brand(name="Acme", **{field: url})
    assert Brand(name="Acme", website="").website == ""


def test_scored_review_numbers_must_be_finite() -> None:
    event = ReviewEvent(kind="review", text="x")
    base = {**event.model_dump(), "label": "good", "suggested_rating": 5, "model_version": "v"}
    ScoredReview(**base, probs=[0.1, 0.2, 0.7], score=0.8)
    for probs, score in (([float("nan"), 0.5, 0.5], 0.5), ([0.1, 0.2, 0.7], float("nan")),
                         ([float("inf"), 0.0, 0.0], 0.5), ([0.1, 0.2, 0.7], 1.5)):
        with pytest.raises(ValidationError):
            ScoredReview(**base, probs=probs, score=score)


def test_scored_review_of_an_event_is_the_validated_one_and_refuses_what_the_schema_refuses() -> None:
    event = ReviewEvent(kind="imported", text="fine\tthing", brand="Acme", rating=4, source="csv",
                        url="https://acme.example/r/1", meta={"user_agent": "x"})
    verdict = {"probs": [0.1, 0.2, 0.7], "score": 0.8, "label": "good", "suggested_rating": 4,
               "model_version": "v", "scored_at": event.ts}
    fast = ScoredReview.of(event, **verdict)
    validated = ScoredReview(**event.model_dump(), **verdict)
    assert fast == validated
    assert fast.to_bytes() == validated.to_bytes()
    assert fast.model_fields_set == validated.model_fields_set
    for bad in ({"probs": [float("nan"), 0.5, 0.5]}, {"probs": [1.0]}, {"score": float("nan")}, {"score": 1.5},
                {"suggested_rating": 0}):
        with pytest.raises(ValueError, match="verdict"):
            ScoredReview.of(event, **{**verdict, **bad})
