"""The model registry: which char-CNN artefacts exist, which one scores, who promoted what.

A model is an artefact directory (``inference.artefact``: ``model.json`` + weights) plus a
row in the ClickHouse ``models`` table (migration 4). Trained candidates live under
``DATA_DIR/models/<version>/`` (:func:`artefact_dir`); the shipped model (``MODEL_DIR``,
read-only in the repo) is registered automatically as the first entry and is active
until something else is promoted. Every promote and rollback is a row in
``model_promotions``: the active model is the top of the stack those rows describe
(promote pushes, rollback pops), so rollback always returns to the model that was
active before, however many times it is called.

:class:`Registry` works over one :class:`stream.storage.clickhouse.Storage` and is as thread-unsafe
as it is (async code: ``await storage.run(registry.promote, ...)``). Processes that cannot
open the storage (chDB: one process per data directory) use
``reviewpulse.system_client.registry_client(settings)``, which has the same methods.
``promote`` and ``rollback`` call ``publish(event)`` (see ``stream.registry.control``) so workers
switch models; without ``publish`` only the table changes. When publishing fails the
table has changed anyway and :class:`ControlNotPublished` says so; promoting the active
version again re-publishes it.
"""

from __future__ import annotations

import builtins
import json
import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, overload

from kernel.settings import Settings
from stream.storage.clickhouse import Storage

log = logging.getLogger(__name__)

STATUSES = ("candidate", "active", "retired")
#: Versions become directory names and topic payloads: letters, digits, ``._-``, at most 128.
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MODEL_COLUMNS = (
    "version", "path", "status", "parent_version", "created_at", "training_rows", "sources", "data_hash",
    "metrics", "holdout_metrics", "promoted_by", "promoted_at", "note", "updated_at",
)
JSON_COLUMNS = ("sources", "metrics", "holdout_metrics")


def utc_now() -> datetime:
    return datetime.now(UTC)


@overload
def _utc(value: datetime) -> datetime: ...
@overload
def _utc(value: None) -> None: ...
def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass
class ModelRecord:
    """One registered model. ``metrics``: fixed validation set (per domain); ``holdout_metrics``: in-domain."""

    version: str
    path: str
    status: str = "candidate"
    parent_version: str = ""
    created_at: datetime = field(default_factory=utc_now)
    training_rows: int = 0
    sources: dict[str, int] = field(default_factory=dict)
    data_hash: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    holdout_metrics: dict[str, Any] = field(default_factory=dict)
    promoted_by: str = ""
    promoted_at: datetime | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (datetimes as ISO 8601 strings)."""
        data = asdict(self)
        for key in ("created_at", "promoted_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelRecord:
        """The inverse of :meth:`to_dict`; unknown keys are ignored, datetimes parsed as UTC."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("created_at", "promoted_at"):
            if isinstance(known.get(key), str):
                known[key] = datetime.fromisoformat(known[key])
            elif known.get(key) is not None and not isinstance(known[key], datetime):
                raise ValueError(f"{key} must be an ISO 8601 date-time, not {known[key]!r}")
        known["created_at"] = _utc(known.get("created_at")) or utc_now()
        known["promoted_at"] = _utc(known.get("promoted_at"))
        return cls(**known)


def check_version(version: str) -> str:
    if not VERSION_PATTERN.match(version or ""):
        raise ValueError(f"model version {version!r}: use 1-128 letters, digits, '.', '_' or '-'")
    return version


def artefact_dir(settings: Settings, version: str) -> Path:
    """Where a trained model's artefact lives: ``DATA_DIR/models/<version>/`` (not created here)."""
    return Path(settings.data_dir) / "models" / check_version(version)


def check_artefact(path: str | Path) -> str:
    """The version in ``path``'s model card; ``inference.artefact.ArtefactError`` if it is not one."""
    from inference.artefact import read_card

    return read_card(path).version


class ControlNotPublished(RuntimeError):
    """The registry changed, but the control event did not reach the broker; the message says what to do."""


