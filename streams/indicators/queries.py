"""The 14 indicators for a window and a grouping, derived in SQL from additive components."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Optional, Sequence

import asyncpg

from streams.cases.logic import METRICS, TZ

GROUP_KEYS = ("region_code", "department_code", "item_code", "level")
INDICATORS = (
    "items_active", "received", "accepted", "completed", "completion_rate", "in_progress", "overdue",
    "on_time_rate", "one_time_correction_rate", "immediate_rate", "avg_handling_hours", "online_rate",
    "rejection_rate", "satisfaction_rate",
)
GUARDS = ("out_of_list", "zero_case_items")


class QueryError(ValueError):
    """A query the caller got wrong: the message says how."""


@dataclass(frozen=True)
class Window:
    """[t0, t1): day-granular components over local days [d0, d1), point-in-time figures at t0 and t1."""

    t0: datetime
    t1: datetime

    @property
    def d0(self) -> date:
        return self.t0.astimezone(TZ).date()

    @property
    def d1(self) -> date:
        local = self.t1.astimezone(TZ)
        return local.date() if local.timetz().replace(tzinfo=None) == time(0) else local.date() + timedelta(days=1)


def _instant(value: str, name: str) -> datetime:
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(0), TZ)
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(f"{name}: {value!r} is neither a date (YYYY-MM-DD) nor an ISO 8601 time") from None
    return ts if ts.tzinfo else ts.replace(tzinfo=TZ)


def parse_window(start: Optional[str], end: Optional[str], now: Optional[datetime] = None) -> Window:
    """Dates are local (Asia/Shanghai) midnights; defaults: from today's midnight to now."""
    now = now or datetime.now(TZ)
    t0 = _instant(start, "from") if start else datetime.combine(now.astimezone(TZ).date(), time(0), TZ)
    t1 = _instant(end, "to") if end else now
    if t1 <= t0:
        raise QueryError(f"empty window: to ({t1.isoformat()}) must be after from ({t0.isoformat()})")
    return Window(t0, t1)


def parse_group_by(spec: Optional[str | Sequence[str]]) -> tuple[str, ...]:
    parts = [p.strip() for p in (spec.split(",") if isinstance(spec, str) else (spec or ())) if p.strip()]
    bad = [p for p in parts if p not in GROUP_KEYS]
    if bad:
        raise QueryError(f"group_by: unknown key(s) {', '.join(bad)}; use any of {', '.join(GROUP_KEYS)}")
    return tuple(k for k in GROUP_KEYS if k in parts)


def active_items_sql(at: str) -> str:
    """Items in force at the instant `at`, one row per region they are handled in ('' for everywhere)."""
    return ("SELECT DISTINCT v.item_code, v.department_code, v.level, r AS region_code FROM list_item_version v"
            " CROSS JOIN LATERAL unnest(CASE WHEN cardinality(v.region_codes) = 0 THEN ARRAY['']::text[]"
            f" ELSE v.region_codes END) r WHERE v.active AND v.valid_from <= {at}"
            f" AND (v.valid_to IS NULL OR v.valid_to > {at})")


