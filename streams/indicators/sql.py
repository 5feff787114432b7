"""The SQL of the indicators: every group's additive components for a window, in one statement."""
from __future__ import annotations

from datetime import date
from typing import Mapping, Optional, Sequence

import asyncpg

from core.access import scope_pattern
from streams.cases.logic import DIMS, METRICS
from streams.indicators.definitions import POINT
from streams.indicators.edges import edge_sql, overdue_sql
from streams.indicators.window import GROUP_KEYS, QueryError, Window, check_filters, parse_group_by


def active_items_sql(at: str) -> str:
    """Items in force at the instant `at`, one row per region they are handled in ('' for everywhere)."""
    return ("SELECT DISTINCT v.item_code, v.department_code, v.level, r AS region_code FROM list_items_at("
            f"{at}) v CROSS JOIN LATERAL unnest(CASE WHEN cardinality(v.region_codes) = 0 THEN ARRAY['']::text[]"
            " ELSE v.region_codes END) r WHERE v.active")


def _checked(group_by: Sequence[str], filters: Optional[Mapping[str, str]]) -> tuple[tuple[str, ...], dict]:
    """Column names are formatted into the SQL: only the known keys, whoever the caller is."""
    keys = parse_group_by(list(group_by))
    if len(keys) != len(list(group_by)):
        raise QueryError(f"group_by: {list(group_by)!r} repeats a key or is out of order; use {', '.join(GROUP_KEYS)}")
    return keys, check_filters(filters)


def indicator_sql(group_by: Sequence[str], filters: Optional[Mapping[str, str]] = None, scope: str = "",
                  cut: int = 0) -> str:
    """One statement for every group's components; $1 d0, $2 d1 (dates), $3 t0, $4 t1 (timestamptz), then one
    parameter per filter, in GROUP_KEYS order, then the scope's LIKE pattern when there is a scope; with `cut`
    days cut, then those days (date[]) left out of the daily components, and the start and end of each part of
    them inside the window (timestamptz), counted from their events."""
    group_by, filters = _checked(group_by, filters)
    flt = "".join(f" AND {k} = ${i}" for i, k in enumerate((k for k in GROUP_KEYS if k in filters), start=5))
    item_flt = flt
    if scope:  # the caller's regions; an item in force everywhere ('') is in everybody's
        n = 5 + len(filters)
        flt += f" AND region_code LIKE ${n}"
        item_flt += f" AND (region_code = '' OR region_code LIKE ${n})"
    g = list(group_by) or ["_all"]
    sel = ", ".join(group_by) if group_by else "''::text AS _all"
    grp = ", ".join(group_by) if group_by else "()"
    on = lambda a, b: " AND ".join(f"{a}.{k} = {b}.{k}" for k in g)  # noqa: E731
    sums = ", ".join(f"sum({m})::bigint AS {m}" for m in METRICS)
    comp = f"SELECT * FROM indicator_daily WHERE day >= $1 AND day < $2{flt}"
    if cut:
        n = 5 + len(filters) + bool(scope)
        comp = (f"SELECT {', '.join(DIMS)}, {', '.join(METRICS)} FROM indicator_daily WHERE day >= $1 AND day < $2"
                f" AND day <> ALL(${n}::date[]){flt} UNION ALL SELECT * FROM"
                f" ({edge_sql([(f'${n + 1 + 2 * i}', f'${n + 2 + 2 * i}') for i in range(cut)])})"
                f" edge WHERE TRUE{flt}")
    keys_union = " UNION ".join(f"SELECT {', '.join(g)} FROM {t}" for t in ("daily", "open0", "open1", "items_g"))
    if not group_by:
        keys_union += " UNION SELECT ''::text"
    return f"""
WITH comp AS {'MATERIALIZED' if cut else 'NOT MATERIALIZED'} ({comp}
), daily AS (
    SELECT {sel}, {sums} FROM comp GROUP BY {grp}
), open0 AS (
    SELECT {sel}, count(*) AS open_at_start FROM cases_open_at($3) WHERE TRUE{flt} GROUP BY {grp}
), open1 AS (
    SELECT {sel}, count(*) AS in_progress,
           count(*) FILTER (WHERE {overdue_sql('$4', '$4')}) AS overdue
    FROM cases_open_at($4) WHERE TRUE{flt} GROUP BY {grp}
), items AS (
    SELECT * FROM ({active_items_sql("$4")}) a WHERE TRUE{item_flt}
), items_g AS (
    SELECT {sel}, count(DISTINCT item_code) AS items_active FROM items GROUP BY {grp}
), item_recv AS (
    SELECT {sel}, item_code AS _item, sum(received) AS n FROM comp GROUP BY {grp}, item_code
), zero AS (
    SELECT {', '.join('i.' + k for k in g)}, count(DISTINCT i._item) AS zero_case_items
    FROM (SELECT DISTINCT {sel}, item_code AS _item FROM items) i
    LEFT JOIN item_recv r ON {on('i', 'r')} AND r._item = i._item
    WHERE coalesce(r.n, 0) = 0 GROUP BY {', '.join('i.' + k for k in g)}
), k AS ({keys_union})
SELECT {', '.join('k.' + x for x in g)},
    {', '.join(f'coalesce(d.{m}, 0) AS {m}' for m in METRICS)},
    coalesce(o0.open_at_start, 0) AS open_at_start,
    coalesce(o1.in_progress, 0) AS in_progress,
    coalesce(o1.overdue, 0) AS overdue,
    coalesce(items_g.items_active, 0) AS items_active,
    coalesce(z.zero_case_items, 0) AS zero_case_items
FROM k
LEFT JOIN daily d ON {on('d', 'k')}
LEFT JOIN open0 o0 ON {on('o0', 'k')}
LEFT JOIN open1 o1 ON {on('o1', 'k')}
LEFT JOIN items_g ON {on('items_g', 'k')}
LEFT JOIN zero z ON {on('z', 'k')}
ORDER BY {', '.join('k.' + x for x in g)}
"""


def filter_args(filters: Optional[Mapping[str, str]], scope: str = "") -> list[str]:
    filters = check_filters(filters)
    return [filters[k] for k in GROUP_KEYS if k in filters] + ([scope_pattern(scope)] if scope else [])


async def point_figures(conn: asyncpg.Connection, window: Window, group_by: Sequence[str],
                        filters: Optional[Mapping[str, str]], scope: str = "") -> dict[tuple, dict[str, int]]:
    """Only the figures at t0 and t1, per group (an empty day range leaves the daily part out)."""
    rows = await conn.fetch(indicator_sql(group_by, filters, scope), date(1, 1, 1), date(1, 1, 1), window.t0,
                            window.t1, *filter_args(filters, scope))
    return {tuple(r[k] for k in group_by): {p: r[p] for p in POINT} for r in rows}
