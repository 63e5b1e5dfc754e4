"""Automatic retraining: new labelled rows in real chDB start one background retrain at the threshold."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kernel.events import Kind, ScoredReview
from kernel.settings import Settings
from stream.learning.automatic import REPORT_FILE, SINGLE_MACHINE_EVERY_ROWS, STATE_FILE, AutoRetrainer, every_rows


def reviews(count: int, rating: int | None) -> list[ScoredReview]:
    now = datetime.now(UTC)
    return [ScoredReview(kind=Kind.imported, text=f"auto {uuid.uuid4().hex}", brand="Auto", rating=rating,
                         source="auto-retrain", probs=[0.2, 0.3, 0.5], score=0.65, label="good", suggested_rating=4,
                         model_version="auto-test", ts=now, scored_at=now) for _ in range(count)]


def test_a_retrain_starts_at_the_threshold_one_at_a_time(storage: Any, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, retrain_every_rows=3)
    started: list[Settings] = []
    release = asyncio.Event()

    async def spawn(given: Settings) -> int:  # what `reviewpulse retrain --json` leaves behind
        started.append(given)
        await release.wait()
        report = {"version": f"auto-{len(started)}", "promoted": len(started) == 1,
                  "gates": {"passed": len(started) == 1, "reasons": [] if len(started) == 1 else ["worse"]}}
        (tmp_path / REPORT_FILE).write_text(json.dumps(report))
        return 0

    async def scenario() -> None:
        retrainer = AutoRetrainer(settings, storage, spawn, every=3)
        retrainer.since = datetime.now(UTC)
        await asyncio.sleep(0.01)  # stored times have millisecond precision
        storage.insert_reviews(reviews(2, rating=4) + reviews(5, rating=None))  # unrated rows do not count
        assert not await retrainer.check()
        storage.insert_reviews(reviews(1, rating=2))
        assert await retrainer.check()
        await asyncio.sleep(0.01)
        storage.insert_reviews(reviews(3, rating=5))
        assert not await retrainer.check()  # one retrain at a time
        release.set()
        assert await retrainer.running == 0  # type: ignore[misc]
        assert retrainer.status()["last"] == {"version": "auto-1", "promoted": True, "gates_passed": True,
                                              "reasons": []}
        assert await retrainer.check()  # the 3 rows stored while it ran are new for the next one
        await retrainer.running  # type: ignore[misc]
        assert not await retrainer.check()
        status = retrainer.status()
        assert status["last"]["promoted"] is False and status["last"]["reasons"] == ["worse"]
        assert status["every_rows"] == 3 and not status["running"] and "RETRAIN_EVERY_ROWS=0" in status["off_hint"]

    asyncio.run(scenario())
    assert len(started) == 2
    state = json.loads((tmp_path / STATE_FILE).read_text())
    assert state["last_exit"] == 0 and state["new_rows"] == 3
    assert AutoRetrainer(settings, storage, spawn, every=3).since.isoformat() == state["last_started"]


def test_on_by_default_on_one_machine_and_opt_in_for_replicas(tmp_path: Path) -> None:
    unset = Settings(data_dir=tmp_path)
    assert every_rows(unset, single_machine=True) == SINGLE_MACHINE_EVERY_ROWS
    assert every_rows(unset, single_machine=False) == 0
    assert every_rows(Settings(data_dir=tmp_path, retrain_every_rows=0), single_machine=True) == 0
    assert every_rows(Settings(data_dir=tmp_path, retrain_every_rows=50), single_machine=False) == 50
    assert unset.auto_promote


