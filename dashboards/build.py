"""The ReviewPulse dashboards, built with grafana-foundation-sdk and rendered to JSON.

Three dashboards in one folder: *Overview* (traffic, sentiment, latency, dead letters, the live
panel) for operators; *Model quality* (score distribution, brands, stars vs suggestion)
for analysts, with a *Learning loop* row (acceptance per model version, hold-out macro-F1 of
each registered version, promotion history); and *Brand*, one brand's story by the reviews'
own dates (the brands in Model quality link there). Uids and panel ids are fixed here, so
``reviewpulse dashboards push`` and the provisioned files always update the same objects.
``reviewpulse dashboards render`` writes them to ``dashboards/json/`` (committed; Grafana's file
provisioning reads that folder).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DashboardLinkType, VariableRefresh

from dashboards import brand_queries as bq
from dashboards import queries as q
from dashboards.live import LIVE_MEASUREMENT, LIVE_STREAM
from dashboards.panels import (
    BRAND_UID,
    CLICKHOUSE,
    bar_panel,
    brand_link,
    daily_panel,
    decimals,
    live_panel,
    percent,
    rate_panel,
    stat_panel,
    table_panel,
)

JSON_DIR = Path(__file__).resolve().parent / "json"
FOLDER_UID = "reviewpulse"
FOLDER_TITLE = "ReviewPulse"
LIVE_CHANNEL = f"stream/{LIVE_STREAM}/{LIVE_MEASUREMENT}"
TAGS = ["reviewpulse"]
#: the Fightin' Words tables' figures (the counts stay whole numbers)
WORD_FIGURES = "/^(z|log_odds)$/"


def _brand_variable() -> dashboard.QueryVariable:
    return (dashboard.QueryVariable("brand").label("Brand").datasource(CLICKHOUSE)
            .query(q.BRAND_VARIABLE_SQL).multi(True).include_all(True)
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED))


def _base(uid: str, title: str, description: str) -> dashboard.Dashboard:
    return (dashboard.Dashboard(title).uid(uid).description(description).tags(TAGS)
            .time("now-6h", "now").refresh("30s").timezone("browser").editable()
            .link(dashboard.DashboardLink("ReviewPulse").type(DashboardLinkType.DASHBOARDS).tags(TAGS).as_dropdown(True)))


def overview() -> dashboard.Dashboard:
    return (
        _base("reviewpulse-overview", "ReviewPulse · Overview",
              "Traffic, sentiment, scoring latency and dead letters, from ClickHouse and Grafana Live.")
        .with_variable(_brand_variable())
        .with_panel(stat_panel("Reviews", q.TOTALS, "Distinct reviews scored in the time range.",
                               fields="/^reviews$/", width=8))
        .with_panel(stat_panel("Mean score", q.TOTALS, "0 = bad, 1 = good.", unit="none",
                               fields="/^mean_score$/", width=8))
        .with_panel(stat_panel("Current model", q.CURRENT_MODEL, "Model version of the latest scored review.",
                               unit="none", fields="/^model_version$/", width=8))
        .with_panel(live_panel("Live: reviews scored per second", LIVE_CHANNEL,
                               "Pushed by the web server to Grafana Live every second (no polling)."))
        .with_panel(rate_panel("Reviews per minute by source", q.REVIEWS_PER_MINUTE,
                               "Inserts per minute; redeliveries count until ClickHouse merges them.",
                               unit="short", stacking="normal"))
        .with_panel(rate_panel("Sentiment mix", q.SENTIMENT_MIX,
                               "Share of bad / average / good verdicts over time.", stacking="percent"))
        .with_panel(rate_panel("Scoring latency p50 / p99", q.SCORING_LATENCY,
                               "From event time to scored and stored, for reviews submitted live "
                               "(crawled and imported ones carry their original date).", unit="ms"))
        .with_panel(rate_panel("Dead letters per minute by reason", q.DEAD_LETTERS_PER_MINUTE,
                               "Input the worker could not use, by the first part of the error.",
                               stacking="normal"))
        .with_panel(table_panel("Latest dead letters", q.RECENT_DEAD_LETTERS,
                                "The raw input is kept in ClickHouse table dead_letters.", width=24))
        .with_panel(table_panel("Reviews per language", q.LANGUAGES,
                                "Detected per review; the model reads English, so reviews in other languages are "
                                "stored unscored (not_scored). 'not detected': too short to tell, scored as English.",
                                width=24))
    )


def model_quality() -> dashboard.Dashboard:
    return (
        _base("reviewpulse-model", "ReviewPulse · Model quality",
              "Where the char-CNN agrees with people's stars and where it does not.")
        .with_variable(_brand_variable())
        .with_panel(stat_panel("Suggested stars = user's stars", q.AGREEMENT,
                               "Share of rated reviews whose suggested rating equals the stars given.",
                               unit="percentunit", fields="/^exact_stars$/"))
        .with_panel(stat_panel("Within one star", q.AGREEMENT, "Suggested rating at most one star off.",
                               unit="percentunit", fields="/^within_one_star$/"))
        .with_panel(stat_panel("Same label as the stars", q.AGREEMENT,
                               "Stars 1-2 bad, 3 average, 4-5 good, compared with the model's label.",
                               unit="percentunit", fields="/^same_label$/"))
        .with_panel(stat_panel("Rated reviews", q.AGREEMENT, "Reviews that came with stars.",
                               fields="/^rated_reviews$/"))
        .with_panel(table_panel("User's stars vs suggested stars", q.CONFUSION,
                                "Rows: stars the person gave; columns: the model's suggestion. "
                                "Off-diagonal cells are where the model is wrong."))
        .with_panel(bar_panel("Score distribution", q.SCORE_DISTRIBUTION,
                              "Reviews per score band (0 = bad, 1 = good).", x_field="score_range"))
        .with_panel(table_panel("Brands: average score next to average stars", q.BRAND_SCORES,
                                "avg_score_as_stars = 1 + 4 x score, on the same scale as the stars. "
                                "Click a brand for its Brand dashboard.",
                                width=16).override_by_name("brand", brand_link()))
        .with_panel(table_panel("Model versions in use", q.MODEL_VERSIONS,
                                "Which model scored the reviews in the time range.", width=8))
        .with_row(dashboard.Row("Learning loop"))
        .with_panel(rate_panel("Suggestion acceptance per model version", q.ACCEPTANCE_BY_VERSION,
                               "Share of reviews submitted on / whose stars equal the suggested stars, "
                               "one series per model version.", unit="percentunit", width=24))
        .with_panel(table_panel("Models: macro-F1 on the in-domain hold-out", q.MODEL_HOLDOUT_F1,
                                "From the registry: each version's hold-out macro-F1 next to its parent's on "
                                "the same rows, and on the fixed validation set (reviewpulse retrain).",
                                width=14))
        .with_panel(table_panel("Promotion history", q.PROMOTIONS,
                                "Every promote and rollback, newest first (forced ones say so in the note).",
                                width=10))
        .with_panel(table_panel("Shadow scoring: candidates beside the active model", q.SHADOW_AGREEMENT,
                                "SHADOW_SCORING=true: reviews each candidate scored beside the active model, how "
                                "often their labels agree, and on reviews with stars how often each model's "
                                "label is the stars' class (1-2 bad, 3 average, 4-5 good).", width=24))
    )


def _single_brand_variables() -> list[dashboard.QueryVariable]:
    """One brand (no All: every panel is about one), and its category from the ``brands`` table."""
    brand = (dashboard.QueryVariable("brand").label("Brand").datasource(CLICKHOUSE).query(q.BRAND_VARIABLE_SQL)
             .multi(False).include_all(False).refresh(VariableRefresh.ON_DASHBOARD_LOAD))
    category = (dashboard.QueryVariable("category").label("Category").datasource(CLICKHOUSE)
                .query(bq.CATEGORY_VARIABLE_SQL).multi(False).include_all(False)
                .refresh(VariableRefresh.ON_DASHBOARD_LOAD))
    return [brand, category]


def brand() -> dashboard.Dashboard:
    board = (_base(BRAND_UID, "ReviewPulse · Brand",
                   "One brand's story by the reviews' own dates (ts): volume, mix against its category and "
                   "its previous period, stars against labels, and what people complain about and praise.")
             .time("now-30d", "now").refresh("5m").timezone("utc"))
    for variable in _single_brand_variables():
        board = board.with_variable(variable)
    words = ("Fightin' Words (Monroe et al. 2008): terms of this brand's {0} reviews against its other reviews "
             "in the range, log-odds with the whole store as prior, ranked by z (|z| > 1.96: unlikely by chance). "
             "target_reviews / rest_reviews: reviews holding the term.")
    return (
        board
        .with_panel(daily_panel("Reviews per day", bq.DAILY,
                                "Reviews written each UTC day (ts), stacked by label; the line is the total, "
                                "mean score (0 = bad, 1 = good) on the right axis.", total="reviews",
                                right="mean_score"))
        .with_panel(table_panel("Mix: brand, previous period, category", bq.COMPARISON,
                                "Share of bad / average / good and mean score in the range, for the brand, for the "
                                "brand in the period as long just before, and for every brand of its category.",
                                width=14).override_by_regexp("/_share$/", percent()))
        .with_panel(table_panel("People's stars vs predicted labels", bq.STARS_VS_LABELS,
                                "Rated reviews in the range: the stars given (rows) against the model's label.",
                                width=10))
        .with_panel(table_panel("What people complain about", bq.COMPLAINTS, words.format("bad"))
                    .override_by_regexp(WORD_FIGURES, decimals(2)))
        .with_panel(table_panel("What people praise", bq.PRAISE, words.format("good"))
                    .override_by_regexp(WORD_FIGURES, decimals(2)))
        .with_panel(table_panel("Newest bad reviews", bq.NEWEST_BAD,
                                "The brand's latest reviews the model labelled bad, with their scores.", width=24))
    )


#: file name (without .json) -> builder; panel ids start at the offset, unique across dashboards
DASHBOARDS = {"overview": (overview, 1), "model-quality": (model_quality, 101), "brand": (brand, 201)}


def build_all() -> dict[str, dict[str, Any]]:
    """Every dashboard as Grafana JSON (plain dicts), keyed by file name."""
    built = {}
    for name, (make, first_id) in DASHBOARDS.items():
        model = make().build()
        for offset, panel in enumerate(model.panels or []):
            panel.id_val = first_id + offset
        built[name] = json.loads(json.dumps(model, cls=JSONEncoder))
    return built


def to_text(dashboard_json: dict[str, Any]) -> str:
    """Stable text (sorted keys) so a re-render of unchanged code is byte-identical."""
    return json.dumps(dashboard_json, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render(out_dir: Path = JSON_DIR) -> list[Path]:
    """Write every dashboard to ``out_dir/<name>.json``; returns the files that changed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, dashboard_json in build_all().items():
        path = out_dir / f"{name}.json"
        text = to_text(dashboard_json)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed
