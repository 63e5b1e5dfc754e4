"""``/admin/brands/{brand}``: login, the brand's complaints and praise, its mix, escaping, unknown brands."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from kernel.events import Brand, Kind, ScoredReview
from tests.background_reviews import seed_background
from tests.integration.web.test_web_admin import login

pytestmark = pytest.mark.timeout(120)
BAD = ["No refund after two weeks, refund request ignored.", "Refund request denied, no refund at all.",
       "Still waiting for my refund.", "They refused a refund for the broken kettle."]
GOOD = ["Lovely kettle, fast delivery.", "Fast delivery and a lovely kettle.", "Works well, fast delivery."]


def scored(brand: str, text: str, label: str, days_ago: float) -> ScoredReview:
    score = {"bad": 0.1, "average": 0.5, "good": 0.9}[label]
    now = datetime.now(UTC)
    return ScoredReview(kind=Kind.imported, text=text, brand=brand, rating=None, source="import",
                        probs=[1 - score, 0.0, score], score=score, label=label, suggested_rating=3,
                        model_version="t", ts=now - timedelta(days=days_ago), scored_at=now)


@pytest.fixture(scope="module")
def brand(storage: Any) -> str:
    """A brand with bad reviews about refunds and good ones about delivery; '/' and HTML in its name."""
    seed_background(storage)  # the Fightin' Words prior is the whole store: make it look like one
    name = f"Kettles/<b>&Co</b> {uuid.uuid4().hex[:8]}"
    storage.insert_reviews([scored(name, text, "bad", 1 + i) for i, text in enumerate(BAD)]
                           + [scored(name, text, "good", 2 + i) for i, text in enumerate(GOOD)]
                           + [scored(name, "Refund refund refund, terrible.", "bad", 60)])  # before the 30 days
    storage.insert_brands([Brand(name=name, category=f"Kitchen {name[-8:]}")])
    return name


def path(name: str) -> str:
    return "/admin/brands/" + quote(name, safe="")


def first_term(page: str, table: str) -> str:
    return re.search(rf'id="{table}".*?data-term="([^"]*)"', page, flags=re.DOTALL).group(1)  # type: ignore[union-attr]


def test_the_page_needs_a_login(client: Any, brand: str) -> None:
    response = client.get(path(brand), follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/admin/login?next=")


def test_complaints_praise_and_mix_for_the_last_30_days(client: Any, brand: str) -> None:
    login(client)
    response = client.get(path(brand))
    assert response.status_code == 200
    page = response.text
    assert first_term(page, "complaints") == "refund"
    assert 'data-term="no refund"' in page.split('id="praise"')[0]
    assert first_term(page, "praise") in {"fast delivery", "fast", "delivery", "lovely", "lovely kettle"}
    assert reviews_in(page) == 7, "the review from 60 days ago is outside the default 30 days"
    brand_row = re.search(r'data-compared="brand">.*?</tr>', page, flags=re.DOTALL).group(0)  # type: ignore[union-attr]
    assert "57.1%" in brand_row and "42.9%" in brand_row  # 4 bad, 3 good
    assert "&lt;b&gt;&amp;Co&lt;/b&gt;" in page and "<b>&Co</b>" not in page


def test_the_period_is_on_the_reviews_own_date(client: Any, brand: str) -> None:
    login(client)
    assert reviews_in(client.get(path(brand), params={"days": 3}).text) == 3  # bad 1 and 2 days ago, good 2 days ago
    assert reviews_in(client.get(path(brand), params={"days": 90}).text) == 8  # and the one 60 days ago
    until = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()  # a date: up to the end of that day
    page = client.get(path(brand), params={"days": 1, "until": until}).text
    assert reviews_in(page) == 2 and f'name="until" value="{until}"' in page, "the form shows the day asked for"


def reviews_in(page: str) -> int:
    """The brand's review count in the period, from the comparison table."""
    row = re.search(r'data-compared="brand">.*?<td>(\d+)</td>', page, flags=re.DOTALL)
    assert row, page
    return int(row.group(1))


def test_unknown_brand_and_bad_parameters(client: Any, brand: str) -> None:
    login(client)
    unknown = client.get(path(f"nobody-{uuid.uuid4().hex}"))
    assert unknown.status_code == 404 and "No brand named" in unknown.text
    assert client.get(path(brand), params={"days": "0"}).status_code == 422
    assert "until" in client.get(path(brand), params={"until": "yesterday"}).text


def test_the_admin_table_links_each_brand_to_its_page(client: Any, brand: str) -> None:
    login(client)
    page = client.get("/admin", params={"brand": brand}).text
    link = re.search(r'<a href="([^"]+)" class="brand-link">', page).group(1)  # type: ignore[union-attr]
    assert client.get(link.replace("&amp;", "&")).status_code == 200
