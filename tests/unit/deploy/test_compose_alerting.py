"""Grafana in docker-compose.yml provisions the alert rules (no Docker here: the files are parsed and compared)."""

from __future__ import annotations

from pathlib import Path

import yaml

from dashboards.alerts import ALERTING_FILE

REPO = Path(__file__).resolve().parents[3]
#: where Grafana reads alerting provisioning files (its provisioning path + "alerting")
GRAFANA_ALERTING = "/etc/grafana/provisioning/alerting"


def test_compose_mounts_the_rendered_rules_where_grafana_reads_alerting_files() -> None:
    grafana = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["grafana"]
    mounts = {target: source for source, target, *_ in (volume.split(":") for volume in grafana["volumes"])}
    mounted = {target: REPO / source for target, source in mounts.items() if source.startswith("./")}
    covering = [target for target, source in mounted.items() if ALERTING_FILE.is_relative_to(source.resolve())]
    assert covering, f"no volume of the grafana service holds {ALERTING_FILE.relative_to(REPO)}"
    (target,) = covering
    inside = Path(target) / ALERTING_FILE.relative_to(mounted[target].resolve())
    assert inside.parent == Path(GRAFANA_ALERTING), f"Grafana would see the rules at {inside}"
    assert inside.suffix in (".yaml", ".yml", ".json")


def test_the_rules_use_the_provisioned_data_source_and_a_folder_of_their_own() -> None:
    provisioning = REPO / "dashboards" / "provisioning"
    source = yaml.safe_load((provisioning / "datasources" / "clickhouse.yaml").read_text())["datasources"][0]
    provider = yaml.safe_load((provisioning / "dashboards" / "reviewpulse.yaml").read_text())["providers"][0]
    (group,) = yaml.safe_load(ALERTING_FILE.read_text())["groups"]
    # Grafana provisions alert rules before dashboards: sharing the dashboards' folder by title would create
    # it first under another uid than the dashboard provider's folderUid.
    assert group["folder"] != provider["folder"]
    for rule in group["rules"]:
        sql_queries = [query for query in rule["data"] if query["datasourceUid"] != "__expr__"]
        assert sql_queries and all(query["datasourceUid"] == source["uid"] for query in sql_queries)
        assert all(query["model"]["datasource"]["type"] == source["type"] for query in sql_queries)
