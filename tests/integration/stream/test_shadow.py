"""Shadow scoring: a candidate's answers stored beside the active model's, reviews untouched."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest

from kernel.settings import Settings
from stream.registry.hotswap import ModelSlot, scorer_loader
from stream.registry.store import Registry
from stream.worker.batches import BatchHandler, Incoming
from tests.model_artefacts import artefact_copy


def test_stored_reviews_are_scored_by_the_shadow_candidate_too(storage, tiny_model_dir: Path,
                                                               tmp_path: Path) -> None:
    from inference.scorer import Scorer

    settings = Settings(shadow_scoring=True)
    sent: list[tuple[str, bytes]] = []

    async def send(topic: str, key: bytes | None, value: bytes):
        sent.append((topic, value))
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    handler = BatchHandler(settings, storage, Scorer.load(tiny_model_dir, device="cpu", threads=1), send)
    candidate = f"shadow-{uuid.uuid4().hex[:8]}"
    handler.shadow = ModelSlot(None, scorer_loader(settings), "shadow model")
    handler.shadow.request(candidate, str(artefact_copy(tiny_model_dir, tmp_path / candidate, candidate)))
    assert handler.shadow.settled.wait(60)

    source = f"shadow-test-{uuid.uuid4().hex[:8]}"
    reviews = [json.dumps({"id": f"{source}-{i}", "kind": "review", "text": f"shadowed review {i}",
                           "source": source, "rating": 1 + i % 5}).encode() for i in range(6)]
    draft = json.dumps({"id": f"{source}-draft", "kind": "draft", "text": "typing", "session_id": source}).encode()

    async def scenario() -> None:
        await handler.handle_reviews([Incoming(raw, settings.topic_raw) for raw in [*reviews, draft]])
        await asyncio.gather(*handler._background)

    asyncio.run(scenario())
    rows = storage.query("SELECT id, model_version, active_version, label, active_label, rating FROM shadow_scores FINAL "
                         "WHERE source = {s:String} ORDER BY id", {"s": source})
    assert [r["id"] for r in rows] == sorted(f"{source}-{i}" for i in range(6))  # drafts are never shadowed
    assert {(r["model_version"], r["active_version"]) for r in rows} == {(candidate, "tiny-untrained")}
    assert all(r["label"] == r["active_label"] for r in rows)  # same weights: they agree
    scored = [json.loads(v) for t, v in sent if t == settings.topic_scored]
    assert {s["model_version"] for s in scored} == {"tiny-untrained"}  # the active model still answers
    mine = [a for a in Registry(storage, settings).shadow() if a["model_version"] == candidate]
    assert mine[0]["reviews"] == 6 and mine[0]["agreement"] == 1.0 and mine[0]["with_stars"] == 6
    stars_class = {1: "bad", 2: "bad", 3: "average", 4: "good", 5: "good"}
    matches = sum(stars_class[r["rating"]] == r["label"] for r in rows) / 6
    assert mine[0]["candidate_star_agreement"] == pytest.approx(matches)
    assert mine[0]["active_star_agreement"] == pytest.approx(matches)
