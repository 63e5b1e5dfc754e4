"""REST API on the memory bus with the worker's own batch logic (TestClient, real chDB); readiness on real Kafka."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kernel.events import Kind, ScoredReview

pytestmark = pytest.mark.timeout(120)


def scored(brand: str, text: str, score: float, label: str, rating: int | None, minutes_ago: int,
           source: str = "web-test") -> ScoredReview:
    now = datetime.now(UTC)
    return ScoredReview(
        id=uuid.uuid4().hex, kind=Kind.imported, text=text, brand=brand, rating=rating, source=source,
        ts=now - timedelta(minutes=minutes_ago), probs=[1 - score, 0.0, score], score=score, label=label,
        suggested_rating=min(int(score * 5 + 1), 5), model_version="test", scored_at=now,
    )


@pytest.fixture
def brand_rows(storage: Any) -> str:
    """Three stored reviews of a brand no other test uses; returns the brand."""
    brand = f"Brand-{uuid.uuid4().hex[:8]}"
    storage.insert_reviews([
        scored(brand, "awful, broken on arrival", 0.1, "bad", 1, 3),
        scored(brand, "lovely service, would buy again", 0.9, "good", 2, 2),
        scored(brand, "fine I guess", 0.5, "average", 3, 1, source="web-test-2"),
    ])
    return brand


def test_predict_returns_the_workers_score(client: Any, scoring_loop: Any) -> None:
    text = "The parcel arrived late and damaged."
    response = client.post("/api/predict", json={"review": text})
    assert response.status_code == 200
    assert response.json() == pytest.approx(scoring_loop.score(text).score, abs=1e-6)


def test_predict_detail(client: Any, scoring_loop: Any) -> None:
    text = "Wonderful staff and quick delivery!"
    body = client.post("/api/predict?detail=1", json={"review": text}).json()
    expected = scoring_loop.score(text)
    assert body["label"] == expected.label
    assert body["suggested_rating"] == expected.suggested_rating
    assert body["probs"] == pytest.approx(expected.probs, abs=1e-6)
    assert body["model_version"] == "tiny-untrained"


@pytest.mark.parametrize(("body", "field"), [
    ({}, "review"), ({"review": 12}, "review"), ([1, 2], "body"), ({"review": "x" * 100_001}, "review"),
])
def test_predict_rejects_bad_bodies_naming_the_field(client: Any, body: Any, field: str) -> None:
    response = client.post("/api/predict", json=body)
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_predict_rejects_non_json(client: Any) -> None:
    response = client.post("/api/predict", content=b"review=hello", headers={"content-type": "text/plain"})
    assert response.status_code == 422
    assert response.json()["field"] == "body"


def test_predict_answers_503_when_no_worker_answers(make_client: Any) -> None:
    unwatched = f"drafts.nobody-{uuid.uuid4().hex[:6]}"
    client = make_client(topic_drafts=unwatched, predict_timeout_s=0.5)
    response = client.post("/api/predict", json={"review": "anyone there?"})
    assert response.status_code == 503
    assert response.json()["error"] == (
        "no scoring worker answered within 0.5 s; is `reviewpulse worker` running?"
    )


def test_submit_review_returns_id_with_202(client: Any) -> None:
    response = client.post("/api/review", json={"review": "Good coffee", "rating": 4, "brand": "Copperleaf"})
    assert response.status_code == 202
    assert len(response.json()["id"]) == 32


def test_submit_review_wait_returns_the_stored_score(client: Any, scoring_loop: Any) -> None:
    text = "Rude staff, never again."
    response = client.post("/api/review?wait=1", json={
        "review": text, "rating": 1, "suggested_rating": 2, "sentiment_score": 0.2, "brand": "Larkspur Bank",
    })
    assert response.status_code == 201
    body = response.json()
    assert body["stored"] is True
    assert body["score"] == pytest.approx(scoring_loop.score(text).score, abs=1e-6)


@pytest.mark.parametrize(("body", "field"), [
    ({"rating": 3}, "review"), ({"review": "   "}, "review"), ({"review": "ok", "rating": 7}, "rating"),
    ({"review": "ok", "sentiment_score": 1.5}, "sentiment_score"), ({"review": "ok", "rating": "five"}, "rating"),
])
def test_submit_review_validation(client: Any, body: dict[str, Any], field: str) -> None:
    response = client.post("/api/review", json=body)
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_reviews_filters_and_total(client: Any, brand_rows: str) -> None:
    body = client.get("/api/reviews", params={"brand": brand_rows}).json()
    assert body["total"] == 3
    assert [row["text"] for row in body["rows"]] == [
        "fine I guess", "lovely service, would buy again", "awful, broken on arrival",
    ]
    assert client.get("/api/reviews", params={"brand": brand_rows, "label": "bad"}).json()["total"] == 1
    assert client.get("/api/reviews", params={"brand": brand_rows, "source": "web-test-2"}).json()["total"] == 1
    assert client.get("/api/reviews", params={"brand": brand_rows, "q": "LOVELY"}).json()["total"] == 1
    # 2 stars but labelled good: the only disagreement
    disagree = client.get("/api/reviews", params={"brand": brand_rows, "disagreement": "1"}).json()
    assert [row["rating"] for row in disagree["rows"]] == [2]
    since = (datetime.now(UTC) - timedelta(minutes=2, seconds=30)).isoformat()
    assert client.get("/api/reviews", params={"brand": brand_rows, "since": since}).json()["total"] == 2


def test_reviews_pagination_offset_and_cursor(client: Any, brand_rows: str) -> None:
    first = client.get("/api/reviews", params={"brand": brand_rows, "limit": 2}).json()
    assert len(first["rows"]) == 2 and first["total"] == 3 and first["next_cursor"]
    by_cursor = client.get("/api/reviews", params={"brand": brand_rows, "limit": 2, "cursor": first["next_cursor"]})
    by_offset = client.get("/api/reviews", params={"brand": brand_rows, "limit": 2, "offset": 2})
    assert [r["id"] for r in by_cursor.json()["rows"]] == [r["id"] for r in by_offset.json()["rows"]]
    assert len(by_offset.json()["rows"]) == 1


@pytest.mark.parametrize(("params", "field"), [
    ({"label": "great"}, "label"), ({"since": "yesterday"}, "since"), ({"limit": "0"}, "limit"),
    ({"limit": "100000"}, "limit"), ({"offset": "-1"}, "offset"), ({"cursor": "%%%"}, "cursor"),
    ({"since": "2026-02-01", "until": "2026-01-01"}, "until"),
])
def test_reviews_rejects_bad_parameters(client: Any, params: dict[str, str], field: str) -> None:
    response = client.get("/api/reviews", params=params)
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_random_brand_and_exclude(client: Any, storage: Any) -> None:
    # Other rooms' tests share this chDB, so the catalogue may not be what is there (seeding
    # on a fresh data dir is checked in test_web_browser.py); two brands make exclusion testable.
    from kernel.events import Brand

    storage.insert_brands([Brand(name="Exclusion Test One"), Brand(name="Exclusion Test Two")])
    first = client.get("/api/brands/random").json()
    assert first["name"] and first["initials"] and first["colour"].startswith("#")
    for _ in range(5):
        other = client.get("/api/brands/random", params={"exclude": first["name"]}).json()
        assert other["name"] != first["name"]


def test_stats(client: Any, brand_rows: str) -> None:
    body = client.get("/api/stats").json()
    assert body["by_source"]["web-test-2"] >= 1
    assert body["reviews"] >= 3 and body["brands"] >= 1


def test_health_readiness_metrics_openapi(client: Any) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "broker": True, "storage": True}
    client.post("/api/predict", json={"review": "counting"})
    metrics = client.get("/metrics").text
    assert 'reviewpulse_web_predictions_total{outcome="ok"} 1.0' in metrics
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/predict", "/api/review", "/api/reviews", "/api/brands/random"} <= set(spec["paths"])


def test_security_headers(client: Any) -> None:
    headers = client.get("/healthz").headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.slow
def test_readyz_reports_a_lost_broker(storage: Any, tmp_path: Any) -> None:
    from starlette.testclient import TestClient

    from kernel.settings import Settings
    from kernel.topics import ensure_topics
    from reviewpulse.broker import EmbeddedBroker
    from reviewpulse.webserve import web_app

    broker = EmbeddedBroker(tmp_path / "broker")
    bootstrap = broker.start()
    try:
        ensure_topics(bootstrap, Settings())
        app = web_app(Settings(kafka_bootstrap=bootstrap, data_dir=tmp_path, secure_cookies=False), storage)
        with TestClient(app) as client:
            assert client.get("/readyz").status_code == 200
            broker.stop()
            response = client.get("/readyz")
            assert response.status_code == 503
            assert response.json() == {"status": "not ready", "broker": False, "storage": True}
            assert client.post("/api/review", json={"review": "kept?"}).status_code == 503
    finally:
        broker.stop()
