"""Web behaviour on the in-memory bus: request–reply, latest-wins, submit, and a bus that is down.

No broker: each app has a ``web.bus.MemoryBus`` and the real worker logic answering on it
(``conftest.MemoryWorker``); where the worker must stay silent, the app's drafts go to a
topic nobody reads and the test delivers answers itself, in the order it wants.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from kernel.events import Kind, ReviewEvent, ScoredReview
from kernel.settings import Settings

TOPICS = Settings()
UNREAD_DRAFTS = "drafts.nobody-reads"


def published(client: Any, topic: str, count: int) -> list[ReviewEvent]:
    """The first ``count`` events the app published on ``topic`` (waits for them: the app publishes on its loop)."""
    for _ in range(200):
        events = [event for name, event in client.app.state.bus.published if name == topic]
        if len(events) >= count:
            return events[:count]
        time.sleep(0.02)
    raise AssertionError(f"the app published fewer than {count} events on {topic}")


def answer(client: Any, event: ReviewEvent, score: float = 0.9) -> ScoredReview:
    """Deliver the worker's answer to ``event`` on the app's bus (on the app's event loop)."""
    scored = ScoredReview(**event.model_dump(), probs=[0.05, 0.1, 0.85], score=score, label="good",
                          suggested_rating=5, model_version="by-hand")
    client.portal.call(client.app.state.bus.deliver, TOPICS.topic_scored, scored.to_bytes())
    return scored


def test_predict_publishes_a_one_off_draft_and_answers_with_the_workers_score(client: Any, scoring_loop: Any) -> None:
    response = client.post("/api/predict?detail=1", json={"review": "The room was clean and quiet"})
    assert response.status_code == 200, response.text
    [(topic, event)] = client.app.state.bus.published
    assert topic == TOPICS.topic_drafts and event.kind is Kind.draft and event.source == "api"
    assert event.session_id.startswith("predict-")
    expected = scoring_loop.score("The room was clean and quiet")
    assert response.json()["score"] == pytest.approx(expected.score, abs=1e-6)
    assert response.json()["model_version"] == "tiny-untrained"
    assert len(client.app.state.replies) == 0, "the answered request is forgotten"


def test_predict_answers_503_when_no_worker_answers_and_forgets_the_request(make_client: Any) -> None:
    client = make_client(topic_drafts=UNREAD_DRAFTS, predict_timeout_s=0.3)
    response = client.post("/api/predict", json={"review": "anyone?"})
    assert response.status_code == 503
    assert "no scoring worker answered within 0.3 s" in response.json()["error"]
    assert len(client.app.state.replies) == 0


def test_a_late_answer_is_dropped_on_the_websocket_latest_wins(make_client: Any) -> None:
    client = make_client(topic_drafts=UNREAD_DRAFTS)
    with client.websocket_connect("/ws") as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_json({"type": "draft", "text": "goo", "seq": 1})
        ws.send_json({"type": "draft", "text": "good", "seq": 2})
        first, second = published(client, UNREAD_DRAFTS, 2)
        answer(client, second, score=0.9)
        answer(client, first, score=0.1)  # older and later: must not overwrite what the page shows
        ws.send_json({"type": "ping"})
        frames = [ws.receive_json(), ws.receive_json()]
    assert frames[0]["type"] == "score" and frames[0]["seq"] == 2 and frames[0]["score"] == 0.9
    assert frames[1] == {"type": "pong"}


def test_a_websocket_submit_is_published_accepted_then_confirmed_once_stored(client: Any) -> None:
    with client.websocket_connect("/ws") as ws:
        session = ws.receive_json()["session_id"]
        ws.send_json({"type": "submit", "text": "Lovely staff, will return", "rating": 5, "brand": "MemCo"})
        accepted = ws.receive_json()
        stored = ws.receive_json()
    assert accepted["type"] == "accepted" and stored["type"] == "stored" and stored["id"] == accepted["id"]
    [event] = published(client, TOPICS.topic_raw, 1)
    assert (event.kind, event.session_id, event.rating, event.brand) == (Kind.review, session, 5, "MemCo")
    assert accepted["id"] in client.worker.storage.reviews, "confirmed only after the worker stored it"


def test_post_review_wait_answers_once_the_worker_stored_it(client: Any) -> None:
    response = client.post("/api/review?wait=1", json={"review": "Slow delivery", "rating": 2, "brand": "MemCo"})
    assert response.status_code == 201, response.text
    review_id = response.json()["id"]
    assert client.worker.storage.reviews[review_id].rating == 2


def test_a_bus_that_is_down_gives_503_and_not_ready(client: Any) -> None:
    client.app.state.bus.available = False
    assert client.post("/api/review", json={"review": "kept?"}).status_code == 503
    assert client.post("/api/predict", json={"review": "kept?"}).status_code == 503
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["broker"] is False
    assert client.app.state.bus.published == []
    assert len(client.app.state.replies) == 0


def test_stored_reviews_reach_live_viewers_and_drafts_do_not(make_client: Any) -> None:
    client = make_client(topic_drafts=UNREAD_DRAFTS)
    with client.websocket_connect("/ws/live") as viewer:
        draft = ReviewEvent(kind=Kind.draft, text="typing", session_id="s")
        review = ReviewEvent(kind=Kind.scraped, text="Crawled and stored", brand="MemCo", source="crawler")
        answer(client, draft)
        answer(client, review)
        # the alerts banner's list (web.live) may come first, whenever the alert check runs
        batch = next(message for message in iter(viewer.receive_json, None) if message["type"] == "reviews")
    assert [item["id"] for item in batch["reviews"]] == [review.id]
    assert "session_id" not in batch["reviews"][0]


def test_a_malformed_scored_event_is_ignored_and_routing_goes_on(make_client: Any) -> None:
    client = make_client(topic_drafts=UNREAD_DRAFTS)
    with client.websocket_connect("/ws") as ws:
        ws.receive_json()
        ws.send_json({"type": "draft", "text": "fine", "seq": 1})
        [draft] = published(client, UNREAD_DRAFTS, 1)
        client.portal.call(client.app.state.bus.deliver, TOPICS.topic_scored, b"{not json")
        answer(client, draft, score=0.5)
        assert ws.receive_json()["score"] == 0.5
