"""Fightin' Words and a brand's story in ClickHouse (chDB), against a reference written in Python here.

The reference tokenises with Python's ``re`` and applies Monroe et al.'s formula term by
term; the SQL must give the same terms, counts, log-odds and z. Those tests run in a database
of their own, so the prior (the whole store's term counts, ``store_terms``, kept by a
materialised view as reviews are inserted) is exactly this test's reviews.
"""

from __future__ import annotations

import math
import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kernel.events import Brand, ScoredReview
from stream.storage.brand_story import BrandPeriod, brand_category, brand_known, comparison, daily
from stream.storage.brand_words import MIN_TOKEN_CHARS, PRIOR_STRENGTH, STOP_WORDS, fightin_words_sql, top_terms
from tests.background_reviews import seed_background

RUN = uuid.uuid4().hex[:8]
#: quotes and a backslash: bound parameters, never SQL text
BRAND, OTHER = f"Bob's \\ \"Shop\" {RUN}", f"other-{RUN}"
START = datetime(2005, 5, 5, tzinfo=UTC)
BAD = [
    "No refund, and the order arrived broken. Refund request ignored!",
    "Refund request denied; I won’t order again. 42 days and no refund.",
    "Waiting for a refund since March, the order never came.",
    "Refund? They refused. Order cancelled, x1y, café closed.",
    "Still no refund for my order. A zebra ate it.",
]
OTHER_LABELS = [
    ("good", "Great order, lovely café and fast delivery."),
    ("good", "Fast delivery, great staff, I'd order again."),
    ("average", "The order was fine, don't expect much."),
    ("good", "Lovely staff and a great order; we got a voucher once."),
]
ELSEWHERE = ["Order arrived, fine.", "Great café, fast staff.", "Refund refused by the shop."]
PREVIOUS = "Refund refund refund, terrible terrible."  # the brand's, before the period
TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def terms(text: str) -> set[str]:
    """The reference tokeniser: what the module's docstring promises, written independently."""
    tokens = [token for token in TOKEN.findall(text.lower().replace("’", "'"))
              if len(token) >= MIN_TOKEN_CHARS and token not in STOP_WORDS]
    return set(tokens) | {f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)}


def reference(target: list[str], rest: list[str], elsewhere: list[str], min_reviews: int) -> dict[str, tuple[Any, ...]]:
    """term -> (z, log_odds, target reviews, rest reviews) for the terms with z > 0."""
    y_t = Counter(term for text in target for term in terms(text))
    y_r = Counter(term for text in rest for term in terms(text))
    store = y_t + y_r + Counter(term for text in elsewhere for term in terms(text))
    n_t, n_r, n_store, a0 = sum(y_t.values()), sum(y_r.values()), sum(store.values()), PRIOR_STRENGTH
    found = {}
    for term, count in y_t.items():
        alpha = a0 * store[term] / n_store
        log_odds = (math.log((count + alpha) / (n_t + a0 - count - alpha))
                    - math.log((y_r[term] + alpha) / (n_r + a0 - y_r[term] - alpha)))
        z = log_odds / math.sqrt(1 / (count + alpha) + 1 / (y_r[term] + alpha))
        if count >= min_reviews and z > 0:
            found[term] = (pytest.approx(z, rel=1e-9), pytest.approx(log_odds, rel=1e-9), count, y_r[term])
    return found


def review(brand: str, index: int, label: str, text: str, days: float) -> ScoredReview:
    score = {"bad": 0.1, "average": 0.5, "good": 0.9}[label]
    ts = START + timedelta(days=days)
    return ScoredReview(id=f"words-{RUN}-{brand}-{index}", kind="imported", text=text, brand=brand, rating=None,
                        source="import", ts=ts, probs=[1 - score, 0.0, score], score=score, label=label,
                        suggested_rating=3, model_version="t", scored_at=ts + timedelta(days=900))


def seed(storage: Any) -> Any:
    rows = [review(BRAND, i, "bad", text, 1 + i / 10) for i, text in enumerate(BAD)]
    rows += [review(BRAND, 10 + i, label, text, 2 + i / 10) for i, (label, text) in enumerate(OTHER_LABELS)]
    rows += [review(OTHER, 20 + i, "average", text, 2.5) for i, text in enumerate(ELSEWHERE)]
    rows.append(review(BRAND, 30, "bad", PREVIOUS, -5))  # the previous period
    storage.insert_reviews(rows)
    storage.insert_brands([Brand(name=BRAND, category=f"shops-{RUN}"), Brand(name=OTHER, category=f"shops-{RUN}")])
    return storage


@pytest.fixture(scope="module")
def seeded(storage: Any) -> Any:
    seed_background(storage)  # the shared store, with everyday reviews: top_terms' prior is the whole store
    return seed(storage)


