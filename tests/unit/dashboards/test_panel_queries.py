"""Every ClickHouse target in the dashboards is one of the queries the panel tests run on chDB.

``queries.ALL`` (Overview, Model quality: a multi-select brand) run in
``tests/integration/dashboards/test_panel_queries.py``, ``brand_queries.ALL`` (the Brand
dashboard: one brand) in ``tests/integration/dashboards/test_brand_panels.py``.
"""

from __future__ import annotations

from dashboards import brand_queries, queries
from dashboards.build import build_all


def test_every_clickhouse_target_in_the_dashboards_is_a_tested_query() -> None:
    tested = {query.sql.strip(): query for query in (*queries.ALL, *brand_queries.ALL)}
    used = set()
    for name, dashboard in build_all().items():
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                if target["datasource"]["type"] != "grafana-clickhouse-datasource":
                    continue
                assert target["rawSql"] in tested, f"{name}: panel {panel['title']!r} runs untested SQL"
                assert target["queryType"] == tested[target["rawSql"]].query_type
                used.add(target["rawSql"])
    assert used == set(tested), "a query in dashboards.queries is on no panel"


