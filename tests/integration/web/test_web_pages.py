"""The HTML pages render what the browser needs, with text escaped."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(120)


def test_review_page_has_a_brand_card_and_the_controls(client: Any) -> None:
    page = client.get("/")
    assert page.status_code == 200
    name = re.search(r'<h1 id="brand-name">(.*?)</h1>', page.text).group(1)
    assert name and name != "No brands yet"
    for element in ('id="review-text"', 'id="score-bar"', 'id="stars"', 'id="submit" disabled',
                    'id="another-brand"', 'src="/static/review.js"'):
        assert element in page.text
    assert "http://" not in page.text.replace("http://www.w3.org", "")  # nothing external to load


def test_static_files_are_served(client: Any) -> None:
    for path in ("/static/review.js", "/static/live.js", "/static/app.css"):
        assert client.get(path).status_code == 200


def test_live_page_embeds_recent_reviews_safely(client: Any) -> None:
    text = f"</script><script>alert(1)</script> {uuid.uuid4().hex}"
    stored = client.post("/api/review?wait=1", json={"review": text, "brand": "Lumen Opticians"})
    assert stored.status_code == 201
    page = client.get("/live")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    payload = re.search(r'<script type="application/json" id="initial-data">(.*?)</script>', page.text, re.S)
    initial = json.loads(payload.group(1))
    assert "by_source" in initial["stats"]
    assert isinstance(initial["reviews"], list)
