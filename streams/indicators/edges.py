"""Windows that cut a local day: the whole days from the daily components, the cut days recomputed exactly from
the raw events of the cases that have events in them."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping, Optional, Sequence

import asyncpg

from core.access import within
from core.tz import TZ
from streams.calendar.store import load_calendar
from streams.cases.logic import METRICS, evaluate_case
from streams.cases.recompute import load_events, power_list_for
from streams.indicators.definitions import group_row
from streams.indicators.sql import active_items_sql, point_figures
from streams.indicators.window import GROUP_KEYS, Window, check_filters


async def _edge_components(conn: asyncpg.Connection, ragged: list[tuple[datetime, datetime]]) -> dict[tuple, list[int]]:
    """Per case group (DIMS), what the events inside the cut parts contribute."""
    out: dict[tuple, list[int]] = {}
    cases: set[str] = set()
    for lo, hi in ragged:
        cases |= {r[0] for r in await conn.fetch(
            "SELECT DISTINCT case_id FROM case_event WHERE occurred_at >= $1 AND occurred_at < $2", lo, hi)}
    if not cases:
        return out
    events = await load_events(conn, list(cases))
    plist = await power_list_for(conn, events)
    calendar = await load_calendar(conn)
    inside = lambda ts: True if any(lo <= ts < hi for lo, hi in ragged) else None  # noqa: E731
    for evs in events.values():
        res = evaluate_case(evs, plist.guard, plist.deadline_days, inside, calendar=calendar)
        if res is None or True not in res.contrib:
            continue
        acc = out.setdefault(res.dims, [0] * len(METRICS))
        for i, v in enumerate(res.contrib[True]):
            acc[i] += v
    return out


async def exact(conn: asyncpg.Connection, window: Window, group_by: Sequence[str],
                ragged: list[tuple[datetime, datetime]], filters: Optional[Mapping[str, str]] = None,
                scope: str = "") -> list[dict[str, Any]]:
    filters = check_filters(filters)
    cut = sorted({lo.astimezone(TZ).date() for lo, _ in ragged})
    fine: dict[tuple, list[int]] = {}  # at the finest grain: DIMS
    # the whole days: the range less the (at most two) cut days, so the cost follows the data, not the window
    for r in await conn.fetch(
            f"SELECT {', '.join(GROUP_KEYS)}, {', '.join(f'sum({m})::bigint AS {m}' for m in METRICS)}"
            " FROM indicator_daily WHERE day >= $1 AND day < $2 AND day <> ALL($3::date[])"
            f" GROUP BY {', '.join(GROUP_KEYS)}", window.d0, window.d1, cut):
        fine[tuple(r[k] for k in GROUP_KEYS)] = [r[m] for m in METRICS]
    for dims, vals in (await _edge_components(conn, ragged)).items():
        acc = fine.setdefault(dims, [0] * len(METRICS))
        for i, v in enumerate(vals):
            acc[i] += v
    kept = lambda d: all(d[k] == v for k, v in filters.items()) and within(scope, d["region_code"])  # noqa: E731
    point = await point_figures(conn, window, group_by, filters, scope)
    comp: dict[tuple, list[int]] = {}
    received_by_item: dict[tuple, int] = {}
    for dims, vals in fine.items():
        d = dict(zip(GROUP_KEYS, dims))
        if not kept(d):
            continue
        key = tuple(d[k] for k in group_by)
        acc = comp.setdefault(key, [0] * len(METRICS))
        for i, v in enumerate(vals):
            acc[i] += v
        received_by_item[key + (d["item_code"],)] = received_by_item.get(key + (d["item_code"],), 0) + vals[0]
    items_of: dict[tuple, set] = {}
    for r in await conn.fetch(active_items_sql("$1"), window.t1):
        if all(r[k] == v for k, v in filters.items()) and (r["region_code"] == "" or within(scope, r["region_code"])):
            items_of.setdefault(tuple(r[k] for k in group_by), set()).add(r["item_code"])
    out = []
    for key in sorted(set(comp) | set(point) | ({()} if not group_by else set())):
        c: dict[str, int] = dict(zip(METRICS, comp.get(key, [0] * len(METRICS))))
        p = point.get(key, {})
        c.update(open_at_start=p.get("open_at_start", 0), in_progress=p.get("in_progress", 0),
                 overdue=p.get("overdue", 0), items_active=len(items_of.get(key, ())),
                 zero_case_items=sum(1 for i in items_of.get(key, ()) if not received_by_item.get(key + (i,), 0)))
        out.append(group_row(dict(zip(group_by, key)), c))
    return out

