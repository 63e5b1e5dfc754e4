"""The Brand dashboard's panels, expanded as Grafana would, on real ClickHouse (chDB) with seeded reviews.

Every review is dated by ``ts`` (the review's own date) inside a window of its own (days in
2004), and its ``scored_at`` is deliberately elsewhere: the current period's reviews were
scored 400 days later, the previous period's inside the current range. A panel that read
``scored_at`` instead of ``ts`` would count the wrong reviews and fail here.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dashboards import brand_queries
from dashboards.queries import PanelQuery
from kernel.events import Brand, ScoredReview
from reviewpulse.bench.grafana_macros import QueryContext, expand
from tests.background_reviews import seed_background

RUN = uuid.uuid4().hex[:10]
BRAND, NEIGHBOUR, OTHER = f"O'Brand {RUN}", f"neighbour-{RUN}", f"other-{RUN}"
CATEGORY, OTHER_CATEGORY = f"cat-{RUN}", f"other-cat-{RUN}"
START = datetime(2004, 4, 4, tzinfo=UTC) + timedelta(minutes=int(RUN[:6], 16) % 100_000)
RANGE = timedelta(days=10)
LABEL_OF = {"bad": 0, "average": 1, "good": 2}
# (days after START, label, score, stars, text): the brand's reviews in the range
CURRENT = [
    (0, "bad", 0.05, 1, "No refund for the product, my order arrived broken. Refund request ignored."),
    (0.5, "bad", 0.1, 1, "Refund request denied and no refund after a month; the product order was wrong."),
    (1, "bad", 0.2, 2, "Still waiting for my refund, the product in this order never worked."),
    (2, "bad", 0.15, 4, "They refused a refund. The order of this product was cancelled. No refund!"),
    (2.7, "bad", 0.1, 1, "Asked for a refund twice, nobody answered about my order or the product."),
    (3.2, "bad", 0.2, 2, "Refund still pending, customer service useless, product and order lost."),
    (3.8, "bad", 0.05, 1, "Terrible service: refund blocked, the order and the product both faulty."),
    (4.5, "bad", 0.3, 3, "Want my money back, refund denied again for this product order."),
    (1.5, "average", 0.5, 3, "The product is okay and the order arrived on time."),
    (2.5, "average", 0.45, None, "Average product, the order was fine."),
    (2.2, "good", 0.9, 5, "Love the product, great quality, my order arrived quickly."),
    (3, "good", 0.95, 5, "Great quality and fast delivery, love this order and product."),
    (3.5, "good", 0.85, 4, "Love it: the product works and the order had neat packaging."),
    (4, "good", 0.8, 2, "Fast delivery, the order was perfect, love the product."),
]
# the previous period (as long, just before START): scored inside the current range
PREVIOUS = [(-3, "bad", 0.1, 1, "Refund never came for this order product."),
            (-2, "good", 0.9, 5, "Love the product order.")]
NEIGHBOURS = [(1, "good", 0.7, 4, "Nice product order."), (2, "average", 0.5, 3, "Fine product order.")]


def review(brand: str, index: int, row: tuple[Any, ...], scored_at: datetime | None = None) -> ScoredReview:
    days, label, score, stars, text = row
    ts = START + timedelta(days=days, minutes=index)
    probs = [0.0, 0.0, 0.0]
    probs[LABEL_OF[label]] = 1.0
    return ScoredReview(
        id=f"brand-{RUN}-{brand}-{index}", kind="scraped", text=text, brand=brand, rating=stars, source="import",
        ts=ts, probs=probs, score=score, label=label, suggested_rating=1 + round(4 * score), model_version="v1",
        scored_at=scored_at or ts + timedelta(days=400),
    )


@pytest.fixture(scope="module")
def loaded(storage: Any) -> Any:
    seed_background(storage)  # the Fightin' Words prior is the whole store: make it look like one
    current = [review(BRAND, i, row) for i, row in enumerate(CURRENT)]
    storage.insert_reviews(current)
    storage.insert_reviews(current[:1])  # a Kafka redelivery: counted once
    storage.insert_reviews([review(BRAND, 100 + i, row, scored_at=START + timedelta(days=1))
                            for i, row in enumerate(PREVIOUS)])
    storage.insert_reviews([review(BRAND, 200, (-30, "good", 0.9, 5, "An old love of a product order."),
                                   scored_at=START + timedelta(days=2))])  # before both periods
    storage.insert_reviews([review(NEIGHBOUR, 300 + i, row) for i, row in enumerate(NEIGHBOURS)])
    storage.insert_reviews([review(OTHER, 400, (1, "bad", 0.1, 1, "Refund refused, product order lost."))])
    storage.insert_brands([Brand(name=BRAND, category=CATEGORY), Brand(name=NEIGHBOUR, category=CATEGORY),
                           Brand(name=OTHER, category=OTHER_CATEGORY)])
    return storage


def run(storage: Any, query: PanelQuery | str, columns: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    context = QueryContext(START, START + RANGE, 3600, {"brand": BRAND, "category": CATEGORY})
    sql = query.sql if isinstance(query, PanelQuery) else query
    result = storage.client.query(expand(sql, context))
    if isinstance(query, PanelQuery):
        assert tuple(result.column_names) == query.columns, f"panel query {query.key} returned other columns"
    return list(result.named_results())


def mix(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    labels = Counter(row[1] for row in rows)
    return {"reviews": len(rows), "bad_share": pytest.approx(labels["bad"] / len(rows)),
            "average_share": pytest.approx(labels["average"] / len(rows)),
            "good_share": pytest.approx(labels["good"] / len(rows)),
            "mean_score": pytest.approx(sum(row[2] for row in rows) / len(rows), abs=1e-6)}


@pytest.mark.parametrize("query", brand_queries.ALL, ids=lambda q: q.key)
def test_every_brand_panel_runs_and_returns_its_columns(loaded: Any, query: PanelQuery) -> None:
    assert run(loaded, query), f"panel query {query.key} returned no rows for its seeded brand"


def test_the_category_variable_is_the_brands_category(loaded: Any) -> None:
    assert run(loaded, brand_queries.CATEGORY_VARIABLE_SQL) == [{"category": CATEGORY}]


def test_brand_next_to_its_previous_period_and_its_category(loaded: Any) -> None:
    rows = run(loaded, brand_queries.COMPARISON)
    assert [row["compared"] for row in rows] == ["brand", "brand, previous period", "category"]
    brand, previous, category = ({k: v for k, v in row.items() if k != "compared"} for row in rows)
    assert brand == mix(CURRENT)
    assert previous == mix(PREVIOUS)
    assert category == mix(CURRENT + NEIGHBOURS)


def test_daily_counts_by_the_reviews_own_date(loaded: Any) -> None:
    seeded = [review(BRAND, i, row) for i, row in enumerate(CURRENT)]
    expected: dict[Any, Counter[str]] = {}
    for scored in seeded:
        expected.setdefault(scored.ts.date(), Counter())[scored.label] += 1
    rows = run(loaded, brand_queries.DAILY)
    assert [row["day"].date() for row in rows] == sorted(expected)
    for row in rows:
        day = expected[row["day"].date()]
        assert (row["reviews"], row["bad"], row["average"], row["good"]) == (
            day.total(), day["bad"], day["average"], day["good"])
    assert sum(row["reviews"] for row in rows) == len(CURRENT)


def test_stars_against_predicted_labels(loaded: Any) -> None:
    expected: dict[str, Counter[str]] = {}
    for _, label, _, stars, _ in CURRENT:
        if stars is not None:
            expected.setdefault(str(stars), Counter())[label] += 1
    rows = run(loaded, brand_queries.STARS_VS_LABELS)
    assert {row["user_stars"]: (row["predicted_bad"], row["predicted_average"], row["predicted_good"], row["reviews"])
            for row in rows} == {stars: (c["bad"], c["average"], c["good"], c.total()) for stars, c in expected.items()}


def test_newest_bad_reviews_first_with_their_scores(loaded: Any) -> None:
    bad = sorted((row for row in CURRENT if row[1] == "bad"), key=lambda row: row[0], reverse=True)
    rows = run(loaded, brand_queries.NEWEST_BAD)
    assert [(row["text"], round(row["score"], 4), row["rating"]) for row in rows] == [
        (row[4], row[2], row[3]) for row in bad]


def test_complaints_rank_refund_first_and_leave_out_what_every_review_says(loaded: Any) -> None:
    rows = run(loaded, brand_queries.COMPLAINTS)
    terms = [row["term"] for row in rows]
    assert terms[0] == "refund"
    assert rows[0]["target_reviews"] == 8 and rows[0]["rest_reviews"] == 0
    assert {"no refund", "refund request"} <= set(terms), "two-word phrases are terms too"
    assert "the" not in terms
    z = {row["term"]: row["z"] for row in rows}
    for common in ("product", "order"):  # in every review of the brand: no complaint
        assert common not in z or (z[common] < z["refund"] / 10 and terms.index(common) > terms.index("no refund"))
    assert all(row["z"] > 0 for row in rows) and [row["z"] for row in rows] == sorted(
        (row["z"] for row in rows), reverse=True)


def test_praise_ranks_love_first(loaded: Any) -> None:
    rows = run(loaded, brand_queries.PRAISE)
    terms = [row["term"] for row in rows]
    assert terms[0] == "love" and rows[0]["target_reviews"] == 4 and rows[0]["rest_reviews"] == 0
    assert {"great quality", "fast delivery"} <= set(terms)
    assert "refund" not in terms
    z = {row["term"]: row["z"] for row in rows}
    for common in ("product", "order"):  # in every review; good ones are shorter, so a little more frequent there
        assert common not in z or (z[common] < z["love"] / 10 and terms.index(common) > terms.index("fast delivery"))
