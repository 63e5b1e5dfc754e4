"""Request–reply over the bus: a future per event id, resolved by the scored event with that id.

``/api/predict`` and ``POST /api/review?wait=1`` publish an event and wait for the
worker's answer on ``reviews.scored``. The future is registered BEFORE publishing, so an
answer that arrives at once is never missed; several waiters on one id all get it.
"""

from __future__ import annotations

import asyncio

from kernel.events import ReviewEvent, ScoredReview
from web.bus import EventBus


class Replies:
    """The pending requests of one web process; used on its event loop only."""

    def __init__(self) -> None:
        self._waiters: dict[str, list[asyncio.Future[ScoredReview]]] = {}

    def expect(self, event_id: str) -> asyncio.Future[ScoredReview]:
        """A future for the scored event of ``event_id``; call BEFORE publishing the event."""
        future: asyncio.Future[ScoredReview] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(event_id, []).append(future)
        return future

    def waits_for(self, event_id: object) -> bool:
        """Whether a request here waits for the scored event of ``event_id``."""
        return isinstance(event_id, str) and event_id in self._waiters

    def forget(self, event_id: str, future: asyncio.Future[ScoredReview]) -> None:
        futures = self._waiters.get(event_id, [])
        if future in futures:
            futures.remove(future)
        if not futures:
            self._waiters.pop(event_id, None)

    async def wait_for(self, event_id: str, future: asyncio.Future[ScoredReview], timeout_s: float) -> ScoredReview:
        """The scored event, or :class:`TimeoutError` after ``timeout_s``; the future is forgotten either way."""
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout_s)
        finally:
            self.forget(event_id, future)

    async def request(self, bus: EventBus, topic: str, event: ReviewEvent, timeout_s: float) -> ScoredReview:
        """Publish ``event`` and wait for its answer: ``BrokerUnavailable`` or ``TimeoutError`` otherwise."""
        future = self.expect(event.id)
        try:
            await bus.publish(topic, event)
        except BaseException:
            self.forget(event.id, future)
            raise
        return await self.wait_for(event.id, future, timeout_s)

    def resolve(self, event: ScoredReview) -> None:
        """Answer everyone waiting for ``event.id``."""
        for future in self._waiters.pop(event.id, []):
            if not future.done():
                future.set_result(event)

    def cancel_all(self) -> None:
        for futures in self._waiters.values():
            for future in futures:
                future.cancel()
        self._waiters.clear()

    def __len__(self) -> int:
        return sum(len(futures) for futures in self._waiters.values())
