"""Two batches in flight: batch N+1 is scored while batch N is stored, order kept.

Free of Faust so it can be tested alone; ``stream.worker`` runs its reviews agent with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Awaitable, Callable
from typing import TypeVar

B = TypeVar("B")
P = TypeVar("P")


async def finish_even_if_cancelled(work: Awaitable[None]) -> None:
    """Run ``work`` to the end; a cancellation waits for it, then propagates."""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise


async def store_behind(batches: AsyncIterable[B], score: Callable[[B], Awaitable[P]],
                       store: Callable[[B, P], Awaitable[None]]) -> None:
    """Score batch N+1 while batch N is stored: ``store(n, score(n))`` for every batch, in order.

    At most one ``store`` runs at a time, and batch N+1's starts only after batch N's has
    returned; so ``store`` (insert, publish, then acknowledge) keeps each batch's order,
    and at most two batches are held (one scored, one being stored). When the stream
    ends or the task is cancelled, the store in flight is finished first; a batch being
    scored then is dropped unacknowledged (it will be redelivered).
    """
    storing: asyncio.Future[None] | None = None
    try:
        async for batch in batches:
            scored = await score(batch)
            if storing is not None:
                await asyncio.shield(storing)
            storing = asyncio.ensure_future(store(batch, scored))
    finally:
        if storing is not None:
            await finish_even_if_cancelled(storing)
