"""``web.routing.ScoredRouter``: every scored event reaches its session, its waiter and the live feed.

No broker: the router takes raw ``reviews.scored`` values, as the bus hands them over.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kernel.events import Kind, ScoredReview
from kernel.framing import encode_array
from web.live import LiveHub
from web.metrics import WebMetrics
from web.replies import Replies
from web.routing import ScoredRouter


def scored(text: str, session_id: str | None = None) -> ScoredReview:
    kind = Kind.review if session_id else Kind.imported
    return ScoredReview(kind=kind, text=text, session_id=session_id, probs=[0.1, 0.2, 0.7], score=0.8,
                        label="good", suggested_rating=5, model_version="test")


def consumed(metrics: WebMetrics) -> float | None:
    return metrics.registry.get_sample_value("reviewpulse_web_scored_consumed_total")


def router_with(seen: list[ScoredReview]) -> tuple[ScoredRouter, WebMetrics]:
    metrics = WebMetrics()
    return ScoredRouter(metrics, LiveHub(10), Replies(), [seen.append]), metrics


def test_each_event_of_an_array_is_routed_and_a_malformed_one_among_them_is_skipped() -> None:
    seen: list[ScoredReview] = []
    router, metrics = router_with(seen)
    to_session: list[ScoredReview] = []
    router.add_session("s1", to_session.append)
    first, second = scored("great"), scored("mine", session_id="s1")
    router.route(encode_array([first.to_bytes(), b'{"id": "no verdict"}', second.to_bytes()]))
    router.route(scored("one alone").to_bytes())
    assert [event.text for event in seen] == ["great", "mine", "one alone"]
    assert [event.id for event in to_session] == [second.id]
    assert consumed(metrics) == 4  # the malformed one was read too


def test_an_unreadable_array_is_counted_and_ignored() -> None:
    seen: list[ScoredReview] = []
    router, metrics = router_with(seen)
    router.route(b'[{"id": "cut')
    router.route(b"[" * 100_000)
    assert seen == [] and consumed(metrics) == 2


def test_with_no_viewer_and_no_observer_only_the_items_a_session_or_a_request_waits_for_are_validated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bulk import's answers are read past unvalidated when nobody here takes them; the rest still arrive."""
    metrics, replies = WebMetrics(), Replies()
    router = ScoredRouter(metrics, LiveHub(10), replies)
    to_session: list[ScoredReview] = []
    router.add_session("s1", to_session.append)
    bulk, mine, submitted = scored("bulk"), scored("mine", session_id="s1"), scored("submitted")
    validated: list[Any] = []
    validate = ScoredReview.model_validate
    monkeypatch.setattr(ScoredReview, "model_validate", lambda item: validated.append(item) or validate(item))

    async def main() -> ScoredReview:
        waiter = replies.expect(submitted.id)
        router.route(encode_array([bulk.to_bytes(), mine.to_bytes(), submitted.to_bytes()]))
        return await asyncio.wait_for(waiter, 5)

    assert asyncio.run(main()).id == submitted.id
    assert [item["id"] for item in validated] == [mine.id, submitted.id]
    assert [event.id for event in to_session] == [mine.id]
    assert consumed(metrics) == 3  # the bulk one is counted, not validated


def test_a_live_viewer_gets_every_stored_event_of_an_array() -> None:
    live = LiveHub(10)
    router = ScoredRouter(WebMetrics(), live, Replies())
    viewer = live.join()
    router.route(encode_array([scored("one").to_bytes(), scored("two").to_bytes()]))
    assert len(viewer) == 2
