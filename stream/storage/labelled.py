"""Labelled reviews for retraining: stored reviews with stars, and the admin's labels.

A review carries a label when it has stars (a crawl's or an import's rating, or the
person's own stars on a review submitted on ``/``) or when an admin set one in the
label queue (``review_labels``, migration 5). Drafts never do. An admin label wins
over the stars and counts ``ADMIN_LABEL_WEIGHT`` times in the next retrain.

Whether ``reviewpulse retrain`` reads these rows here or from a running server
(``GET /api/training/rows``) is decided in the root (``reviewpulse.system_client``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from stream.storage.clickhouse import Storage

#: Stars an admin label stands for (they group back to the same class).
LABEL_STARS = {"bad": 1, "average": 3, "good": 5}
LABELLED_KINDS = ("review", "scraped", "imported")


def labelled_rows(storage: Storage, sources: list[str] | None = None, since: datetime | None = None,
                  limit: int = 100_000, admin_weight: float = 3.0) -> list[dict[str, Any]]:
    """The newest ``limit`` rows, in id order: ``text, rating, source, weight, admin, language`` (admin labels as stars).

    Id order, not time order: reviews scored in one worker batch share ``scored_at``, so
    time order among them changes with batch timing, and the seeded hold-out split of
    ``reviewpulse retrain`` would change with it.
    """
    where = ["kind IN {kinds:Array(String)}"]
    params: dict[str, Any] = {"kinds": list(LABELLED_KINDS), "limit": limit}
    if sources:
        where.append("source IN {sources:Array(String)}")
        params["sources"] = list(sources)
    if since is not None:
        where.append("scored_at >= {since:DateTime64(3, 'UTC')}")
        params["since"] = since
    rows = storage.query(
        f"""SELECT text, rating, source, language, admin_label FROM (
            SELECT r.id AS id, r.text AS text, r.rating AS rating, r.source AS source, r.language AS language,
                   l.label AS admin_label
            FROM (SELECT id, text, rating, source, language, scored_at FROM reviews FINAL
                  WHERE {' AND '.join(where)}) AS r
            LEFT JOIN (SELECT id, argMax(label, labelled_at) AS label FROM review_labels GROUP BY id) AS l
              ON r.id = l.id
            WHERE r.rating IS NOT NULL OR l.label != ''
            ORDER BY r.scored_at DESC, r.id LIMIT {{limit:UInt32}}
            ) ORDER BY id""",
        params,
    )
    result = []
    for row in rows:
        admin = row["admin_label"] in LABEL_STARS
        rating = LABEL_STARS[row["admin_label"]] if admin else row["rating"]
        result.append({"text": row["text"], "rating": None if rating is None else int(rating),
                       "source": row["source"], "weight": admin_weight if admin else 1.0, "admin": admin,
                       "language": row["language"]})
    return result


def count_labelled(storage: Storage, since: datetime | None = None) -> int:
    """Labelled reviews stored (and admin labels set) after ``since`` — what automatic retraining waits for."""
    params: dict[str, Any] = {"kinds": list(LABELLED_KINDS)}
    when = ""
    if since is not None:
        params["since"] = since
        when = " AND scored_at > {since:DateTime64(3, 'UTC')}"
    reviews = storage.query(
        f"SELECT uniqExact(id) AS n FROM reviews WHERE kind IN {{kinds:Array(String)}} AND rating IS NOT NULL{when}",
        params)[0]["n"]
    labels = storage.query(
        "SELECT uniqExact(id) AS n FROM review_labels" + (" WHERE labelled_at > {since:DateTime64(3, 'UTC')}"
                                                          if since is not None else ""), params)[0]["n"]
    return int(reviews) + int(labels)
