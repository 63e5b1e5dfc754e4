"""Embedded chDB storage: migrations, inserts, and queries that stay exact under redelivery."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from kernel.events import Brand, DeadLetter, ScoredReview
from stream.storage.migrations import MIGRATIONS, migrate
from stream.storage.queries import ReviewFilter, count_brands, list_reviews, random_brand, stats


def scored(brand: str, text: str, label: str = "good", rating: int | None = 5, minutes_ago: int = 0,
           source: str = "test", review_id: str | None = None) -> ScoredReview:
    probs = {"bad": [0.8, 0.1, 0.1], "average": [0.1, 0.8, 0.1], "good": [0.1, 0.1, 0.8]}[label]
    return ScoredReview(
        id=review_id or uuid.uuid4().hex, kind="imported", text=text, brand=brand, rating=rating,
        source=source, ts=datetime.now(UTC) - timedelta(minutes=minutes_ago), probs=probs,
        score=probs[1] * 0.5 + probs[2], label=label, suggested_rating=3, model_version="t",
        meta={"user_agent": "pytest"},
    )


def test_migrations_are_recorded_and_idempotent(storage) -> None:
    assert migrate(storage) == []  # the fixture already migrated
    versions = {r["version"] for r in storage.query("SELECT version FROM schema_migrations FINAL")}
    assert versions == {version for version, _, _ in MIGRATIONS}
    tables = {r["name"] for r in storage.query("SELECT name FROM system.tables WHERE database = currentDatabase()")}
    assert {"reviews", "brands", "dead_letters", "reviews_per_minute", "reviews_per_minute_mv"} <= tables


def test_redelivered_review_is_listed_once(storage) -> None:
    brand = f"brand-{uuid.uuid4().hex}"
    review = scored(brand, "Lovely staff")
    storage.insert_reviews([review])
    storage.insert_reviews([review.model_copy(update={"scored_at": datetime.now(UTC)})])
    page = list_reviews(storage, ReviewFilter(brand=brand), limit=10)
    assert page.total == 1 and [r["id"] for r in page.rows] == [review.id]
    row = page.rows[0]
    assert row["text"] == "Lovely staff" and row["rating"] == 5 and row["user_agent"] == "pytest"
    assert row["ts"].endswith("+00:00") and abs(row["p_good"] - 0.8) < 1e-6


def test_filters_and_cursor_pages(storage) -> None:
    brand = f"brand-{uuid.uuid4().hex}"
    reviews = [scored(brand, f"review number {i}", minutes_ago=i) for i in range(7)]
    reviews.append(scored(brand, "Terrible and SLOW", label="bad", rating=5, minutes_ago=30))
    storage.insert_reviews(reviews)

    seen, cursor = [], None
    while True:
        page = list_reviews(storage, ReviewFilter(brand=brand), limit=3, cursor=cursor)
        seen += [r["id"] for r in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [r.id for r in reviews]  # newest first, nothing skipped or repeated
    assert list_reviews(storage, ReviewFilter(brand=brand), limit=3, offset=6).rows[0]["id"] == reviews[6].id

    assert list_reviews(storage, ReviewFilter(brand=brand, search="slow")).total == 1
    assert list_reviews(storage, ReviewFilter(brand=brand, label="bad")).total == 1
    assert list_reviews(storage, ReviewFilter(brand=brand, disagreement=True)).rows[0]["label"] == "bad"
    since = datetime.now(UTC) - timedelta(minutes=2, seconds=30)
    assert list_reviews(storage, ReviewFilter(brand=brand, since=since)).total == 3
    assert list_reviews(storage, ReviewFilter(brand=brand, until=since)).total == 5


def test_stats_count_exactly(storage) -> None:
    source = f"src-{uuid.uuid4().hex}"
    before = stats(storage)
    review = scored("b", "fine", source=source)
    german = scored("b", "Das Essen war kalt und der Service langsam.", source=source).model_copy(
        update={"language": "de", "label": ""})
    storage.insert_reviews([review, review, german])
    storage.insert_dead_letters([DeadLetter.from_bytes(b"\xff\xfe", "not UTF-8", "reviews.raw")])
    after = stats(storage)
    assert after["by_source"][source] == 2
    assert after["by_language"].get("de", 0) == before["by_language"].get("de", 0) + 1
    assert after["by_label"].get("", 0) == before["by_label"].get("", 0) + 1  # not scored: another language
    assert after["reviews"] == before["reviews"] + 2
    assert after["dead_letters"] == before["dead_letters"] + 1
    assert after["scored_last_minute"] >= 1
    raw = storage.query("SELECT raw, raw_base64 FROM dead_letters WHERE error = 'not UTF-8'")[-1]
    assert raw == {"raw": "//4=", "raw_base64": 1}


def test_brands_latest_wins_and_random_pick(storage) -> None:
    name = f"Brand {uuid.uuid4().hex}"
    before = count_brands(storage)
    storage.insert_brands([Brand(name=name, website="https://old.example"), Brand(name=name, website="https://new.example")])
    assert count_brands(storage) == before + 1
    picked = {random_brand(storage)["name"] for _ in range(5)}
    assert picked
    if count_brands(storage) == 1:
        assert random_brand(storage, exclude=name) is None
    assert random_brand(storage, exclude=name) is None or random_brand(storage, exclude=name)["name"] != name
