"""``reviewpulse dashboards push``: create or update the folders, data source, dashboards and alert rules.

Idempotent by design: every object has a fixed uid, each is read first and written only when
what ReviewPulse would write differs from what Grafana holds (compared on the keys we set, so
fields Grafana adds itself do not count as changes). A second push therefore changes nothing.
The data source password cannot be read back from Grafana; it is sent when the data source is
created or updated, or when ``rotate_password`` asks for it. A data source provisioned from a
file is read-only in Grafana and is left as it is, and so is an alert rule provisioned from a
file (``dashboards/provisioning/alerting/``: its provenance is ``file``). Alert rules go to
``/api/v1/provisioning/alert-rules`` by uid, into their own folder and group
(``dashboards.alerts``); the group's evaluation interval is set once the rules are in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError

from dashboards.alerts import ALERTS_FOLDER_TITLE, ALERTS_FOLDER_UID, INTERVAL_S, RULE_GROUP, api_rules
from dashboards.build import FOLDER_TITLE, FOLDER_UID, build_all
from dashboards.panels import CLICKHOUSE_TYPE, CLICKHOUSE_UID
from kernel.settings import Settings

DATASOURCE_NAME = "ReviewPulse ClickHouse"
PUSH_MESSAGE = "reviewpulse dashboards push"


@dataclass(frozen=True)
class Change:
    kind: str  # folder | datasource | dashboard | alert-rule | rule-group
    uid: str
    action: str  # created | updated | unchanged | skipped

    def __str__(self) -> str:
        return f"{self.kind:<10} {self.uid:<24} {self.action}"


def datasource_model(clickhouse_url: str) -> dict[str, Any]:
    """The Grafana data source for a ClickHouse URL (``clickhouse://user:pass@host:8123/db``).

    Schemes: ``clickhouse``/``http`` (HTTP, port 8123), ``clickhouses``/``https`` (HTTPS, 8443),
    ``clickhouse+native`` (native protocol, 9000). Raises ValueError naming what is wrong.
    """
    parts = urlsplit(clickhouse_url)
    schemes = {"clickhouse": ("http", False, 8123), "http": ("http", False, 8123),
               "clickhouses": ("http", True, 8443), "https": ("http", True, 8443),
               "clickhouse+native": ("native", False, 9000)}
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"GRAFANA_CLICKHOUSE_URL {parts.scheme}://{parts.hostname or ''}... is not a ClickHouse "
                         f"URL; expected e.g. clickhouse://grafana:PASSWORD@clickhouse:8123/reviewpulse")
    protocol, secure, default_port = schemes[parts.scheme]
    model: dict[str, Any] = {
        "uid": CLICKHOUSE_UID, "name": DATASOURCE_NAME, "type": CLICKHOUSE_TYPE, "access": "proxy",
        "jsonData": {
            "host": parts.hostname, "port": parts.port or default_port, "protocol": protocol, "secure": secure,
            "username": unquote(parts.username or "default"),
            "defaultDatabase": parts.path.strip("/") or "reviewpulse",
        },
    }
    if parts.password:
        model["secureJsonData"] = {"password": unquote(parts.password)}
    return model


def same(wanted: Any, existing: Any) -> bool:
    """True when ``existing`` holds every key and value of ``wanted`` (extra keys in it are fine)."""
    if isinstance(wanted, dict):
        return isinstance(existing, dict) and all(k in existing and same(v, existing[k]) for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(existing, list) and len(wanted) == len(existing) and all(
            same(w, e) for w, e in zip(wanted, existing, strict=True))
    return bool(wanted == existing)


def _get(call: Any, *args: Any) -> dict[str, Any] | None:
    try:
        return call(*args)
    except GrafanaClientError as error:
        if error.status_code == 404:
            return None
        raise


def push_folder(api: GrafanaApi, uid: str = FOLDER_UID, title: str = FOLDER_TITLE) -> Change:
    existing = _get(api.folder.get_folder, uid)
    if existing is None:
        api.folder.create_folder(title, uid=uid)
        return Change("folder", uid, "created")
    if existing.get("title") != title:
        api.folder.update_folder(uid, title=title, overwrite=True)
        return Change("folder", uid, "updated")
    return Change("folder", uid, "unchanged")


def push_datasource(api: GrafanaApi, wanted: dict[str, Any], rotate_password: bool = False) -> Change:
    existing = _get(api.datasource.get_datasource_by_uid, CLICKHOUSE_UID)
    if existing is None:
        api.datasource.create_datasource(wanted)
        return Change("datasource", CLICKHOUSE_UID, "created")
    if existing.get("readOnly"):
        return Change("datasource", CLICKHOUSE_UID, "skipped (provisioned from a file)")
    visible = {key: value for key, value in wanted.items() if key != "secureJsonData"}
    password_missing = "secureJsonData" in wanted and not existing.get("secureJsonFields", {}).get("password")
    if same(visible, existing) and not password_missing and not rotate_password:
        return Change("datasource", CLICKHOUSE_UID, "unchanged")
    api.datasource.update_datasource_by_uid(CLICKHOUSE_UID, wanted)
    return Change("datasource", CLICKHOUSE_UID, "updated")


def push_dashboard(api: GrafanaApi, dashboard_json: dict[str, Any]) -> Change:
    uid = dashboard_json["uid"]
    existing = _get(api.dashboard.get_dashboard, uid)
    if existing is not None and same(dashboard_json, existing.get("dashboard")) and (
            existing.get("meta", {}).get("folderUid") == FOLDER_UID):
        return Change("dashboard", uid, "unchanged")
    api.dashboard.update_dashboard(
        {"dashboard": dashboard_json, "folderUid": FOLDER_UID, "overwrite": True, "message": PUSH_MESSAGE})
    return Change("dashboard", uid, "created" if existing is None else "updated")


def push_alert_rule(api: GrafanaApi, wanted: dict[str, Any]) -> Change:
    uid = wanted["uid"]
    existing = _get(api.alertingprovisioning.get_alertrule, uid)
    if existing is None:
        api.alertingprovisioning.create_alertrule(wanted)
        return Change("alert-rule", uid, "created")
    if existing.get("provenance") == "file":
        return Change("alert-rule", uid, "skipped (provisioned from a file)")
    if same(wanted, existing):
        return Change("alert-rule", uid, "unchanged")
    api.alertingprovisioning.update_alertrule(uid, wanted)
    return Change("alert-rule", uid, "updated")


def push_rule_group(api: GrafanaApi) -> Change:
    """The alert group's evaluation interval (Grafana gives a group created by a rule its default)."""
    existing = _get(api.alertingprovisioning.get_rule_group, ALERTS_FOLDER_UID, RULE_GROUP)
    if existing is None or existing.get("interval") == INTERVAL_S:
        return Change("rule-group", RULE_GROUP, "unchanged" if existing else "skipped (no rule in it)")
    api.alertingprovisioning.update_rule_group(ALERTS_FOLDER_UID, RULE_GROUP, {**existing, "interval": INTERVAL_S})
    return Change("rule-group", RULE_GROUP, "updated")


def push_alerts(api: GrafanaApi, settings: Settings) -> list[Change]:
    """The alerts folder, every rule of ``stream.storage.alerts`` (thresholds from ``settings``), their group."""
    changes = [push_folder(api, ALERTS_FOLDER_UID, ALERTS_FOLDER_TITLE)]
    changes.extend(push_alert_rule(api, rule) for rule in api_rules(settings))
    changes.append(push_rule_group(api))
    return changes


def push(url: str, token: str, clickhouse_url: str = "", rotate_password: bool = False,
         settings: Settings | None = None) -> list[Change]:
    """Push folder, data source (when ``clickhouse_url`` is given), every dashboard and the alert rules to Grafana.

    The rules carry the thresholds of ``settings`` (default: ``Settings()``, the environment's ``ALERT_*``).
    """
    api = GrafanaApi.from_url(url, credential=token)
    changes = [push_folder(api)]
    if clickhouse_url:
        changes.append(push_datasource(api, datasource_model(clickhouse_url), rotate_password))
    else:
        changes.append(Change("datasource", CLICKHOUSE_UID, "skipped (no GRAFANA_CLICKHOUSE_URL)"))
    changes.extend(push_dashboard(api, dashboard_json) for dashboard_json in build_all().values())
    changes.extend(push_alerts(api, settings or Settings()))
    return changes
