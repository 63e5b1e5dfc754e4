"""Grafana alert rules from ``stream.storage.alerts``: the provisioning file and what ``push`` sends.

Each rule is three queries, as Grafana's own rule editor builds them: **A** the rule's SQL on
the ReviewPulse ClickHouse data source, as a table (one row per firing subject: ``subject``
becomes a label, ``value`` is the one number, Grafana's "numeric data" alerting); **B**
a reduce (``last``: a no-op on numbers, kept so a series would also work); **C** the
threshold, the same setting the SQL filters on. No row means nothing fires, so
``noDataState`` is ``OK``; a failing query is ``Error``. ``for`` is ``0s``: each SQL already
looks over its own window, so Grafana fires when ``reviewpulse alerts`` does.

The rules live in a folder of their own (``ReviewPulse alerts``): Grafana provisions alert
rules before dashboards, and a rule file naming the dashboards' folder would create it under
another uid first. ``reviewpulse dashboards render`` writes :data:`ALERTING_FILE` with the
effective settings' thresholds (the committed file has the defaults); docker-compose mounts
``dashboards/provisioning`` as Grafana's provisioning folder, so Grafana loads it at start.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from grafana_foundation_sdk.builders import alerting, expr
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.alerting import Query as AlertQuery
from grafana_foundation_sdk.models.alerting import RelativeTimeRange

from dashboards.panels import CLICKHOUSE_UID, ClickHouseQuery, QueryBuilder
from dashboards.queries import PanelQuery
from kernel.settings import Settings
from stream.storage.alerts import RULES, AlertRule

ALERTING_FILE = Path(__file__).resolve().parent / "provisioning" / "alerting" / "reviewpulse.yaml"
ALERTS_FOLDER_UID = "reviewpulse-alerts"
ALERTS_FOLDER_TITLE = "ReviewPulse alerts"
RULE_GROUP = "reviewpulse"
INTERVAL_S = 60
ORG_ID = 1
EXPRESSIONS = "__expr__"
#: Where a rule lives: the API's keys (the SDK always sets them); the file says it once per group.
PLACEMENT = ("folderUID", "ruleGroup", "orgID")
HEADER = """\
# Grafana alert rules (file provisioning), rendered from stream/storage/alerts.py by
# `reviewpulse dashboards render`: do not edit, change the rules there and render again.
# docker-compose.yml mounts dashboards/provisioning at /etc/grafana/provisioning, so Grafana
# loads this file at start; `reviewpulse dashboards push` sends the same rules over the API.
"""


def _queries(rule: AlertRule, settings: Settings) -> list[Builder[AlertQuery]]:
    sql = PanelQuery(rule.name, rule.sql(settings), ("subject", "value"), "table")
    reduce = expr.TypeReduce().ref_id("B").expression("A").reducer("last")
    threshold = expr.TypeThreshold().ref_id("C").expression("B").conditions([
        expr.ExprTypeThresholdConditions().evaluator(
            expr.ExprTypeThresholdConditionsEvaluator().type("gt").params([rule.threshold(settings)]))])
    return [
        alerting.Query("A").datasource_uid(CLICKHOUSE_UID).model(QueryBuilder(ClickHouseQuery(sql)))
        .relative_time_range(RelativeTimeRange(from_val=rule.window_s, to=0)),
        alerting.Query("B").datasource_uid(EXPRESSIONS).model(reduce).relative_time_range(RelativeTimeRange(0, 0)),
        alerting.Query("C").datasource_uid(EXPRESSIONS).model(threshold).relative_time_range(RelativeTimeRange(0, 0)),
    ]


def rule_json(rule: AlertRule, settings: Settings) -> dict[str, Any]:
    """One rule as the provisioning file holds it (Grafana's ``AlertRuleV1``)."""
    built = (alerting.Rule(rule.title).uid(rule.uid).condition("C").queries(_queries(rule, settings))
             .no_data_state("OK").exec_err_state("Error").for_val("0s").is_paused(False)
             .annotations({"summary": rule.summary,
                           "description": f"{{{{ $labels.subject }}}}: {rule.value_label} {{{{ $values.B.Value }}}}"})
             .labels({"service": "reviewpulse", "rule": rule.name}))
    as_json = json.loads(json.dumps(built.build(), cls=JSONEncoder))
    return {key: value for key, value in as_json.items() if key not in PLACEMENT}


def api_rule(rule: AlertRule, settings: Settings) -> dict[str, Any]:
    """One rule as ``POST/PUT /api/v1/provisioning/alert-rules`` takes it: the file's rule plus where it lives."""
    return {**rule_json(rule, settings), "folderUID": ALERTS_FOLDER_UID, "ruleGroup": RULE_GROUP, "orgID": ORG_ID}


def api_rules(settings: Settings, rules: tuple[AlertRule, ...] = RULES) -> list[dict[str, Any]]:
    return [api_rule(rule, settings) for rule in rules]


def provisioning(settings: Settings, rules: tuple[AlertRule, ...] = RULES) -> dict[str, Any]:
    """The whole provisioning document: one group in the alerts folder, evaluated every minute."""
    return {"apiVersion": 1, "groups": [{
        "orgId": ORG_ID, "name": RULE_GROUP, "folder": ALERTS_FOLDER_TITLE, "interval": f"{INTERVAL_S}s",
        "rules": [rule_json(rule, settings) for rule in rules]}]}


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (the SQL) as ``|`` blocks, so the committed file reads like the SQL it holds."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_BlockDumper.add_representer(str, _string)


def to_text(document: dict[str, Any]) -> str:
    """Stable text (sorted keys), so rendering unchanged rules is byte-identical."""
    return HEADER + yaml.dump(document, Dumper=_BlockDumper, sort_keys=True, allow_unicode=True, width=120)


def render(settings: Settings, path: Path = ALERTING_FILE) -> bool:
    """Write the provisioning file; True when its text changed."""
    text = to_text(provisioning(settings))
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True
