"""Every ClickHouse target in the dashboards is one of the queries the panel tests run on chDB."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from dashboards import queries
from dashboards.build import build_all

RUN = uuid.uuid4().hex[:10]
BRAND, OTHER_BRAND, SOURCE = f"dash-brand-{RUN}", f"dash-other-{RUN}", f"dash-source-{RUN}"
CRAWLED_BRAND = f"dash-crawled-{RUN}"
START = datetime(2003, 3, 3, tzinfo=UTC) + timedelta(minutes=int(RUN[:6], 16) % 500_000)
# (stars given, suggested stars, label, score); the 4th is where the model is wrong
RATED = [(5, 5, "good", 0.95), (4, 5, "good", 0.9), (1, 1, "bad", 0.05), (2, 4, "good", 0.7),
         (3, 3, "average", 0.5), (None, 2, "bad", 0.3)]


def test_every_clickhouse_target_in_the_dashboards_is_a_tested_query() -> None:
    tested = {query.sql.strip(): query for query in queries.ALL}
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


