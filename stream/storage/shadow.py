"""Shadow scoring (``SHADOW_SCORING=true``): a candidate's answers stored beside the active model's.

When on, each worker also scores every stored review with the newest registered candidate
(``stream.registry.hotswap``: loaded in the background, like a promoted model) and writes one row
per review to ``shadow_scores``: the candidate's probabilities and label next to the
active model's label, the review's source and stars. Off by default: it doubles the
scoring work of stored reviews (drafts are never shadowed). One attempt per batch;
a failure is logged, the reviews themselves are stored either way.

``stream.storage.shadow_figures`` reads them back for the admin's model page,
``reviewpulse models show`` and the Model quality dashboard: per candidate, how often its label
equals the active one's, and how often each equals people's stars.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from inference.protocol import Verdict
from kernel.events import ScoredReview, utc_now
from stream.storage.clickhouse import _three_probs

SHADOW_COLUMNS = ("id", "model_version", "active_version", "p_bad", "p_avg", "p_good", "score", "label",
                  "active_label", "source", "rating", "scored_at")


def insert_shadow_scores(storage: Any, reviews: Sequence[ScoredReview], verdicts: Sequence[Verdict],
                         version: str) -> None:
    """Rows of ``shadow_scores``: ``verdicts[i]`` (an ``inference.scorer.Sentiment``) is ``version``'s on ``reviews[i]``."""
    scored_at = utc_now().astimezone(UTC)
    rows = []
    for review, verdict in zip(reviews, verdicts, strict=True):
        p_bad, p_avg, p_good = _three_probs(verdict.probs)
        rows.append([review.id, version, review.model_version, p_bad, p_avg, p_good, min(max(verdict.score, 0.0), 1.0),
                     verdict.label, review.label, review.source, review.rating, scored_at])
    if rows:
        storage.client.insert("shadow_scores", rows, column_names=SHADOW_COLUMNS)
