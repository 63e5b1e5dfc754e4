"""Each alert rule of ``stream.storage.alerts`` on real chDB: it fires on data built to fire it, not otherwise.

The rules look back from ClickHouse's ``now()``, so every row is seeded relative to now. The
``storage`` fixture is shared by the session: each test names its brands, topics and model
versions after ``RUN`` and only looks at its own subjects. Expected values are computed from
the seeded rows, not written down.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kernel.events import DeadLetter, ScoredReview
from kernel.settings import Settings
from stream.storage.alerts import (
    ACCEPTANCE_FELL,
    BRAND_TURNS_BAD,
    DEAD_LETTERS_SPIKE,
    RULES,
    SCORING_STALLS,
    AlertRule,
    evaluate,
    evaluate_rule,
)
from stream.storage.backlog import NEVER_COMMITTED, PartitionBacklog, insert_backlog

RUN = uuid.uuid4().hex[:10]
SETTINGS = Settings()


def review(brand: str, label: str, ts: datetime, *, kind: str = "imported", rating: int | None = None,
           suggested: int = 3, version: str = "v-alerts", scored_at: datetime | None = None) -> ScoredReview:
    score = {"bad": 0.1, "average": 0.5, "good": 0.9}[label]
    return ScoredReview(id=uuid.uuid4().hex, kind=kind, text=f"{label} review", brand=brand, rating=rating,
                        source=f"alerts-{RUN}", ts=ts, probs=[1 - score, 0.0, score], score=score, label=label,
                        suggested_rating=suggested, model_version=version, scored_at=scored_at or ts)


def mine(storage: Any, rule: AlertRule, prefix: str, settings: Settings = SETTINGS) -> dict[str, float]:
    """subject -> value of ``rule``'s firings whose subject this test seeded."""
    return {f.subject: f.value for f in evaluate_rule(storage, rule, settings) if f.subject.startswith(prefix)}


def reviews_of(brand: str, bad: int, total: int, ts: datetime, scored_at: datetime | None = None) -> list[ScoredReview]:
    return [review(brand, "bad" if n < bad else "good", ts - timedelta(seconds=n), scored_at=scored_at)
            for n in range(total)]


