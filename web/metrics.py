"""The API's /metrics: figures read from the database, the state of record, so that they agree whoever runs the
worker, then the API process's own metrics."""
from __future__ import annotations

from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from streams.indicators.queries import GUARDS, INDICATORS, indicators, parse_window
from streams.indicators.status import totals


class _Snapshot:
    def __init__(self, families: list[Any]):
        self.families = families

    def collect(self):
        return self.families


async def database_families(conn: asyncpg.Connection) -> list[Any]:
    t = await totals(conn)
    fams: list[Any] = []

    def counter(name: str, doc: str, value: float, labels: dict | None = None) -> None:
        f = CounterMetricFamily(name, doc, labels=list(labels or {}))
        f.add_metric(list((labels or {}).values()), value)
        fams.append(f)

    counter("shenpi_events_received", "Case events received (counted, pending, duplicate or dead-lettered)",
            t["received"])
    counter("shenpi_events_counted", "Case events counted in the indicators", t["counted"])
    counter("shenpi_events_duplicate", "Duplicate case events (same event_id)", t["duplicates"])
    pending = GaugeMetricFamily("shenpi_events_pending", "Events waiting for their case's submitted")
    pending.add_metric([], t["pending"])
    fams.append(pending)
    dl = CounterMetricFamily("shenpi_dead_letters", "Dead-lettered inputs by stage", labels=["stage"])
    for stage, n in t["dead_lettered_by_stage"].items():
        dl.add_metric([stage], n)
    dl.add_metric(["list_change"], t["list_changes_dead_lettered"])
    fams.append(dl)
    counter("shenpi_violations", "Case events for items outside the list (清單之外)", t["violations"])
    sync = GaugeMetricFamily("shenpi_list_changes", "List changes by propagation status", labels=["status"])
    for r in await conn.fetch("SELECT status, count(*) AS n FROM list_sync GROUP BY 1"):
        sync.add_metric([r["status"]], r["n"])
    fams.append(sync)
    att = await conn.fetchrow("SELECT coalesce(sum(attempts), 0) AS a,"
                              " coalesce(sum(attempts) FILTER (WHERE status <> 'applied'), 0)"
                              " + coalesce(sum(attempts - 1) FILTER (WHERE status = 'applied'), 0) AS f FROM list_sync")
    counter("shenpi_propagation_calls", "Calls made to the platform for list changes", att["a"])
    counter("shenpi_propagation_failures", "Calls to the platform that failed", att["f"])
    notes = CounterMetricFamily("shenpi_alert_notifications", "Alert notifications by status", labels=["status"])
    for r in await conn.fetch("SELECT status, count(*) AS n FROM alert_notification GROUP BY 1"):
        notes.add_metric([r["status"]], r["n"])
    fams.append(notes)
    firing = GaugeMetricFamily("shenpi_alerts_firing", "Alerts firing, by rule and severity", labels=["rule", "severity"])
    for r in await conn.fetch("SELECT rule, severity, count(*) AS n FROM alert_state"
                              " WHERE status IN ('firing', 'resolving') GROUP BY 1, 2"):
        firing.add_metric([r["rule"], r["severity"]], r["n"])
    fams.append(firing)
    workers = GaugeMetricFamily("shenpi_workers_alive", "Workers that reported in the last 5 seconds")
    workers.add_metric([], sum(1 for w in t["workers"] if w["alive"]))
    fams.append(workers)
    live = GaugeMetricFamily("shenpi_indicator_today", "The 14 indicators for today, in total and by region",
                             labels=["indicator", "region_code"])
    window = parse_window(None, None)
    for group_by in ((), ("region_code",)):
        for row in await indicators(conn, window, group_by):
            for k in INDICATORS + GUARDS:
                if row[k] is not None:
                    live.add_metric([k, row.get("region_code", "all")], float(row[k]))
    fams.append(live)
    return fams


async def exposition(conn: asyncpg.Connection, process_registry: CollectorRegistry) -> bytes:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(_Snapshot(await database_families(conn)))
    return generate_latest(reg) + generate_latest(process_registry)
