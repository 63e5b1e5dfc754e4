"""A store-like background for tests whose figures depend on the whole store (Fightin' Words' prior).

In production one brand is a small part of the store; the session's shared chDB holds only
what the tests put there, and a few test brands that all complain about refunds would make
"refund" look common everywhere. ``seed_background`` adds 1,000 everyday reviews of a brand of
their own, dated in 1999 (outside every test's window), with stable ids: calling it again
stores nothing new (``reviews`` is a ReplacingMergeTree read with ``FINAL``).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from kernel.events import ScoredReview

BRAND = "background-store"
REVIEWS = 1000
ADJECTIVES = ("quick", "friendly", "slow", "clean", "noisy", "cheap", "modern", "busy", "quiet", "bright",
              "warm", "simple", "huge", "tiny", "fresh", "careful", "helpful", "polite", "small", "classic")
NOUNS = ("shop", "staff", "room", "menu", "price", "app", "parking", "website", "checkout", "queue",
         "coffee", "screen", "battery", "jacket", "garden", "ticket", "booking", "hotel", "bike", "table")
VERBS = ("works", "looks", "feels", "opens", "closes", "changes", "runs", "sounds", "fits", "loads")


def background_texts() -> list[str]:
    combos = itertools.product(ADJECTIVES, NOUNS, VERBS, ADJECTIVES)
    return [f"The {a} {n} {v} {b} today." for a, n, v, b in itertools.islice(combos, 0, 7 * REVIEWS, 7)]


def seed_background(storage: Any) -> None:
    start = datetime(1999, 1, 1, tzinfo=UTC)
    storage.insert_reviews([
        ScoredReview(id=f"background-{index}", kind="imported", text=text, brand=BRAND, rating=None,
                     source="background", ts=start + timedelta(minutes=index), probs=[0.0, 1.0, 0.0], score=0.5,
                     label="average", suggested_rating=3, model_version="t", scored_at=start)
        for index, text in enumerate(background_texts())])
