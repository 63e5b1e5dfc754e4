"""Every SQL query the dashboards run, with the columns each panel expects back.

The SQL is written for the ``grafana-clickhouse-datasource`` plugin (macros expand as in
``reviewpulse.bench.grafana_macros``) against the tables and views of ``stream.storage.migrations``: ``reviews``
(ReplacingMergeTree; exact figures read ``FINAL`` or count ``uniqExact(id)``),
``reviews_per_minute`` and ``dead_letters``. The per-minute view counts redelivered inserts
too, which is right for traffic and wrong for exact totals, so totals read ``reviews``.

Scores are Float32 (0.9 is stored as 0.89999998), so score bands round to 4 decimals first,
or a 0.9 would land in the 0.8-0.9 band.

Rates are per minute whatever the panel's interval: buckets are at least a minute wide
(the view's grain) and counts are divided by the bucket's length in minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

from stream.storage.queries import SCORED
from stream.storage.shadow_figures import AGREEMENT_COLUMNS, AGREEMENT_SQL


@dataclass(frozen=True)
class PanelQuery:
    """A panel's SQL and the column names the panel's field options refer to."""

    key: str
    sql: str
    columns: tuple[str, ...]
    #: "timeseries" (long series pivoted by Grafana) or "table"
    query_type: str = "timeseries"


BRAND_FILTER = "$__conditionalAll(brand IN (${brand:singlequote}), $brand)"

#: bucket of at least one minute (the per-minute view's grain), and its length in minutes
BUCKET_S = "greatest($__interval_s, 60)"
BUCKET = f"toStartOfInterval(minute, INTERVAL {BUCKET_S} second)"
PER_MINUTE = f"/ ({BUCKET_S} / 60)"

BRAND_VARIABLE_SQL = "SELECT DISTINCT brand FROM reviews WHERE brand != '' ORDER BY brand LIMIT 1000"

REVIEWS_PER_MINUTE = PanelQuery("reviews_per_minute", f"""
SELECT {BUCKET} AS time, source, sum(reviews) {PER_MINUTE} AS reviews_per_minute
FROM reviews_per_minute
WHERE $__timeFilter(minute)
GROUP BY time, source
ORDER BY time, source""", ("time", "source", "reviews_per_minute"))

SENTIMENT_MIX = PanelQuery("sentiment_mix", f"""
SELECT {BUCKET} AS time, label, sum(reviews) {PER_MINUTE} AS reviews_per_minute
FROM reviews_per_minute
WHERE $__timeFilter(minute) AND {SCORED}
GROUP BY time, label
ORDER BY time, label""", ("time", "label", "reviews_per_minute"))

TOTALS = PanelQuery("totals", f"""
SELECT uniqExact(id) AS reviews, avgIf(score, {SCORED}) AS mean_score,
       countIf({SCORED} AND rating IS NOT NULL AND suggested_rating = rating)
           / nullIf(countIf({SCORED} AND rating IS NOT NULL), 0) AS star_agreement
FROM reviews FINAL
WHERE $__timeFilter(scored_at) AND {BRAND_FILTER}""", ("reviews", "mean_score", "star_agreement"), "table")

SCORE_DISTRIBUTION = PanelQuery("score_distribution", f"""
SELECT concat(toString(bucket / 10), '-', toString((bucket + 1) / 10)) AS score_range, reviews
FROM (
    SELECT least(toUInt8(floor(round(toFloat64(score), 4) * 10)), 9) AS bucket, count() AS reviews
    FROM reviews FINAL
    WHERE $__timeFilter(scored_at) AND {BRAND_FILTER} AND {SCORED}
    GROUP BY bucket
)
ORDER BY bucket""", ("score_range", "reviews"), "table")

BRAND_SCORES = PanelQuery("brand_scores", f"""
SELECT brand, count() AS reviews,
       round(avgIf(score, {SCORED}), 3) AS avg_score,
       round(1 + 4 * avgIf(score, {SCORED}), 2) AS avg_score_as_stars,
       round(avg(rating), 2) AS avg_star_rating,
       round(avgIf(suggested_rating, {SCORED}), 2) AS avg_suggested_rating
FROM reviews FINAL
WHERE $__timeFilter(scored_at) AND brand != '' AND {BRAND_FILTER}
GROUP BY brand
ORDER BY reviews DESC, brand
LIMIT 100""",
    ("brand", "reviews", "avg_score", "avg_score_as_stars", "avg_star_rating", "avg_suggested_rating"),
    "table")

AGREEMENT = PanelQuery("agreement", f"""
SELECT countIf(suggested_rating = rating) / nullIf(count(), 0) AS exact_stars,
       countIf(abs(toInt16(suggested_rating) - toInt16(assumeNotNull(rating))) <= 1) / nullIf(count(), 0)
           AS within_one_star,
       countIf(label = multiIf(rating <= 2, 'bad', rating = 3, 'average', 'good')) / nullIf(count(), 0)
           AS same_label,
       count() AS rated_reviews
FROM reviews FINAL
WHERE $__timeFilter(scored_at) AND rating IS NOT NULL AND {BRAND_FILTER} AND {SCORED}""",
    ("exact_stars", "within_one_star", "same_label", "rated_reviews"), "table")

CONFUSION = PanelQuery("confusion", f"""
SELECT toString(assumeNotNull(rating)) AS user_stars,
       countIf(suggested_rating = 1) AS suggested_1, countIf(suggested_rating = 2) AS suggested_2,
       countIf(suggested_rating = 3) AS suggested_3, countIf(suggested_rating = 4) AS suggested_4,
       countIf(suggested_rating = 5) AS suggested_5, count() AS reviews