def test_brand_turns_bad_compares_the_last_hour_with_the_seven_days_before(storage: Any) -> None:
    now = datetime.now(UTC)
    days_ago, minutes_ago = now - timedelta(days=3), now - timedelta(minutes=10)
    need = SETTINGS.alert_brand_min_reviews
    # brand -> ((bad, total) in the 7 days before the hour, (bad, total) in the last hour)
    seeded = {
        f"turns-{RUN}": ((1, 10), (need - 2, need)),        # 10% bad, then nearly all bad: fires
        f"steady-{RUN}": ((5, 10), (need // 2 + 2, need)),  # 50% then 60%: under the margin
        f"few-{RUN}": ((0, 10), (need - 1, need - 1)),      # all bad but too few reviews this hour
        f"new-{RUN}": ((0, 0), (need, need)),               # no baseline: never fires
    }
    for brand, ((old_bad, old_total), (new_bad, new_total)) in seeded.items():
        storage.insert_reviews(reviews_of(brand, old_bad, old_total, days_ago)
                               + reviews_of(brand, new_bad, new_total, minutes_ago))
    # a backfill: reviews dated days ago, all bad, stored just now -> they belong to their own days
    storage.insert_reviews(reviews_of(f"steady-{RUN}", need, need, days_ago, scored_at=now))

    fired = mine(storage, BRAND_TURNS_BAD, "")
    fired = {brand: value for brand, value in fired.items() if brand.endswith(RUN)}
    (old_bad, old_total), (new_bad, new_total) = seeded[f"turns-{RUN}"]
    assert fired == {f"turns-{RUN}": pytest.approx(new_bad / new_total - old_bad / old_total, abs=1e-4)}
    stricter = SETTINGS.model_copy(update={"alert_brand_bad_margin": fired[f"turns-{RUN}"] + 0.01})
    assert f"turns-{RUN}" not in mine(storage, BRAND_TURNS_BAD, "turns-", stricter)


def snapshot(storage: Any, at: datetime, topic: str, end: int, committed: int) -> None:
    insert_backlog(storage, at, [PartitionBacklog(topic, 0, end, committed)])


def test_scoring_stalls_when_events_wait_and_the_group_takes_none(storage: Any) -> None:
    now = datetime.now(UTC)
    stall = SETTINGS.alert_stall_minutes
    times = [now - timedelta(minutes=stall + 3), now - timedelta(minutes=stall - 1), now - timedelta(seconds=10)]
    # topic -> (end offset, committed offset) at each of the three times
    seeded = {
        f"stalled-{RUN}": [(10, 4), (12, 4), (15, 4)],            # waiting since before the window, no progress
        f"never-{RUN}": [(3, NEVER_COMMITTED)] * 3,               # the group never took anything
        f"moving-{RUN}": [(10, 4), (14, 9), (15, 13)],            # behind but taking events
        f"idle-{RUN}": [(7, 7)] * 3,                              # nothing waits
        f"just-arrived-{RUN}": [(4, 4), (4, 4), (9, 4)],          # waiting for seconds only
    }
    for topic, points in seeded.items():
        for at, (end, committed) in zip(times, points, strict=True):
            snapshot(storage, at, topic, end, committed)
    old = now - timedelta(minutes=stall)  # the recorder stopped long ago: no recent snapshot, no verdict
    for at in (old - timedelta(minutes=stall), old):
        snapshot(storage, at, f"stale-{RUN}", 20, 2)

    fired = {topic: value for topic, value in mine(storage, SCORING_STALLS, "").items() if topic.endswith(RUN)}
    waiting = {topic: points[-1][0] - max(points[-1][1], 0) for topic, points in seeded.items()}
    assert fired == {topic: waiting[topic] for topic in (f"stalled-{RUN}", f"never-{RUN}")}


def test_dead_letters_spike_above_the_setting_in_one_recent_minute(storage: Any) -> None:
    now = datetime.now(UTC)
    limit = SETTINGS.alert_dead_letters_per_minute
    letters = {f"dlq-spike-{RUN}": (limit + 2, now), f"dlq-at-limit-{RUN}": (limit, now),
               f"dlq-old-{RUN}": (limit * 3, now - timedelta(minutes=10))}
    storage.insert_dead_letters([DeadLetter(raw="{", error="not json: oops", topic=topic, ts=ts)
                                 for topic, (count, ts) in letters.items() for _ in range(count)])

    assert mine(storage, DEAD_LETTERS_SPIKE, "dlq-") == {f"dlq-spike-{RUN}": limit + 2}
    higher = SETTINGS.model_copy(update={"alert_dead_letters_per_minute": limit + 2})
    assert mine(storage, DEAD_LETTERS_SPIKE, "dlq-", higher) == {}


def promote(storage: Any, at: datetime, action: str, version: str, previous: str) -> None:
    storage.client.insert("model_promotions", [[at, 0, action, version, previous, "test", ""]],
                          column_names=("at", "seq", "action", "version", "previous_version", "by", "note"))


def rated(version: str, accepted: int, total: int, scored_at: datetime) -> list[ScoredReview]:
    return [review(f"acc-{RUN}", "good", scored_at, kind="review", rating=4, suggested=4 if n < accepted else 2,
                   version=version, scored_at=scored_at - timedelta(seconds=n)) for n in range(total)]


def test_acceptance_fell_after_a_promote_below_the_previous_model(own_database: Any) -> None:
    storage = own_database  # promotions of its own: the shared registry's active model stays what it was
    now = datetime.now(UTC)
    promoted_at = now - timedelta(hours=1)
    need = SETTINGS.alert_acceptance_min_reviews
    # pair -> ((accepted, total) of the previous model before the promote, (accepted, total) of the new one since)
    pairs = {"worse": ((need * 3 // 4, need), (need // 2, need)), "better": ((need // 2, need), (need - 1, need)),
             "too-few": ((need - 1, need), (0, need - 1)), "rolled-back": ((need - 1, need), (0, need))}
    for pair, ((old_accepted, old_total), (new_accepted, new_total)) in pairs.items():
        old, new = f"acc-{pair}-old-{RUN}", f"acc-{pair}-new-{RUN}"
        storage.insert_reviews(rated(old, old_accepted, old_total, promoted_at - timedelta(hours=1))
                               + rated(new, new_accepted, new_total, now - timedelta(minutes=5)))
        promote(storage, promoted_at, "promote", new, old)
    promote(storage, now - timedelta(minutes=1), "rollback", f"acc-rolled-back-old-{RUN}", f"acc-rolled-back-new-{RUN}")

    (old_accepted, old_total), (new_accepted, new_total) = pairs["worse"]
    assert mine(storage, ACCEPTANCE_FELL, "acc-") == {
        f"acc-worse-new-{RUN}": pytest.approx(old_accepted / old_total - new_accepted / new_total, abs=1e-4)}


def test_evaluate_runs_every_rule_and_names_each_firing(storage: Any) -> None:
    topic = f"dlq-all-{RUN}"
    storage.insert_dead_letters([DeadLetter(raw="x", error="bad", topic=topic)
                                 for _ in range(SETTINGS.alert_dead_letters_per_minute + 1)])
    found = [f for f in evaluate(storage, SETTINGS) if f.subject == topic]
    assert [(f.rule, f.title) for f in found] == [(DEAD_LETTERS_SPIKE.name, DEAD_LETTERS_SPIKE.title)]
    assert topic in found[0].message and DEAD_LETTERS_SPIKE.title in found[0].message
    for rule in RULES:  # every rule's SQL returns exactly the two columns Grafana's numeric alerting reads
        described = storage.query(f"DESCRIBE ({rule.sql(SETTINGS)})")  # whether or not a row fires now
        assert tuple(row["name"] for row in described) == ("subject", "value"), rule.name
