"""Where a scored event goes in this web process: its session, its waiters, the live feed.

Every web process receives every ``reviews.scored`` event (group-less, all partitions)
and keeps those addressed to it: by ``session_id`` to its websocket sessions, by ``id``
to pending requests (``web.replies``); stored (non-draft) reviews go to its live viewers
(``web.live``) and to the observers the composition root handed in (Grafana Live). So any
number of replicas can run side by side and none needs sticky routing. A message may
hold an array of scored events (the answer to a bulk import's array): each is routed,
and validated only if something here takes it (a bulk import answers thousands a second,
on the event loop that also serves the people typing).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from kernel.events import Kind, ScoredReview
from kernel.framing import events_of, holds_many
from web.live import LiveHub
from web.metrics import WebMetrics
from web.replies import Replies

log = logging.getLogger(__name__)

SessionHandler = Callable[[ScoredReview], None]


class ScoredRouter:
    """Routes raw ``reviews.scored`` values; subscribe :meth:`route` to that topic on the bus."""

    def __init__(self, metrics: WebMetrics, live: LiveHub, replies: Replies,
                 stored_observers: Sequence[Callable[[ScoredReview], None]] = ()) -> None:
        self.metrics = metrics
        self.live = live
        self.replies = replies
        self.stored_observers = list(stored_observers)
        self._sessions: dict[str, SessionHandler] = {}

    def add_session(self, session_id: str, handler: SessionHandler) -> None:
        """Route scored events with this ``session_id`` to ``handler`` (called on the event loop)."""
        self._sessions[session_id] = handler

    def remove_session(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def route(self, raw: bytes) -> None:
        """Deliver the scored event in ``raw`` (or each of an array of them); a malformed one is ignored."""
        if not holds_many(raw):
            self._deliver(functools.partial(ScoredReview.model_validate_json, raw))
            return
        for item in events_of(raw) or [None]:  # an unreadable array counts as one malformed event
            if self._takes(item):
                self._deliver(functools.partial(ScoredReview.model_validate, item))
            else:
                self.metrics.scored_consumed.inc()

    def _takes(self, item: object) -> bool:
        """Whether anything here may take this item of an array: a viewer, an observer, its session or its waiter.

        A malformed item counts as taken, so that it is reported like any other.
        """
        if len(self.live) or self.stored_observers or not isinstance(item, dict):
            return True
        session = item.get("session_id")
        return (isinstance(session, str) and session in self._sessions) or self.replies.waits_for(item.get("id"))

    def _deliver(self, validate: Callable[[], ScoredReview]) -> None:
        self.metrics.scored_consumed.inc()
        try:
            event = validate()
        except ValidationError:
            log.warning("ignoring a malformed scored event")
            return
        if event.session_id and (handler := self._sessions.get(event.session_id)):
            handler(event)
        self.replies.resolve(event)
        if event.kind is not Kind.draft:
            self.live.publish(event)
            for observe in self.stored_observers:
                observe(event)