FROM reviews FINAL
WHERE $__timeFilter(scored_at) AND rating IS NOT NULL AND {BRAND_FILTER} AND {SCORED}
GROUP BY user_stars
ORDER BY user_stars""",
    ("user_stars", "suggested_1", "suggested_2", "suggested_3", "suggested_4", "suggested_5", "reviews"),
    "table")

MODEL_VERSIONS = PanelQuery("model_versions", """
SELECT model_version, uniqExact(id) AS reviews, min(scored_at) AS first_scored, max(scored_at) AS last_scored
FROM reviews
WHERE $__timeFilter(scored_at)
GROUP BY model_version
ORDER BY last_scored DESC""", ("model_version", "reviews", "first_scored", "last_scored"), "table")

CURRENT_MODEL = PanelQuery("current_model", """
SELECT argMax(model_version, scored_at) AS model_version
FROM reviews
WHERE scored_at >= $__toTime - INTERVAL 1 DAY AND scored_at <= $__toTime""", ("model_version",), "table")

# Only reviews submitted live (kind 'review'): crawled and imported reviews carry the review's
# original date as event time, so their "latency" would be their age.
SCORING_LATENCY = PanelQuery("scoring_latency", """
SELECT $__timeInterval(scored_at) AS time,
       quantile(0.5)(latency_ms) AS p50_ms,
       quantile(0.99)(latency_ms) AS p99_ms
FROM reviews
WHERE $__timeFilter(scored_at) AND kind = 'review'
GROUP BY time
ORDER BY time""", ("time", "p50_ms", "p99_ms"))

DEAD_LETTERS_PER_MINUTE = PanelQuery("dead_letters_per_minute", f"""
SELECT toStartOfInterval(ts, INTERVAL {BUCKET_S} second) AS time,
       left(splitByChar(':', error)[1], 80) AS reason,
       count() {PER_MINUTE} AS letters_per_minute
FROM dead_letters
WHERE $__timeFilter(ts)
GROUP BY time, reason
ORDER BY time, reason""", ("time", "reason", "letters_per_minute"))

RECENT_DEAD_LETTERS = PanelQuery("recent_dead_letters", """
SELECT ts, topic, partition, offset, error, left(raw, 200) AS raw_start
FROM dead_letters
WHERE $__timeFilter(ts)
ORDER BY ts DESC
LIMIT 50""", ("ts", "topic", "partition", "offset", "error", "raw_start"), "table")

# Learning loop. Acceptance: a person who submits a review on / saw the suggested stars and kept
# them (only kind 'review': crawled and imported stars were never shown a suggestion).
ACCEPTANCE_BY_VERSION = PanelQuery("acceptance_by_version", f"""
SELECT $__timeInterval(scored_at) AS time, model_version,
       countIf(rating = suggested_rating) / count() AS acceptance_rate
FROM reviews FINAL
WHERE $__timeFilter(scored_at) AND kind = 'review' AND rating IS NOT NULL AND {BRAND_FILTER} AND {SCORED}
GROUP BY time, model_version
ORDER BY time, model_version""", ("time", "model_version", "acceptance_rate"))

# models (stream/registry/store.py) keeps metrics as JSON text: macro-F1 on the in-domain hold-out, the
# parent's on the same rows, and on the fixed validation set.
MODEL_HOLDOUT_F1 = PanelQuery("model_holdout_f1", """
SELECT version, status, parent_version, created_at, training_rows,
       round(JSONExtractFloat(holdout_metrics, 'macro_f1'), 4) AS holdout_macro_f1,
       round(JSONExtractFloat(holdout_metrics, 'active', 'macro_f1'), 4) AS parent_holdout_macro_f1,
       round(JSONExtractFloat(metrics, 'macro_f1'), 4) AS fixed_set_macro_f1
FROM models FINAL
ORDER BY created_at DESC
LIMIT 100""", ("version", "status", "parent_version", "created_at", "training_rows", "holdout_macro_f1",
               "parent_holdout_macro_f1", "fixed_set_macro_f1"), "table")

PROMOTIONS = PanelQuery("promotions", """
SELECT at, action, version, previous_version, by, note
FROM model_promotions
ORDER BY at DESC, seq DESC
LIMIT 100""", ("at", "action", "version", "previous_version", "by", "note"), "table")

# '' = not detected (too short to tell: scored as English) or stored before languages were detected.
LANGUAGES = PanelQuery("languages", f"""
SELECT if(language = '', 'not detected', language) AS language, uniqExact(id) AS reviews,
       uniqExactIf(id, label = '') AS not_scored
FROM reviews
WHERE $__timeFilter(scored_at) AND {BRAND_FILTER}
GROUP BY language
ORDER BY reviews DESC, language""", ("language", "reviews", "not_scored"), "table")

# Candidates scored beside the active model (SHADOW_SCORING=true): the figures a promote is decided on.
SHADOW_AGREEMENT = PanelQuery("shadow_agreement", AGREEMENT_SQL, AGREEMENT_COLUMNS, "table")

ALL: tuple[PanelQuery, ...] = (
    REVIEWS_PER_MINUTE, SENTIMENT_MIX, TOTALS, SCORE_DISTRIBUTION, BRAND_SCORES, AGREEMENT, CONFUSION,
    MODEL_VERSIONS, CURRENT_MODEL, SCORING_LATENCY, DEAD_LETTERS_PER_MINUTE, RECENT_DEAD_LETTERS,
    ACCEPTANCE_BY_VERSION, MODEL_HOLDOUT_F1, PROMOTIONS, SHADOW_AGREEMENT, LANGUAGES,
)
