"""What every board is built of: the PostgreSQL data source, local days from Grafana's time range, panels, a board."""
from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import dashboard, stat, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from core.tz import TZ as ZONE

PG = DataSourceRef(type_val="grafana-postgresql-datasource", uid="shenpi-pg")
TZ = ZONE.key
# the local day in which a Grafana time macro falls
DAY_FROM = f"(($__timeFrom())::timestamptz AT TIME ZONE '{TZ}')::date"
DAY_TO = f"(($__timeTo())::timestamptz AT TIME ZONE '{TZ}')::date + 1"
TODAY = f"(now() AT TIME ZONE '{TZ}')::date"
DAY_START = f"(day::timestamp AT TIME ZONE '{TZ}')"  # a daily row's instant, for a time series
FILTERS = ("region_code IN ($region) AND department_code IN ($department) AND item_code IN ($item)")


class SQLQuery(cogvariants.Dataquery):
    """A raw SQL target of Grafana's PostgreSQL data source (the SDK has no builder for it)."""

    def __init__(self, ref_id: str, sql: str, fmt: str):
        self.ref_id, self.sql, self.fmt = ref_id, sql, fmt

    def to_json(self) -> dict[str, Any]:
        return {"refId": self.ref_id, "datasource": PG.to_json(), "editorMode": "code", "format": self.fmt,
                "rawQuery": True, "rawSql": self.sql}


class SQL(cogbuilder.Builder[SQLQuery]):
    def __init__(self, sql: str, fmt: str = "table", ref_id: str = "A"):
        self.query = SQLQuery(ref_id, " ".join(sql.split()), fmt)

    def build(self) -> SQLQuery:
        return self.query


def stat_panel(title: str, sql: str, unit: str = "short", w: int = 4) -> stat.Panel:
    return stat.Panel().title(title).datasource(PG).with_target(SQL(sql)).unit(unit).span(w).height(4)


def series_panel(title: str, sql: str, unit: str = "short", w: int = 12) -> timeseries.Panel:
    # gaps stay gaps: no line is drawn across days without data
    return (timeseries.Panel().title(title).datasource(PG).with_target(SQL(sql, "time_series")).unit(unit)
            .span(w).height(8).span_nulls(False))


def table_panel(title: str, sql: str, w: int = 24, h: int = 9) -> table.Panel:
    return table.Panel().title(title).datasource(PG).with_target(SQL(sql)).span(w).height(h)


def new_board(uid: str, title: str, tags: list[str]) -> dashboard.Dashboard:
    return (dashboard.Dashboard(title).uid(uid).tags(["shenpi", *tags]).timezone(TZ).refresh("30s")
            .time("now/M", "now").editable())