def indicator_sql(group_by: Sequence[str]) -> str:
    """One statement; $1 d0, $2 d1 (dates), $3 t0, $4 t1 (timestamptz)."""
    g = list(group_by) or ["_all"]
    sel = ", ".join(group_by) if group_by else "''::text AS _all"
    grp = ", ".join(group_by) if group_by else "()"
    on = lambda a, b: " AND ".join(f"{a}.{k} = {b}.{k}" for k in g)  # noqa: E731
    sums = ", ".join(f"sum({m})::bigint AS {m}" for m in METRICS)
    keys_union = " UNION ".join(f"SELECT {', '.join(g)} FROM {t}" for t in ("daily", "open0", "open1", "items_g"))
    if not group_by:
        keys_union += " UNION SELECT ''::text"
    return f"""
WITH daily AS (
    SELECT {sel}, {sums} FROM indicator_daily WHERE day >= $1 AND day < $2 GROUP BY {grp}
), open0 AS (
    SELECT {sel}, count(*) AS open_t0 FROM case_state
    WHERE submitted_at IS NOT NULL AND accepted_at < $3 AND (ended_at IS NULL OR ended_at >= $3) GROUP BY {grp}
), open1 AS (
    SELECT {sel}, count(*) AS in_progress,
           count(*) FILTER (WHERE deadline < $4 AND (isempty(suspensions) OR deadline + (
               SELECT coalesce(sum(upper(r) - lower(r)), interval '0')
               FROM unnest(suspensions * tstzmultirange(tstzrange(accepted_at, $4, '[]'))) r) < $4)) AS overdue
    FROM case_state
    WHERE submitted_at IS NOT NULL AND accepted_at < $4 AND (ended_at IS NULL OR ended_at >= $4) GROUP BY {grp}
), items AS ({active_items_sql("$4")}
), items_g AS (
    SELECT {sel}, count(DISTINCT item_code) AS items_active FROM items GROUP BY {grp}
), item_recv AS (
    SELECT {sel}, item_code AS _item, sum(received) AS n FROM indicator_daily
    WHERE day >= $1 AND day < $2 GROUP BY {grp}, item_code
), zero AS (
    SELECT {', '.join('i.' + k for k in g)}, count(DISTINCT i._item) AS zero_case_items
    FROM (SELECT DISTINCT {sel}, item_code AS _item FROM items) i
    LEFT JOIN item_recv r ON {on('i', 'r')} AND r._item = i._item
    WHERE coalesce(r.n, 0) = 0 GROUP BY {', '.join('i.' + k for k in g)}
), k AS ({keys_union})
SELECT {', '.join('k.' + x for x in g)},
    coalesce(items_g.items_active, 0) AS items_active,
    coalesce(d.received, 0) AS received,
    coalesce(d.accepted, 0) AS accepted,
    coalesce(d.completed, 0) AS completed,
    coalesce(d.completed, 0)::float8 / nullif(coalesce(o0.open_t0, 0) + coalesce(d.accepted, 0), 0)
        AS completion_rate,
    coalesce(o1.in_progress, 0) AS in_progress,
    coalesce(o1.overdue, 0) AS overdue,
    d.on_time::float8 / nullif(d.completed, 0) AS on_time_rate,
    d.corr_once::float8 / nullif(d.corr_cases, 0) AS one_time_correction_rate,
    d.immediate::float8 / nullif(d.completed, 0) AS immediate_rate,
    d.handling_us::float8 / nullif(d.handled, 0) / 3600000000.0 AS avg_handling_hours,
    d.online::float8 / nullif(d.received, 0) AS online_rate,
    d.rejected::float8 / nullif(d.accepted + d.rejected, 0) AS rejection_rate,
    d.satisfied::float8 / nullif(d.evaluated, 0) AS satisfaction_rate,
    coalesce(d.out_of_list, 0) AS out_of_list,
    coalesce(z.zero_case_items, 0) AS zero_case_items,
    coalesce(o0.open_t0, 0) AS open_at_start,
    {', '.join(f'coalesce(d.{m}, 0) AS "c_{m}"' for m in METRICS)}
FROM k
LEFT JOIN daily d ON {on('d', 'k')}
LEFT JOIN open0 o0 ON {on('o0', 'k')}
LEFT JOIN open1 o1 ON {on('o1', 'k')}
LEFT JOIN items_g ON {on('items_g', 'k')}
LEFT JOIN zero z ON {on('z', 'k')}
ORDER BY {', '.join('k.' + x for x in g)}
"""


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), TZ)


async def _clean_edge(conn: asyncpg.Connection, lo: datetime, hi: datetime) -> bool:
    """No event lies in [lo, hi): a day cut there holds exactly what the whole day holds."""
    return not await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM case_event WHERE occurred_at >= $1 AND occurred_at < $2)", lo, hi)


async def indicators(conn: asyncpg.Connection, window: Window, group_by: Sequence[str] = ()) -> list[dict[str, Any]]:
    """One row per group: its keys, the 14 indicators, the two guard figures, and the raw components.

    Whole local days come from the daily components. A window that cuts a day where events lie outside it is
    answered exactly: those edge days are recomputed from their cases' raw events."""
    t0, t1 = window.t0, window.t1
    first, last = t0.astimezone(TZ).date(), t1.astimezone(TZ).date()
    ragged = []
    if t0 != _midnight(first) and not await _clean_edge(conn, _midnight(first), t0):
        ragged.append((t0, min(t1, _midnight(first + timedelta(days=1)))))
    if t1 != _midnight(last) and not await _clean_edge(conn, t1, _midnight(last + timedelta(days=1))):
        ragged.append((max(t0, _midnight(last)), t1))
    if not ragged:
        rows = await conn.fetch(indicator_sql(group_by), window.d0, window.d1, t0, t1)
        return [_row(r, group_by) for r in rows]
    return await _exact(conn, window, group_by, ragged)


def _row(r: Any, group_by: Sequence[str]) -> dict[str, Any]:
    row = {k: r[k] for k in group_by}
    row.update({k: r[k] for k in INDICATORS + GUARDS})
    row["components"] = {"open_at_start": r["open_at_start"], **{m: r[f"c_{m}"] for m in METRICS}}
    return row


