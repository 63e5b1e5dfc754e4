"""Dead letters for operators: ``/admin/dead-letters`` and the reasons ``reviewpulse stats`` shows."""

from __future__ import annotations

import random
import string
from typing import Any

import pytest
from pydantic import SecretStr

from kernel.events import DeadLetter
from tests.integration.web.test_web_admin import login

pytestmark = pytest.mark.timeout(120)
TOKEN = "dead-letter-test-token"


def marker() -> str:
    """Letters only: a reason's digits are grouped as N."""
    return "".join(random.choices(string.ascii_lowercase, k=12))


def test_the_page_needs_a_login_filters_and_shows_the_raw_message_escaped(make_client: Any, storage: Any) -> None:
    topic = f"dl-{marker()}"
    storage.insert_dead_letters([
        DeadLetter(raw="<script>alert(1)</script>{oops", error="not JSON: expected value", topic=topic, offset=7),
        DeadLetter(raw='{"kind": "review", "text": "x", "rating": 9}', error="invalid event: rating: too high",
                   topic=topic, offset=8),
    ])
    client = make_client()
    assert client.get("/admin/dead-letters", follow_redirects=False).status_code == 303
    login(client)
    page = letters(client.get("/admin/dead-letters", params={"topic": topic}).text)
    assert "not JSON: expected value" in page and "invalid event: rating: too high" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{oops" in page and "<script>alert(1)" not in page
    only = client.get("/admin/dead-letters", params={"topic": topic, "q": "RATING"}).text
    assert "1 matching" in only
    assert "rating: too high" in letters(only) and "expected value" not in letters(only)


def letters(page: str) -> str:
    """The letters' table of the page (above it, the reasons of every letter stored)."""
    return page.split('id="letters"', 1)[1]


def test_stats_group_the_reasons_for_operators_only(make_client: Any, storage: Any) -> None:
    reason = f"invalid event: text: {marker()}"
    storage.insert_dead_letters([DeadLetter(raw="{}", error=f"event {n} of the array: {reason}", topic="t", offset=n)
                                 for n in (3, 17, 250)])
    client = make_client(registry_token=SecretStr(TOKEN))
    assert "dead_letter_reasons" not in client.get("/api/stats").json(), "reasons are not for the public"
    groups = client.get("/api/stats", headers={"Authorization": f"Bearer {TOKEN}"}).json()["dead_letter_reasons"]
    [group] = [g for g in groups if reason in g["reason"]]
    assert group["reason"] == f"event N of the array: {reason}" and group["count"] == 3
