"""The reviews agent's overlap (``stream.overlap.store_behind``) with the real ``BatchHandler``.

Batch N+1 is scored while batch N is stored, yet every batch is inserted before its
events are published and acknowledged only after them. A journal shared by the storage,
the producer, the scorer and the acknowledgement shows the order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

from reviewpulse.events import Kind, ReviewEvent
from reviewpulse.settings import Settings
from stream.batches import BatchHandler, Incoming, ScoredBatch
from stream.memory_storage import MemoryStorage
from stream.overlap import store_behind
from tests.fakes import FakeProducer, FakeScorer, FakeVerdict

SETTINGS = Settings(retry_max_delay_s=0.05)
#: Guards against a deadlock only (the overlap under test would hang without it); never reached when it works.
DEADLOCK_GUARD_S = 30
T = TypeVar("T")


class JournalScorer(FakeScorer):
    """Writes ("score", text) to the journal for every text it scores (on the scorer thread)."""

    def __init__(self, journal: list[tuple[str, str]]) -> None:
        super().__init__()
        self.journal = journal

    def score(self, texts: Sequence[str], passes: int | None = None) -> list[FakeVerdict]:
        self.journal += [("score", text) for text in texts]
        return super().score(texts, passes)


class GatedStorage(MemoryStorage):
    """Each insert first waits for ``gate``: the test opens it when the next batch has been scored."""

    def __init__(self, journal: list[tuple[str, str]]) -> None:
        super().__init__(journal)
        self.gate = asyncio.Event()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        await asyncio.wait_for(self.gate.wait(), DEADLOCK_GUARD_S)
        return fn(*args)


def batch(*texts: str) -> list[Incoming]:
    events = [ReviewEvent(kind=Kind.review, id=text, text=text, brand="Acme", source="test") for text in texts]
    return [Incoming(event.to_bytes(), SETTINGS.topic_raw, 0, offset) for offset, event in enumerate(events)]


async def stream_of(*batches: list[Incoming]) -> AsyncIterator[list[Incoming]]:
    for messages in batches:
        yield messages


def run_overlapped(handler: BatchHandler, journal: list[tuple[str, str]], *batches: list[Incoming],
                   after_score: Callable[[ScoredBatch], None] = lambda scored: None) -> None:
    async def score(messages: list[Incoming]) -> ScoredBatch:
        scored = await handler.score_reviews(messages)
        after_score(scored)
        return scored

    async def store(messages: list[Incoming], scored: ScoredBatch) -> None:
        await handler.store_and_publish(scored)
        journal.append(("ack", ",".join(str(m.offset) for m in messages)))

    asyncio.run(store_behind(stream_of(*batches), score, store))


def first(journal: list[tuple[str, str]], entry: tuple[str, str]) -> int:
    return journal.index(entry)


def test_the_next_batch_is_scored_while_one_is_stored_and_each_is_stored_before_it_is_published() -> None:
    journal: list[tuple[str, str]] = []
    storage, producer = GatedStorage(journal), FakeProducer(journal)
    handler = BatchHandler(SETTINGS, storage, JournalScorer(journal), producer.send)

    def open_gate_once_b_is_scored(scored: ScoredBatch) -> None:
        if any(review.id == "b1" for review in scored.scored):
            storage.gate.set()

    run_overlapped(handler, journal, batch("a1", "a2"), batch("b1", "b2"), after_score=open_gate_once_b_is_scored)
    assert first(journal, ("score", "b1")) < first(journal, ("insert reviews", "a1")), "no overlap"
    for ids in (["a1", "a2"], ["b1", "b2"]):
        inserted = max(first(journal, ("insert reviews", i)) for i in ids)
        published = [first(journal, (f"publish {SETTINGS.topic_scored}", i)) for i in ids]
        assert inserted < min(published), journal
    acks = [i for i, (what, _) in enumerate(journal) if what == "ack"]
    assert acks[0] > first(journal, (f"publish {SETTINGS.topic_scored}", "a2"))
    assert acks[0] < first(journal, ("insert reviews", "b1")) < acks[1], "batches stored one at a time, in order"
    assert set(storage.reviews) == {"a1", "a2", "b1", "b2"}


def test_an_insert_failure_holds_back_that_batch_s_events_and_every_later_batch() -> None:
    journal: list[tuple[str, str]] = []
    storage, producer = MemoryStorage(journal), FakeProducer(journal)
    storage.fail_next(ConnectionError("ClickHouse is down"), times=3)
    handler = BatchHandler(SETTINGS, storage, JournalScorer(journal), producer.send)
    run_overlapped(handler, journal, batch("a1"), batch("b1"), batch("c1"))
    assert storage.inserts == 3 + 3  # three failures of a's insert, then one insert per batch
    stored_or_sent = [entry for entry in journal if entry[0] != "score"]
    assert stored_or_sent == [
        ("insert reviews", "a1"), (f"publish {SETTINGS.topic_scored}", "a1"), ("ack", "0"),
        ("insert reviews", "b1"), (f"publish {SETTINGS.topic_scored}", "b1"), ("ack", "0"),
        ("insert reviews", "c1"), (f"publish {SETTINGS.topic_scored}", "c1"), ("ack", "0"),
    ]


def test_a_row_storage_refuses_is_dead_lettered_not_published_and_its_batch_still_acknowledged() -> None:
    journal: list[tuple[str, str]] = []
    storage, producer = MemoryStorage(journal), FakeProducer(journal)
    storage.refuse(lambda row: getattr(row, "id", "") == "a2", "Code: 6. CANNOT_PARSE_TEXT")
    handler = BatchHandler(SETTINGS, storage, JournalScorer(journal), producer.send)
    run_overlapped(handler, journal, batch("a1", "a2"), batch("b1"))
    assert [event["id"] for event in producer.published(SETTINGS.topic_scored)] == ["a1", "b1"]
    assert [letter["offset"] for letter in producer.published(SETTINGS.topic_dead)] == [1]
    assert [entry for entry in journal if entry[0] == "ack"] == [("ack", "0,1"), ("ack", "0")]


def test_a_cancelled_agent_finishes_the_batch_it_is_storing_and_leaves_the_one_it_scores_unacknowledged() -> None:
    journal: list[tuple[str, str]] = []
    storage, producer = GatedStorage(journal), FakeProducer(journal)
    handler = BatchHandler(SETTINGS, storage, JournalScorer(journal), producer.send)

    async def main() -> None:
        b_scored = asyncio.Event()
        release_b = asyncio.Event()

        async def score(messages: list[Incoming]) -> ScoredBatch:
            scored = await handler.score_reviews(messages)
            if messages[0].value and b"b1" in messages[0].value:
                b_scored.set()
                await release_b.wait()  # cancelled here, while a is being stored
            return scored

        async def store(messages: list[Incoming], scored: ScoredBatch) -> None:
            await handler.store_and_publish(scored)
            journal.append(("ack", ",".join(str(m.offset) for m in messages)))

        agent = asyncio.ensure_future(store_behind(stream_of(batch("a1"), batch("b1")), score, store))
        try:
            await asyncio.wait_for(b_scored.wait(), DEADLOCK_GUARD_S)
            agent.cancel()
            await asyncio.sleep(0)
        finally:
            storage.gate.set()  # a's insert can proceed only now, after the cancellation
        with contextlib.suppress(asyncio.CancelledError):
            await agent

    asyncio.run(main())
    assert set(storage.reviews) == {"a1"}
    assert [event["id"] for event in producer.published(SETTINGS.topic_scored)] == ["a1"]
    assert [entry for entry in journal if entry[0] == "ack"] == [("ack", "0")]


def test_a_batch_is_scored_in_length_sorted_slices_of_batch_size_and_answered_in_its_own_order() -> None:
    storage, producer, scorer = MemoryStorage(), FakeProducer(), FakeScorer()
    handler = BatchHandler(Settings(batch_size=2), storage, scorer, producer.send)
    texts = ["x" * n for n in (5, 1, 4, 2, 3)]
    asyncio.run(handler.handle_reviews(batch(*texts)))
    assert scorer.calls == [["x", "xx"], ["xxx", "xxxx"], ["xxxxx"]]
    assert [event["text"] for event in producer.published(SETTINGS.topic_scored)] == texts


def test_a_slice_that_fails_is_scored_one_by_one_and_the_other_slices_are_untouched() -> None:
    storage, producer = MemoryStorage(), FakeProducer()
    scorer = FakeScorer(fail_on="boom")
    handler = BatchHandler(Settings(batch_size=2), storage, scorer, producer.send)
    texts = ["ok", "no", "boom1", "fine1", "longer text"]
    asyncio.run(handler.handle_reviews(batch(*texts)))
    assert set(storage.reviews) == set(texts) - {"boom1"}
    assert [event["text"] for event in producer.published(SETTINGS.topic_scored)] == ["ok", "no", "fine1",
                                                                                    "longer text"]
    [letter] = storage.dead_letters
    assert letter.error.startswith("scorer failed") and letter.offset == 2
    assert ["boom1"] in scorer.calls and ["fine1"] in scorer.calls and ["ok", "no"] in scorer.calls


def test_slices_of_long_texts_hold_fewer_texts_so_a_draft_never_waits_for_more_than_one_short_slice() -> None:
    from stream.batches import SLICE_CHARS_PER_TEXT, length_sorted_slices

    short, long = "s" * 10, "l" * SLICE_CHARS_PER_TEXT * 4
    slices = length_sorted_slices([long] * 3 + [short] * 5, size=4)
    assert slices == [[3, 4, 5, 6], [7, 0], [1], [2]]  # a long text counts as the 1,014 characters read
    huge = "h" * 10_000_000  # counted as the characters the model reads
    assert length_sorted_slices([huge, short], size=64) == [[1, 0]]


def test_a_draft_is_answered_while_a_slice_of_reviews_is_still_being_scored() -> None:
    import threading

    draft_answered = threading.Event()

    class SlowReviews(FakeScorer):
        def score(self, texts: Sequence[str], passes: int | None = None) -> list[FakeVerdict]:
            if "slow review" in texts:
                assert draft_answered.wait(DEADLOCK_GUARD_S), "the draft waited for the reviews"
            return super().score(texts, passes)

    storage, producer = MemoryStorage(), FakeProducer()
    handler = BatchHandler(SETTINGS, storage, SlowReviews(), producer.send)
    draft = ReviewEvent(kind=Kind.draft, text="typing", session_id="s1")

    async def main() -> None:
        reviews = asyncio.ensure_future(handler.handle_reviews(batch("slow review")))
        await asyncio.sleep(0)
        await handler.handle_drafts([Incoming(draft.to_bytes(), SETTINGS.topic_drafts)])
        draft_answered.set()
        await reviews

    asyncio.run(main())
    assert [event["id"] for event in producer.published(SETTINGS.topic_scored)] == [draft.id, "slow review"]
