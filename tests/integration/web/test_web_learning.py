"""The learning loop's web side: label queue, model-quality page, /api/training/rows (real chDB)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from kernel.events import Kind, ScoredReview
from stream.storage.labelled import labelled_rows
from tests.integration.web.test_web_admin import login

TOKEN = "learning-test-token"


@pytest.fixture
def queued(storage: Any) -> dict[str, str]:
    """Two reviews of a fresh source: one the model is unsure of, one whose 5 stars the model calls bad."""
    source = f"queue-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    unsure = ScoredReview(
        id=f"000-{uuid.uuid4().hex}", kind=Kind.imported, text="it was a flight, i suppose", brand="Air Queue",
        rating=None, source=source, probs=[1 / 3, 1 / 3, 1 / 3], score=0.5, label="bad", suggested_rating=3,
        model_version="queue-test", ts=now, scored_at=now)
    disagree = ScoredReview(
        id=f"001-{uuid.uuid4().hex}", kind=Kind.review, text="honestly the best crew ever", brand="Air Queue",
        rating=5, source=source, probs=[0.9, 0.05, 0.05], score=0.075, label="bad", suggested_rating=1,
        model_version="queue-test", ts=now, scored_at=now)
    storage.insert_reviews([unsure, disagree])
    return {"source": source, "unsure": unsure.id, "disagree": disagree.id}


def test_label_queue_lists_and_one_click_sets_a_label(client: Any, storage: Any, queued: dict[str, str]) -> None:
    assert client.get("/admin/labels", follow_redirects=False).status_code == 303
    assert client.post("/admin/labels", data={"id": queued["unsure"], "label": "good"},
                       follow_redirects=False).status_code == 303
    login(client, next_path="/admin/labels")
    assert 'href="/admin/labels"' in client.get("/admin").text
    page = client.get("/admin/labels")
    assert page.status_code == 200
    least_sure = page.text.split('id="least-sure"')[1].split("</table>")[0]
    disagree = page.text.split('id="disagree"')[1].split("</table>")[0]
    assert queued["unsure"] in least_sure and "it was a flight, i suppose" in least_sure
    assert queued["disagree"] in disagree and "honestly the best crew ever" in disagree

    response = client.post("/admin/labels", data={"id": queued["unsure"], "label": "average"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/admin/labels?done=1"
    page = client.get("/admin/labels?done=1")
    assert 'id="label-saved"' in page.text
    assert queued["unsure"] not in page.text.split('id="least-sure"')[1].split("</table>")[0]

    rows = labelled_rows(storage, [queued["source"]], admin_weight=3.0)
    by_text = {row["text"]: row for row in rows}
    assert by_text["it was a flight, i suppose"] == {
        "text": "it was a flight, i suppose", "rating": 3, "source": queued["source"], "weight": 3.0, "admin": True,
        "language": ""}
    assert by_text["honestly the best crew ever"]["weight"] == 1.0 and by_text["honestly the best crew ever"]["rating"] == 5

    assert client.post("/admin/labels", data={"id": queued["disagree"], "label": "great"}).status_code == 422
    assert client.post("/admin/labels", data={"id": "no-such-review", "label": "good"}).status_code == 404


def test_training_rows_need_the_registry_token(make_client: Any, queued: dict[str, str]) -> None:
    client = make_client(registry_token=SecretStr(TOKEN))
    assert client.get("/api/training/rows").status_code == 401
    assert client.get("/api/training/rows", headers={"Authorization": "Bearer wrong"}).status_code == 401
    response = client.get("/api/training/rows", params={"source": queued["source"]},
                          headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    # the unsure review has no stars and no admin label: not a training row
    assert [row["text"] for row in response.json()["rows"]] == ["honestly the best crew ever"]
    assert client.get("/api/training/rows", params={"since": "0001-01-01"},
                      headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 422


def test_model_quality_page_shows_versions_acceptance_and_history(client: Any, queued: dict[str, str]) -> None:
    assert client.get("/admin/models", follow_redirects=False).status_code == 303
    login(client, next_path="/admin/models")
    page = client.get("/admin/models")
    assert page.status_code == 200
    assert 'id="models"' in page.text and 'id="history"' in page.text
    acceptance = page.text.split('id="acceptance"')[1].split("</table>")[0]
    assert "queue-test" in acceptance  # the rated review submitted on / (5 stars, suggestion 1: not accepted)
