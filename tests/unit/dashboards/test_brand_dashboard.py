"""The Brand dashboard: its variables, its panels (all by ``ts``), and the links that lead to it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dashboards import brand_queries
from dashboards.build import JSON_DIR, build_all, to_text
from dashboards.panels import BRAND_UID
from reviewpulse.bench.grafana_macros import QueryContext, expand


def brand_dashboard() -> dict[str, Any]:
    return build_all()["brand"]


def test_fixed_uid_ids_from_201_and_committed_json() -> None:
    dashboard = brand_dashboard()
    assert dashboard["uid"] == BRAND_UID == "reviewpulse-brand"
    assert [panel["id"] for panel in dashboard["panels"]] == list(range(201, 201 + len(dashboard["panels"])))
    assert (JSON_DIR / "brand.json").read_text(encoding="utf-8") == to_text(dashboard), "reviewpulse dashboards render"
    assert to_text(build_all()["brand"]) == to_text(dashboard), "two builds must render byte-identical"
    assert dashboard["tags"] == ["reviewpulse"], "the tag puts it in the other dashboards' link menu"


def test_one_brand_and_its_category_from_the_brands_table() -> None:
    variables = {variable["name"]: variable for variable in brand_dashboard()["templating"]["list"]}
    assert list(variables) == ["brand", "category"]
    brand, category = variables["brand"], variables["category"]
    assert brand["type"] == category["type"] == "query"
    assert not brand["multi"] and not brand["includeAll"] and not category["multi"] and not category["includeAll"]
    assert category["query"] == brand_queries.CATEGORY_VARIABLE_SQL
    assert "FROM brands" in category["query"] and "${brand:sqlstring}" in category["query"]


def test_panels_and_the_queries_they_run() -> None:
    panels = {panel["title"]: panel for panel in brand_dashboard()["panels"]}
    expected = {
        "Reviews per day": brand_queries.DAILY,
        "Mix: brand, previous period, category": brand_queries.COMPARISON,
        "People's stars vs predicted labels": brand_queries.STARS_VS_LABELS,
        "What people complain about": brand_queries.COMPLAINTS,
        "What people praise": brand_queries.PRAISE,
        "Newest bad reviews": brand_queries.NEWEST_BAD,
    }
    assert set(panels) == set(expected)
    for title, query in expected.items():
        (target,) = panels[title]["targets"]
        assert target["rawSql"] == query.sql.strip()
    assert panels["Reviews per day"]["type"] == "timeseries"
    assert "Fightin' Words" in panels["What people complain about"]["description"]


def test_every_period_is_on_the_reviews_own_date_never_scored_at() -> None:
    start = datetime.fromtimestamp(1_000_000, UTC)
    context = QueryContext(start, start + timedelta(days=1), variables={"brand": "b", "category": "c"})
    for query in brand_queries.ALL:
        assert "scored_at" not in query.sql, query.key
        assert "ts >= toDateTime(1000000)" in expand(query.sql, context), f"{query.key} does not filter on ts"


def test_brand_tables_elsewhere_link_to_the_brand_dashboard() -> None:
    model_quality = build_all()["model-quality"]
    (brands,) = [panel for panel in model_quality["panels"] if panel["title"].startswith("Brands")]
    (override,) = brands["fieldConfig"]["overrides"]
    assert override["matcher"] == {"id": "byName", "options": "brand"}
    (link,) = override["properties"][0]["value"]
    assert re.fullmatch(r"/d/reviewpulse-brand/[\w-]+\?var-brand=\$\{__value\.raw:percentencode\}&\$\{__url_time_range\}",
                        link["url"]), link["url"]
    committed = json.loads((JSON_DIR / "model-quality.json").read_text(encoding="utf-8"))
    assert link in [prop["value"][0] for panel in committed["panels"]
                    for item in panel.get("fieldConfig", {}).get("overrides", []) for prop in item["properties"]
                    if prop["id"] == "links"]


def test_render_command_is_byte_stable(tmp_path: Path) -> None:
    from dashboards.build import render

    assert {path.name for path in render(tmp_path)} == {"overview.json", "model-quality.json", "brand.json"}
    first = (tmp_path / "brand.json").read_bytes()
    assert render(tmp_path) == [] and (tmp_path / "brand.json").read_bytes() == first
