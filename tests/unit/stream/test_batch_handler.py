"""The worker's batch logic (``stream.worker.batches.BatchHandler``) with no broker and no ClickHouse.

A fake scorer, ``stream.storage.memory.MemoryStorage`` and a fake producer stand in; the
handler is the real one. What a scored event means ("stored") rests on these.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import pytest

from kernel.events import Brand, Kind, ReviewEvent
from kernel.framing import encode_array
from kernel.settings import Settings
from stream.storage.memory import MemoryStorage
from stream.worker.batches import BatchHandler, Incoming
from tests.fakes import FakeProducer, FakeScorer

SETTINGS = Settings(retry_max_delay_s=0.05)


def handler_with(storage: MemoryStorage, producer: FakeProducer, scorer: FakeScorer | None = None) -> BatchHandler:
    return BatchHandler(SETTINGS, storage, scorer or FakeScorer(), producer.send)


def reviews(*texts: str) -> list[ReviewEvent]:
    return [ReviewEvent(kind=Kind.review, text=text, brand="Acme", source="test") for text in texts]


def messages(events: Sequence[ReviewEvent], topic: str = SETTINGS.topic_raw) -> list[Incoming]:
    return [Incoming(event.to_bytes(), topic, 0, offset) for offset, event in enumerate(events)]


def test_every_review_is_inserted_before_its_scored_event_is_published() -> None:
    journal: list[tuple[str, str]] = []
    storage, producer = MemoryStorage(journal), FakeProducer(journal)
    batch = reviews("great food", "bad service", "fine")
    asyncio.run(handler_with(storage, producer).handle_reviews(messages(batch)))
    ids = [event.id for event in batch]
    assert set(storage.reviews) == set(ids)
    assert [event["id"] for event in producer.published(SETTINGS.topic_scored)] == ids
    last_insert = max(i for i, (what, _) in enumerate(journal) if what == "insert reviews")
    first_publish = min(i for i, (what, _) in enumerate(journal) if what.startswith("publish"))
    assert last_insert < first_publish, journal
    assert storage.reviews[ids[1]].label == "bad" and storage.reviews[ids[0]].model_version == "fake-1"


def test_a_storage_outage_is_retried_and_nothing_is_published_before_the_insert_succeeds() -> None:
    journal: list[tuple[str, str]] = []
    storage, producer = MemoryStorage(journal), FakeProducer(journal)
    storage.fail_next(ConnectionError("ClickHouse is down"), times=3)
    batch = reviews("one", "two")
    asyncio.run(handler_with(storage, producer).handle_reviews(messages(batch)))
    assert storage.inserts == 4  # three failures, then the insert that stored both
    assert set(storage.reviews) == {event.id for event in batch}
    assert [what for what, _ in journal] == ["insert reviews"] * 2 + [f"publish {SETTINGS.topic_scored}"] * 2
    assert not storage.dead_letters


def test_a_publish_failure_is_retried_until_the_broker_takes_it() -> None:
    storage, producer = MemoryStorage(), FakeProducer()
    producer.fail_next = [ConnectionError("broker gone")]
    batch = reviews("retried")
    asyncio.run(handler_with(storage, producer).handle_reviews(messages(batch)))
    assert [event["id"] for event in producer.published(SETTINGS.topic_scored)] == [batch[0].id]


def test_a_row_storage_refuses_is_dead_lettered_and_the_rest_are_stored_and_published() -> None:
    storage, producer = MemoryStorage(), FakeProducer()
    storage.refuse(lambda row: isinstance(row, ReviewEvent) and "poison" in row.text, "Code: 6. CANNOT_PARSE_TEXT")
    batch = reviews("ok one", "poison pill", "ok two", "ok three")
    asyncio.run(handler_with(storage, producer).handle_reviews(messages(batch)))
    poison = batch[1].id
    assert set(storage.reviews) == {event.id for event in batch} - {poison}
    assert poison not in {event["id"] for event in producer.published(SETTINGS.topic_scored)}
    [letter] = storage.dead_letters
    assert "CANNOT_PARSE_TEXT" in letter.error and json.loads(letter.raw)["id"] == poison
    assert letter.topic == SETTINGS.topic_raw and letter.offset == 1
    assert [dead["offset"] for dead in producer.published(SETTINGS.topic_dead)] == [1]


def test_unusable_messages_become_dead_letters_with_the_reason_and_their_neighbours_are_stored() -> None:
    storage, producer = MemoryStorage(), FakeProducer()
    batch = reviews("before", "after")
    incoming = messages(batch)
    incoming.insert(1, Incoming(b"{not json", SETTINGS.topic_raw, 0, 7))
    incoming.insert(2, Incoming(b"\xff\xfe", SETTINGS.topic_raw, 0, 8))
    asyncio.run(handler_with(storage, producer).handle_reviews(incoming))
    assert set(storage.reviews) == {event.id for event in batch}
    reasons = {letter.offset: letter.error for letter in storage.dead_letters}
    assert reasons[7].startswith("not JSON") and reasons[8].startswith("not UTF-8")
    assert sorted(dead["offset"] for dead in producer.published(SETTINGS.topic_dead)) == [7, 8]


def test_a_text_the_scorer_fails_on_is_dead_lettered_alone() -> None:
    storage, producer = MemoryStorage(), FakeProducer()
    batch = reviews("fine", "explodes here", "also fine")
    asyncio.run(handler_with(storage, producer, FakeScorer(fail_on="explodes")).handle_reviews(messages(batch)))
    assert set(storage.reviews) == {batch[0].id, batch[2].id}
    [letter] = storage.dead_letters
    assert letter.error.startswith("scorer failed: RuntimeError")


def test_drafts_are_answered_latest_wins_and_never_wait_for_storage() -> None:
    storage, producer = MemoryStorage(), FakeProducer()
    storage.fail_next(ConnectionError("ClickHouse is down"), times=1000)
    older = ReviewEvent(kind=Kind.draft, text="goo", session_id="s1", ts="2026-01-01T00:00:00Z")
    newer = ReviewEvent(kind=Kind.draft, text="good", session_id="s1", ts="2026-01-01T00:00:01Z")
    other = ReviewEvent(kind=Kind.draft, text="bad", session_id="s2")
    handler = handler_with(storage, producer)
    asyncio.run(handler.handle_drafts(messages([older, newer, other], SETTINGS.topic_drafts)))
    assert [event["id"] for event in producer.published(SETTINGS.topic_scored)] == [newer.id, other.id]
    asyncio.run(handler.handle_drafts(messages([older], SETTINGS.topic_drafts)))  # older than one answered
    assert len(producer.published(SETTINGS.topic_scored)) == 2
    assert storage.reviews == {} and storage.inserts == 0


def test_a_review_on_the_drafts_topic_is_a_dead_letter_saying_where_reviews_go() -> None:
    storage, producer = MemoryStorage(), FakeProducer()
    asyncio.run(handler_with(storage, producer).handle_drafts(messages(reviews("misplaced"), SETTINGS.topic_drafts)))
    [dead] = producer.published(SETTINGS.topic_dead)
    assert SETTINGS.topic_raw in dead["error"]
    assert not producer.published(SETTINGS.topic_scored)


def test_brands_are_stored_and_an_invalid_one_is_dead_lettered() -> None:
    storage, producer = MemoryStorage(), FakeProducer()
    incoming = [Incoming(Brand(name="Acme", website="https://acme.test").to_bytes(), SETTINGS.topic_brands),
                Incoming(b'{"name": ""}', SETTINGS.topic_brands, 0, 1)]
    asyncio.run(handler_with(storage, producer).handle_brands(incoming))
    assert set(storage.brands) == {"Acme"}
    [letter] = storage.dead_letters
    assert letter.error.startswith("invalid brand: name")


@pytest.mark.parametrize("times", [1, 5])
def test_a_brand_outage_is_retried(times: int) -> None:
    storage, producer = MemoryStorage(), FakeProducer()
    storage.fail_next(TimeoutError("slow"), times=times)
    incoming = [Incoming(Brand(name="Retry Co").to_bytes(), SETTINGS.topic_brands)]
    asyncio.run(handler_with(storage, producer).handle_brands(incoming))
    assert set(storage.brands) == {"Retry Co"}


def array_message(values: Sequence[bytes], offset: int) -> Incoming:
    """A bulk import's message: several events in one JSON array."""
    return Incoming(encode_array(values), SETTINGS.topic_raw, 2, offset)


