"""``/api/models``: the registry over HTTP is for the run.json token or an admin session only."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from stream.registry.store import ModelRecord
from tests.integration.web.test_web_admin import login
from tests.model_artefacts import artefact_copy

TOKEN = "test-registry-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def test_every_registry_endpoint_refuses_without_the_token_or_an_admin_session(make_client: Any) -> None:
    client = make_client(registry_token=SecretStr(TOKEN))
    for method, path in (("get", "/api/models"), ("get", "/api/models/anything"), ("post", "/api/models"),
                         ("post", "/api/models/promote"), ("post", "/api/models/rollback")):
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            response = getattr(client, method)(path, headers=headers, **({"json": {}} if method == "post" else {}))
            assert response.status_code == 401, (method, path, headers)
            assert "registry_token" in response.json()["error"]
    open_client = make_client()  # no token configured: a bearer header of any kind is refused
    assert open_client.get("/api/models", headers={"Authorization": "Bearer "}).status_code == 401


def test_register_promote_and_rollback_over_http(make_client: Any, tmp_path: Path, tiny_model_dir: Path) -> None:
    client = make_client(registry_token=SecretStr(TOKEN), model_dir=tiny_model_dir)
    version = f"http-{uuid.uuid4().hex[:8]}"
    path = artefact_copy(tiny_model_dir, tmp_path / version, version)
    record = ModelRecord(version=version, path=str(path), training_rows=10, sources={"yelp": 10})

    created = client.post("/api/models", json=record.to_dict(), headers=BEARER)
    assert created.status_code == 201 and created.json()["status"] == "candidate"
    assert client.get(f"/api/models/{version}", headers=BEARER).json()["sources"] == {"yelp": 10}
    assert client.get("/api/models/no-such", headers=BEARER).status_code == 404
    before = client.get("/api/models", headers=BEARER).json()["active"]["version"]

    unknown = client.post("/api/models/promote", json={"version": "no-such"}, headers=BEARER)
    assert unknown.status_code == 404 and "known versions" in unknown.json()["error"]
    promoted = client.post("/api/models/promote", json={"version": version, "by": "web-test"}, headers=BEARER)
    assert promoted.status_code == 200 and promoted.json()["status"] == "active"
    overview = client.get("/api/models", headers=BEARER).json()
    assert overview["active"]["version"] == version
    assert overview["history"][0]["by"] == "web-test" and overview["history"][0]["version"] == version

    rolled = client.post("/api/models/rollback", json={"by": "web-test"}, headers=BEARER)
    assert rolled.status_code == 200 and rolled.json()["version"] == before


def test_an_admin_session_may_use_the_registry_and_bad_records_answer_400(make_client: Any,
                                                                          tmp_path: Path) -> None:
    client = make_client()
    login(client)
    assert client.get("/api/models").status_code == 200
    refused = client.post("/api/models", json={"version": "x-1", "path": str(tmp_path)})
    assert refused.status_code == 400 and "model.json: missing" in refused.json()["error"]
    assert client.post("/api/models", json={"path": "no version"}).status_code == 400


def test_the_admin_table_shows_which_model_scored_each_review(client: Any, storage: Any) -> None:
    from datetime import UTC, datetime

    from kernel.events import Kind, ScoredReview

    brand, now = f"Models-{uuid.uuid4().hex[:8]}", datetime.now(UTC)
    storage.insert_reviews([
        ScoredReview(kind=Kind.review, text=f"scored by {version}", brand=brand, rating=4, source="web",
                     probs=[0.1, 0.2, 0.7], score=0.8, label="good", suggested_rating=5, model_version=version,
                     ts=now, scored_at=now)
        for version in ("charcnn-before-swap", "charcnn-after-swap")
    ])
    login(client)
    page = client.get("/admin", params={"brand": brand}).text
    assert "<th>model</th>" in page
    assert page.count('class="nowrap model-version">charcnn-') == 2
    assert "charcnn-before-swap" in page and "charcnn-after-swap" in page
