"""The demands board (诉求): figures of docs/demands.md for the Grafana time range as whole local days, from the rollup."""
from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge, dashboard
from grafana_foundation_sdk.models.dashboard import VariableRefresh

from dashboards.kit import (DAY_FROM, DAY_START, DAY_TO, FILTERS, PG, SQL, TZ, new_board, series_panel, stat_panel,
                            table_panel)

MONTH = "date_trunc('month', day::timestamp)"
# the range's whole local months from the rollup's monthly rows, its other days from the daily ones
WHOLE = (f"((span = 'day' AND day >= {DAY_FROM} AND day < {DAY_TO} AND NOT ({MONTH}::date >= {DAY_FROM}"
         f" AND ({MONTH} + interval '1 month')::date <= {DAY_TO}))"
         f" OR (span = 'month' AND day >= {DAY_FROM} AND (day + interval '1 month')::date <= {DAY_TO}))")
# topic '' holds each demand once; no item or department is '' (offered by the variables as （无 none）)
ROLLED = f"demand_rollup WHERE {WHOLE} AND {FILTERS} AND topic = ''"
RESOLVED = "sum(resolved)::float8 / NULLIF(sum(handled), 0)"
SATISFIED = "sum(satisfied)::float8 / NULLIF(sum(rated), 0)"
HOURS = "sum(handled_us)::float8 / NULLIF(sum(timed), 0) / 3.6e9"
UNLINKED = "item_code = '' AND department_code = ''"  # link_how IS NULL: a given department is a link
LOCAL_FROM, LOCAL_TO = (f"(({d})::timestamp AT TIME ZONE '{TZ}')" for d in (DAY_FROM, DAY_TO))

# what a figure leaves out, said on its panel
LEAVES_OUT = {
    "days": "所选时段所含的整个本地日（北京时间 0 点起） The whole local days the time range touches.",
    "resolved_rate": "已解决 / 已办理：未办理（无办理结果、无办理时间）的诉求不计入 Demands not yet handled are left out.",
    "satisfaction_rate": "（满意 + 基本满意）/ 已评价：未评价的诉求不计入 Demands without a rating are left out.",
    "handling_hours": "只计有办理时间的诉求 Only demands with a handled_at: received → handled.",
    "unlinked": "只按区划筛选：未关联的诉求既无事项也无部门 Filtered by region only: an unlinked demand has neither an"
                " item nor a department. 关联：`shenpi demands link ID --item I` 或控制台诉求页。",
    "topics": "一条诉求的每个主题各计一次 A demand counts once under each of its topics.",
    "per_10k": "每万件投诉 = 投诉 / 同期同范围事项收件量 × 10000；该事项无收件时为空 complaints_per_10k_cases is null when"
               " the item received no cases in those days and scope. 未关联事项的诉求不在此表 Demands linked to no item"
               " are not listed.",
}


def variables(b: dashboard.Dashboard) -> dashboard.Dashboard:
    """Region, department and item, as the drill-down's, and also those only demands have in the range's months
    (none: ''), so that 'All' leaves no demand out."""
    for name, label, col in (("region", "区划 Region", "region_code"), ("department", "部门 Department",
                                                                       "department_code"),
                             ("item", "事项 Item", "item_code")):
        b = b.with_variable(
            dashboard.QueryVariable(name).label(label).datasource(PG)
            .query(f"SELECT v AS __value, CASE v WHEN '' THEN '（无 none）' ELSE v END AS __text FROM"
                   f" (SELECT DISTINCT {col} AS v FROM indicator_daily UNION SELECT DISTINCT {col} FROM demand_rollup"
                   f" WHERE span = 'month' AND day >= date_trunc('month', {DAY_FROM}::timestamp)::date"
                   f" AND day < {DAY_TO}) x ORDER BY 1")
            .multi(True).include_all(True).refresh(VariableRefresh.ON_TIME_RANGE_CHANGED))
    return b


