"""``reviewpulse bench dashboards``: what the panels and alert rules cost on a day of reviews, and disk per review.

Loads ``reviews`` scored reviews over the 24 hours before now, from 200 brands in 12 categories,
into a throw-away chDB (real review texts from DEMO_REVIEWS_CSV when that file exists), then
times every Overview and Model quality panel query over the whole day, every Brand panel for
one brand (its Fightin' Words tables tokenise the whole store), and every alert rule as
``reviewpulse alerts`` runs it (median of ``repeats``). The baseline is the reviews-per-minute
panel computed from the raw ``reviews`` table instead of the per-minute view, so the view's
gain is a ratio from one run.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dashboards import brand_queries, queries
from kernel.events import Brand, Kind, ScoredReview
from kernel.settings import Settings
from reviewpulse.bench.grafana_macros import ALL, QueryContext, expand
from reviewpulse.bench.report import ratio
from reviewpulse.bench.texts import file_texts, synthetic_reviews
from stream.storage.alerts import RULES

BRANDS, CATEGORIES = 200, 12
#: Loaded and inserted this many at a time (a million reviews do not sit in memory at once).
CHUNK = 10_000

RAW_REVIEWS_PER_MINUTE = """
SELECT toStartOfInterval(scored_at, INTERVAL greatest($__interval_s, 60) second) AS time, source,
       count() / (greatest($__interval_s, 60) / 60) AS reviews_per_minute
FROM reviews WHERE $__timeFilter(scored_at) GROUP BY time, source ORDER BY time, source"""


def _texts(settings: Settings, count: int) -> list[str]:
    """The first ``count`` texts of DEMO_REVIEWS_CSV (real lengths, for disk per review), else synthetic."""
    path = settings.demo_reviews_csv
    return file_texts(path, limit=min(count, 400_000)) if path and path.is_file() else synthetic_reviews(1000)


def _reviews(indices: range, start: datetime, texts: list[str], rng: random.Random) -> list[ScoredReview]:
    out = []
    for index in indices:
        score = rng.random()
        label = "good" if score >= 0.67 else "average" if score > 0.33 else "bad"
        scored_at = start + timedelta(seconds=rng.uniform(0, 86_400))
        out.append(ScoredReview(
            id=f"bench-{index}", kind=rng.choice([Kind.review, Kind.scraped]), text=texts[index % len(texts)],
            brand=f"brand-{rng.randint(1, BRANDS)}",
            rating=rng.randint(1, 5), source=rng.choice(["web", "scrapy", "import"]), probs=[1 - score, 0.0, score],
            score=score, label=label, suggested_rating=min(int(score * 5 + 1), 5), model_version="bench",
            scored_at=scored_at, ts=scored_at - timedelta(milliseconds=rng.uniform(5, 300))))
    return out


def _median_s(storage: Any, sql: str, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        began = time.perf_counter()
        storage.query(sql)
        timings.append(time.perf_counter() - began)
    return statistics.median(timings)


def run_bench(settings: Settings, reviews: int, repeats: int) -> dict[str, Any]:
    """Figures as a dict (printed as JSON by the command)."""
    from stream.storage.clickhouse import open_storage
    from stream.storage.migrations import migrate

    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    with tempfile.TemporaryDirectory(prefix="reviewpulse-bench-") as tmp:
        storage = open_storage(settings.model_copy(update={"data_dir": Path(tmp), "clickhouse_url": ""}))
        try:
            migrate(storage)
            texts, rng = _texts(settings, reviews), random.Random(7)
            for offset in range(0, reviews, CHUNK):
                storage.insert_reviews(_reviews(range(offset, min(offset + CHUNK, reviews)), start, texts, rng))
            storage.insert_brands([Brand(name=f"brand-{n}", category=f"category-{n % CATEGORIES}")
                                   for n in range(1, BRANDS + 1)])
            storage.command("OPTIMIZE TABLE reviews FINAL")
            disk = storage.query("SELECT sum(bytes_on_disk) AS bytes FROM system.parts "
                                 "WHERE active AND database = currentDatabase() AND table = 'reviews'")
            context = QueryContext(start, start + timedelta(days=1), 300, {"brand": ALL})
            baseline_s = _median_s(storage, expand(RAW_REVIEWS_PER_MINUTE, context), repeats)
            panels = {q.key: _median_s(storage, expand(q.sql, context), repeats) for q in queries.ALL}
            one_brand = QueryContext(start, start + timedelta(days=1), 300,
                                     {"brand": "brand-7", "category": f"category-{7 % CATEGORIES}"})
            brand_panels = {q.key: _median_s(storage, expand(q.sql, one_brand), repeats) for q in brand_queries.ALL}
            rules = {rule.name: _median_s(storage, rule.sql(settings), repeats) for rule in RULES}
        finally:
            storage.close()
    return {
        "reviews": reviews, "repeats": repeats,
        "bytes_on_disk_per_review": round(int(disk[0]["bytes"]) / reviews, 1),
        "baseline_raw_reviews_per_minute_ms": round(baseline_s * 1000, 2),
        "panel_ms": {key: round(seconds * 1000, 2) for key, seconds in panels.items()},
        "brand_panel_ms": {key: round(seconds * 1000, 2) for key, seconds in brand_panels.items()},
        "alert_rule_ms": {key: round(seconds * 1000, 2) for key, seconds in rules.items()},
        "per_minute_view_speedup_vs_raw": ratio(baseline_s, panels["reviews_per_minute"]),
    }
