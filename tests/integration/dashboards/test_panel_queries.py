"""Every dashboard panel's SQL, expanded as Grafana would, runs on real ClickHouse (chDB).

Scored reviews are loaded through ``stream.storage.clickhouse`` into the migrated tables of the shared
``storage`` fixture, inside a time window of their own (a day in 2003), so the panels'
figures can be checked exactly even though other tests share the database.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dashboards import queries
from kernel.events import DeadLetter, ScoredReview
from reviewpulse.bench.grafana_macros import ALL, QueryContext, expand
from stream.registry.store import MODEL_COLUMNS
from stream.storage.shadow import SHADOW_COLUMNS

RUN = uuid.uuid4().hex[:10]
BRAND, OTHER_BRAND, SOURCE = f"dash-brand-{RUN}", f"dash-other-{RUN}", f"dash-source-{RUN}"
CRAWLED_BRAND = f"dash-crawled-{RUN}"
START = datetime(2003, 3, 3, tzinfo=UTC) + timedelta(minutes=int(RUN[:6], 16) % 500_000)
# (stars given, suggested stars, label, score); the 4th is where the model is wrong
RATED = [(5, 5, "good", 0.95), (4, 5, "good", 0.9), (1, 1, "bad", 0.05), (2, 4, "good", 0.7),
         (3, 3, "average", 0.5), (None, 2, "bad", 0.3)]


def scored(index: int, rating: int | None, suggested: int, label: str, score: float, brand: str = BRAND,
           version: str = "v1", offset_s: float = 0.0) -> ScoredReview:
    scored_at = START + timedelta(seconds=10 + index + offset_s)
    return ScoredReview(
        id=f"{RUN}-{index}", kind="review", text=f"review {index}", brand=brand, rating=rating, source=SOURCE,
        ts=scored_at - timedelta(milliseconds=100 * (index + 1)), probs=[1 - score, 0.0, score], score=score,
        label=label, suggested_rating=suggested, model_version=version, scored_at=scored_at,
    )


@pytest.fixture(scope="module")
def loaded(storage: Any) -> Any:
    reviews = [scored(i, *row) for i, row in enumerate(RATED)]
    reviews[-1] = scored(len(RATED) - 1, *RATED[-1], version="v2", offset_s=200)  # the newest model
    storage.insert_reviews(reviews)
    storage.insert_reviews(reviews[:1])  # a Kafka redelivery: exact panels must not count it twice
    storage.insert_reviews([scored(100, 4, 4, "good", 0.8, brand=OTHER_BRAND)])
    # a German review: stored unscored (label ''), so scores, labels and suggestions leave it out
    german = scored(102, None, 3, "", 0.5, brand=OTHER_BRAND)
    storage.insert_reviews([german.model_copy(update={"kind": "imported", "language": "de"})])
    crawled = scored(101, 4, 4, "good", 0.8, brand=CRAWLED_BRAND)  # event time = the review's date
    storage.insert_reviews([crawled.model_copy(update={"kind": "scraped", "ts": START - timedelta(days=365)})])
    letters = [DeadLetter(raw="{oops", error="not json: Expecting value", topic=f"t-{RUN}", ts=START),
               DeadLetter(raw="{}", error="not json: Expecting value", topic=f"t-{RUN}", ts=START),
               DeadLetter(raw='{"rating": 9}', error="validation: rating <= 5", topic=f"t-{RUN}", ts=START)]
    storage.insert_dead_letters(letters)
    # a registered model and its promotion (stream/registry/store.py tables) for the learning-loop row
    version = f"dash-model-{RUN}"
    metrics = json.dumps({"macro_f1": 0.61, "per_source": {}})
    holdout = json.dumps({"macro_f1": 0.74, "active": {"version": "base", "macro_f1": 0.52}})
    storage.client.insert("models", [[version, "/m", "retired", "base", START, 1200, "{}", "h", metrics, holdout,
                                      "test", START, "note", START]], column_names=MODEL_COLUMNS)
    # promoted and rolled back again: the registry's promotion stack (other tests share it) is unchanged
    storage.client.insert("model_promotions", [
        [START, 0, "promote", version, "base", "test", "passed the gates"],
        [START + timedelta(seconds=1), 0, "rollback", "base", version, "test", "back"],
    ], column_names=("at", "seq", "action", "version", "previous_version", "by", "note"))
    # the same candidate scored beside v1 on three reviews with stars: agrees on two, matches the stars on two
    storage.client.insert("shadow_scores", [
        [f"{RUN}-s{i}", version, "v1", 0.1, 0.1, 0.8, 0.85, label, active, SOURCE, stars, START]
        for i, (label, active, stars) in enumerate([("good", "good", 5), ("good", "bad", 1), ("bad", "bad", 1)])
    ], column_names=SHADOW_COLUMNS)
    return storage


def context(brand: str | list[str]) -> QueryContext:
    return QueryContext(START - timedelta(minutes=1), START + timedelta(minutes=10), 60, {"brand": brand})


def run(storage: Any, query: queries.PanelQuery, brand: str | list[str] = ALL) -> list[dict[str, Any]]:
    result = storage.client.query(expand(query.sql, context(brand)))
    assert tuple(result.column_names) == query.columns, f"panel query {query.key} returned other columns"
    return list(result.named_results())


@pytest.mark.parametrize("query", queries.ALL, ids=lambda q: q.key)
@pytest.mark.parametrize("brand", [ALL, [BRAND], BRAND], ids=["all-brands", "multi-select", "single"])
def test_every_panel_query_runs_and_returns_its_columns(loaded: Any, query: queries.PanelQuery,
                                                        brand: str | list[str]) -> None:
    rows = run(loaded, query, brand)
    assert rows, f"panel query {query.key} returned no rows for data inside its time range"


def test_totals_count_a_redelivered_review_once(loaded: Any) -> None:
    (row,) = run(loaded, queries.TOTALS, [BRAND])
    assert row["reviews"] == len(RATED)
    assert row["star_agreement"] == pytest.approx(3 / 5)
    (everything,) = run(loaded, queries.TOTALS)
    assert everything["reviews"] == len(RATED) + 3
    (other,) = run(loaded, queries.TOTALS, [OTHER_BRAND])
    assert other["reviews"] == 2 and other["mean_score"] == pytest.approx(0.8)  # the unscored one left out


def test_agreement_and_confusion_show_where_the_model_is_wrong(loaded: Any) -> None:
    (agreement,) = run(loaded, queries.AGREEMENT, [BRAND])
    assert agreement == {"exact_stars": pytest.approx(0.6), "within_one_star": pytest.approx(0.8),
                         "same_label": pytest.approx(0.8), "rated_reviews": 5}
    confusion = {row["user_stars"]: row for row in run(loaded, queries.CONFUSION, BRAND)}
    assert sorted(confusion) == ["1", "2", "3", "4", "5"]
    assert confusion["2"]["suggested_4"] == 1 and confusion["2"]["suggested_2"] == 0
    assert confusion["4"]["suggested_5"] == 1
    assert sum(row["reviews"] for row in confusion.values()) == 5


def test_score_distribution_and_brand_scores(loaded: Any) -> None:
    bands = {row["score_range"]: row["reviews"] for row in run(loaded, queries.SCORE_DISTRIBUTION, [BRAND])}
    assert bands == {"0-0.1": 1, "0.3-0.4": 1, "0.5-0.6": 1, "0.7-0.8": 1, "0.9-1": 2}
    (brand,) = run(loaded, queries.BRAND_SCORES, [BRAND])
    assert brand["brand"] == BRAND and brand["reviews"] == len(RATED)
    assert brand["avg_score"] == pytest.approx(sum(r[3] for r in RATED) / len(RATED), abs=1e-3)
    assert brand["avg_star_rating"] == pytest.approx(3.0)  # the unrated review does not count
    assert {row["brand"] for row in run(loaded, queries.BRAND_SCORES)} == {BRAND, OTHER_BRAND, CRAWLED_BRAND}


def test_model_version_panels(loaded: Any) -> None:
    assert run(loaded, queries.CURRENT_MODEL) == [{"model_version": "v2"}]
    versions = {row["model_version"]: row["reviews"] for row in run(loaded, queries.MODEL_VERSIONS)}
    assert versions == {"v1": len(RATED) + 2, "v2": 1}


def test_rates_latency_and_dead_letters(loaded: Any) -> None:
    traffic = [row for row in run(loaded, queries.REVIEWS_PER_MINUTE) if row["source"] == SOURCE]
    assert sum(row["reviews_per_minute"] for row in traffic) >= len(RATED)
    mix = {row["label"] for row in run(loaded, queries.SENTIMENT_MIX)}
    assert mix == {"good", "bad", "average"}
    latencies = [100 * (i + 1) for i in range(len(RATED))] + [100 * 101]  # the crawled review is left out
    for row in run(loaded, queries.SCORING_LATENCY):
        assert min(latencies) <= row["p50_ms"] <= row["p99_ms"] <= max(latencies)
    reasons = {row["reason"]: row["letters_per_minute"] for row in run(loaded, queries.DEAD_LETTERS_PER_MINUTE)}
    assert reasons == {"not json": 2.0, "validation": 1.0}
    recent = run(loaded, queries.RECENT_DEAD_LETTERS)
    assert {row["raw_start"] for row in recent} == {"{oops", "{}", '{"rating": 9}'}


def test_reviews_per_language_count_the_unscored(loaded: Any) -> None:
    languages = {row["language"]: row for row in run(loaded, queries.LANGUAGES, [OTHER_BRAND])}
    assert languages == {"de": {"language": "de", "reviews": 1, "not_scored": 1},
                         "not detected": {"language": "not detected", "reviews": 1, "not_scored": 0}}


def test_brand_variable_query_lists_the_brands(loaded: Any) -> None:
    brands = {row["brand"] for row in loaded.query(queries.BRAND_VARIABLE_SQL)}
    assert {BRAND, OTHER_BRAND, CRAWLED_BRAND} <= brands


def test_learning_loop_row(loaded: Any) -> None:
    """Acceptance per version (kind 'review' only), hold-out macro-F1 from the registry, promotions."""
    acceptance = run(loaded, queries.ACCEPTANCE_BY_VERSION)
    # BRAND's five rated v1 reviews (3 kept the suggestion), then OTHER_BRAND's one a minute later; the
    # crawled review and the unrated v2 one do not count
    assert [(row["model_version"], round(row["acceptance_rate"], 4)) for row in acceptance] == [
        ("v1", 0.6), ("v1", 1.0)]
    assert [round(row["acceptance_rate"], 4) for row in run(loaded, queries.ACCEPTANCE_BY_VERSION, BRAND)] == [0.6]
    version = f"dash-model-{RUN}"
    models = {row["version"]: row for row in run(loaded, queries.MODEL_HOLDOUT_F1)}
    assert (models[version]["holdout_macro_f1"], models[version]["parent_holdout_macro_f1"],
            models[version]["fixed_set_macro_f1"]) == (0.74, 0.52, 0.61)
    promotions = [row for row in run(loaded, queries.PROMOTIONS) if version in (row["version"], row["previous_version"])]
    assert [(row["action"], row["version"], row["note"]) for row in promotions] == [
        ("rollback", "base", "back"), ("promote", version, "passed the gates")]
    (shadow,) = [row for row in run(loaded, queries.SHADOW_AGREEMENT) if row["model_version"] == version]
    assert (shadow["active_version"], shadow["reviews"], shadow["with_stars"]) == ("v1", 3, 3)
    assert shadow["agreement"] == pytest.approx(2 / 3)
    assert (shadow["candidate_star_agreement"], shadow["active_star_agreement"]) == (
        pytest.approx(2 / 3), pytest.approx(1.0))