def _stats(b: dashboard.Dashboard) -> dashboard.Dashboard:
    for title, expr, unit, why in (
            ("诉求量 Demands", "coalesce(sum(demands), 0)", "short", "days"),
            ("投诉量 Complaints", "coalesce(sum(complaints), 0)", "short", "days"),
            ("解决率 Resolved rate", RESOLVED, "percentunit", "resolved_rate"),
            ("满意率 Satisfaction rate", SATISFIED, "percentunit", "satisfaction_rate"),
            ("平均办理时长 Average handling hours", HOURS, "h", "handling_hours")):
        b = b.with_panel(stat_panel(title, f"SELECT {expr} AS value FROM {ROLLED}", unit).description(
            LEAVES_OUT[why]))
    return b.with_panel(stat_panel(
        "未关联诉求 Unlinked demands",
        f"SELECT coalesce(sum(demands), 0) AS value FROM demand_rollup WHERE {WHOLE} AND region_code IN ($region)"
        f" AND {UNLINKED} AND topic = ''").description(LEAVES_OUT["unlinked"]))


def demands() -> dashboard.Dashboard:
    b = _stats(variables(new_board("shenpi-demands", "诉求 Demands: complaints, topics, channels, items",
                                   ["demands"])))
    b = b.with_panel(series_panel(
        "每日诉求（按主题） Demands per day by topic",
        f"SELECT {DAY_START} AS time, topic AS metric, sum(demands) AS value FROM demand_rollup WHERE span = 'day'"
        f" AND day >= {DAY_FROM} AND day < {DAY_TO} AND {FILTERS} AND topic <> '' GROUP BY day, topic"
        " ORDER BY day, topic", w=16).description(LEAVES_OUT["topics"]))
    b = b.with_panel(
        bargauge.Panel().title("渠道 Demands by channel").datasource(PG).span(8).height(8)
        .with_target(SQL(f"SELECT channel AS metric, sum(demands) AS value FROM {ROLLED}"
                         " GROUP BY channel ORDER BY value DESC, channel")))
    b = b.with_panel(table_panel(
        "投诉最多的事项 Items by complaints, per 10,000 received cases",
        f"WITH d AS (SELECT item_code, sum(demands) AS demands, sum(complaints) AS complaints,"
        f" {RESOLVED} AS resolved_rate, {SATISFIED} AS satisfaction_rate FROM {ROLLED} AND item_code <> ''"
        f" GROUP BY item_code), c AS (SELECT item_code, sum(received)::float8 AS received FROM indicator_daily"
        f" WHERE day >= {DAY_FROM} AND day < {DAY_TO} AND {FILTERS} GROUP BY item_code)"
        " SELECT d.item_code, (SELECT v.name FROM list_item_version v WHERE v.item_code = d.item_code"
        " ORDER BY v.valid_from DESC LIMIT 1) AS name, d.demands, d.complaints, c.received AS received_cases,"
        " d.complaints / NULLIF(c.received, 0) * 10000 AS complaints_per_10k_cases, d.resolved_rate,"
        " d.satisfaction_rate FROM d LEFT JOIN c USING (item_code)"
        " ORDER BY d.complaints DESC, d.demands DESC, d.item_code LIMIT 100", h=10).decimals(2)
        .description(LEAVES_OUT["per_10k"]))
    b = b.with_panel(table_panel(
        "待关联的诉求 Latest unlinked demands, to link to an item",
        "SELECT received_at, region_code, channel, kind, text, demand_id FROM demand WHERE link_how IS NULL"
        f" AND received_at >= {LOCAL_FROM} AND received_at < {LOCAL_TO} AND region_code IN ($region)"
        " ORDER BY received_at DESC, demand_id LIMIT 100", h=10).description(
            "文本为入库时的脱敏文本，时间为北京时间 Text masked as stored; received in local time. "
            + LEAVES_OUT["unlinked"]))
    return b