class Registry:
    """Models and promotions in ClickHouse; see the module docstring."""

    def __init__(self, storage: Storage, settings: Settings,
                 publish: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.storage = storage
        self.settings = settings
        self.publish = publish
        self._shipped_version: str | None = None

    # reading

    def shipped(self) -> ModelRecord:
        """The MODEL_DIR entry, registered on first use (active while nothing else was promoted)."""
        if self._shipped_version is None:
            record = self._shipped_record()
            if self.get(record.version) is None:
                self._write(record)
            self._shipped_version = record.version
        registered = self.get(self._shipped_version)
        assert registered is not None
        return registered

    def _shipped_record(self) -> ModelRecord:
        from inference.artefact import read_card

        card = read_card(self.settings.model_dir)
        return ModelRecord(
            version=check_version(card.version), path=str(Path(self.settings.model_dir).resolve()),
            status="active" if not self._stack() else "retired", created_at=_parse_time(card.created_at),
            training_rows=int(card.training.get("rows", 0) or 0), data_hash=card.data_sha256,
            metrics=dict(card.metrics), note="shipped model (MODEL_DIR, read-only)",
        )

    def get(self, version: str) -> ModelRecord | None:
        rows = self.storage.query(
            f"SELECT {', '.join(MODEL_COLUMNS)} FROM models FINAL WHERE version = {{v:String}}", {"v": version})
        return _record(rows[0]) if rows else None

    def list(self) -> list[ModelRecord]:
        """Every model, newest first (the shipped one included)."""
        self.shipped()
        rows = self.storage.query(
            f"SELECT {', '.join(MODEL_COLUMNS)} FROM models FINAL ORDER BY created_at DESC, version DESC")
        return [_record(row) for row in rows]

    def candidates(self) -> builtins.list[ModelRecord]:
        """Registered candidates, newest first. Reads only, like :meth:`active` (for workers)."""
        rows = self.storage.query(
            f"SELECT {', '.join(MODEL_COLUMNS)} FROM models FINAL WHERE status = 'candidate' "
            "ORDER BY created_at DESC, version DESC")
        return [_record(row) for row in rows]

    def active(self) -> ModelRecord:
        """The model workers should score with: top of the promotion stack, else the shipped one.

        Reads only (a worker's ClickHouse user may not write ``models``): the shipped model is
        described from MODEL_DIR when it is not registered yet.
        """
        stack = self._stack()
        record = self.get(stack[-1]) if stack else None
        if record is None:
            shipped = self._shipped_record()
            record = self.get(shipped.version) or shipped
        return record

    # builtins.list: inside the class body ``list`` is the method above.
    def history(self) -> builtins.list[dict[str, Any]]:
        """Promotions and rollbacks, newest first: ``at, action, version, previous_version, by, note``."""
        rows = self.storage.query(
            "SELECT at, action, version, previous_version, by, note FROM model_promotions ORDER BY at DESC, seq DESC")
        return [{**row, "at": _utc(row["at"]).isoformat()} for row in rows]

    def shadow(self) -> builtins.list[dict[str, Any]]:
        """Candidates' shadow scores beside the active model (``stream.storage.shadow_figures``)."""
        from stream.storage.shadow_figures import agreement

        return agreement(self.storage)

    # changing

    def register(self, record: ModelRecord) -> None:
        """Add (or update the facts of) a model; it starts as a candidate, whatever ``status`` says.

        A version already registered keeps its status and promotion. Raises ValueError for a
        bad version or a path that holds no model artefact.
        """
        from inference.artefact import ArtefactError

        check_version(record.version)
        try:
            card_version = check_artefact(record.path)
        except ArtefactError as error:
            raise ValueError(f"model {record.version}: {error}") from error
        if card_version != record.version:
            raise ValueError(f"model {record.version}: {record.path}/model.json says version {card_version!r}; "
                             "the registry version must be the card's (it is what scored events carry)")
        existing = self.get(record.version)
        record = ModelRecord(**{**asdict(record), "status": existing.status if existing else "candidate",
                                "promoted_by": existing.promoted_by if existing else "",
                                "promoted_at": existing.promoted_at if existing else None})
        self._write(record)
        if not existing:
            try:  # only shadow scoring listens; a candidate is registered with or without it
                self._publish({"action": "register", "version": record.version, "path": record.path})
            except ControlNotPublished as error:
                log.warning("%s", error)

    def promote(self, version: str, by: str, note: str = "") -> ModelRecord:
        """Make ``version`` active (the previous active one becomes retired) and tell the workers.

        Raises ValueError naming the known versions when ``version`` is unknown. The caller
        applies the gates first; ``note`` (e.g. "forced past the gates") lands in the history.
        """
        target = self.get(version) if VERSION_PATTERN.match(version or "") else None
        if target is None:
            known = ", ".join(r.version for r in self.list())
            raise ValueError(f"unknown model version {version!r}; known versions: {known}")
        current = self.active()
        if current.version == target.version:  # nothing changes; tell the workers again
            self._publish({"action": "activate", "version": current.version, "path": current.path, "by": by})
            return current
        self._log("promote", target.version, current.version, by, note)
        return self._switch(current, target, by)

    def rollback(self, by: str, note: str = "") -> ModelRecord:
        """Return to the model that was active before the current one; ValueError if there is none."""
        current = self.active()
        stack = self._stack()
        if not stack:
            raise ValueError(f"nothing to roll back to: {current.version} is the first model")
        previous = self.get(stack[-2]) if len(stack) > 1 else self.shipped()
        assert previous is not None
        self._log("rollback", previous.version, current.version, by, note)
        return self._switch(current, previous, by)

    def _switch(self, current: ModelRecord, target: ModelRecord, by: str) -> ModelRecord:
        now = utc_now()
        self._write(ModelRecord(**{**asdict(current), "status": "retired"}))
        target = ModelRecord(**{**asdict(target), "status": "active", "promoted_by": by, "promoted_at": now})
        self._write(target)
        self._publish({"action": "activate", "version": target.version, "path": target.path, "by": by})
        return target

    def _publish(self, event: dict[str, Any]) -> None:
        if self.publish is None:
            return
        try:
            self.publish(event)
        except Exception as error:  # noqa: BLE001 - any broker failure: the table changed, say so
            raise ControlNotPublished(
                f"the registry now says {event['action']} {event['version']}, but running workers were not told "
                f"({type(error).__name__}: {error}); they load the active model when they start, or run "
                f"`reviewpulse models promote {event['version']}` again once the broker answers"
            ) from error

    def _stack(self) -> builtins.list[str]:
        """Versions made active by promotions, minus those rolled back (oldest first; shipped implied)."""
        stack: list[str] = []
        rows = self.storage.query("SELECT action, version FROM model_promotions ORDER BY at, seq")
        for row in rows:
            if row["action"] == "promote":
                stack.append(row["version"])
            elif stack:
                stack.pop()
        return stack

    def _log(self, action: str, version: str, previous: str, by: str, note: str) -> None:
        self.storage.command(
            "INSERT INTO model_promotions (at, seq, action, version, previous_version, by, note) VALUES "
            "({at:DateTime64(6, 'UTC')}, {seq:UInt64}, {action:String}, {v:String}, {p:String}, {by:String}, "
            "{note:String})",
            {"at": utc_now(), "seq": _next_seq(self.storage), "action": action, "v": version, "p": previous,
             "by": by, "note": note},
        )

    def _write(self, record: ModelRecord) -> None:
        if record.status not in STATUSES:
            raise ValueError(f"status {record.status!r}: one of {', '.join(STATUSES)}")
        values = asdict(record)
        row = [json.dumps(values[c]) if c in JSON_COLUMNS else values.get(c) for c in MODEL_COLUMNS[:-1]]
        row[MODEL_COLUMNS.index("created_at")] = _utc(record.created_at)
        self.storage.client.insert("models", [[*row, utc_now()]], column_names=MODEL_COLUMNS)


def _next_seq(storage: Storage) -> int:
    rows = storage.query("SELECT max(seq) AS seq FROM model_promotions")
    return int(rows[0]["seq"] or 0) + 1 if rows else 1


def _parse_time(text: str) -> datetime:
    try:
        return _utc(datetime.fromisoformat(text)) or utc_now()
    except (TypeError, ValueError):
        return utc_now()


def _record(row: dict[str, Any]) -> ModelRecord:
    values = {c: row[c] for c in MODEL_COLUMNS[:-1]}
    for column in JSON_COLUMNS:
        values[column] = json.loads(values[column] or "{}")
    values["training_rows"] = int(values["training_rows"])
    values["created_at"] = _utc(values["created_at"])
    values["promoted_at"] = _utc(values["promoted_at"])
    return ModelRecord(**values)
