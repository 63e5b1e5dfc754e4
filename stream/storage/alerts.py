"""The four alert rules, as data, and :func:`evaluate`: what fires now.

One place for the rules: Grafana's provisioned alert rules (``dashboards/alerts.py`` renders
each rule's SQL into ``dashboards/provisioning/alerting/``), ``reviewpulse alerts`` and the
``/live`` banner all run the SQL written here. Each rule's SQL returns one row per firing
subject, two columns: ``subject`` (a string: Grafana makes it a label, so each brand, topic
or model version is an alert of its own) and ``value`` (the one number Grafana's threshold
looks at). The thresholds come from the settings (``ALERT_*``) and are written into the
SQL as numbers (pydantic has checked they are numbers); the same threshold guards the rows
in the SQL and Grafana's threshold expression, so an empty result means "nothing fires".

Times are relative to ClickHouse's ``now()``. The rules:

* **brand turns bad**: a brand's share of ``bad`` labels over the last hour (at least
  ``ALERT_BRAND_MIN_REVIEWS`` scored reviews in that hour) above its share over the 7 days before
  that hour by more than ``ALERT_BRAND_BAD_MARGIN``. Time is the review's own date ``ts``
  (an import with ``--date-column`` keeps its dates), not ``scored_at``. A brand with no
  review in those 7 days has no baseline and never fires.
* **scoring stalls**: raw arrivals are not stored (a review reaches ClickHouse once scored),
  so this reads ``raw_backlog``, the broker's end offsets of ``reviews.raw`` next to the
  worker group's committed offsets, recorded every ``ALERT_CHECK_S`` by the web server
  (``stream.worker.backlog``). It fires for a topic when, on some partition, events were
  already waiting ``ALERT_STALL_MINUTES`` ago and the group has committed nothing since
  (value: events waiting now). Without recent snapshots (no web server running) it is quiet.
* **dead letters spike**: more than ``ALERT_DEAD_LETTERS_PER_MINUTE`` dead letters of one topic
  in one minute of the last five (``dead_letters_per_minute``, which counts inserts).
* **acceptance fell after a promote**: for a model promoted and not switched away from since,
  the share of reviews submitted on ``/`` whose stars equal the suggested stars, since the
  promote, below the previous model's share before the promote, each over at least
  ``ALERT_ACCEPTANCE_MIN_REVIEWS`` reviews (value: the drop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kernel.settings import Settings
from stream.storage.queries import SCORED

BRAND_TURNS_BAD_SQL = """
SELECT brand AS subject, round(recent_bad_share - trailing_bad_share, 4) AS value
FROM (
    SELECT brand,
           countIf(ts >= now64(3) - INTERVAL 1 HOUR) AS recent,
           countIf(ts >= now64(3) - INTERVAL 1 HOUR AND label = 'bad') / recent AS recent_bad_share,
           countIf(ts < now64(3) - INTERVAL 1 HOUR) AS trailing,
           countIf(ts < now64(3) - INTERVAL 1 HOUR AND label = 'bad') / trailing AS trailing_bad_share
    FROM reviews FINAL
    WHERE ts >= now64(3) - INTERVAL 1 HOUR - INTERVAL 7 DAY AND ts <= now64(3) AND brand != '' AND {scored}
    GROUP BY brand
    HAVING recent >= {alert_brand_min_reviews} AND trailing > 0
)
WHERE value > {alert_brand_bad_margin}
ORDER BY value DESC, subject
"""

SCORING_STALLS_SQL = """
SELECT topic AS subject, toFloat64(sum(end_now - greatest(committed_now, 0))) AS value
FROM (
    SELECT topic, partition,
           argMax(end_offset, at) AS end_now,
           argMax(committed_offset, at) AS committed_now,
           argMaxIf(end_offset, at, at <= now64(3) - INTERVAL {alert_stall_minutes} MINUTE) AS end_before,
           argMaxIf(committed_offset, at, at <= now64(3) - INTERVAL {alert_stall_minutes} MINUTE) AS committed_before
    FROM raw_backlog
    WHERE at >= now64(3) - INTERVAL ({alert_stall_minutes} * 2) MINUTE
    GROUP BY topic, partition
    HAVING countIf(at <= now64(3) - INTERVAL {alert_stall_minutes} MINUTE) > 0
       AND max(at) >= now64(3) - INTERVAL ({alert_stall_minutes} * 30) SECOND
       AND committed_now = committed_before
       AND end_before > greatest(committed_before, 0)
)
GROUP BY topic
HAVING value > 0
ORDER BY value DESC, subject
"""

DEAD_LETTERS_SPIKE_SQL = """
SELECT topic AS subject, toFloat64(max(letters)) AS value
FROM (
    SELECT minute, topic, sum(letters) AS letters
    FROM dead_letters_per_minute
    WHERE minute >= toStartOfMinute(now()) - INTERVAL 4 MINUTE
    GROUP BY minute, topic
)
GROUP BY topic
HAVING value > {alert_dead_letters_per_minute}
ORDER BY value DESC, subject
"""

ACCEPTANCE_FELL_SQL = """
WITH
    promoted AS (
        SELECT p.version AS version, p.previous_version AS previous_version, p.promoted_at AS promoted_at
        FROM (SELECT version, argMax(previous_version, (at, seq)) AS previous_version, max(at) AS promoted_at
              FROM model_promotions WHERE action = 'promote' GROUP BY version) AS p
        LEFT JOIN (SELECT previous_version AS version, max(at) AS left_at
                   FROM model_promotions GROUP BY previous_version) AS l ON l.version = p.version
        WHERE l.left_at < p.promoted_at
    ),
    rated AS (
        SELECT model_version, scored_at, assumeNotNull(rating) = suggested_rating AS accepted
        FROM reviews FINAL WHERE kind = 'review' AND rating IS NOT NULL
    )
