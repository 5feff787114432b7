"""Grafana boards as code (grafana-foundation-sdk 1769699379!11.6.0, for Grafana 11.6): `shenpi dashboards build`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Optional

from grafana_foundation_sdk.builders import bargauge, dashboard, timeseries
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, VariableRefresh

from core.script import to_simplified
from dashboards.demands_board import demands
from dashboards.kit import (DAY_FROM, DAY_START, DAY_TO, FILTERS, PG, SQL, TODAY, new_board, series_panel,
                            stat_panel, table_panel)
from streams.indicators.definitions import BY_KEY, Indicator
from streams.indicators.edges import overdue_sql

HERE = Path(__file__).resolve().parent
OUT = HERE / "json"
PROM = DataSourceRef(type_val="prometheus", uid="shenpi-prom")


def rate_sql(ind: Indicator, where: str = "TRUE", frm: str = DAY_FROM, to: str = DAY_TO,
             points: Optional[dict[str, str]] = None) -> str:
    return f"SELECT {ind.sql(points=points)} AS value FROM indicator_daily WHERE day >= {frm} AND day < {to} AND {where}"


def count_sql(col: str, where: str = "TRUE", frm: str = DAY_FROM, to: str = DAY_TO) -> str:
    return f"SELECT coalesce(sum({col}), 0) AS value FROM indicator_daily WHERE day >= {frm} AND day < {to} AND {where}"


OPEN_NOW = "SELECT count(*) AS value FROM cases_open_at(now())"
OVERDUE_NOW = OPEN_NOW + f" WHERE {overdue_sql('now()', 'now()')}"
ITEMS_NOW = "list_items_at(now()) WHERE active"

# the rates kept as components, as the indicator table defines them
RATES = [BY_KEY[k] for k in ("on_time_rate", "immediate_rate", "online_rate", "rejection_rate", "satisfaction_rate",
                             "one_time_correction_rate")]


NO_DEADLINE = BY_KEY["completed_without_deadline"]
# what a figure leaves out, said on its panel
LEAVES_OUT = {
    "on_time_rate": "不含无时限办结 Completions without a deadline (none on the acceptance, none on the list) are left"
                    " out of the on-time rate on both sides, and counted in 无时限办结.",
    "avg_handling_hours": "只计已受理的办结 Only completions of accepted cases; time suspended is left out.",
}


def label(ind: Indicator) -> str:
    return f"{to_simplified(ind.zh)} {ind.en}"  # the users' script, as the console and the CLI say it


COUNTS = [(k, label(BY_KEY[k])) for k in ("received", "accepted", "completed", "out_of_list")]


def _variables(b: dashboard.Dashboard) -> dashboard.Dashboard:
    for name, label, col in (("region", "区划 Region", "region_code"), ("department", "部门 Department",
                                                                       "department_code"), ("item", "事项 Item",
                                                                                            "item_code")):
        b = b.with_variable(
            dashboard.QueryVariable(name).label(label).datasource(PG)
            .query(f"SELECT DISTINCT {col} FROM indicator_daily ORDER BY 1")
            .multi(True).include_all(True).refresh(VariableRefresh.ON_TIME_RANGE_CHANGED))
    return b


def overview() -> dashboard.Dashboard:
    b = new_board("shenpi-overview", "审批监测总览 Approvals overview", ["overview"])
    b = b.with_row(dashboard.Row("今日 Today"))
    for key, title in COUNTS[:3]:
        b = b.with_panel(stat_panel(f"今日{title}", count_sql(key, frm=TODAY, to=f"{TODAY} + 1")))
    b = b.with_panel(stat_panel("在办件数 In progress", OPEN_NOW))
    b = b.with_panel(stat_panel("超期在办件数 Overdue", OVERDUE_NOW))
    b = b.with_panel(stat_panel("今日清单外 Outside the list today", count_sql("out_of_list", frm=TODAY, to=f"{TODAY} + 1")))
    b = b.with_row(dashboard.Row("所选时段 Selected period"))
    for key, title in COUNTS[:3]:
        b = b.with_panel(stat_panel(title, count_sql(key)))
    b = b.with_panel(stat_panel("在册事项数 Items on the list", f"SELECT count(DISTINCT item_code) AS value FROM {ITEMS_NOW}"))
    b = b.with_panel(stat_panel(label(BY_KEY["avg_handling_hours"]), rate_sql(BY_KEY["avg_handling_hours"]), "h")
                     .description(LEAVES_OUT["avg_handling_hours"]))
    b = b.with_panel(stat_panel(label(BY_KEY["completion_rate"]), rate_sql(BY_KEY["completion_rate"], points={
        "open_at_start": "(SELECT count(*) FROM cases_open_at($__timeFrom()))"}), "percentunit"))
    for ind in RATES:
        b = b.with_panel(stat_panel(label(ind), rate_sql(ind), "percentunit").description(LEAVES_OUT.get(ind.key, "")))
    b = b.with_panel(stat_panel(label(NO_DEADLINE), count_sql("no_deadline")).description(LEAVES_OUT["on_time_rate"]))
    b = b.with_row(dashboard.Row("趋势 Trends"))
    b = b.with_panel(series_panel("每日收件与办结 Daily received and completed",
                             f"SELECT {DAY_START} AS time, sum(received) AS received,"
                             f" sum(completed) AS completed FROM indicator_daily WHERE day >= {DAY_FROM}"
                             f" AND day < {DAY_TO} GROUP BY day ORDER BY day"))
    b = b.with_panel(series_panel("每日按时办结率与好评率 Daily on-time and satisfaction",
                             f"SELECT {DAY_START} AS time,"
                             f" {BY_KEY['on_time_rate'].sql()} AS on_time,"
                             f" {BY_KEY['satisfaction_rate'].sql()} AS satisfaction"
                             f" FROM indicator_daily WHERE day >= {DAY_FROM} AND day < {DAY_TO}"
                             " GROUP BY day ORDER BY day", "percentunit"))
    b = b.with_panel(table_panel("告警 Firing alerts",
                            "SELECT rule, group_key, severity, value, threshold, fired_at FROM alert_state"
                            " WHERE status IN ('firing', 'resolving') ORDER BY severity, fired_at"))
    return b


def comparison() -> dashboard.Dashboard:
    b = new_board("shenpi-comparison", "比较 Comparison: regions, departments, items", ["comparison"])
    for col, title in (("region_code", "区划 Regions"), ("department_code", "部门 Departments"),
                       ("item_code", "事项 Items")):
        b = b.with_panel(table_panel(
            f"{title}: 一目了然 at a glance",
            f"SELECT {col}, sum(received) AS received, sum(completed) AS completed, "
            + ", ".join(f"{BY_KEY[k].sql()} AS {k}" for k in ("on_time_rate", "avg_handling_hours", "online_rate",
                                                              "satisfaction_rate"))
            + ", sum(out_of_list) AS out_of_list"
            f" FROM indicator_daily WHERE day >= {DAY_FROM} AND day < {DAY_TO}"
            f" GROUP BY {col} ORDER BY received DESC LIMIT 200"))
    b = b.with_panel(
        bargauge.Panel().title("办件最多的事项 Items with the most cases").datasource(PG).span(12).height(10)
        .with_target(SQL(f"SELECT item_code AS metric, sum(received) AS value FROM indicator_daily"
                         f" WHERE day >= {DAY_FROM} AND day < {DAY_TO} GROUP BY item_code ORDER BY value DESC"
                         " LIMIT 20")))
    b = b.with_panel(table_panel(
        "可下放或合并的事项 Candidates to devolve or merge (many cases, all handled at one level)",
        "SELECT item_code, level, count(DISTINCT region_code) AS regions, sum(received) AS received"
        f" FROM indicator_daily WHERE day >= {DAY_FROM} AND day < {DAY_TO}"
        " GROUP BY item_code, level HAVING sum(received) > 0 ORDER BY received DESC LIMIT 50", w=12, h=10))
    return b


def drilldown() -> dashboard.Dashboard:
    b = _variables(new_board("shenpi-drilldown", "下钻 Drill-down: a region, department or item", ["drilldown"]))
    for key, title in COUNTS:
        b = b.with_panel(stat_panel(title, count_sql(key, FILTERS), w=6))
    for ind in RATES:
        b = b.with_panel(stat_panel(label(ind), rate_sql(ind, FILTERS), "percentunit")
                         .description(LEAVES_OUT.get(ind.key, "")))
    b = b.with_panel(stat_panel(label(NO_DEADLINE), count_sql("no_deadline", FILTERS))
                     .description(LEAVES_OUT["on_time_rate"]))
    b = b.with_panel(series_panel(
        "每日办件 Daily cases",
        f"SELECT {DAY_START} AS time, sum(received) AS received,"
        f" sum(accepted) AS accepted, sum(completed) AS completed FROM indicator_daily WHERE day >= {DAY_FROM}"
        f" AND day < {DAY_TO} AND {FILTERS} GROUP BY day ORDER BY day", w=24))
    b = b.with_panel(series_panel(
        "每日按时办结率 Daily on-time rate",
        f"SELECT {DAY_START} AS time,"
        f" {BY_KEY['on_time_rate'].sql()} AS on_time_rate FROM indicator_daily"
        f" WHERE day >= {DAY_FROM} AND day < {DAY_TO} AND {FILTERS} GROUP BY day ORDER BY day", "percentunit", 24))
    return b


def powerlist() -> dashboard.Dashboard:
    b = new_board("shenpi-powerlist", "权责清单 Power list: items, changes, propagation, violations", ["powerlist"])
    b = b.with_panel(table_panel("在册事项 Items by category and level",
                            f"SELECT category, level, count(*) AS items FROM {ITEMS_NOW}"
                            " GROUP BY category, level ORDER BY category, level", w=12))
    b = b.with_panel(table_panel("最近的变更 Recent additions, cancellations and devolutions",
                            "SELECT c.effective_at, c.item_code, c.action, s.status, s.latency_ms FROM list_change c"
                            " LEFT JOIN list_sync s USING (change_id) WHERE $__timeFilter(c.effective_at)"
                            " ORDER BY c.effective_at DESC LIMIT 100", w=12))
    b = b.with_panel(stat_panel("待推送 Pending propagation",
                           "SELECT count(*) AS value FROM list_sync WHERE status <> 'applied'"))
    b = b.with_panel(stat_panel("搁置 Parked", "SELECT count(*) AS value FROM list_sync WHERE status = 'parked'"))
    b = b.with_panel(stat_panel("推送延迟 p99 Propagation latency p99",
                           "SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) AS value FROM list_sync"
                           " WHERE $__timeFilter(applied_at)", "ms"))
    b = b.with_panel(series_panel("推送延迟 Propagation latency",
                             "SELECT $__timeGroupAlias(applied_at, '1m'), avg(latency_ms) AS avg_ms,"
                             " max(latency_ms) AS max_ms FROM list_sync WHERE $__timeFilter(applied_at)"
                             " GROUP BY 1 ORDER BY 1", "ms"))
    b = b.with_panel(table_panel("清单之外 Violations of 'no power outside the list'",
                            "SELECT occurred_at, case_id, item_code, region_code, department_code, rule FROM violation"
                            " WHERE $__timeFilter(occurred_at) ORDER BY occurred_at DESC LIMIT 200"))
    return b


def pipeline() -> dashboard.Dashboard:
    b = new_board("shenpi-pipeline", "管道健康 Pipeline health", ["pipeline"]).time("now-1h", "now")

    def q(title: str, expr: str, unit: str = "short", legend: str = "") -> timeseries.Panel:
        return (timeseries.Panel().title(title).datasource(PROM).unit(unit).span(12).height(8).span_nulls(False)
                .with_target(prom.Dataquery().expr(expr).legend_format(legend)))

    b = b.with_panel(q("事件吞吐 Events received / counted per second",
                       "rate(shenpi_events_received_total[1m])", "ops", "received"))
    b = b.with_panel(q("计入 Counted per second", "rate(shenpi_events_counted_total[1m])", "ops", "counted"))
    b = b.with_panel(q("消费延迟 Consumer lag", "sum by (topic) (shenpi_consumer_lag)", "short", "{{topic}}"))
    b = b.with_panel(q("批处理耗时 Batch duration p99",
                       "histogram_quantile(0.99, sum by (le) (rate(shenpi_batch_duration_seconds_bucket[5m])))", "s"))
    b = b.with_panel(q("死信 Dead letters per minute", "sum by (stage) (increase(shenpi_dead_letters_total[1m]))",
                       "short", "{{stage}}"))
    b = b.with_panel(q("通知失败 Notification failures",
                       "sum(shenpi_alert_notifications_total{status=\"failed\"})", "short", "failed"))
    b = b.with_panel(q("推送失败 Propagation failures per minute", "increase(shenpi_propagation_failures_total[1m])"))
    b = b.with_panel(q("资料库重试 Database retries per minute (the stream waiting for PostgreSQL)",
                       "sum by (work) (increase(shenpi_db_retries_total[1m]))", "short", "{{work}}"))
    b = b.with_panel(q("定时任务失败 Failed rounds of periodic tasks per hour (each tried again at its next round)",
                       "sum by (timer) (increase(shenpi_timer_failures_total[1h]))", "short", "{{timer}}"))
    b = b.with_panel(q("在办与超期 In progress and overdue",
                       "shenpi_indicator_today{indicator=~\"in_progress|overdue\", region_code=\"all\"}", "short",
                       "{{indicator}}"))
    return b


def _latest(kind: str) -> str:
    return f"(SELECT result FROM analysis_result WHERE kind = '{kind}' ORDER BY computed_at DESC LIMIT 1)"


def analysis() -> dashboard.Dashboard:
    """Decision support, as last computed (on demand or by the worker's schedule): stored results, read here."""
    b = new_board("shenpi-analysis", "决策支持 Decision support: chains, recommendations, comparison", ["analysis"])
    b = b.with_panel(table_panel(
        "办事链条 Service chains (一件事一次办 candidates)",
        "SELECT array_to_string(ARRAY(SELECT jsonb_array_elements_text(c->'items')), ' → ') AS chain,"
        " (c->>'support')::int AS support, (c->>'median_days')::float8 AS median_days, c->>'bottleneck' AS bottleneck"
        f" FROM {_latest('chains')} r(result), jsonb_array_elements(r.result->'chains') c ORDER BY support DESC",
        w=12, h=10))
    b = b.with_panel(table_panel(
        "链条各步 Chain steps: confidence, lift, waits and handling (days)",
        "SELECT c->'items'->>0 AS chain_starts, ord AS step, s->>'item' AS item,"
        " (s->>'confidence')::float8 AS confidence, (s->>'lift')::float8 AS lift,"
        " (s->>'median_wait_days')::float8 AS median_wait_days,"
        " (s->>'median_handling_days')::float8 AS median_handling_days"
        f" FROM {_latest('chains')} r(result), jsonb_array_elements(r.result->'chains') c,"
        " jsonb_array_elements(c->'steps') WITH ORDINALITY AS x(s, ord) ORDER BY 1, 2", w=12, h=10))
    b = b.with_panel(table_panel(
        "改革建议 Recommendations: cancel 取消, devolve 下放, merge 整合, high volume 办件多",
        "SELECT x->>'kind' AS kind, array_to_string(ARRAY(SELECT jsonb_array_elements_text(x->'item_codes')), ' + ')"
        " AS items, x->>'region_code' AS region_code, (x->'evidence')::text AS evidence"
        f" FROM {_latest('recommendations')} r(result), jsonb_array_elements(r.result->'recommendations') x"
        " ORDER BY 1, 2", h=10))
    b = b.with_panel(table_panel(
        "横向对比 Regions compared (the last comparison asked for): worse than the peer median by > 1.5 IQR",
        "SELECT coalesce(r.result->>'item_code', r.result->>'department_code') AS subject, x->>'region_code' AS region,"
        " (x->>'received')::int AS received, (x->>'on_time_rate')::float8 AS on_time_rate,"
        " (x->>'avg_handling_hours')::float8 AS avg_handling_hours,"
        " (x->>'satisfaction_rate')::float8 AS satisfaction_rate, (x->'worse')::text AS worse"
        f" FROM {_latest('compare')} r(result), jsonb_array_elements(r.result->'rows') x ORDER BY 2", h=8))
    return b


BOARDS: dict[str, Callable[[], dashboard.Dashboard]] = {
    "overview": overview, "comparison": comparison, "drilldown": drilldown, "powerlist": powerlist,
    "pipeline": pipeline, "analysis": analysis, "demands": demands,
}


def render(name: str) -> str:
    return json.dumps(BOARDS[name]().build(), cls=JSONEncoder, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def build_all(out: Path = OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in BOARDS:
        p = out / f"{name}.json"
        p.write_text(render(name), encoding="utf-8")
        paths.append(p)
    return paths


def panels(board: dict) -> list[dict]:
    """Every panel of a rendered board, rows' children included."""
    out = []
    for p in board.get("panels", []):
        out.append(p)
        out.extend(p.get("panels", []))
    return out
