"""What the worker does with one micro-batch, per path: reviews, drafts, brands.

Two paths so that a storage outage never stops live typing:

* **reviews** (``reviews.raw``): parse, score, store in ClickHouse, then publish. Transient
  storage or broker failures are retried with backoff (the batch is not acknowledged
  meanwhile); rows ClickHouse rejects for their content are isolated by bisection
  (``stream.worker.sink``) and dead-lettered with the reason, the rest stored.
* **drafts** (``reviews.drafts``): parse, score, publish. It never waits for ClickHouse:
  its dead letters are published to ``reviews.dead`` and written to ``dead_letters`` in
  the background, one attempt each (the topic is their durable record).

A reviews batch comes in two steps so the worker can overlap them (``stream.worker.app``):
``score_reviews`` (parse and score: the model's time) and ``store_and_publish`` (the
ClickHouse insert, then the events). ``handle_reviews`` is both, one after the other.
A batch is parsed and scored in one call on a reviews' scoring thread (two batches at
once, ``REVIEW_SCORINGS``); the scorer sorts it by length into passes (little padding)
and runs them side by side on its single-threaded lanes. Drafts score on a thread of
their own (the model is read-only, torch releases the GIL), so a draft never waits for a
batch of reviews.

The broker is reached through ``send(topic, key, value)``, which returns once the
message is queued and yields an awaitable for the broker's acknowledgement (Faust's and
aiokafka's producers both work that way).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from inference.protocol import Scorer, ahead_of_others
from kernel.events import Brand, DeadLetter, Kind, ReviewEvent, ScoredReview
from kernel.framing import encode_array, events_of, holds_many, item_bytes
from kernel.settings import Settings
from stream.registry.hotswap import ModelSlot, scorer_loader
from stream.storage.clickhouse import WorkerStorage
from stream.worker.processing import (
    DraftSessions,
    ExplainOptions,
    dead_letter,
    latest_drafts,
    parse,
    parse_array,
    parse_item,
    parse_items,
    score,
)
from stream.worker.sink import insert_isolating, is_permanent, retry_transient

log = logging.getLogger(__name__)

Send = Callable[[str, bytes | None, bytes], Awaitable[Awaitable[Any]]]
#: A reviews batch holds up to this many × BATCH_SIZE reviews (stream.worker.app). 64: what Faust's takes of
#: 64 bulk-import messages gave before (up to 4,096 reviews); batches of 512 ran ~6% slower end to end.
REVIEW_TAKE_BATCHES = 64
#: Reviews batches scored at once: a second one keeps the lanes busy through the first's gaps.
REVIEW_SCORINGS = 2
#: Background dead-letter writes of the drafts path allowed at once; beyond, the table copy is skipped.
MAX_BACKGROUND_WRITES = 16


@dataclass(frozen=True)
class ScoredBatch:
    """A reviews batch scored but not yet stored: what ``store_and_publish`` takes."""

    scored: list[ScoredReview]
    dead: list[DeadLetter]
    origin: dict[str, Incoming]
    #: Each scored event's JSON by id, made on the scoring thread so the event loop only sends.
    encoded: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Incoming:
    """One consumed message, as the handlers need it (no Faust types); or one event of an array message."""

    value: bytes | None
    topic: str
    partition: int = 0
    offset: int = -1
    #: For an event of an array message (``value`` is the whole message): its place in the array.
    index: int | None = None

    def raw(self) -> bytes:
        """The bytes a dead letter of this message (or of this one event of an array) keeps.

        An event's own item is read again from the array: only a dead letter needs it.
        """
        if self.index is None:
            return self.value or b""
        return item_bytes(events_of(self.value)[self.index])


def scored_messages(topic: str, scored: Sequence[ScoredReview], origin: dict[str, Incoming],
                    encoded: dict[str, bytes] | None = None) -> list[tuple[str, bytes | None, bytes]]:
    """(topic, key, value) for ``scored``: one per event, except one array per array message they came in.

    ``encoded``: events already turned into JSON, by id (the rest are encoded here).
    """
    done = encoded or {}

    def json_of(review: ScoredReview) -> bytes:
        return done.get(review.id) or review.to_bytes()

    messages: list[tuple[str, bytes | None, bytes]] = []
    arrays: dict[tuple[str, int, int], list[ScoredReview]] = {}
    for review in scored:
        came = origin.get(review.id)
        if came is None or came.index is None:
            messages.append((topic, review.key, json_of(review)))
        else:
            arrays.setdefault((came.topic, came.partition, came.offset), []).append(review)
    messages += [(topic, reviews[0].key, encode_array([json_of(r) for r in reviews])) for reviews in arrays.values()]
    return messages


class BatchHandler:
    """Scores, stores and publishes micro-batches; one per worker process."""

    def __init__(self, settings: Settings, storage: WorkerStorage, scorer: Scorer | ModelSlot, send: Send) -> None:
        self.settings = settings
        self.storage = storage
        #: The model in use; a promote loads the next one in the background (stream.registry.hotswap).
        self.models = scorer if isinstance(scorer, ModelSlot) else ModelSlot(scorer, scorer_loader(settings))
        #: A candidate scored beside the active model when SHADOW_SCORING is on (stream.storage.shadow).
        self.shadow: ModelSlot | None = None
        self.send = send
        #: Languages and sentence explanations added to every verdict (stream.worker.processing.score).
        self.explain = ExplainOptions.of(settings)
        self.drafts = DraftSessions()
        #: Reviews batches score on these threads, REVIEW_SCORINGS at once (stream.worker.overlap.store_behind).
        self.scorer_pool = ThreadPoolExecutor(max_workers=REVIEW_SCORINGS, thread_name_prefix="scorer")
        #: Drafts score on their own thread, so a draft never queues behind a batch of reviews.
        self.draft_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drafts")
        self.scored_count = 0
        self._background: set[asyncio.Task[None]] = set()

    def close(self) -> None:
        """Stop the scoring threads (calls in flight finish on their own)."""
        self.scorer_pool.shutdown(wait=False)
        self.draft_pool.shutdown(wait=False)

    async def handle_reviews(self, messages: Sequence[Incoming]) -> None:
        await self.store_and_publish(await self.score_reviews(messages))

    async def score_reviews(self, messages: Sequence[Incoming]) -> ScoredBatch:
        """Parse and score; stores nothing, so it may run while the previous batch is stored.

        Parsing runs on the scoring threads too: the event loop stays free for storing and
        publishing, and a batch parses while the lanes still score the one before.
        """
        loop = asyncio.get_running_loop()
        events, dead, origin = await loop.run_in_executor(self.scorer_pool, self._parse, messages)
        reviews = self._only(events, dead, origin, lambda event: event.kind is not Kind.draft,
                             lambda event: f"a draft on {self.settings.topic_raw} is not scored; "
                                           f"publish drafts to {self.settings.topic_drafts}")
        scored = await self._score(reviews, dead, origin)
        encoded = await loop.run_in_executor(self.scorer_pool, lambda: {s.id: s.to_bytes() for s in scored})
        return ScoredBatch(scored, dead, origin, encoded)

    async def store_and_publish(self, batch: ScoredBatch) -> None:
        """Insert the reviews and dead letters (retried), then publish their events (retried).

        Returns only when both are done; a ``reviews.scored`` event is never sent for a
        review that is not stored.
        """
        reviews, dead, origin = batch.scored, batch.dead, batch.origin
        rejected, letters = await self._retry("ClickHouse insert", lambda: self._store(reviews, dead, origin))
        published = [s for s in reviews if s.id not in rejected]
        await self._retry("publish", lambda: self._publish(published, letters, origin, batch.encoded))
        self.scored_count += len(published)
        if self.shadow is not None and reviews:
            stored = [r for r in reviews if r.id not in rejected]
            self._in_background(lambda: self._shadow_score(stored), "shadow scores")

    async def handle_drafts(self, messages: Sequence[Incoming]) -> None:
        events, dead, origin = self._parse(messages)
        drafts = self._only(events, dead, origin, lambda event: event.kind is Kind.draft,
                            lambda event: f"a {event.kind} on the drafts topic is not stored; "
                                          f"publish reviews to {self.settings.topic_raw}")
        scored = await self._score(latest_drafts(drafts, self.drafts), dead, origin, self.draft_pool, urgent=True)
        await self._retry("publish", lambda: self._publish(scored, dead))
        self.scored_count += len(scored)
        if dead:
            self._in_background(lambda: self._store_letters(dead))

    def _only(self, events: list[ReviewEvent], dead: list[DeadLetter], origin: dict[str, Incoming],
              belongs: Callable[[ReviewEvent], bool], elsewhere: Callable[[ReviewEvent], str]) -> list[ReviewEvent]:
        """The events that belong on this path; every other one becomes a dead letter saying where it goes."""
        kept = []
        for event in events:
            if belongs(event):
                kept.append(event)
            else:
                dead.append(self._letter(origin[event.id], elsewhere(event)))
        return kept

    async def handle_brands(self, messages: Sequence[Incoming]) -> None:
        brands, dead, origin = [], [], {}
        for message in messages:
            try:
                brand = Brand.model_validate_json(message.value or b"")
            except ValidationError as error:
                reason = "invalid brand: " + "; ".join(
                    f"{'.'.join(map(str, d['loc'])) or 'brand'}: {d['msg']}" for d in error.errors()[:3])
                dead.append(self._letter(message, reason))
                continue
            brands.append(brand)
            origin[brand.name] = message

        async def store() -> list[DeadLetter]:
            rejected = await insert_isolating(functools.partial(self._insert, self.storage.insert_brands), brands)
            letters = dead + [self._letter(origin[b.name], why) for b, why in rejected]
            await self._store_letters(letters)
            return letters

        letters = await self._retry("brand insert", store)
        if letters:
            await self._retry("publish", lambda: self._publish([], letters))

    def _parse(self, messages: Sequence[Incoming]) -> tuple[list[ReviewEvent], list[DeadLetter], dict[str, Incoming]]:
        events, dead, origin = [], [], {}
        for message in messages:
            for part, parsed in self._parts(message):
                if isinstance(parsed, DeadLetter):
                    dead.append(parsed)
                else:
                    events.append(parsed)
                    origin[parsed.id] = part
        return events, dead, origin

    def _parts(self, message: Incoming) -> list[tuple[Incoming, ReviewEvent | DeadLetter]]:
        """The events of one message (several for an array message), each with where it came from."""
        value, limit = message.value or b"", self.settings.max_text_bytes
        where = (message.topic, message.partition, message.offset)
        if not holds_many(value):
            return [(message, parse(value, *where, limit))]
        events = parse_array(value, limit)
        if events is not None:
            return [(Incoming(value, *where, index), event) for index, event in enumerate(events)]
        items = parse_items(value, *where, limit)
        if isinstance(items, DeadLetter):
            return [(message, items)]
        return [(Incoming(value, *where, index), parse_item(item, index, *where)) for index, item in enumerate(items)]

    @staticmethod
    def _letter(message: Incoming, reason: str) -> DeadLetter:
        return dead_letter(message.raw(), reason, message.topic, message.partition, message.offset)

    async def _score(self, events: list[ReviewEvent], dead: list[DeadLetter], origin: dict[str, Incoming],
                     pool: ThreadPoolExecutor | None = None, urgent: bool = False) -> list[ScoredReview]:
        """Score the batch in one call on ``pool`` (default: the reviews' thread); results in the order of ``events``.

        ``urgent`` (drafts): the call goes ahead of the reviews' in a scoring process
        (``inference.protocol.ahead_of_others``).

        The scorer cuts the call into length-sorted passes itself and runs them on its
        lanes (``inference.lanes``). If the call fails, the events are scored one by one
        and those that fail alone are dead-lettered. The whole batch is scored by one
        model: a model switch happens here, between batches.
        """
        if not events:
            return []
        scorer = self.models.current()
        assert scorer is not None, "only a shadow slot is ever cleared; the active one always holds a model"
        if urgent:
            scorer = ahead_of_others(scorer)
        loop = asyncio.get_running_loop()
        pool = pool or self.scorer_pool
        try:
            return list(await loop.run_in_executor(pool, score, scorer, events, self.settings.scorer_passes,
                                                   self.explain))
        except Exception:  # noqa: BLE001 - find the culprit: score one by one
            log.exception("batch scoring failed; scoring %d events one by one", len(events))
        scored: list[ScoredReview] = []
        for event in events:
            try:
                scored += await loop.run_in_executor(pool, score, scorer, [event], 1, self.explain)
            except Exception as error:  # noqa: BLE001
                dead.append(self._letter(origin[event.id], f"scorer failed: {type(error).__name__}: {error}"))
        return scored

    async def _shadow_score(self, reviews: list[ScoredReview]) -> None:
        """Score stored reviews with the shadow candidate too and store its answers (one attempt)."""
        from stream.storage.shadow import insert_shadow_scores

        candidate = self.shadow.current() if self.shadow is not None else None
        if candidate is None or not reviews or candidate.version == reviews[0].model_version:
            return
        loop = asyncio.get_running_loop()
        verdicts = await loop.run_in_executor(self.scorer_pool, candidate.score, [r.text for r in reviews])
        await self.storage.run(insert_shadow_scores, self.storage, reviews, verdicts, candidate.version)

    async def _insert(self, insert: Callable[[Sequence[Any]], None], rows: Sequence[Any]) -> None:
        await self.storage.run(insert, rows)

    async def _store(self, reviews: list[ScoredReview], dead: list[DeadLetter],
                     origin: dict[str, Incoming]) -> tuple[set[str], list[DeadLetter]]:
        """Store what can be stored; returns the ids rejected and every dead letter of the batch."""
        insert = functools.partial(self._insert, self.storage.insert_reviews)
        rejected = await insert_isolating(insert, reviews)
        letters = dead + [self._letter(origin[review.id], why) for review, why in rejected]
        await self._store_letters(letters)
        return {review.id for review, _ in rejected}, letters

    async def _store_letters(self, letters: list[DeadLetter]) -> None:
        insert = functools.partial(self._insert, self.storage.insert_dead_letters)
        for letter, why in await insert_isolating(insert, letters):
            log.error("dead letter from %s offset %d not stored (%s); it stays on the dead-letter topic",
                      letter.topic, letter.offset, why)

    async def _publish(self, scored: list[ScoredReview], dead: list[DeadLetter],
                       origin: dict[str, Incoming] | None = None, encoded: dict[str, bytes] | None = None) -> None:
        """Publish and wait for the broker; a message it can never take is logged and skipped.

        With ``origin``, the scored events of an array message go out as one array, as they came.
        """
        messages = scored_messages(self.settings.topic_scored, scored, origin or {}, encoded)
        messages += [(self.settings.topic_dead, None, d.to_bytes()) for d in dead]
        pending: list[tuple[str, int, Awaitable[Any]]] = []
        for topic, key, value in messages:
            try:
                pending.append((topic, len(value), await self.send(topic, key, value)))
            except Exception as error:  # noqa: BLE001 - classified in _refused
                self._refused(topic, len(value), error)
        results = await asyncio.gather(*(ack for _, _, ack in pending), return_exceptions=True)
        for (topic, size, _), result in zip(pending, results, strict=True):
            if isinstance(result, Exception):
                self._refused(topic, size, result)

    @staticmethod
    def _refused(topic: str, size: int, error: Exception) -> None:
        """A message the broker can never take is logged and skipped; any other failure is retried."""
        if not is_permanent(error):
            raise error
        log.error("broker refused a %d-byte message for %s: %s", size, topic, error)

    async def _retry(self, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
        return await retry_transient(what, call, self.settings.retry_max_delay_s)

    def _in_background(self, work: Callable[[], Awaitable[None]], what: str = "dead letters of drafts") -> None:
        if len(self._background) >= MAX_BACKGROUND_WRITES:
            log.error("background writes are backing up; %s are skipped (dead letters stay on their topic)", what)
            return

        async def once() -> None:
            try:
                await work()
            except Exception as error:  # noqa: BLE001 - one attempt: the topic holds the letters
                log.error("%s not stored (%s: %s)", what, type(error).__name__, error)

        task = asyncio.ensure_future(once())
        self._background.add(task)
        task.add_done_callback(self._background.discard)
