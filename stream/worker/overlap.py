"""Batches in flight: the next ones are scored while one is stored, order kept.

And a backlog gathered while the worker is busy (``gather_ready``), so that a batch
holds what arrived during the last scoring call, not only what arrived within the
batch window. Free of Faust so it can be tested alone; ``stream.worker.app`` runs its
reviews agent with both.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable
from typing import TypeVar

B = TypeVar("B")
P = TypeVar("P")
T = TypeVar("T")


async def finish_even_if_cancelled(work: Awaitable[None]) -> None:
    """Run ``work`` to the end; a cancellation waits for it, then propagates."""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise


async def store_behind(batches: AsyncIterable[B], score: Callable[[B], Awaitable[P]],
                       store: Callable[[B, P], Awaitable[None]], scoring: int = 2) -> None:
    """``store(n, score(n))`` for every batch, in order, with up to ``scoring`` batches scored at once.

    Why more than one: a batch's scoring call has stretches where the scorer's lanes
    have nothing to run (its parsing before the first pass, the last pass on one lane
    while the other is done, building its events after); a second batch scored at the
    same time queues its passes behind the first's, so the lanes never wait for them.

    At most one ``store`` runs at a time, and batch N+1's starts only after batch N's has
    returned; so ``store`` (insert, publish, then acknowledge) keeps each batch's order,
    and at most ``scoring`` + 1 batches are held (scored or being scored, one being
    stored): a store that waits for ClickHouse stops the taking. When the stream ends
    every batch is stored; when the task is cancelled (or a store fails), the store in
    flight is finished first and batches not yet storing are dropped unacknowledged
    (they will be redelivered).
    """
    held, scoring_slots = asyncio.Semaphore(scoring + 1), asyncio.Semaphore(scoring)
    pending: deque[asyncio.Future[None]] = deque()
    storing: set[asyncio.Future[None]] = set()
    failures: list[BaseException] = []

    async def score_then_store(batch: B, before: asyncio.Future[None] | None) -> None:
        try:
            try:
                scored = await score(batch)
            finally:
                scoring_slots.release()
            if before is not None:
                await asyncio.shield(before)
            this = asyncio.current_task()
            assert this is not None
            storing.add(this)
            try:
                await store(batch, scored)
            finally:
                storing.discard(this)
        except Exception as error:
            failures.append(error)
            raise
        finally:
            held.release()

    last: asyncio.Future[None] | None = None
    try:
        async for batch in batches:
            await held.acquire()
            await scoring_slots.acquire()
            if failures:
                raise failures[0]
            while pending and pending[0].done():
                pending.popleft()
            last = asyncio.ensure_future(score_then_store(batch, last))
            pending.append(last)
        if last is not None:
            await asyncio.shield(last)
    finally:
        dropped = [task for task in pending if task not in storing]
        for task in dropped:
            task.cancel()
        await asyncio.gather(*dropped, return_exceptions=True)
        for task in list(storing):
            with contextlib.suppress(Exception):
                await finish_even_if_cancelled(task)


async def gather_ready(items: AsyncIterable[T], limit: int, weight: Callable[[T], int] = lambda _: 1,
                       window_s: float = 0.0) -> AsyncGenerator[list[T], None]:
    """Keep taking ``items`` in the background; yield all that waits, up to ``limit``, in order.

    An item counts as ``weight(item)`` towards ``limit`` (the worker: about how many
    reviews a message holds).

    Why: Faust's ``take`` collects only while the caller waits for it, so a worker that
    scores for 300 ms and then takes for a 5 ms window gets the few messages of those
    5 ms, however long the backlog (measured: takes of 30-200 reviews, not 512). Here
    the taking goes on while the caller works, and the caller gets all that piled up
    meanwhile. And Faust's ``take`` wakes every window, also on a quiet stream (200
    times a second per agent at 5 ms); here a quiet stream costs nothing: the first
    item of a batch opens a window of ``window_s`` for others to join it, cut short as
    soon as ``limit`` waits (under a backlog it already does: no wait). Without the
    window a caller faster than the arrivals would take a message at a time and pay
    each batch's fixed costs (an insert, a publish round) for a few reviews. A batch
    holds at least one item, so a single item weighing more than ``limit`` goes out
    alone. Taking pauses while ``limit`` waits: at most about twice ``limit`` is held
    here. Items still waiting when the caller stops are dropped (never acknowledged, so
    redelivered).
    """
    waiting: deque[tuple[T, int]] = deque()
    held = 0
    arrived, room = asyncio.Event(), asyncio.Event()
    ended: list[BaseException | None] = []

    async def take() -> None:
        nonlocal held
        try:
            async for item in items:
                weighed = weight(item)
                waiting.append((item, weighed))
                held += weighed
                arrived.set()
                while held >= limit:
                    room.clear()
                    await room.wait()
        except Exception as error:  # noqa: BLE001 - handed to the caller, raised there
            ended.append(error)
        else:
            ended.append(None)
        arrived.set()

    async def more_within(seconds: float) -> None:
        """Wait up to ``seconds`` for items to join the first, until ``limit`` waits or the source ends."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while held < limit and not ended:
                    arrived.clear()
                    await arrived.wait()

    taker = asyncio.ensure_future(take())
    try:
        while True:
            while not waiting and not ended:
                arrived.clear()
                await arrived.wait()
            if waiting and window_s > 0:
                await more_within(window_s)
            if not waiting:
                if ended[0] is not None:
                    raise ended[0]
                return
            first, joined_weight = waiting.popleft()
            joined = [first]
            while waiting and joined_weight + waiting[0][1] <= limit:
                item, weighed = waiting.popleft()
                joined.append(item)
                joined_weight += weighed
            held -= joined_weight
            room.set()
            yield joined
    finally:
        taker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await taker
