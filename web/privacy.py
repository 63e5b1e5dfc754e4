"""What the public may see of a stored review: text, scores, brand, source, stars.

``GET /api/reviews``, the ``/live`` page and ``/ws/live`` are open to anyone, so they
show a review through this allow-list: a column added to ``reviews`` later stays
private until someone adds it here on purpose. User agent, session id, IP hash and
``meta`` (which holds the reviewer's name for crawled reviews) are for ``/admin`` only.
"""

from __future__ import annotations

from typing import Any

PUBLIC_REVIEW_FIELDS = (
    "id", "kind", "text", "brand", "rating", "source", "ts", "p_bad", "p_avg", "p_good",
    "score", "label", "suggested_rating", "model_version", "scored_at", "language",
)


def public_review(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` without anything that could identify the person who wrote it."""
    return {name: row[name] for name in PUBLIC_REVIEW_FIELDS if name in row}
