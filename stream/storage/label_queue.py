"""The admin label queue: where a person's label teaches the model most.

Two lists of stored reviews not labelled yet (``review_labels``, migration 5):

* **least sure** — reviews scored by the active model whose most likely class has the
  lowest probability (the model hesitates between classes);
* **stars disagree** — reviews with stars whose class (1-2 bad, 3 average, 4-5 good)
  is not the model's label, the widest gap between stars and suggested stars first.

:func:`set_label` stores one click; the latest label per review wins.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from stream.storage.clickhouse import Storage
from stream.storage.labelled import LABEL_STARS, LABELLED_KINDS
from stream.storage.queries import RATING_LABEL_SQL, jsonable

QUEUE_COLUMNS = "id, kind, text, brand, source, rating, p_bad, p_avg, p_good, label, suggested_rating, model_version"
#: Not labelled yet, and in a language the model reads (label '' : issue 32; retrain skips the others).
UNLABELLED = "id NOT IN (SELECT id FROM review_labels) AND label != ''"


def least_sure(storage: Storage, model_version: str | None, limit: int = 25) -> list[dict[str, Any]]:
    """Unlabelled reviews the model is least sure of (of ``model_version`` when given)."""
    version = " AND model_version = {v:String}" if model_version else ""
    rows = storage.query(
        f"SELECT {QUEUE_COLUMNS}, greatest(p_bad, p_avg, p_good) AS confidence FROM reviews FINAL "
        f"WHERE kind IN {{kinds:Array(String)}} AND {UNLABELLED}{version} "
        "ORDER BY confidence ASC, id LIMIT {limit:UInt32}",
        {"kinds": list(LABELLED_KINDS), "v": model_version or "", "limit": limit})
    return [jsonable(row) for row in rows]


def stars_disagree(storage: Storage, limit: int = 25) -> list[dict[str, Any]]:
    """Unlabelled reviews whose stars' class differs from the model's label, widest gap first."""
    rows = storage.query(
        f"SELECT {QUEUE_COLUMNS}, greatest(p_bad, p_avg, p_good) AS confidence FROM reviews FINAL "
        f"WHERE kind IN {{kinds:Array(String)}} AND rating IS NOT NULL AND {RATING_LABEL_SQL} != label AND {UNLABELLED} "
        "ORDER BY abs(toInt16(assumeNotNull(rating)) - toInt16(suggested_rating)) DESC, scored_at DESC, id "
        "LIMIT {limit:UInt32}",
        {"kinds": list(LABELLED_KINDS), "limit": limit})
    return [jsonable(row) for row in rows]


def set_label(storage: Storage, review_id: str, label: str, by: str) -> bool:
    """Store ``label`` for review ``review_id``; False when no such review is stored."""
    if label not in LABEL_STARS:
        raise ValueError(f"label must be one of {', '.join(LABEL_STARS)}, not {label!r}")
    found = storage.query("SELECT model_version FROM reviews FINAL WHERE id = {id:String} LIMIT 1",
                          {"id": review_id})
    if not found:
        return False
    storage.client.insert(
        "review_labels", [[review_id, label, by, found[0]["model_version"], datetime.now(UTC)]],
        column_names=("id", "label", "labelled_by", "model_version", "labelled_at"))
    return True


def label_counts(storage: Storage) -> dict[str, int]:
    rows = storage.query("SELECT label, count() AS n FROM review_labels FINAL GROUP BY label ORDER BY label")
    return {row["label"]: int(row["n"]) for row in rows}
