"""Candidates' shadow scores read back: what the promote decision is made on.

``stream.storage.shadow`` writes a candidate's answer beside the active model's for every
stored review (``SHADOW_SCORING=true``). Per (candidate, active model) pair this gives the
reviews shadow-scored, how often the two labels agree, and on the reviews with stars how
often each model's label is the stars' class (NULL without any). The admin's model page
and ``reviewpulse models show`` read it through the registry
(``stream.registry.store.Registry.shadow``); the Model quality dashboard runs
:data:`AGREEMENT_SQL`. A module of its own: it only reads, so a process that shows the
figures needs no right to write them.
"""

from __future__ import annotations

from typing import Any

from stream.storage.clickhouse import Storage

AGREEMENT_COLUMNS = ("model_version", "active_version", "reviews", "agreement", "with_stars",
                     "candidate_star_agreement", "active_star_agreement")

#: ``stream.storage.queries.RATING_LABEL_SQL``, not imported: that module's SQL reads tables the
#: retrain user may not (tests/unit/deploy/test_compose_privileges.py follows imports).
STARS_CLASS = "multiIf(rating <= 2, 'bad', rating = 3, 'average', 'good')"

AGREEMENT_SQL = f"""
SELECT model_version, active_version, count() AS reviews, avg(label = active_label) AS agreement,
       countIf(rating IS NOT NULL) AS with_stars,
       countIf(rating IS NOT NULL AND label = {STARS_CLASS}) / nullIf(with_stars, 0) AS candidate_star_agreement,
       countIf(rating IS NOT NULL AND active_label = {STARS_CLASS}) / nullIf(with_stars, 0) AS active_star_agreement
FROM shadow_scores FINAL
GROUP BY model_version, active_version
ORDER BY model_version, active_version"""


def agreement(storage: Storage) -> list[dict[str, Any]]:
    """One row per (candidate, active model): :data:`AGREEMENT_COLUMNS`."""
    return storage.query(AGREEMENT_SQL)
