"""Panel builders on the official grafana-foundation-sdk, plus the two query kinds it lacks.

The SDK has no ClickHouse query type and no Grafana Live query, so both are small
``Dataquery`` classes here; everything else (panels, layout, variables) is the SDK's.
Every ClickHouse panel takes a :class:`dashboards.queries.PanelQuery`, so the SQL a panel
shows is always one the dashboards test runs against ClickHouse.
"""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import barchart, common, stat, table, timeseries
from grafana_foundation_sdk.cog import builder, variants
from grafana_foundation_sdk.models import common as common_models
from grafana_foundation_sdk.models.dashboard import DataSourceRef, DynamicConfigValue

from dashboards.queries import PanelQuery

CLICKHOUSE_TYPE = "grafana-clickhouse-datasource"
#: stable uid shared by the provisioning file and ``reviewpulse dashboards push``
CLICKHOUSE_UID = "reviewpulse-clickhouse"
CLICKHOUSE = DataSourceRef(type_val=CLICKHOUSE_TYPE, uid=CLICKHOUSE_UID)
GRAFANA = DataSourceRef(type_val="datasource", uid="grafana")
#: the plugin's ``format`` values
FORMATS = {"timeseries": 0, "table": 1}
#: the Brand dashboard (``dashboards.build.brand``); brand tables elsewhere link to it
BRAND_UID = "reviewpulse-brand"
#: a data link's URL: the clicked brand, percent-encoded, and the dashboard's time range
BRAND_URL = f"/d/{BRAND_UID}/reviewpulse-brand?var-brand=${{__value.raw:percentencode}}&${{__url_time_range}}"


class ClickHouseQuery(variants.Dataquery):
    """A raw-SQL query of the grafana-clickhouse-datasource plugin (v4 JSON)."""

    def __init__(self, query: PanelQuery, ref_id: str = "A") -> None:
        self.query, self.ref_id = query, ref_id

    def to_json(self) -> dict[str, Any]:
        return {
            "refId": self.ref_id,
            "datasource": {"type": CLICKHOUSE_TYPE, "uid": CLICKHOUSE_UID},
            "editorType": "sql",
            "queryType": self.query.query_type,
            "format": FORMATS[self.query.query_type],
            "rawSql": self.query.sql.strip(),
        }


class LiveQuery(variants.Dataquery):
    """A Grafana Live measurements query: the panel follows ``channel`` without polling."""

    def __init__(self, channel: str, ref_id: str = "A") -> None:
        self.channel, self.ref_id = channel, ref_id

    def to_json(self) -> dict[str, Any]:
        return {
            "refId": self.ref_id,
            "datasource": {"type": "datasource", "uid": "grafana"},
            "queryType": "measurements",
            "channel": self.channel,
            "buffer": 300000,
        }


class QueryBuilder(builder.Builder[variants.Dataquery]):
    """Hands a ready query to the SDK's ``with_target``."""

    def __init__(self, query: variants.Dataquery) -> None:
        self._query = query

    def build(self) -> variants.Dataquery:
        return self._query


def clickhouse(query: PanelQuery) -> QueryBuilder:
    return QueryBuilder(ClickHouseQuery(query))


def _legend(placement: str = "bottom") -> common.VizLegendOptions:
    return (common.VizLegendOptions().show_legend(True)
            .display_mode(common_models.LegendDisplayMode.LIST)
            .placement(common_models.LegendPlacement(placement)).calcs([]))


def rate_panel(title: str, query: PanelQuery, description: str, unit: str = "short",
               stacking: str = "none", width: int = 12, height: int = 8) -> timeseries.Panel:
    """A time series of a long-format query (one series per value of its string column)."""
    return (timeseries.Panel().title(title).description(description).datasource(CLICKHOUSE)
            .with_target(clickhouse(query)).unit(unit).min(0).fill_opacity(20).line_width(1)
            .stacking(common.StackingConfig().mode(common_models.StackingMode(stacking)))
            .legend(_legend()).span(width).height(height))


def stat_panel(title: str, query: PanelQuery, description: str, unit: str = "short",
               fields: str = "", width: int = 6, height: int = 4) -> stat.Panel:
    """Big numbers from a one-row query (``fields`` is a regex of the columns to show)."""
    return (stat.Panel().title(title).description(description).datasource(CLICKHOUSE)
            .with_target(clickhouse(query)).unit(unit)
            .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False).fields(fields))
            .graph_mode(common_models.BigValueGraphMode.NONE).span(width).height(height))


def table_panel(title: str, query: PanelQuery, description: str, width: int = 12,
                height: int = 8) -> table.Panel:
    return (table.Panel().title(title).description(description).datasource(CLICKHOUSE)
            .with_target(clickhouse(query)).span(width).height(height))


def bar_panel(title: str, query: PanelQuery, description: str, x_field: str, width: int = 12,
              height: int = 8) -> barchart.Panel:
    return (barchart.Panel().title(title).description(description).datasource(CLICKHOUSE)
            .with_target(clickhouse(query)).x_field(x_field).show_value(common_models.VisibilityMode.AUTO)
            .legend(_legend()).span(width).height(height))


def live_panel(title: str, channel: str, description: str, width: int = 24,
               height: int = 8) -> timeseries.Panel:
    """A time series fed by Grafana Live (``dashboards.live.LivePusher`` pushes to ``channel``)."""
    return (timeseries.Panel().title(title).description(description).datasource(GRAFANA)
            .with_target(QueryBuilder(LiveQuery(channel))).unit("short").min(0).fill_opacity(10)
            .legend(_legend()).span(width).height(height))


def brand_link() -> list[DynamicConfigValue]:
    """Field properties that make each value of a brand column a link to that brand's dashboard."""
    return [DynamicConfigValue(id_val="links", value=[{"title": "Open ${__value.raw} in the Brand dashboard",
                                                        "url": BRAND_URL}])]


def decimals(places: int) -> list[DynamicConfigValue]:
    """Field properties: show ``places`` decimals."""
    return [DynamicConfigValue(id_val="decimals", value=places)]


def percent() -> list[DynamicConfigValue]:
    """Field properties for a share between 0 and 1, shown as a percentage."""
    return [DynamicConfigValue(id_val="unit", value="percentunit"), *decimals(1)]


def daily_panel(title: str, query: PanelQuery, description: str, total: str, right: str,
                width: int = 24, height: int = 8) -> timeseries.Panel:
    """Bars per day stacked by label, the ``total`` column as a line over them, the ``right`` column (0-1) on the right axis."""
    line_alone = [DynamicConfigValue(id_val="custom.drawStyle", value="line"),
                  DynamicConfigValue(id_val="custom.stacking", value={"mode": "none", "group": "A"})]
    return (timeseries.Panel().title(title).description(description).datasource(CLICKHOUSE)
            .with_target(clickhouse(query)).unit("short").min(0).draw_style(common_models.GraphDrawStyle.BARS)
            .fill_opacity(70).line_width(1)
            .stacking(common.StackingConfig().mode(common_models.StackingMode.NORMAL))
            .override_by_name(total, line_alone)
            .override_by_name(right, [*line_alone, DynamicConfigValue(id_val="custom.axisPlacement", value="right"),
                                      DynamicConfigValue(id_val="min", value=0), DynamicConfigValue(id_val="max", value=1),
                                      DynamicConfigValue(id_val="unit", value="none")])
            .legend(_legend()).span(width).height(height))
