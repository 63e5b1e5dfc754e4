"""A running ``reviewpulse run`` adapts by itself, and shows its candidates' shadow scores.

Real broker, chDB, worker and web server; a small untrained char-CNN as the base (its
training data is the corpus the gates draw their fixed validation set from). With
``RETRAIN_EVERY_ROWS`` left at its ``reviewpulse run`` default except for its size (300 here, so
the test stays short) and ``AUTO_PROMOTE`` at its default, importing rated reviews is all it
takes: the system retrains, the gates pass the candidate and it becomes active, and the admin's
model page says so. Then a candidate registered with ``--no-promote`` is shadow-scored on the
next import (``SHADOW_SCORING=true``) and its figures are on the page and in ``models show``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunningSystem, start_system
from tests.e2e.stream.test_retrain_system import reviewpulse, write_import
from tests.integration.web.conftest import ADMIN_HASH, ADMIN_PASSWORD
from tests.retrain_data import labelled, small_model, write_corpus

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    root = tmp_path_factory.mktemp("auto-retrain")
    corpus = write_corpus(root / "corpus.csv", 400, seed=3)
    base = small_model(root / "base", corpus, rows=400)
    running = start_system(root / "var", base, RETRAIN_EVERY_ROWS="300", RETRAIN_CHECK_INTERVAL_S="1",
                           SHADOW_SCORING="true", ADMIN_PASSWORD_HASH=ADMIN_HASH, SESSION_SECRET="auto-retrain",
                           SECURE_COOKIES="false")
    yield running
    running.stop()


def models_page(running: RunningSystem) -> str:
    """``/admin/models`` after the admin login."""
    with httpx.Client(base_url=running.web_url, timeout=30, follow_redirects=True) as client:
        answer = client.post("/admin/login", data={"password": ADMIN_PASSWORD, "next": "/admin/models"})
    assert answer.status_code == 200 and "Model quality" in answer.text
    return answer.text


def registry(running: RunningSystem) -> dict:
    token = json.loads((running.data_dir / "run.json").read_text())["registry_token"]
    return httpx.get(f"{running.web_url}/api/models", headers={"Authorization": f"Bearer {token}"}, timeout=30).json()


def wait_for(condition, timeout_s: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def test_enough_rated_reviews_promote_a_gated_candidate_by_itself(system: RunningSystem, tmp_path: Path) -> None:
    page = models_page(system)
    assert "a retrain starts after <strong>300</strong> new rated reviews" in page
    assert "No automatic retrain yet." in page and "RETRAIN_EVERY_ROWS=0" in page
    assert registry(system)["active"]["version"] == "small-v0"
    assert "Automatic retraining: after every 300 new rated reviews" in system.log_path.read_text(errors="replace")

    done = reviewpulse(system, "import", str(write_import(tmp_path / "site.csv", labelled(320, seed=41))),
                       "--source", "airline_site", "--wait", "--no-progress", "--json")
    assert done.returncode == 0, done.stderr[-2000:]

    active = wait_for(lambda: (v := registry(system)["active"]["version"]) != "small-v0" and v, 300,
                      "the automatic retrain's candidate to become active")
    models = registry(system)
    record = next(m for m in models["models"] if m["version"] == active)
    assert record["parent_version"] == "small-v0" and record["metrics"]["gates"]["passed"]
    assert models["history"][0]["by"] == "reviewpulse retrain" and models["history"][0]["version"] == active
    page = wait_for(lambda: (text := models_page(system)) and "passed the gates and was promoted" in text and text,
                    60, "the page to report the promotion")
    assert re.search(rf"<strong>{re.escape(active)}</strong>\s*passed the gates and was promoted", page)


def test_a_candidate_in_shadow_shows_its_figures(system: RunningSystem, tmp_path: Path) -> None:
    active = registry(system)["active"]["version"]
    trained = reviewpulse(system, "retrain", "--json", "--no-promote", "--min-rows", "100")
    assert trained.returncode == 0, trained.stderr[-3000:]
    candidate = json.loads(trained.stdout)["version"]
    assert registry(system)["active"]["version"] == active

    for batch in range(3):  # the worker loads the candidate in the background: a later import is shadowed
        rows = labelled(60, seed=43 + batch)
        done = reviewpulse(system, "import", str(write_import(tmp_path / f"more-{batch}.csv", rows)),
                           "--source", "airline_site", "--wait", "--no-progress", "--json")
        assert done.returncode == 0, done.stderr[-2000:]
        try:
            wait_for(lambda: _shadowed(system, candidate), 30, "shadow scores")
            break
        except AssertionError:
            continue
    figures = next(a for a in registry(system)["shadow"] if a["model_version"] == candidate)
    assert figures["active_version"] == active and 0 < figures["with_stars"] == figures["reviews"]
    assert 0.0 <= figures["agreement"] <= 1.0 and figures["candidate_star_agreement"] is not None

    page = models_page(system)
    row = re.search(rf'<tr data-version="{re.escape(candidate)}">\s*<td>{re.escape(candidate)}</td><td>'
                    rf'{re.escape(active)}</td><td class="shadowed">(\d+)</td>', page)
    assert row and int(row.group(1)) == figures["reviews"]
    assert f"{figures['candidate_star_agreement'] * 100:.1f}%" in page

    shown = reviewpulse(system, "models", "show", candidate)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert json.loads(shown.stdout)["shadow"][0]["reviews"] == figures["reviews"]


def _shadowed(running: RunningSystem, candidate: str) -> int:
    return next((a["reviews"] for a in registry(running)["shadow"] if a["model_version"] == candidate), 0)
