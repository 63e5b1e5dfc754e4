"""A brand's story over a period: reviews per day, its mix next to its category's and its previous period's.

Periods are on the review's own date (``ts``: the date a crawled or imported review was
written, ``import --date-column``), never on ``scored_at``, which only says when ReviewPulse
read it: a year of reviews imported this morning is a year of reviews, not one busy morning.

The SQL builders take fragments (a brand value, period conditions, a category value), so the
Grafana Brand dashboard (``dashboards.brand_queries``: macros and template variables) and the
admin page (``web.brand_page``: bound parameters, through the functions below) run one method.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from stream.storage.queries import SCORED

if TYPE_CHECKING:
    from stream.storage.clickhouse import Storage

DAILY_COLUMNS = ("day", "reviews", "bad", "average", "good", "mean_score")
COMPARISON_COLUMNS = ("compared", "reviews", "bad_share", "average_share", "good_share", "mean_score")
#: What each comparison row is, in the order the rows come back.
COMPARED = ("brand", "brand, previous period", "category")
#: A group's mix: how many reviews, each label's share of the scored ones, their mean score (NULL shares and
#: mean for none: a review in a language the model does not read is counted, not scored, ``queries.SCORED``).
MIX = (f"count() AS reviews, countIf(label = 'bad') / nullIf(countIf({SCORED}), 0) AS bad_share, "
       f"countIf(label = 'average') / nullIf(countIf({SCORED}), 0) AS average_share, "
       f"countIf(label = 'good') / nullIf(countIf({SCORED}), 0) AS good_share, "
       f"avgOrNullIf(score, {SCORED}) AS mean_score")
#: The bound-parameter fragments the admin page's queries use (``BrandPeriod.parameters`` fills them).
BRAND = "{brand:String}"
IN_PERIOD = "ts >= {since:DateTime64(3, 'UTC')} AND ts < {until:DateTime64(3, 'UTC')}"
IN_PREVIOUS = "ts >= {previous_since:DateTime64(3, 'UTC')} AND ts < {since:DateTime64(3, 'UTC')}"
BRAND_IN_PERIOD = f"brand = {BRAND} AND {IN_PERIOD}"


def daily_sql(where: str) -> str:
    """Reviews per UTC day of ``ts`` (all, and per label) and the mean score, for the rows ``where`` keeps."""
    return f"""
SELECT toStartOfDay(ts) AS day, count() AS reviews, countIf(label = 'bad') AS bad,
       countIf(label = 'average') AS average, countIf(label = 'good') AS good,
       avgOrNullIf(score, {SCORED}) AS mean_score
FROM reviews FINAL
WHERE {where}
GROUP BY day
ORDER BY day"""


def comparison_sql(brand: str, period: str, previous: str, category: str) -> str:
    """The mix of the brand in the period, in the previous period, and of every brand of its category in the period.

    ``brand`` and ``category`` are SQL values (a quoted variable or a bound parameter), ``period`` and
    ``previous`` conditions on ``ts``. The category row counts the brand too; an empty category (a
    brand the ``brands`` table does not list) gives a category row of 0 reviews, not every
    uncategorised brand.
    """
    wheres = (f"brand = {brand} AND ({period})", f"brand = {brand} AND ({previous})",
              f"{category} != '' AND brand IN (SELECT name FROM brands FINAL WHERE category = {category}) "
              f"AND ({period})")
    parts = "\n    UNION ALL ".join(f"SELECT {position} AS position, '{name}' AS compared, {MIX}\n"
                                    f"    FROM reviews FINAL WHERE {where}"
                                    for position, (name, where) in enumerate(zip(COMPARED, wheres, strict=True)))
    return f"""
SELECT {', '.join(COMPARISON_COLUMNS)}
FROM (
    {parts}
)
ORDER BY position"""


@dataclass(frozen=True)
class BrandPeriod:
    """A brand and a half-open period ``[since, until)`` of ``ts``; the previous period is as long, just before."""

    brand: str
    since: datetime
    until: datetime

    @property
    def previous_since(self) -> datetime:
        return self.since - (self.until - self.since)

    def parameters(self, **more: Any) -> dict[str, Any]:
        """Values for ``BRAND``, ``IN_PERIOD`` and ``IN_PREVIOUS`` (aware datetimes, sent as UTC)."""
        return {"brand": self.brand, "since": self.since, "until": self.until,
                "previous_since": self.previous_since, **more}


def brand_known(storage: Storage, brand: str) -> bool:
    """Whether any review names ``brand`` or the ``brands`` table lists it (the admin page's 404)."""
    if not brand:
        return False
    rows = storage.query("SELECT (SELECT count() FROM reviews WHERE brand = {brand:String}) "
                         "+ (SELECT count() FROM brands WHERE name = {brand:String}) AS n", {"brand": brand})
    return int(rows[0]["n"]) > 0


def brand_category(storage: Storage, brand: str) -> str:
    """The brand's category in the ``brands`` table ('' when it is not listed or has none)."""
    rows = storage.query("SELECT category FROM brands FINAL WHERE name = {brand:String} LIMIT 1", {"brand": brand})
    return str(rows[0]["category"]) if rows else ""


def daily(storage: Storage, period: BrandPeriod) -> list[dict[str, Any]]:
    """:func:`daily_sql` for the brand in the period (``day`` as a datetime at midnight UTC)."""
    return storage.query(daily_sql(BRAND_IN_PERIOD), period.parameters())


def comparison(storage: Storage, period: BrandPeriod, category: str) -> list[dict[str, Any]]:
    """:func:`comparison_sql` for the brand, its previous period and ``category`` (rows in ``COMPARED`` order)."""
    sql = comparison_sql(BRAND, IN_PERIOD, IN_PREVIOUS, "{category:String}")
    return storage.query(sql, period.parameters(category=category))
