"""What the admin's model-quality page shows: suggestion acceptance per model version over time.

A person who submits a review on ``/`` sees the model's suggested stars and gives their
own; "accepted" means they kept the suggestion (stars == suggested stars). Only
``kind = 'review'`` rows count: crawled and imported stars were never shown a suggestion.
"""

from __future__ import annotations

from typing import Any

from stream.storage.clickhouse import Storage
from stream.storage.queries import jsonable


def acceptance_by_version(storage: Storage, days: int = 30) -> list[dict[str, Any]]:
    """Per model version and day: rated reviews, accepted suggestions, acceptance rate, exact-label agreement."""
    rows = storage.query(
        """SELECT model_version, toDate(scored_at) AS day, count() AS rated,
                  countIf(rating = suggested_rating) AS accepted,
                  round(accepted / rated, 4) AS acceptance_rate,
                  round(countIf(multiIf(rating <= 2, 'bad', rating = 3, 'average', 'good') = label) / rated, 4)
                      AS label_agreement
           FROM reviews FINAL
           WHERE kind = 'review' AND rating IS NOT NULL AND scored_at >= now64(3) - toIntervalDay({days:UInt32})
           GROUP BY model_version, day ORDER BY day DESC, model_version""",
        {"days": days})
    return [jsonable(row) for row in rows]


def acceptance_totals(storage: Storage) -> dict[str, dict[str, Any]]:
    """Per model version over all time: rated reviews and acceptance rate."""
    rows = storage.query(
        """SELECT model_version, count() AS rated, countIf(rating = suggested_rating) AS accepted,
                  round(accepted / rated, 4) AS acceptance_rate
           FROM reviews FINAL WHERE kind = 'review' AND rating IS NOT NULL GROUP BY model_version""")
    return {row["model_version"]: jsonable(row) for row in rows}
