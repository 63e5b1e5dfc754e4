"""The alert rules as Grafana gets them: the provisioning file's structure, the committed file, ``push``.

Grafana cannot run on the build machine (no Docker, no network), so the file is checked
against the structure Grafana's documentation gives for alert rule provisioning files
(``apiVersion: 1``, ``groups`` of ``orgId``/``name``/``folder``/``interval``/``rules``, each rule
``uid``/``title``/``condition``/``data``/``noDataState``/``execErrState``/``for``/
``annotations``/``labels``; Grafana's own ``AlertRuleGroupV1``/``AlertRuleV1`` fields), and
``push`` runs over real HTTP against ``grafana_stub.py``, which keeps alert rules the way
Grafana's provisioning API does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from dashboards.alerts import (
    ALERTING_FILE,
    ALERTS_FOLDER_TITLE,
    ALERTS_FOLDER_UID,
    INTERVAL_S,
    RULE_GROUP,
    provisioning,
    render,
    to_text,
)
from dashboards.panels import CLICKHOUSE_TYPE, CLICKHOUSE_UID
from dashboards.publish import push
from kernel.settings import Settings
from stream.storage.alerts import RULES
from tests.unit.dashboards.grafana_stub import GrafanaStub

TOKEN = "glsa_alerts_token"
#: Grafana's AlertRuleGroupV1 / AlertRuleV1 / QueryV1 fields (pkg/services/provisioning/alerting/rules_types.go)
GROUP_KEYS = {"orgId", "name", "folder", "interval", "rules"}
RULE_KEYS = {"uid", "title", "condition", "data", "dashboardUid", "panelId", "noDataState", "execErrState", "for",
             "keepFiringFor", "annotations", "labels", "isPaused", "notification_settings", "record"}
QUERY_KEYS = {"refId", "queryType", "relativeTimeRange", "datasourceUid", "model"}
DURATION = re.compile(r"^\d+[smhd]$")


def test_the_file_has_the_structure_grafana_documents() -> None:
    document = yaml.safe_load(to_text(provisioning(Settings())))
    assert document["apiVersion"] == 1 and set(document) == {"apiVersion", "groups"}
    (group,) = document["groups"]
    assert set(group) == GROUP_KEYS
    assert group["orgId"] == 1 and group["name"] == RULE_GROUP and group["folder"] == ALERTS_FOLDER_TITLE
    assert DURATION.match(group["interval"])
    assert [rule["uid"] for rule in group["rules"]] == [rule.uid for rule in RULES]
    for rule in group["rules"]:
        assert set(rule) <= RULE_KEYS, f"{rule['uid']}: {set(rule) - RULE_KEYS} is not a field Grafana reads"
        assert re.fullmatch(r"[\w-]{1,40}", rule["uid"]) and rule["title"]
        assert rule["noDataState"] in ("NoData", "Alerting", "OK") and rule["execErrState"] in ("Error", "Alerting", "OK")
        assert DURATION.match(rule["for"])
        assert isinstance(rule["annotations"], dict) and isinstance(rule["labels"], dict)
        assert all(isinstance(v, str) for v in (*rule["annotations"].values(), *rule["labels"].values()))
        refs = [query["refId"] for query in rule["data"]]
        assert rule["condition"] in refs and len(set(refs)) == len(refs)
        for query in rule["data"]:
            assert set(query) <= QUERY_KEYS and query["refId"] == query["model"]["refId"]
            assert set(query["relativeTimeRange"]) == {"from", "to"}


def test_each_rule_runs_its_sql_then_reduces_and_compares_with_the_setting() -> None:
    settings = Settings(alert_brand_bad_margin=0.35, alert_dead_letters_per_minute=42)
    rules = {rule["uid"]: rule for rule in provisioning(settings)["groups"][0]["rules"]}
    for alert in RULES:
        sql, reduce, threshold = rules[alert.uid]["data"]
        assert sql["datasourceUid"] == CLICKHOUSE_UID
        assert sql["model"]["datasource"] == {"type": CLICKHOUSE_TYPE, "uid": CLICKHOUSE_UID}
        assert sql["model"]["rawSql"] == alert.sql(settings) and sql["model"]["format"] == 1  # a table: numeric data
        assert sql["relativeTimeRange"] == {"from": alert.window_s, "to": 0}
        assert reduce["datasourceUid"] == "__expr__" and reduce["model"]["type"] == "reduce"
        assert reduce["model"]["expression"] == "A"
        assert threshold["model"]["type"] == "threshold" and threshold["model"]["expression"] == "B"
        (condition,) = threshold["model"]["conditions"]
        assert condition["evaluator"] == {"type": "gt", "params": [alert.threshold(settings)]}
        assert rules[alert.uid]["condition"] == "C"
    assert "0.35" in rules["reviewpulse-brand-turns-bad"]["data"][0]["model"]["rawSql"]
    assert rules["reviewpulse-dead-letters-spike"]["data"][2]["model"]["conditions"][0]["evaluator"]["params"] == [42]


def test_committed_file_is_what_the_code_renders(tmp_path: Path) -> None:
    """Someone changed stream/storage/alerts.py without `reviewpulse dashboards render`? This fails."""
    assert ALERTING_FILE.exists(), "run `reviewpulse dashboards render`"
    assert ALERTING_FILE.read_text(encoding="utf-8") == to_text(provisioning(Settings.model_construct())), (
        f"re-render {ALERTING_FILE} with the default ALERT_* settings")
    copy = tmp_path / "alerting.yaml"
    assert render(Settings.model_construct(), copy) is True
    assert render(Settings.model_construct(), copy) is False, "a second render of unchanged rules must write nothing"
    assert copy.read_bytes() == ALERTING_FILE.read_bytes()


@pytest.fixture
def grafana() -> Iterator[GrafanaStub]:
    with GrafanaStub(TOKEN) as stub:
        yield stub


def alert_actions(grafana: GrafanaStub, settings: Settings) -> dict[str, str]:
    changes = push(grafana.url, TOKEN, "", settings=settings)
    return {f"{c.kind}:{c.uid}": c.action for c in changes if c.kind in ("alert-rule", "rule-group")
            or c.uid == ALERTS_FOLDER_UID}


def test_push_creates_the_rules_then_a_second_push_only_reads(grafana: GrafanaStub) -> None:
    settings = Settings()
    first = alert_actions(grafana, settings)
    assert first == {f"folder:{ALERTS_FOLDER_UID}": "created", f"rule-group:{RULE_GROUP}": "unchanged",
                     **{f"alert-rule:{rule.uid}": "created" for rule in RULES}}
    assert grafana.folders[ALERTS_FOLDER_UID]["title"] == ALERTS_FOLDER_TITLE
    for rule in RULES:
        stored = grafana.alert_rules[rule.uid]
        assert (stored["folderUID"], stored["ruleGroup"], stored["title"]) == (ALERTS_FOLDER_UID, RULE_GROUP, rule.title)
        assert stored["data"][0]["model"]["rawSql"] == rule.sql(settings)
    assert grafana.rule_groups[(ALERTS_FOLDER_UID, RULE_GROUP)] == INTERVAL_S

    grafana.requests.clear()
    second = alert_actions(grafana, settings)
    assert set(second.values()) == {"unchanged"}
    assert grafana.writes() == [], "a second push must only read"


def test_push_puts_back_what_changed_and_leaves_file_provisioned_rules_alone(grafana: GrafanaStub) -> None:
    alert_actions(grafana, Settings())
    edited, provisioned = RULES[0].uid, RULES[1].uid
    grafana.alert_rules[edited]["title"] = "edited in the UI"
    grafana.alert_rules[provisioned]["provenance"] = "file"
    grafana.rule_groups[(ALERTS_FOLDER_UID, RULE_GROUP)] = 300
    grafana.requests.clear()

    stricter = Settings(alert_dead_letters_per_minute=3)
    changes = alert_actions(grafana, stricter)
    assert changes[f"alert-rule:{edited}"] == "updated" and grafana.alert_rules[edited]["title"] == RULES[0].title
    assert changes[f"alert-rule:{provisioned}"].startswith("skipped")
    spike = next(rule for rule in RULES if rule.name == "dead_letters_spike")
    assert changes[f"alert-rule:{spike.uid}"] == "updated", "a new threshold is a change"
    assert "HAVING value > 3" in grafana.alert_rules[spike.uid]["data"][0]["model"]["rawSql"]
    assert changes[f"rule-group:{RULE_GROUP}"] == "updated"
    assert grafana.rule_groups[(ALERTS_FOLDER_UID, RULE_GROUP)] == INTERVAL_S
    assert ("PUT", f"/api/v1/provisioning/alert-rules/{provisioned}") not in grafana.writes()