def test_an_array_message_is_answered_with_one_array_and_a_bad_event_in_it_is_dead_lettered_alone() -> None:
    storage, producer = MemoryStorage(), FakeProducer()
    packed = reviews("great food", "bad service", "fine")
    alone = reviews("on its own")[0]
    values = [packed[0].to_bytes(), b'{"kind": "review"}', b"42", packed[1].to_bytes(), packed[2].to_bytes()]
    incoming = [array_message(values, 40), Incoming(alone.to_bytes(), SETTINGS.topic_raw, 2, 41)]
    asyncio.run(handler_with(storage, producer).handle_reviews(incoming))
    assert set(storage.reviews) == {event.id for event in [*packed, alone]}
    arrays = [value for value in producer.published(SETTINGS.topic_scored) if isinstance(value, list)]
    singles = [value for value in producer.published(SETTINGS.topic_scored) if isinstance(value, dict)]
    assert [[event["id"] for event in array] for array in arrays] == [[event.id for event in packed]]
    assert [event["id"] for event in singles] == [alone.id]
    assert {event["label"] for event in arrays[0]} == {"good", "bad"}
    letters = sorted(storage.dead_letters, key=lambda letter: letter.error)
    assert [letter.offset for letter in letters] == [40, 40]
    assert letters[0].error.startswith("event 1 of the array: invalid event: text")
    assert json.loads(letters[0].raw) == {"kind": "review"}  # the one event, not the whole array
    assert letters[1].error.startswith("event 2 of the array:") and "not an object" in letters[1].error
    assert len(producer.published(SETTINGS.topic_dead)) == 2