SELECT since.version AS subject, round(before.rate - since.rate, 4) AS value
FROM (SELECT c.version AS version, count() AS reviews, avg(r.accepted) AS rate
      FROM promoted AS c INNER JOIN rated AS r ON r.model_version = c.version
      WHERE r.scored_at >= c.promoted_at GROUP BY c.version) AS since
INNER JOIN (SELECT c.version AS version, count() AS reviews, avg(r.accepted) AS rate
            FROM promoted AS c INNER JOIN rated AS r ON r.model_version = c.previous_version
            WHERE r.scored_at < c.promoted_at GROUP BY c.version) AS before ON before.version = since.version
WHERE since.reviews >= {alert_acceptance_min_reviews} AND before.reviews >= {alert_acceptance_min_reviews}
  AND value > 0
ORDER BY value DESC, subject
"""


@dataclass(frozen=True)
class AlertRule:
    """One rule: its names, what a row means, its SQL template (``{setting_name}`` placeholders)."""

    name: str
    #: Grafana's rule uid (at most 40 letters, digits, ``-`` or ``_``)
    uid: str
    title: str
    summary: str
    subject_label: str
    value_label: str
    template: str
    #: the setting the value must exceed; None: more than 0
    threshold_setting: str | None
    #: about how far back the SQL looks: Grafana's query time range (nominal: the SQL reads now() itself)
    window_s: int

    def sql(self, settings: Settings) -> str:
        """The SQL with this deployment's thresholds in it."""
        values = {name: getattr(settings, name) for name in Settings.model_fields if name.startswith("alert_")}
        return self.template.format(scored=SCORED, **values).strip()

    def threshold(self, settings: Settings) -> float:
        return float(getattr(settings, self.threshold_setting)) if self.threshold_setting else 0.0


@dataclass(frozen=True)
class Firing:
    """One subject a rule fires for now."""

    rule: str
    title: str
    subject: str
    value: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "title": self.title, "subject": self.subject, "value": self.value,
                "message": self.message}


BRAND_TURNS_BAD = AlertRule(
    "brand_turns_bad", "reviewpulse-brand-turns-bad", "Brand turns bad",
    "A brand's share of bad reviews in the last hour rose above its share over the 7 days before.",
    "brand", "bad share up by", BRAND_TURNS_BAD_SQL, "alert_brand_bad_margin", 3600 + 7 * 86400)
SCORING_STALLS = AlertRule(
    "scoring_stalls", "reviewpulse-scoring-stalls", "Scoring stalls",
    "Events wait on reviews.raw and the scoring worker group has taken none for ALERT_STALL_MINUTES.",
    "topic", "events waiting", SCORING_STALLS_SQL, None, 3600)
DEAD_LETTERS_SPIKE = AlertRule(
    "dead_letters_spike", "reviewpulse-dead-letters-spike", "Dead letters spike",
    "More dead letters in one minute of the last five than ALERT_DEAD_LETTERS_PER_MINUTE.",
    "topic", "dead letters in its worst minute", DEAD_LETTERS_SPIKE_SQL, "alert_dead_letters_per_minute", 300)
ACCEPTANCE_FELL = AlertRule(
    "acceptance_fell_after_promote", "reviewpulse-acceptance-fell", "Acceptance fell after a promote",
    "Since its promote, people keep the model's suggested stars less often than under the previous model.",
    "model", "acceptance down by", ACCEPTANCE_FELL_SQL, None, 30 * 86400)

#: Every rule, in the order ``reviewpulse alerts`` prints them (benchmarks iterate this).
RULES: tuple[AlertRule, ...] = (BRAND_TURNS_BAD, SCORING_STALLS, DEAD_LETTERS_SPIKE, ACCEPTANCE_FELL)


def firing(rule: AlertRule, row: dict[str, Any]) -> Firing:
    value = float(row["value"])
    message = f"{rule.title}: {rule.subject_label} {row['subject']} ({rule.value_label} {value:g})"
    return Firing(rule.name, rule.title, str(row["subject"]), value, message)


def evaluate_rule(client: Any, rule: AlertRule, settings: Settings) -> list[Firing]:
    """What ``rule`` fires for now. ``client``: anything with ``query(sql) -> rows`` (a Storage); blocking."""
    return [firing(rule, row) for row in client.query(rule.sql(settings))]


def evaluate(client: Any, settings: Settings, rules: tuple[AlertRule, ...] = RULES) -> list[Firing]:
    """Every rule's firing subjects, rule by rule (blocking; async code calls it through ``storage.run``)."""
    return [found for rule in rules for found in evaluate_rule(client, rule, settings)]
