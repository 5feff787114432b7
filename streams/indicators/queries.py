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
), items AS (
    SELECT DISTINCT v.item_code, v.department_code, v.level, r AS region_code
    FROM list_item_version v CROSS JOIN LATERAL unnest(CASE WHEN cardinality(v.region_codes) = 0
                                                        THEN ARRAY['']::text[] ELSE v.region_codes END) r
    WHERE v.active AND v.valid_from <= $4 AND (v.valid_to IS NULL OR v.valid_to > $4)
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


async def indicators(conn: asyncpg.Connection, window: Window, group_by: Sequence[str] = ()) -> list[dict[str, Any]]:
    """One row per group: its keys, the 14 indicators, the two guard figures, and the raw components."""
    rows = await conn.fetch(indicator_sql(group_by), window.d0, window.d1, window.t0, window.t1)
    out = []
    for r in rows:
        row = {k: r[k] for k in group_by}
        row.update({k: r[k] for k in INDICATORS + GUARDS})
        row["components"] = {"open_at_start": r["open_at_start"], **{m: r[f"c_{m}"] for m in METRICS}}
        out.append(row)
    return out