def test_a_row_storage_refuses_in_an_array_is_dead_lettered_with_its_own_json() -> None:
    storage, producer = MemoryStorage(), FakeProducer()
    storage.refuse(lambda row: isinstance(row, ReviewEvent) and "poison" in row.text, "Code: 6. CANNOT_PARSE_TEXT")
    packed = reviews("ok one", "poison pill", "ok two")
    asyncio.run(handler_with(storage, producer).handle_reviews([array_message([e.to_bytes() for e in packed], 5)]))
    [array] = producer.published(SETTINGS.topic_scored)
    assert [event["id"] for event in array] == [packed[0].id, packed[2].id]
    [letter] = storage.dead_letters
    assert json.loads(letter.raw)["id"] == packed[1].id and letter.offset == 5


@pytest.mark.parametrize(("value", "reason"), [
    (b'[{"kind": "review", "text": "cut sho', "not JSON"),
    (b"[]", "not an event"),
    (b"[" * 100_000, "not JSON"),
    (b"[\xff]", "not UTF-8"),
])
def test_an_unreadable_array_is_one_dead_letter_and_its_neighbours_are_stored(value: bytes, reason: str) -> None:
    storage, producer = MemoryStorage(), FakeProducer()
    batch = reviews("before", "after")
    incoming = messages(batch)
    incoming.insert(1, Incoming(value, SETTINGS.topic_raw, 0, 9))
    asyncio.run(handler_with(storage, producer).handle_reviews(incoming))
    assert set(storage.reviews) == {event.id for event in batch}
    [letter] = storage.dead_letters
    assert letter.offset == 9 and letter.error.startswith(reason), letter.error


def test_no_silent_drop_a_draft_on_the_reviews_topic_and_an_empty_text_in_an_array_are_dead_letters() -> None:
    storage, producer = MemoryStorage(), FakeProducer()
    good = reviews("kept")[0]
    draft = ReviewEvent(kind=Kind.draft, text="typing", session_id="s1")
    empty = b'{"kind": "review", "text": "", "source": "test"}'
    nul_only = b'{"kind": "imported", "text": "\\u0000\\u0000", "source": "test"}'
    incoming = [array_message([good.to_bytes(), empty, nul_only], 7), Incoming(draft.to_bytes(), SETTINGS.topic_raw, 2, 8)]
    asyncio.run(handler_with(storage, producer).handle_reviews(incoming))
    assert set(storage.reviews) == {good.id}
    reasons = sorted(letter.error for letter in storage.dead_letters)
    assert len(reasons) == 3, reasons
    assert any(SETTINGS.topic_drafts in reason and "draft" in reason for reason in reasons)
    assert sum("text is empty" in reason for reason in reasons) == 2
    taken = 1 + 3  # every event the worker took: stored, or dead-lettered with a reason
    assert len(storage.reviews) + len(storage.dead_letters) == taken
