"""``reviewpulse dashboards push`` against a recording stand-in for Grafana's HTTP API.

Grafana cannot run here (no Docker, no network), so tests/unit/dashboards/grafana_stub.py answers
the endpoints the push uses, over real HTTP, and records each request.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from grafana_client.client import GrafanaUnauthorizedError
from typer.testing import CliRunner

from dashboards.alerts import ALERTS_FOLDER_UID, RULE_GROUP
from dashboards.build import FOLDER_UID, build_all
from dashboards.panels import CLICKHOUSE_UID
from dashboards.publish import datasource_model, push
from reviewpulse.cli import app
from stream.storage.alerts import RULES
from tests.unit.dashboards.grafana_stub import GrafanaStub

TOKEN = "glsa_test_token"
CLICKHOUSE_URL = "clickhouse://grafana:s3cret@clickhouse:8123/reviewpulse"
UIDS = sorted(dashboard["uid"] for dashboard in build_all().values())
#: what a push after the first says about the alert rules (their own tests: test_alerts.py)
ALERTS_UNCHANGED = {f"folder:{ALERTS_FOLDER_UID}": "unchanged", f"rule-group:{RULE_GROUP}": "unchanged",
                    **{f"alert-rule:{rule.uid}": "unchanged" for rule in RULES}}


@pytest.fixture
def grafana() -> Iterator[GrafanaStub]:
    with GrafanaStub(TOKEN) as stub:
        yield stub


def actions(changes: list) -> dict[str, str]:
    return {f"{change.kind}:{change.uid}": change.action for change in changes}


def test_cli_push_creates_everything_then_a_second_push_changes_nothing(grafana: GrafanaStub) -> None:
    runner = CliRunner()
    args = ["dashboards", "push", "--url", grafana.url, "--token", TOKEN, "--clickhouse-url", CLICKHOUSE_URL]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    created = 2 + len(UIDS) + 1 + len(RULES)  # the folder, the data source, every dashboard, the alerts' folder and rules
    assert f"{created} changed" in first.output and first.output.count("created") == created
    assert set(grafana.folders) == {FOLDER_UID, ALERTS_FOLDER_UID}
    assert sorted(grafana.dashboards) == UIDS
    assert all(stored["folderUid"] == FOLDER_UID for stored in grafana.dashboards.values())
    source = grafana.datasources[CLICKHOUSE_UID]
    assert source["type"] == "grafana-clickhouse-datasource"
    assert source["jsonData"] == {"host": "clickhouse", "port": 8123, "protocol": "http", "secure": False,
                                  "username": "grafana", "defaultDatabase": "reviewpulse"}
    assert source["secureJsonData"] == {"password": "s3cret"}

    grafana.requests.clear()
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "0 changed" in second.output
    assert grafana.writes() == [], "a second push must only read"
    assert {stored["dashboard"]["version"] for stored in grafana.dashboards.values()} == {1}


def test_push_repairs_only_what_drifted(grafana: GrafanaStub) -> None:
    push(grafana.url, TOKEN, CLICKHOUSE_URL)
    drifted = UIDS[0]
    grafana.dashboards[drifted]["dashboard"]["title"] = "edited in the UI"
    grafana.datasources[CLICKHOUSE_UID]["jsonData"]["host"] = "elsewhere"
    grafana.requests.clear()
    changes = actions(push(grafana.url, TOKEN, CLICKHOUSE_URL))
    assert changes == {f"folder:{FOLDER_UID}": "unchanged", f"datasource:{CLICKHOUSE_UID}": "updated",
                       f"dashboard:{drifted}": "updated", **{f"dashboard:{uid}": "unchanged" for uid in UIDS[1:]},
                       **ALERTS_UNCHANGED}
    assert grafana.dashboards[drifted]["dashboard"]["title"] == build_all_titles()[drifted]
    assert grafana.dashboards[drifted]["dashboard"]["version"] == 2
    assert grafana.datasources[CLICKHOUSE_UID]["jsonData"]["host"] == "clickhouse"
    assert sorted(grafana.writes()) == [("POST", "/api/dashboards/db"), ("PUT", f"/api/datasources/uid/{CLICKHOUSE_UID}")]


def build_all_titles() -> dict[str, str]:
    return {dashboard["uid"]: dashboard["title"] for dashboard in build_all().values()}


def test_provisioned_data_source_is_left_alone_and_missing_url_skips_it(grafana: GrafanaStub) -> None:
    push(grafana.url, TOKEN, CLICKHOUSE_URL)
    grafana.datasources[CLICKHOUSE_UID]["readOnly"] = True
    assert actions(push(grafana.url, TOKEN, CLICKHOUSE_URL))[f"datasource:{CLICKHOUSE_UID}"].startswith("skipped")
    assert actions(push(grafana.url, TOKEN, ""))[f"datasource:{CLICKHOUSE_UID}"].startswith("skipped")


def test_rotate_password_resends_it(grafana: GrafanaStub) -> None:
    push(grafana.url, TOKEN, CLICKHOUSE_URL)
    rotated = CLICKHOUSE_URL.replace("s3cret", "n3w")
    assert actions(push(grafana.url, TOKEN, rotated))[f"datasource:{CLICKHOUSE_UID}"] == "unchanged"
    assert actions(push(grafana.url, TOKEN, rotated, rotate_password=True))[f"datasource:{CLICKHOUSE_UID}"] == (
        "updated")
    assert grafana.datasources[CLICKHOUSE_UID]["secureJsonData"] == {"password": "n3w"}


def test_wrong_token_fails_clearly(grafana: GrafanaStub) -> None:
    with pytest.raises(GrafanaUnauthorizedError):
        push(grafana.url, "wrong", CLICKHOUSE_URL)
    result = CliRunner().invoke(app, ["dashboards", "push", "--url", grafana.url, "--token", "wrong"])
    assert result.exit_code == 1
    assert "Unauthorized" in result.output
    assert grafana.writes() == []


def test_datasource_model_reads_clickhouse_urls() -> None:
    native = datasource_model("clickhouse+native://ro@db.example:9440/analytics")
    assert native["jsonData"] == {"host": "db.example", "port": 9440, "protocol": "native", "secure": False,
                                  "username": "ro", "defaultDatabase": "analytics"}
    assert "secureJsonData" not in native
    tls = datasource_model("https://grafana:p%40ss@ch.example/reviewpulse")
    assert tls["jsonData"]["port"] == 8443 and tls["jsonData"]["secure"] is True
    assert tls["secureJsonData"] == {"password": "p@ss"}
    with pytest.raises(ValueError, match="GRAFANA_CLICKHOUSE_URL"):
        datasource_model("postgres://x@y/z")
