"""Comparison across regions (橫向對比): every region's indicators for an item or a department, beside the peer
median of each rate, with the regions worse than it by more than 1.5 interquartile ranges flagged."""
from __future__ import annotations

import statistics
from typing import Any, Optional

import asyncpg

from streams.analysis.store import department_known, item_known
from streams.indicators.queries import QueryError, Window, indicators

# the rates compared, and whether a higher value is the worse one
RATES = {"completion_rate": False, "on_time_rate": False, "one_time_correction_rate": False,
         "immediate_rate": False, "online_rate": False, "satisfaction_rate": False,
         "rejection_rate": True, "avg_handling_hours": True}


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def flag(rows: list[dict[str, Any]], min_volume: int) -> dict[str, Any]:
    """Medians and IQRs over the regions with at least min_volume applications; each row gets its `worse` list."""
    eligible = [r for r in rows if r["received"] >= min_volume]
    medians: dict[str, Optional[float]] = {}
    iqrs: dict[str, Optional[float]] = {}
    for key in RATES:
        vals = sorted(r[key] for r in eligible if r[key] is not None)
        if vals:
            q1, q2, q3 = _quartiles(vals)
            medians[key], iqrs[key] = q2, q3 - q1
        else:
            medians[key] = iqrs[key] = None
    for r in rows:
        r["eligible"] = r["received"] >= min_volume
        r["peer_median"] = medians
        r["worse"] = []
        if not r["eligible"]:
            continue
        for key, higher_is_worse in RATES.items():
            v, m, iqr = r[key], medians[key], iqrs[key]
            if v is None or m is None:
                continue
            if (v > m + 1.5 * iqr) if higher_is_worse else (v < m - 1.5 * iqr):
                r["worse"].append(key)
    return {"medians": medians, "iqr": iqrs}


async def compare(conn: asyncpg.Connection, window: Window, item: Optional[str] = None,
                  department: Optional[str] = None, min_volume: int = 20, scope: str = "") -> dict[str, Any]:
    if (item is None) == (department is None):
        raise QueryError("compare: give an item or a department (one of them)")
    if min_volume < 0:
        raise QueryError("min_volume must not be negative")
    if item is not None and not await item_known(conn, item):
        raise QueryError(f"unknown item {item!r}")
    if department is not None and not await department_known(conn, department):
        raise QueryError(f"unknown department {department!r}")
    filters = {"item_code": item} if item is not None else {"department_code": department}
    rows = [r for r in await indicators(conn, window, ("region_code", "level"), filters, scope)
            if r["region_code"] != "" or r["received"]]
    for r in rows:
        r.pop("components", None)
    from streams.demands.queries import figures as demand_figures

    # the demands figures side by side (spec/demands.md §4), by the region where they were raised
    demands = {r["region_code"]: {k: v for k, v in r.items() if k != "region_code"} for r in (await demand_figures(
        conn, window.t0, window.t1, "region", scope, item, department))["rows"]}
    for r in rows:
        r["demands"] = demands.get(r["region_code"])
    summary = flag(rows, min_volume)
    return {"item_code": item, "department_code": department, "from": window.t0.isoformat(),
            "to": window.t1.isoformat(), "parameters": {"min_volume": min_volume}, **summary, "rows": rows}
