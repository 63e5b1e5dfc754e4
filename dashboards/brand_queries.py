"""The Brand dashboard's SQL: one brand (a single-select ``brand`` variable), by the review's own date.

Every trend and period here reads ``ts``, the date the review was written (crawled and
imported reviews keep theirs, ``import --date-column``), not ``scored_at``. The mix, the
comparison and the Fightin' Words tables are built by the storage room
(``stream.storage.brand_story``, ``stream.storage.brand_words``) from the fragments below, so
the admin's brand page runs the same SQL with bound parameters instead of Grafana's macros.

``${brand:sqlstring}`` quotes the one selected brand ('' doubled), ``${category:sqlstring}`` the
brand's category (the ``category`` variable, read from the ``brands`` table). The previous
period is as long as the dashboard's range and ends where it starts.
"""

from __future__ import annotations

from dashboards.queries import PanelQuery
from stream.storage.brand_story import COMPARISON_COLUMNS, DAILY_COLUMNS, comparison_sql, daily_sql
from stream.storage.brand_words import TERM_COLUMNS, fightin_words_sql
from stream.storage.queries import SCORED

BRAND = "${brand:sqlstring}"
CATEGORY = "${category:sqlstring}"
IN_RANGE = "$__timeFilter(ts)"
IN_PREVIOUS_RANGE = "ts >= subtractSeconds($__fromTime, dateDiff('second', $__fromTime, $__toTime)) AND ts < $__fromTime"
BRAND_IN_RANGE = f"brand = {BRAND} AND {IN_RANGE}"

CATEGORY_VARIABLE_SQL = f"SELECT category FROM brands FINAL WHERE name = {BRAND} AND category != '' LIMIT 1"

DAILY = PanelQuery("brand_daily", daily_sql(BRAND_IN_RANGE), DAILY_COLUMNS)

COMPARISON = PanelQuery("brand_comparison", comparison_sql(BRAND, IN_RANGE, IN_PREVIOUS_RANGE, CATEGORY),
                        COMPARISON_COLUMNS, "table")

STARS_VS_LABELS = PanelQuery("brand_stars_vs_labels", f"""
SELECT toString(assumeNotNull(rating)) AS user_stars, countIf(label = 'bad') AS predicted_bad,
       countIf(label = 'average') AS predicted_average, countIf(label = 'good') AS predicted_good,
       count() AS reviews
FROM reviews FINAL
WHERE {BRAND_IN_RANGE} AND rating IS NOT NULL
GROUP BY user_stars
ORDER BY user_stars""", ("user_stars", "predicted_bad", "predicted_average", "predicted_good", "reviews"), "table")

NEWEST_BAD = PanelQuery("brand_newest_bad", f"""
SELECT ts, score, rating, source, left(text, 300) AS text
FROM reviews FINAL
WHERE {BRAND_IN_RANGE} AND label = 'bad'
ORDER BY ts DESC, id DESC
LIMIT 50""", ("ts", "score", "rating", "source", "text"), "table")

COMPLAINTS = PanelQuery("brand_complaints", fightin_words_sql(
    f"{BRAND_IN_RANGE} AND label = 'bad'", f"{BRAND_IN_RANGE} AND label != 'bad' AND {SCORED}"), TERM_COLUMNS,
    "table")

PRAISE = PanelQuery("brand_praise", fightin_words_sql(
    f"{BRAND_IN_RANGE} AND label = 'good'", f"{BRAND_IN_RANGE} AND label != 'good' AND {SCORED}"), TERM_COLUMNS,
    "table")

ALL: tuple[PanelQuery, ...] = (DAILY, COMPARISON, STARS_VS_LABELS, NEWEST_BAD, COMPLAINTS, PRAISE)
