"""``GET /api/alerts`` and the ``/live`` banner, on the session chDB with seeded reviews.

A brand's reviews are seeded to fire "brand turns bad" (good ones dated days ago, a burst of
bad ones in the last hour); the app checks that rule every ``ALERT_CHECK_S`` (short here).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr

from kernel.events import ScoredReview
from stream.storage.alerts import BRAND_TURNS_BAD, RULES

TOKEN = "alerts-token"


def seed_turning_brand(storage: Any, brand: str, burst: int) -> None:
    now = datetime.now(UTC)

    def review(label: str, ts: datetime) -> ScoredReview:
        score = 0.1 if label == "bad" else 0.9
        return ScoredReview(id=uuid.uuid4().hex, kind="imported", text=f"<b>{label}</b>", brand=brand, source="t",
                            ts=ts, probs=[1 - score, 0.0, score], score=score, label=label, suggested_rating=3,
                            model_version="v", scored_at=now)

    storage.insert_reviews([review("good", now - timedelta(days=2, minutes=n)) for n in range(10)]
                           + [review("bad", now - timedelta(minutes=5, seconds=n)) for n in range(burst)])


def banner_of(page: str) -> list[dict[str, Any]]:
    payload = re.search(r'<script type="application/json" id="initial-data">(.*?)</script>', page, re.S)
    assert payload, "the live page lost its initial data"
    return list(json.loads(payload.group(1))["alerts"])


def test_api_alerts_needs_the_token_and_names_the_brand(make_client: Any, storage: Any) -> None:
    brand = f"<script>alert-{uuid.uuid4().hex[:8]}</script>"
    client = make_client(registry_token=SecretStr(TOKEN))
    assert client.get("/api/alerts").status_code == 401
    assert client.get("/api/alerts", headers={"Authorization": "Bearer wrong"}).status_code == 401
    seed_turning_brand(storage, brand, client.app.state.settings.alert_brand_min_reviews)

    body = client.get("/api/alerts", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert body["rules"] == [rule.name for rule in RULES]
    (found,) = [f for f in body["firing"] if f["subject"] == brand]
    assert found["rule"] == BRAND_TURNS_BAD.name and brand in found["message"] and found["value"] > 0


def test_the_live_page_and_feed_show_a_brand_that_turned_bad(make_client: Any, storage: Any) -> None:
    brand = f"<img src=x onerror=alert(1)>-{uuid.uuid4().hex[:8]}"
    client = make_client(alert_check_s=0.2)
    assert all(alert["subject"] != brand for alert in banner_of(client.get("/live").text))
    with client.websocket_connect("/ws/live") as viewer:
        seed_turning_brand(storage, brand, client.app.state.settings.alert_brand_min_reviews)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            message = viewer.receive_json()
            if message["type"] == "alerts" and any(alert["subject"] == brand for alert in message["alerts"]):
                break
        else:
            raise AssertionError("the live feed never sent the banner")
    page = client.get("/live").text
    assert [alert["rule"] for alert in banner_of(page) if alert["subject"] == brand] == [BRAND_TURNS_BAD.name]
    assert "<img src=x" not in page, "the brand must reach the page escaped (the script renders it as text)"
