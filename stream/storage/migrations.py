"""Versioned, idempotent ClickHouse migrations (``reviewpulse migrate``).

Each migration is a version number, a name and a list of statements. ``migrate`` applies
those whose version is above the highest one recorded in ``schema_migrations``; every
statement also says ``IF NOT EXISTS``, so a half-applied migration can simply run again.
Add a new migration at the end; never edit one that has shipped.

``reviews`` is a ReplacingMergeTree keyed by ``id``: a redelivered review is stored twice
until a merge, so exact queries read it with ``FINAL`` (see ``stream.storage.queries``). The
per-minute views count inserts as they arrive, redeliveries included: they are for
dashboards, not for exact figures.
"""

from __future__ import annotations

import logging

from stream.storage.brand_words import store_terms_select
from stream.storage.clickhouse import Storage

log = logging.getLogger(__name__)

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "reviews, brands, dead_letters", [
        """CREATE TABLE IF NOT EXISTS reviews (
            id String, kind LowCardinality(String), text String, brand String,
            rating Nullable(UInt8), source LowCardinality(String), session_id String, url String,
            ts DateTime64(3, 'UTC'), meta Map(String, String), user_agent String, ip_hash String,
            p_bad Float32, p_avg Float32, p_good Float32, score Float32, label LowCardinality(String),
            suggested_rating UInt8, model_version LowCardinality(String),
            scored_at DateTime64(3, 'UTC'), latency_ms Float32
        ) ENGINE = ReplacingMergeTree(scored_at) ORDER BY id""",
        """CREATE TABLE IF NOT EXISTS brands (
            name String, website String, logo String, category String, sub_category String,
            url String, source LowCardinality(String), ts DateTime64(3, 'UTC')
        ) ENGINE = ReplacingMergeTree(ts) ORDER BY name""",
        """CREATE TABLE IF NOT EXISTS dead_letters (
            raw String, raw_base64 UInt8, error String, topic LowCardinality(String),
            partition Int32, offset Int64, ts DateTime64(3, 'UTC')
        ) ENGINE = MergeTree ORDER BY ts""",
    ]),
    (2, "per-minute aggregates", [
        """CREATE TABLE IF NOT EXISTS reviews_per_minute (
            minute DateTime('UTC'), source LowCardinality(String), label LowCardinality(String),
            reviews UInt64, score_sum Float64, latency_ms_sum Float64
        ) ENGINE = SummingMergeTree ORDER BY (minute, source, label)""",
        """CREATE MATERIALIZED VIEW IF NOT EXISTS reviews_per_minute_mv TO reviews_per_minute AS
            SELECT toStartOfMinute(scored_at) AS minute, source, label, count() AS reviews,
                   sum(score) AS score_sum, sum(latency_ms) AS latency_ms_sum
            FROM reviews GROUP BY minute, source, label""",
        """CREATE TABLE IF NOT EXISTS dead_letters_per_minute (
            minute DateTime('UTC'), topic LowCardinality(String), letters UInt64
        ) ENGINE = SummingMergeTree ORDER BY (minute, topic)""",
        """CREATE MATERIALIZED VIEW IF NOT EXISTS dead_letters_per_minute_mv TO dead_letters_per_minute AS
            SELECT toStartOfMinute(ts) AS minute, topic, count() AS letters
            FROM dead_letters GROUP BY minute, topic""",
    ]),
    # Personal columns (who sent a review; meta holds the user agent, IP hash and a crawled
    # reviewer's name) are emptied 180 days after the review was stored; text and scores stay.
    # Another retention: ALTER TABLE reviews MODIFY COLUMN ... TTL (see docs/reliability-and-security.md).
    (3, "personal columns expire after 180 days", [
        """ALTER TABLE reviews
            MODIFY COLUMN session_id String TTL toDateTime(scored_at) + INTERVAL 180 DAY,
            MODIFY COLUMN user_agent String TTL toDateTime(scored_at) + INTERVAL 180 DAY,
            MODIFY COLUMN ip_hash String TTL toDateTime(scored_at) + INTERVAL 180 DAY,
            MODIFY COLUMN meta Map(String, String) TTL toDateTime(scored_at) + INTERVAL 180 DAY""",
    ]),
    # The model registry (stream/registry/store.py): one row per model (latest update wins), the
    # promotion history, and what a shadow candidate said about each stored review.
    (4, "model registry, promotions, shadow scores", [
        """CREATE TABLE IF NOT EXISTS models (
            version String, path String, status LowCardinality(String), parent_version String,
            created_at DateTime64(3, 'UTC'), training_rows UInt64, sources String, data_hash String,
            metrics String, holdout_metrics String, promoted_by String,
            promoted_at Nullable(DateTime64(3, 'UTC')), note String, updated_at DateTime64(6, 'UTC')
        ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY version""",
        """CREATE TABLE IF NOT EXISTS model_promotions (
            at DateTime64(6, 'UTC'), seq UInt64, action LowCardinality(String), version String,
            previous_version String, by String, note String
        ) ENGINE = MergeTree ORDER BY (at, seq)""",
        """CREATE TABLE IF NOT EXISTS shadow_scores (
            id String, model_version LowCardinality(String), active_version LowCardinality(String),
            p_bad Float32, p_avg Float32, p_good Float32, score Float32, label LowCardinality(String),
            active_label LowCardinality(String), source LowCardinality(String), rating Nullable(UInt8),
            scored_at DateTime64(3, 'UTC')
        ) ENGINE = ReplacingMergeTree(scored_at) ORDER BY (model_version, id)""",
    ]),
    # Labels an admin set in the label queue (web/labels.py); the latest per review wins and
    # weighs more than stars in the next retrain (stream/storage/labelled.py).
    (5, "admin labels", [
        """CREATE TABLE IF NOT EXISTS review_labels (
            id String, label LowCardinality(String), labelled_by String,
            model_version LowCardinality(String), labelled_at DateTime64(3, 'UTC')
        ) ENGINE = ReplacingMergeTree(labelled_at) ORDER BY id""",
    ]),
    # Admin sessions ended by a logout (stream/storage/admin_sessions.py): the cookie is refused after it.
    (6, "admin logouts", [
        """CREATE TABLE IF NOT EXISTS admin_logouts (
            session_id String, ended_at DateTime64(3, 'UTC')
        ) ENGINE = ReplacingMergeTree(ended_at) ORDER BY session_id
        TTL toDateTime(ended_at) + INTERVAL 30 DAY""",
    ]),
    # The broker's view of the scoring worker's progress on reviews.raw, recorded every ALERT_CHECK_S
    # by the web server (stream/worker/backlog.py): raw arrivals are stored nowhere else, and the
    # "scoring stalls" alert (stream/storage/alerts.py) must see events that were never scored.
    (7, "reviews.raw backlog snapshots", [
        """CREATE TABLE IF NOT EXISTS raw_backlog (
            at DateTime64(3, 'UTC'), topic LowCardinality(String), partition Int32,
            end_offset Int64, committed_offset Int64
        ) ENGINE = MergeTree ORDER BY (topic, partition, at)
        TTL toDateTime(at) + INTERVAL 7 DAY""",
    ]),
    # Each review's language and, when it was explained, its sentences (kernel.events.Explanation as
    # JSON; docs/explanations-and-languages.md). Rows stored before get language '' (not detected:
    # scored as English) and no explanation.
    (8, "review language and explanation", [
        """ALTER TABLE reviews
            ADD COLUMN IF NOT EXISTS language LowCardinality(String) DEFAULT '',
            ADD COLUMN IF NOT EXISTS explanation String DEFAULT ''""",
    ]),
    # How many reviews of the whole store hold each term (stream/storage/brand_words.py): Fightin' Words'
    # prior, read instead of tokenising the store on every call (7 s at a million reviews). The view counts
    # inserts, so a redelivered review counts twice until nothing: a prior's shares barely move for it.
    (9, "store-wide term counts for Fightin' Words", [
        """CREATE TABLE IF NOT EXISTS store_terms (term String, reviews UInt64)
        ENGINE = SummingMergeTree ORDER BY term""",
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS store_terms_mv TO store_terms AS {store_terms_select()}",
        f"INSERT INTO store_terms {store_terms_select('reviews FINAL')}",
    ]),
]


def applied_versions(storage: Storage) -> set[int]:
    rows = storage.query("SELECT version FROM schema_migrations")
    return {int(row["version"]) for row in rows}


def migrate(storage: Storage) -> list[int]:
    """Apply pending migrations in order; returns the versions applied now (empty: up to date)."""
    storage.command(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String, "
        "applied_at DateTime('UTC') DEFAULT now()) ENGINE = ReplacingMergeTree ORDER BY version"
    )
    done = applied_versions(storage)
    applied = []
    for version, name, statements in MIGRATIONS:
        if version in done:
            continue
        for statement in statements:
            storage.command(statement)
        storage.command(
            "INSERT INTO schema_migrations (version, name) VALUES ({v:UInt32}, {n:String})",
            {"v": version, "n": name},
        )
        log.info("applied migration %d: %s", version, name)
        applied.append(version)
    return applied