@pytest.fixture
def alone(own_database: Any) -> Any:
    """This test's reviews and nothing else: the prior is exactly theirs."""
    return seed(own_database)


def quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


@pytest.mark.parametrize("min_reviews", [1, 2])
def test_the_sql_computes_monroe_et_al_as_the_reference_does(alone: Any, min_reviews: int) -> None:
    in_window = f"ts >= toDateTime64('2005-05-05', 3, 'UTC') AND brand = {quoted(BRAND)}"
    sql = fightin_words_sql(f"{in_window} AND label = 'bad'", f"{in_window} AND label != 'bad'",
                            limit=10_000, min_reviews=min_reviews)
    rows = alone.query(sql)
    expected = reference(BAD, [text for _, text in OTHER_LABELS], [*ELSEWHERE, PREVIOUS], min_reviews)
    assert {row["term"]: (row["z"], row["log_odds"], row["target_reviews"], row["rest_reviews"]) for row in rows} == expected
    assert [row["z"] for row in rows] == sorted((row["z"] for row in rows), reverse=True)
    assert rows[0]["term"] == "refund"


def test_a_rare_term_has_the_larger_log_odds_but_not_the_larger_z(alone: Any) -> None:
    in_window = f"ts >= toDateTime64('2005-05-05', 3, 'UTC') AND brand = {quoted(BRAND)}"
    rows = {row["term"]: row for row in alone.query(fightin_words_sql(
        f"{in_window} AND label = 'bad'", f"{in_window} AND label != 'bad'", limit=10_000, min_reviews=1))}
    zebra, refund = rows["zebra"], rows["refund"]
    assert (zebra["target_reviews"], refund["target_reviews"], refund["rest_reviews"]) == (1, 5, 0)
    assert zebra["log_odds"] > refund["log_odds"] and zebra["z"] < refund["z"]


def test_top_terms_binds_the_brand_and_the_period_on_ts(seeded: Any) -> None:
    period = BrandPeriod(BRAND, START, START + timedelta(days=4))
    complaints = top_terms(seeded, period, "bad")
    assert complaints[0]["term"] == "refund" and complaints[0]["target_reviews"] == 5
    assert {"no refund", "refund request"} <= {row["term"] for row in complaints}
    assert "terrible" not in {row["term"] for row in complaints}, "a review before the period counted"
    praise = top_terms(seeded, period, "good", limit=3)
    good = set().union(*(terms(text) for label, text in OTHER_LABELS if label == "good"))
    assert len(praise) == 3 and {row["term"] for row in praise} <= good
    assert top_terms(seeded, BrandPeriod(BRAND, START + timedelta(days=100), START + timedelta(days=101)), "bad") == []


def test_brand_story_with_bound_parameters(seeded: Any) -> None:
    assert brand_known(seeded, BRAND) and not brand_known(seeded, f"nobody-{RUN}") and not brand_known(seeded, "")
    category = brand_category(seeded, BRAND)
    assert category == f"shops-{RUN}" and brand_category(seeded, f"nobody-{RUN}") == ""
    period = BrandPeriod(BRAND, START + timedelta(days=1), START + timedelta(days=3))
    days = {row["day"].date(): (row["reviews"], row["bad"], row["average"], row["good"]) for row in daily(seeded, period)}
    assert days == {(START + timedelta(days=1)).date(): (5, 5, 0, 0), (START + timedelta(days=2)).date(): (4, 0, 1, 3)}
    rows = comparison(seeded, period, category)
    assert [(row["compared"], row["reviews"]) for row in rows] == [
        ("brand", 9), ("brand, previous period", 0), ("category", 12)]
    assert rows[0]["bad_share"] == pytest.approx(5 / 9) and rows[2]["average_share"] == pytest.approx(4 / 12)
    assert rows[1]["bad_share"] is None and rows[1]["mean_score"] is None
    before = comparison(seeded, BrandPeriod(BRAND, START - timedelta(days=2), START + timedelta(days=4)), category)
    assert before[1]["reviews"] == 1 and before[1]["bad_share"] == 1.0  # the review 5 days before START
    assert comparison(seeded, period, "")[2]["reviews"] == 0, "no category: no category row, not every brand"


def test_the_store_terms_view_counts_what_a_scan_of_the_store_counts(alone: Any) -> None:
    """The prior read from ``store_terms`` (kept at insert) equals tokenising the store now."""
    kept = {row["term"]: row["reviews"] for row in alone.query(
        "SELECT term, sum(reviews) AS reviews FROM store_terms GROUP BY term")}
    scanned = Counter(term for text in [*BAD, *(t for _, t in OTHER_LABELS), *ELSEWHERE, PREVIOUS] for term in terms(text))
    assert kept == dict(scanned)
