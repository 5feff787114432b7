"""The indicators for a window and a grouping: additive components summed in SQL, the figures derived from them
by the one table of definitions; windows that cut days answered exactly from the events in the cut parts."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Mapping, Optional, Sequence

import asyncpg

from core.figures import csv_text
from core.tz import TZ, midnight
from streams.indicators.definitions import GUARDS, INDICATORS, group_row
from streams.indicators.sql import filter_args, indicator_sql
from streams.indicators.window import GROUP_KEYS, QueryError, Window, parse_group_by, parse_window

__all__ = ["GROUP_KEYS", "GUARDS", "INDICATORS", "QueryError", "Window", "indicators", "parse_group_by",
           "parse_window"]


async def _clean_edge(conn: asyncpg.Connection, lo: datetime, hi: datetime) -> bool:
    """No event lies in [lo, hi): a day cut there holds exactly what the whole day holds."""
    return not await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM case_event WHERE occurred_at >= $1 AND occurred_at < $2)", lo, hi)


async def indicators(conn: asyncpg.Connection, window: Window, group_by: Sequence[str] = (),
                     filters: Optional[Mapping[str, str]] = None, scope: str = "") -> list[dict[str, Any]]:
    """One row per group (of those the filters and the caller's region scope keep): its keys, the 14 indicators,
    the guard figures, and the raw components.

    Whole local days come from the daily components. A window that cuts a day where events lie outside it is
    answered exactly: for those days, what the events inside the window contribute, each from its case's state."""
    t0, t1 = window.t0, window.t1
    first, last = t0.astimezone(TZ).date(), t1.astimezone(TZ).date()
    ragged = []
    if t0 != midnight(first) and not await _clean_edge(conn, midnight(first), t0):
        ragged.append((t0, min(t1, midnight(first + timedelta(days=1)))))
    if t1 != midnight(last) and not await _clean_edge(conn, t1, midnight(last + timedelta(days=1))):
        ragged.append((max(t0, midnight(last)), t1))
    ragged = sorted(set(ragged))  # a window inside one day cuts it once
    args = [window.d0, window.d1, t0, t1, *filter_args(filters, scope)]
    if ragged:
        args += [sorted({lo.astimezone(TZ).date() for lo, _ in ragged}), *(t for part in ragged for t in part)]
    rows = await conn.fetch(indicator_sql(group_by, filters, scope, cut=len(ragged)), *args)
    return [group_row({k: r[k] for k in group_by}, r) for r in rows]


def labels() -> dict[str, str]:
    """The indicators' names, as a workbook's headers (simplified: the users' script)."""
    from core.script import to_simplified
    from streams.indicators.definitions import BY_KEY

    return {k: to_simplified(i.zh) for k, i in BY_KEY.items()}


def indicators_csv(rows: Sequence[dict[str, Any]], group_by: Sequence[str]) -> str:
    """The rows of `indicators` as CSV: the group's keys, then every indicator and guard figure."""
    cols = [*group_by, *INDICATORS, *GUARDS]
    return csv_text(cols, ([r[c] for c in cols] for r in rows))