def _ratio(n: float, d: float) -> Optional[float]:
    return None if d == 0 else float(n) / d


async def _exact(conn: asyncpg.Connection, window: Window, group_by: Sequence[str],
                 ragged: list[tuple[datetime, datetime]]) -> list[dict[str, Any]]:
    from streams.cases.logic import evaluate_case
    from streams.cases.store import load_calendar, load_events, power_list_for

    # whole days strictly inside the window, from the daily components at the finest grain
    cut = {d for lo, _ in ragged for d in [lo.astimezone(TZ).date()]}
    days = [d for d in _days(window.d0, window.d1) if d not in cut]
    fine: dict[tuple, list[int]] = {}
    if days:
        for r in await conn.fetch(
                f"SELECT region_code, department_code, item_code, level, {', '.join(f'sum({m})::bigint AS {m}' for m in METRICS)}"
                " FROM indicator_daily WHERE day = ANY($1::date[]) GROUP BY 1, 2, 3, 4", days):
            fine[tuple(r[k] for k in GROUP_KEYS)] = [r[m] for m in METRICS]
    # the edge days, exactly, from the raw events of the cases that have events in them
    cases = set()
    for lo, hi in ragged:
        cases |= {r[0] for r in await conn.fetch(
            "SELECT DISTINCT case_id FROM case_event WHERE occurred_at >= $1 AND occurred_at < $2", lo, hi)}
    if cases:
        events = await load_events(conn, list(cases))
        plist = await power_list_for(conn, events)
        calendar = await load_calendar(conn)
        inside = lambda ts: True if any(lo <= ts < hi for lo, hi in ragged) else None  # noqa: E731
        for evs in events.values():
            res = evaluate_case(evs, plist.guard, plist.committed_days, inside, calendar=calendar)
            if res is None or True not in res.contrib:
                continue
            acc = fine.setdefault(res.dims, [0] * len(METRICS))
            for i, v in enumerate(res.contrib[True]):
                acc[i] += v
    # point-in-time figures at t0 and t1 from SQL (an empty day range leaves the daily part out)
    point = {tuple(r[k] for k in group_by): r for r in await conn.fetch(
        indicator_sql(group_by), date(1, 1, 1), date(1, 1, 1), window.t0, window.t1)}
    active = await conn.fetch(active_items_sql("$1"), window.t1)
    comp: dict[tuple, list[int]] = {}
    received_by_item: dict[tuple, int] = {}
    for dims, vals in fine.items():
        d = dict(zip(GROUP_KEYS, dims))
        key = tuple(d[k] for k in group_by)
        acc = comp.setdefault(key, [0] * len(METRICS))
        for i, v in enumerate(vals):
            acc[i] += v
        received_by_item[key + (d["item_code"],)] = received_by_item.get(key + (d["item_code"],), 0) + vals[0]
    items_of: dict[tuple, set] = {}
    for r in active:
        items_of.setdefault(tuple(r[k] for k in group_by), set()).add(r["item_code"])
    out = []
    for key in sorted(set(comp) | set(point) | ({()} if not group_by else set())):
        c = dict(zip(METRICS, comp.get(key, [0] * len(METRICS))))
        p = point.get(key)
        open0 = p["open_at_start"] if p else 0
        row = dict(zip(group_by, key))
        row.update(
            items_active=len(items_of.get(key, ())), received=c["received"], accepted=c["accepted"],
            completed=c["completed"], completion_rate=_ratio(c["completed"], open0 + c["accepted"]),
            in_progress=p["in_progress"] if p else 0, overdue=p["overdue"] if p else 0,
            on_time_rate=_ratio(c["on_time"], c["completed"]),
            one_time_correction_rate=_ratio(c["corr_once"], c["corr_cases"]),
            immediate_rate=_ratio(c["immediate"], c["completed"]),
            avg_handling_hours=None if c["handled"] == 0 else float(c["handling_us"]) / c["handled"] / 3600000000.0,
            online_rate=_ratio(c["online"], c["received"]),
            rejection_rate=_ratio(c["rejected"], c["accepted"] + c["rejected"]),
            satisfaction_rate=_ratio(c["satisfied"], c["evaluated"]), out_of_list=c["out_of_list"],
            zero_case_items=sum(1 for i in items_of.get(key, ()) if not received_by_item.get(key + (i,), 0)),
            components={"open_at_start": open0, **c})
        out.append(row)
    return out


def _days(d0: date, d1: date) -> list[date]:
    return [d0 + timedelta(days=i) for i in range((d1 - d0).days)]
