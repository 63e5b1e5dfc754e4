"""The worker's per-batch logic without Kafka: parsing to events or dead letters, drafts, scoring."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from kernel.events import DeadLetter, ReviewEvent, ScoredReview
from stream.worker.processing import (
    DEAD_LETTER_RAW_BYTES,
    DraftSessions,
    latest_drafts,
    parse,
    parse_array,
    parse_item,
    score,
)


def review_json(**fields: object) -> bytes:
    return json.dumps({"kind": "review", "text": "Lovely staff", **fields}).encode()


def test_valid_event_parses() -> None:
    event = parse(review_json(id="r1", brand="Acme", rating=4), "reviews.raw")
    assert isinstance(event, ReviewEvent) and event.id == "r1" and event.rating == 4


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (json.dumps({"kind": "review"}).encode(), "text: Field required"),
        (json.dumps({"kind": "poem", "text": "x"}).encode(), "kind: Input should be"),
        (review_json(rating=9), "rating: Input should be less than or equal to 5"),
        (b"", "not JSON"),
    ],
)
def test_unusable_input_becomes_a_dead_letter_with_reason(raw: bytes, reason: str) -> None:
    letter = parse(raw, "reviews.raw", partition=2, offset=17)
    assert isinstance(letter, DeadLetter)
    assert reason in letter.error
    assert (letter.topic, letter.partition, letter.offset) == ("reviews.raw", 2, 17)


ARRAY_ITEMS = [
    {"kind": "review", "text": "Lovely staff", "id": "r1", "brand": "Acme", "rating": 4, "source": "crawl",
     "url": "https://acme.test/r/1", "ts": "2026-11-30T10:00:00+02:00", "meta": {"user_agent": "UA"}},
    {"kind": "imported", "text": "  Kalt\u00e9 \ud83d\ude00 <b>und</b>\u0000 teuer  "},
    {"kind": "draft", "text": "typing", "session_id": "s1", "unknown_field": [1, 2]},
]


def test_a_valid_array_parses_in_one_pass_to_what_item_by_item_parsing_gives() -> None:
    raw = json.dumps(ARRAY_ITEMS).encode()
    fast = parse_array(raw)
    slow = [parse_item(item, index, "reviews.raw") for index, item in enumerate(json.loads(raw))]
    assert fast is not None and all(isinstance(event, ReviewEvent) for event in slow)
    # ids and timestamps default per event: compare what was given, field by field
    assert [e.model_dump(exclude={"ts"}) for e in fast[:1]] == [e.model_dump(exclude={"ts"}) for e in slow[:1]]
    assert fast[0].ts == slow[0].ts
    assert [(e.kind, e.text, e.session_id, e.meta) for e in fast] == [(e.kind, e.text, e.session_id, e.meta)
                                                                      for e in slow]


@pytest.mark.parametrize("raw", [
    json.dumps([*ARRAY_ITEMS, {"kind": "review"}]).encode(),  # one item without text
    json.dumps([ARRAY_ITEMS[0], 42]).encode(),
    b"[]",
    b'[{"kind": "review", "text": "cut',
    b"[\xff]",
])
def test_an_array_with_any_unusable_item_is_left_to_item_by_item_parsing(raw: bytes) -> None:
    assert parse_array(raw) is None


def test_an_array_over_the_size_limit_is_left_to_item_by_item_parsing() -> None:
    raw = json.dumps(ARRAY_ITEMS).encode()
    assert parse_array(raw, max_bytes=len(raw) - 1) is None


def test_oversized_message_is_dead_lettered_and_cut() -> None:
    raw = review_json(text="a" * 5_000_000)
    letter = parse(raw, "reviews.raw", max_bytes=1_000_000)
    assert isinstance(letter, DeadLetter)
    assert "exceeds MAX_TEXT_BYTES=1000000" in letter.error and "cut to" in letter.error
    assert len(letter.raw) == DEAD_LETTER_RAW_BYTES


def test_non_utf8_dead_letter_keeps_bytes_as_base64() -> None:
    letter = parse(b"\xff\xfe", "reviews.raw")
    assert letter.raw_base64 and letter.raw == "//4="


def draft(session: str, text: str, seconds: int) -> ReviewEvent:
    ts = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    return ReviewEvent(kind="draft", text=text, session_id=session, ts=ts)


def test_latest_draft_per_session_wins_and_reviews_are_kept() -> None:
    sessions = DraftSessions()
    review = ReviewEvent(kind="review", text="submitted")
    batch = [draft("a", "h", 1), draft("a", "he", 2), review, draft("b", "x", 1), draft("a", "hel", 3)]
    kept = latest_drafts(batch, sessions)
    assert sorted(e.text for e in kept) == ["hel", "submitted", "x"]
    # an older draft arriving later (another partition, a retry) is superseded already
    assert latest_drafts([draft("a", "he", 2)], sessions) == []
    assert [e.text for e in latest_drafts([draft("a", "hello", 4)], sessions)] == ["hello"]


def test_draft_sessions_are_bounded() -> None:
    sessions = DraftSessions(capacity=2)
    for name in "abc":
        latest_drafts([draft(name, name, 5)], sessions)
    assert not sessions.is_stale("a", draft("a", "a", 1).ts)  # forgotten: oldest evicted
    assert sessions.is_stale("c", draft("c", "c", 1).ts)


def test_score_builds_one_scored_review_per_event(tiny_model_dir) -> None:
    from inference.scorer import Scorer

    scorer = Scorer.load(tiny_model_dir, device="cpu")
    events = [ReviewEvent(kind="imported", text=t, brand="b", rating=3) for t in ("great", "awful food", "!")]
    events.append(ReviewEvent(kind="draft", text="", brand="b", rating=3, session_id="s"))  # a cleared draft
    scored = score(scorer, events)
    assert [s.id for s in scored] == [e.id for e in events]
    for s in scored:
        assert isinstance(s, ScoredReview) and s.model_version == "tiny-untrained"
        assert abs(sum(s.probs) - 1) < 1e-5 and 0 <= s.score <= 1 and s.label in {"bad", "average", "good"}
        assert s.rating == 3 and s.brand == "b"
