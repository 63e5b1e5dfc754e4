"""The reviews agent's overlap (``stream.worker.overlap.store_behind``) with the real ``BatchHandler``.

Batch N+1 is scored while batch N is stored, yet every batch is inserted before its
events are published and acknowledged only after them. A journal shared by the storage,
the producer, the scorer and the acknowledgement shows the order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

import pytest

from kernel.events import Kind, ReviewEvent
from kernel.settings import Settings
from stream.storage.memory import MemoryStorage
from stream.worker.batches import BatchHandler, Incoming, ScoredBatch
from stream.worker.overlap import store_behind
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


async def until(condition: Callable[[], bool]) -> None:
    """Yield to the loop until ``condition`` holds (the deadlock guard of the caller bounds it)."""
    while not condition():
        await asyncio.sleep(0.001)


def test_two_batches_are_scored_at_once_and_still_stored_one_at_a_time_in_order() -> None:
    """While batch a is scored, b is scored too (its passes keep the lanes busy); c waits for a slot."""

    async def main() -> list[tuple[str, str]]:
        journal: list[tuple[str, str]] = []
        scored = {name: asyncio.Event() for name in "abc"}

        async def score(name: str) -> str:
            journal.append(("score", name))
            await scored[name].wait()
            return name.upper()

        async def store(name: str, result: str) -> None:
            journal.append(("store", result))

        async def names() -> AsyncIterator[str]:
            for name in "abc":
                yield name

        agent = asyncio.ensure_future(store_behind(names(), score, store, scoring=2))
        await until(lambda: ("score", "b") in journal)
        await asyncio.sleep(0.01)
        assert ("score", "c") not in journal, "only two batches are scored at once"
        scored["b"].set()
        await until(lambda: ("score", "c") in journal)  # b's slot went to c
        assert not any(what == "store" for what, _ in journal), "b is scored, but a is stored first"
        scored["c"].set()
        scored["a"].set()
        await agent
        return journal

    journal = asyncio.run(asyncio.wait_for(main(), DEADLOCK_GUARD_S))
    assert [entry for entry in journal if entry[0] == "store"] == [("store", "A"), ("store", "B"), ("store", "C")]


def test_a_store_that_waits_stops_the_taking_so_at_most_scoring_plus_one_batches_are_held() -> None:
    async def main() -> tuple[list[int], list[int]]:
        taken: list[int] = []
        scored: list[int] = []
        clickhouse_back = asyncio.Event()

        async def score(number: int) -> int:
            scored.append(number)
            return number

        async def store(number: int, result: int) -> None:
            await clickhouse_back.wait()

        async def numbers() -> AsyncIterator[int]:
            for number in range(100):
                taken.append(number)
                yield number

        agent = asyncio.ensure_future(store_behind(numbers(), score, store, scoring=2))
        await until(lambda: len(scored) == 3)
        await asyncio.sleep(0.02)
        held = list(taken), list(scored)
        agent.cancel()
        clickhouse_back.set()
        with contextlib.suppress(asyncio.CancelledError):
            await agent
        return held

    taken, scored = asyncio.run(asyncio.wait_for(main(), DEADLOCK_GUARD_S))
    assert scored == [0, 1, 2], "one being stored and two scored: no more"
    assert taken == [0, 1, 2, 3], "the next batch waits, taken but not scored"


def test_a_batch_is_scored_in_one_call_and_answered_in_its_own_order() -> None:
    """The scorer cuts the call into length-sorted passes itself (inference.scorer, inference.lanes)."""
    storage, producer, scorer = MemoryStorage(), FakeProducer(), FakeScorer()
    handler = BatchHandler(Settings(batch_size=2), storage, scorer, producer.send)
    texts = ["x" * n for n in (5, 1, 4, 2, 3)]
    asyncio.run(handler.handle_reviews(batch(*texts)))
    assert scorer.calls == [texts]
    assert [event["text"] for event in producer.published(SETTINGS.topic_scored)] == texts


def test_a_batch_whose_call_fails_is_scored_one_by_one_and_only_the_culprit_is_dead_lettered() -> None:
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
    assert scorer.calls == [texts] + [[text] for text in texts]


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


async def arriving(items: list[int], taken: list[int], gaps: asyncio.Event | None = None,
                   error: Exception | None = None) -> AsyncIterator[int]:
    """``items`` one at a time, like a Faust stream's events; ``taken`` records each one pulled."""
    for item in items:
        taken.append(item)
        yield item
        if gaps is not None:
            await gaps.wait()
    if error is not None:
        raise error


