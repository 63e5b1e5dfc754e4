"""The rendered dashboards: unique ids and uids, committed JSON up to date, sane layout."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import yaml

from dashboards.build import FOLDER_UID, JSON_DIR, LIVE_CHANNEL, build_all, render, to_text
from dashboards.live import LIVE_MEASUREMENT, LIVE_STREAM
from dashboards.panels import BRAND_UID, CLICKHOUSE_UID

PROVISIONING = Path(__file__).resolve().parents[3] / "dashboards" / "provisioning"


def test_dashboard_uids_and_panel_ids_are_unique() -> None:
    dashboards = build_all()
    uids = [dashboard["uid"] for dashboard in dashboards.values()]
    assert len(uids) == len(set(uids)) == 3
    panel_ids = [panel["id"] for dashboard in dashboards.values() for panel in dashboard["panels"]]
    assert len(panel_ids) == len(set(panel_ids))
    assert all(isinstance(panel_id, int) and panel_id > 0 for panel_id in panel_ids)


def test_committed_json_is_what_the_code_renders(tmp_path: Path) -> None:
    """Someone changed dashboards/build.py without `reviewpulse dashboards render`? This fails."""
    for name, dashboard in build_all().items():
        committed = JSON_DIR / f"{name}.json"
        assert committed.exists(), f"run `reviewpulse dashboards render` to create {committed}"
        assert committed.read_text(encoding="utf-8") == to_text(dashboard), f"re-render {committed}"
    assert len(render(tmp_path)) == 3
    assert render(tmp_path) == [], "a second render of unchanged code must write nothing"


def test_panels_do_not_overlap_and_fit_the_grid() -> None:
    for dashboard in build_all().values():
        boxes = [panel["gridPos"] for panel in dashboard["panels"]]
        for box in boxes:
            assert 0 <= box["x"] and box["x"] + box["w"] <= 24 and box["h"] > 0
        for a, b in combinations(boxes, 2):
            apart = (a["x"] + a["w"] <= b["x"] or b["x"] + b["w"] <= a["x"]
                     or a["y"] + a["h"] <= b["y"] or b["y"] + b["h"] <= a["y"])
            assert apart, f"panels at {a} and {b} overlap in {dashboard['uid']}"


def test_every_panel_uses_the_provisioned_data_source_or_grafana_live() -> None:
    source = yaml.safe_load((PROVISIONING / "datasources" / "clickhouse.yaml").read_text())["datasources"][0]
    assert source["uid"] == CLICKHOUSE_UID
    live_panels = 0
    for dashboard in build_all().values():
        for panel in dashboard["panels"]:
            if panel["type"] == "row":  # a row only groups the panels below it (the learning loop)
                assert panel["title"] and not panel.get("targets")
                continue
            assert panel["title"] and panel["description"]
            for target in panel["targets"]:
                if target["datasource"]["uid"] == "grafana":
                    assert target["queryType"] == "measurements"
                    assert target["channel"] == LIVE_CHANNEL == f"stream/{LIVE_STREAM}/{LIVE_MEASUREMENT}"
                    live_panels += 1
                else:
                    assert target["datasource"] == {"type": source["type"], "uid": source["uid"]}
        variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
        if dashboard["uid"] == BRAND_UID:  # one brand's story: exactly one brand (tests/unit/dashboards/test_brand_dashboard.py)
            assert not variables["brand"]["includeAll"] and not variables["brand"]["multi"]
            continue
        assert variables["brand"]["includeAll"] and variables["brand"]["multi"]
        assert "allValue" not in variables["brand"], "$__conditionalAll needs Grafana's own All value"
    assert live_panels == 1


def test_provider_loads_the_rendered_folder_into_the_push_folder() -> None:
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "reviewpulse.yaml").read_text())["providers"][0]
    assert provider["folderUid"] == FOLDER_UID
    for path in JSON_DIR.glob("*.json"):
        assert json.loads(path.read_text())["uid"].startswith("reviewpulse-")
