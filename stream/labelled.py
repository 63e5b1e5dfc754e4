"""Labelled reviews for retraining: stored reviews with stars, and the admin's labels.

A review carries a label when it has stars (a crawl's or an import's rating, or the
person's own stars on a review submitted on ``/``) or when an admin set one in the
label queue (``review_labels``, migration 5). Drafts never do. An admin label wins
over the stars and counts ``ADMIN_LABEL_WEIGHT`` times in the next retrain.

While ``reviewpulse run`` holds the embedded ClickHouse no other process may open it,
so ``reviewpulse retrain`` asks the running server (``GET /api/training/rows``, with
the registry token from run.json, as ``stream.registry_client`` does); without a
running system, or against a ClickHouse server, it reads the storage itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reviewpulse.settings import Settings
from stream.storage import Storage

#: Stars an admin label stands for (they group back to the same class).
LABEL_STARS = {"bad": 1, "average": 3, "good": 5}
LABELLED_KINDS = ("review", "scraped", "imported")


def labelled_rows(storage: Storage, sources: list[str] | None = None, since: datetime | None = None,
                  limit: int = 100_000, admin_weight: float = 3.0) -> list[dict[str, Any]]:
    """The newest ``limit`` rows, in id order: ``text, rating, source, weight, admin`` (admin labels as stars).

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
        f"""SELECT text, rating, source, admin_label FROM (
            SELECT r.id AS id, r.text AS text, r.rating AS rating, r.source AS source, l.label AS admin_label
            FROM (SELECT id, text, rating, source, scored_at FROM reviews FINAL WHERE {' AND '.join(where)}) AS r
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
                       "source": row["source"], "weight": admin_weight if admin else 1.0, "admin": admin})
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


def rows_from_web(settings: Settings, sources: list[str] | None, since: datetime | None,
                  limit: int) -> list[dict[str, Any]] | None:
    """The running system's rows (run.json names it); None when no system runs."""
    import httpx

    from reviewpulse.runfile import read_run_file, running_pid
    from stream.registry_client import RegistryUnavailable

    info = read_run_file(settings) or {}
    if not info.get("web") or running_pid(settings) is None:
        return None
    token = str(info.get("registry_token") or settings.registry_token.get_secret_value())
    params: list[tuple[str, str | int | float | bool | None]] = [("limit", limit)] + [("source", s) for s in sources or []]
    if since is not None:
        params.append(("since", since.isoformat()))
    try:
        response = httpx.get(f"{info['web']}/api/training/rows", params=params, timeout=120,
                             headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as error:
        raise RegistryUnavailable(f"the running system at {info['web']} did not answer: {error}") from error
    if response.status_code in (401, 403):
        raise RegistryUnavailable(f"{info['web']} refused the registry token: is run.json from this system?")
    response.raise_for_status()
    return list(response.json()["rows"])


def read_labelled_rows(settings: Settings, sources: list[str] | None = None, since: datetime | None = None,
                       limit: int = 100_000) -> tuple[list[dict[str, Any]], str]:
    """Rows from the running system if there is one, else from ClickHouse; and where they came from."""
    rows = rows_from_web(settings, sources, since, limit)
    if rows is not None:
        return rows, "the running system (GET /api/training/rows)"
    from reviewpulse.runfile import check_data_dir_free
    from stream.migrations import migrate
    from stream.storage import open_storage

    check_data_dir_free(settings)
    storage = open_storage(settings)
    try:
        migrate(storage)
        return labelled_rows(storage, sources, since, limit, settings.admin_label_weight), "ClickHouse"
    finally:
        storage.close()
