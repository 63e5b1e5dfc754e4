"""Private data stays private (issue 10, items 5-6): public views, keyed IP hashes, the TTL.

Public: ``GET /api/reviews``, the ``/live`` page and ``/ws/live`` show text, scores,
brand, source and stars only. The admin CSV has the full rows. IP hashes are an HMAC
with a key that is the same across restarts; personal columns expire in ClickHouse.
"""

from __future__ import annotations

import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from kernel.events import Kind, ScoredReview
from tests.integration.web.test_web_admin import login
from tests.integration.web.test_web_websocket import receive_until
from web.client_meta import KEY_FILE
from web.privacy import PUBLIC_REVIEW_FIELDS

pytestmark = pytest.mark.timeout(120)

SECRETS = {"session_id": "sess-private-4711", "user_agent": "UA-private-agent/9.9",
           "ip_hash": "ab" * 32, "reviewer": "Jane Private-Reviewer"}


def personal_review(brand: str, scored_at: datetime | None = None) -> ScoredReview:
    now = datetime.now(UTC)
    return ScoredReview(
        id=uuid.uuid4().hex, kind=Kind.review, text=f"public words about {brand}", brand=brand, rating=4,
        source="web", session_id=SECRETS["session_id"], ts=now,
        meta={"user_agent": SECRETS["user_agent"], "ip_hash": SECRETS["ip_hash"], "reviewer": SECRETS["reviewer"]},
        probs=[0.1, 0.2, 0.7], score=0.8, label="good", suggested_rating=5, model_version="t",
        scored_at=scored_at or now,
    )


@pytest.fixture
def private_brand(storage: Any) -> str:
    brand = f"Private-{uuid.uuid4().hex[:8]}"
    storage.insert_reviews([personal_review(brand)])
    return brand


def assert_no_personal_data(text: str) -> None:
    for name, value in SECRETS.items():
        assert value not in text, name


def test_api_reviews_shows_public_columns_only(client: Any, private_brand: str) -> None:
    response = client.get("/api/reviews", params={"brand": private_brand})
    rows = response.json()["rows"]
    assert [row["text"] for row in rows] == [f"public words about {private_brand}"]
    assert set(rows[0]) <= set(PUBLIC_REVIEW_FIELDS)
    assert {"session_id", "user_agent", "ip_hash", "meta", "url"}.isdisjoint(rows[0])
    assert_no_personal_data(response.text)


def test_live_page_backlog_shows_public_columns_only(client: Any, private_brand: str) -> None:
    page = client.get("/live").text
    assert f"public words about {private_brand}" in page
    assert_no_personal_data(page)


def test_live_feed_shows_public_columns_only(client: Any) -> None:
    headers = {"user-agent": SECRETS["user_agent"]}
    with client.websocket_connect("/ws/live") as live:
        response = client.post("/api/review?wait=1", json={"review": "live and public"}, headers=headers)
        batch = receive_until(live, "reviews")
    assert [review["id"] for review in batch["reviews"]] == [response.json()["id"]]
    assert set(batch["reviews"][0]) <= set(PUBLIC_REVIEW_FIELDS) | {"type"}
    assert_no_personal_data(str(batch))


def test_admin_export_has_the_full_rows(client: Any, private_brand: str) -> None:
    assert SECRETS["user_agent"] not in client.get("/admin/reviews.csv", params={"brand": private_brand}).text
    login(client)
    export = client.get("/admin/reviews.csv", params={"brand": private_brand}).text
    assert SECRETS["user_agent"] in export and SECRETS["session_id"] in export


def test_ip_hash_key_is_stable_across_restarts(make_client: Any, tmp_path: Path) -> None:
    first = make_client(ip_hash_salt=SecretStr("")).app.state.ip_key
    restarted = make_client(ip_hash_salt=SecretStr("")).app.state.ip_key  # same DATA_DIR
    assert first == restarted and len(first) == 64
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    other_dir = make_client(ip_hash_salt=SecretStr(""), data_dir=tmp_path / "elsewhere").app.state.ip_key
    assert other_dir != first
    replica = make_client(ip_hash_salt=SecretStr("shared"), data_dir=tmp_path / "replica").app.state.ip_key
    assert replica == b"shared"  # the setting wins, whatever the data dir


def test_personal_columns_expire(storage: Any) -> None:
    brand = f"Expiring-{uuid.uuid4().hex[:8]}"
    old = personal_review(brand, scored_at=datetime.now(UTC) - timedelta(days=400))
    fresh = personal_review(brand)
    storage.insert_reviews([old, fresh])
    # TTLs apply as parts merge; MATERIALIZE TTL applies them now (without merging away duplicates
    # that other tests on this shared table may count).
    storage.command("ALTER TABLE reviews MATERIALIZE TTL SETTINGS mutations_sync = 2")
    rows = {row["id"]: row for row in storage.query(
        "SELECT id, text, session_id, user_agent, ip_hash, meta FROM reviews FINAL WHERE brand = {b:String}",
        {"b": brand},
    )}
    assert rows[old.id]["text"] == old.text  # the review itself stays
    assert (rows[old.id]["session_id"], rows[old.id]["user_agent"], rows[old.id]["ip_hash"]) == ("", "", "")
    assert rows[old.id]["meta"] == {}
    assert rows[fresh.id]["user_agent"] == SECRETS["user_agent"]
    assert rows[fresh.id]["meta"]["reviewer"] == SECRETS["reviewer"]
