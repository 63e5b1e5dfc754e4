"""The model registry over real chDB (the session's storage: versions are unique per test)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from kernel.settings import Settings
from stream.registry.store import ControlNotPublished, ModelRecord, Registry
from tests.model_artefacts import artefact_copy


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def registry(storage: object, tiny_model_dir: Path) -> tuple[Registry, list[dict]]:
    events: list[dict] = []
    return Registry(storage, Settings(model_dir=tiny_model_dir), events.append), events  # type: ignore[arg-type]


def candidate(tmp_path: Path, tiny_model_dir: Path, version: str, **facts: object) -> ModelRecord:
    path = artefact_copy(tiny_model_dir, tmp_path / version, version)
    return ModelRecord(version=version, path=str(path), **facts)  # type: ignore[arg-type]


def test_the_shipped_model_is_registered_and_active_when_nothing_was_promoted(registry, tiny_model_dir) -> None:
    reg, _ = registry
    shipped = reg.shipped()
    assert shipped.version == "tiny-untrained" and shipped.path == str(tiny_model_dir.resolve())
    assert shipped.version in [r.version for r in reg.list()]


def test_register_keeps_every_fact_and_starts_as_candidate(registry, tmp_path, tiny_model_dir) -> None:
    reg, events = registry
    version = unique("facts")
    record = candidate(tmp_path, tiny_model_dir, version, status="active", parent_version="tiny-untrained",
                       training_rows=1234, sources={"yelp": 1000, "admin": 234}, data_hash="abc",
                       metrics={"fixed": {"macro_f1": 0.61, "per_source": {"yelp": {"macro_f1": 0.6}}}},
                       holdout_metrics={"macro_f1": 0.7}, note="from a test")
    reg.register(record)
    stored = reg.get(version)
    assert stored is not None and stored.status == "candidate"  # only promote makes a model active
    assert (stored.training_rows, stored.sources, stored.data_hash) == (1234, {"yelp": 1000, "admin": 234}, "abc")
    assert stored.metrics == record.metrics and stored.holdout_metrics == {"macro_f1": 0.7}
    assert abs((stored.created_at - record.created_at).total_seconds()) < 0.01
    assert reg.list()[0].version == version  # newest first
    assert events[-1] == {"action": "register", "version": version, "path": record.path}
    assert ModelRecord.from_dict(stored.to_dict()) == stored


def test_register_refuses_a_directory_without_a_model_or_with_another_version(registry, tmp_path,
                                                                              tiny_model_dir) -> None:
    reg, _ = registry
    with pytest.raises(ValueError, match="model.json: missing"):
        reg.register(ModelRecord(version=unique("empty"), path=str(tmp_path)))
    path = artefact_copy(tiny_model_dir, tmp_path / "other", "the-card-version")
    with pytest.raises(ValueError, match="says version 'the-card-version'"):
        reg.register(ModelRecord(version=unique("mismatch"), path=str(path)))
    with pytest.raises(ValueError, match="letters, digits"):
        reg.register(ModelRecord(version="../escape", path=str(path)))


def test_promote_an_unknown_version_lists_the_known_ones(registry) -> None:
    reg, _ = registry
    with pytest.raises(ValueError, match=r"unknown model version 'no-such-model'; known versions: .*tiny-untrained"):
        reg.promote("no-such-model", by="test")


def test_promote_retires_the_previous_model_and_rollback_walks_back(registry, tmp_path, tiny_model_dir) -> None:
    reg, events = registry
    before = reg.active().version
    first, second = unique("first"), unique("second")
    for version in (first, second):
        reg.register(candidate(tmp_path, tiny_model_dir, version))

    promoted = reg.promote(first, by="alice")
    assert promoted.status == "active" and promoted.promoted_by == "alice" and promoted.promoted_at is not None
    assert reg.active().version == first and reg.get(before).status == "retired"
    reg.promote(second, by="bob", note="forced past the gates: test")
    assert reg.active().version == second and reg.get(first).status == "retired"
    assert events[-1] == {"action": "activate", "version": second, "path": reg.get(second).path, "by": "bob"}

    assert reg.rollback(by="carol").version == first
    assert reg.get(second).status == "retired" and reg.active().version == first
    assert reg.rollback(by="carol").version == before  # rollback again: the one before that
    assert events[-1]["version"] == before

    history = reg.history()
    assert [(h["action"], h["version"], h["previous_version"]) for h in history[:4]] == [
        ("rollback", before, first), ("rollback", first, second), ("promote", second, first),
        ("promote", first, before)]
    assert history[2]["note"] == "forced past the gates: test" and history[2]["by"] == "bob"


def test_promoting_the_active_model_again_changes_nothing_but_tells_the_workers_again(registry) -> None:
    reg, events = registry
    active = reg.active()
    count = len(reg.history())
    assert reg.promote(active.version, by="test").version == active.version
    assert len(reg.history()) == count
    assert events == [{"action": "activate", "version": active.version, "path": active.path, "by": "test"}]


def test_a_broker_failure_after_the_change_says_what_happened(storage, tiny_model_dir, tmp_path) -> None:
    def broker_down(event: dict) -> None:
        raise TimeoutError("no broker")

    reg = Registry(storage, Settings(model_dir=tiny_model_dir), broker_down)
    version = unique("unpublished")
    reg.register(candidate(tmp_path, tiny_model_dir, version))  # only shadow scoring misses the news
    assert reg.get(version) is not None
    with pytest.raises(ControlNotPublished, match=rf"activate {version}, but running workers were not told"):
        reg.promote(version, by="test")
    assert reg.active().version == version
    Registry(storage, Settings(model_dir=tiny_model_dir)).rollback(by="test")




def test_candidates_reads_only_so_a_worker_user_without_insert_can_shadow_score(registry, storage, tmp_path,
                                                                               tiny_model_dir) -> None:
    reg, _ = registry
    older, newer = unique("cand-old"), unique("cand-new")
    for version in (older, newer):
        reg.register(candidate(tmp_path, tiny_model_dir, version))
    inserts: list[str] = []

    class NoInserts:  # the worker's ClickHouse user: SELECT on models, no INSERT
        def __init__(self, inner: object) -> None:
            self.inner = inner

        def query(self, *args: object, **kwargs: object) -> object:
            return self.inner.query(*args, **kwargs)  # type: ignore[attr-defined]

        @property
        def client(self) -> object:
            inserts.append("client")
            raise PermissionError("reviewpulse_worker may not INSERT INTO models")

    worker_view = Registry(NoInserts(storage), Settings(model_dir=tiny_model_dir))  # type: ignore[arg-type]
    versions = [m.version for m in worker_view.candidates()]
    assert versions.index(newer) < versions.index(older) and inserts == []
    assert all(m.status == "candidate" for m in worker_view.candidates())