def test_items_that_arrive_while_the_caller_works_are_joined_in_order_up_to_the_limit() -> None:
    from stream.worker.overlap import gather_ready

    async def main() -> list[list[int]]:
        got = []
        async with contextlib.aclosing(gather_ready(arriving(list(range(1, 12)), []), limit=5)) as batches:
            async for joined in batches:
                got.append(joined)
                await asyncio.sleep(0.01)  # the caller scores; meanwhile the rest arrives
        return got

    got = asyncio.run(asyncio.wait_for(main(), DEADLOCK_GUARD_S))
    assert got == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11]]  # joined, in order, never over the limit


def test_items_count_by_their_weight_so_messages_holding_many_reviews_fill_a_batch_sooner() -> None:
    from stream.worker.overlap import gather_ready

    async def main() -> list[list[int]]:
        got = []
        weighed = gather_ready(arriving([6, 1, 2, 3, 4, 5, 9], []), limit=6, weight=lambda n: n)
        async with contextlib.aclosing(weighed) as batches:
            async for joined in batches:
                got.append(joined)
                await asyncio.sleep(0.01)
        return got

    # 1+2+3 = 6 fills one; 4+5 would pass the limit, so they go one by one; 9 alone passes it
    assert asyncio.run(asyncio.wait_for(main(), DEADLOCK_GUARD_S)) == [[6], [1, 2, 3], [4], [5], [9]]


def test_a_lone_item_goes_out_at_once_without_a_window() -> None:
    """No waiting for company: one review on a quiet stream is scored as soon as it is taken."""
    from stream.worker.overlap import gather_ready

    async def main() -> list[int]:
        more = asyncio.Event()
        batches = gather_ready(arriving([1, 2], [], gaps=more), limit=8)
        first = await anext(batches)
        more.set()
        await batches.aclose()
        return first

    assert asyncio.run(asyncio.wait_for(main(), DEADLOCK_GUARD_S)) == [1]


async def trickling(items: list[int], gap_s: float) -> AsyncIterator[int]:
    for item in items:
        yield item
        await asyncio.sleep(gap_s)


def test_on_a_quiet_stream_the_first_item_opens_a_window_for_those_that_follow_it() -> None:
    from stream.worker.overlap import gather_ready

    async def main() -> list[list[int]]:
        batches = gather_ready(trickling([1, 2, 3, 4], 0.01), limit=8, window_s=0.5)
        async with contextlib.aclosing(batches):
            return [await anext(batches)]

    assert asyncio.run(asyncio.wait_for(main(), DEADLOCK_GUARD_S)) == [[1, 2, 3, 4]]


def test_the_window_closes_when_the_limit_is_reached_and_later_items_form_the_next_batch() -> None:
    from stream.worker.overlap import gather_ready

    async def main() -> list[list[int]]:
        got = []
        # a window far longer than the guard: only reaching the limit can close it
        batches = gather_ready(trickling(list(range(6)), 0.01), limit=3, window_s=10 * DEADLOCK_GUARD_S)
        async with contextlib.aclosing(batches):
            got.append(await anext(batches))
            got.append(await anext(batches))
        return got

    assert asyncio.run(asyncio.wait_for(main(), DEADLOCK_GUARD_S)) == [[0, 1, 2], [3, 4, 5]]


def test_the_window_ends_with_the_source() -> None:
    from stream.worker.overlap import gather_ready

    async def main() -> list[list[int]]:
        return [joined async for joined in gather_ready(trickling([1, 2], 0.0), limit=8, window_s=10 * DEADLOCK_GUARD_S)]

    assert asyncio.run(asyncio.wait_for(main(), DEADLOCK_GUARD_S)) == [[1, 2]]


def test_taking_pauses_while_the_limit_waits_so_memory_stays_bounded() -> None:
    from stream.worker.overlap import gather_ready

    async def main() -> tuple[list[int], int]:
        taken: list[int] = []
        batches = gather_ready(arriving(list(range(100)), taken), limit=4)
        first = await anext(batches)
        await asyncio.sleep(0.05)  # a slow caller: the taker runs ahead only until 4 wait
        held = len(taken)
        await batches.aclose()
        return first, held

    first, held = asyncio.run(asyncio.wait_for(main(), DEADLOCK_GUARD_S))
    assert first == [0, 1, 2, 3]
    assert held == 8  # the four handed out and four waiting: not the 100 the source had


def test_an_error_of_the_source_reaches_the_caller_after_the_items_before_it() -> None:
    from stream.worker.overlap import gather_ready

    async def main() -> list[list[int]]:
        got = []
        async for joined in gather_ready(arriving([1, 2], [], error=RuntimeError("broker gone")), limit=8):
            got.append(joined)
        return got

    with pytest.raises(RuntimeError, match="broker gone"):
        asyncio.run(asyncio.wait_for(main(), DEADLOCK_GUARD_S))
