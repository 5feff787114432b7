"""The public portal's figures as stored snapshots: for each published department, the last twelve local months,
computed again only when the data changed (new events, late events into a past month, a list change) or a
department was published, a month opened."""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Optional

import asyncpg

from core.tz import TZ, midnight
from streams.indicators.queries import indicators
from streams.indicators.window import Window

KEYS = ("received", "completed", "on_time_rate", "completed_without_deadline", "satisfaction_rate")
MONTHS = 12


def months(now: datetime, n: int = MONTHS) -> list[tuple[date, datetime, datetime]]:
    """The last n local months, newest first: (first day, start, end); the current one ends now."""
    local = now.astimezone(TZ)
    out = []
    y, m = local.year, local.month
    for _ in range(n):
        first = date(y, m, 1)
        nxt = date(y + m // 12, m % 12 + 1, 1)
        out.append((first, midnight(first), min(midnight(nxt), now)))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out


async def data_version(conn: asyncpg.Connection) -> str:
    r = await conn.fetchrow("SELECT (SELECT max(processed_at) FROM processed_batch) AS e,"
                            " (SELECT count(*) FROM processed_batch) AS n, (SELECT max(ingested_at) FROM list_change) AS l,"
                            " (SELECT count(*) FROM public_department) AS d")
    return f"{r['e']}|{r['n']}|{r['l']}|{r['d']}"


async def refresh(conn: asyncpg.Connection, now: Optional[datetime] = None) -> int:
    """Recompute what is out of date; returns how many snapshots were written (0 when nothing changed)."""
    now = now or datetime.now(TZ)
    version = await data_version(conn)
    depts = [r[0] for r in await conn.fetch("SELECT department_code FROM public_department ORDER BY 1")]
    wanted = months(now)
    have = {(r["department_code"], r["month"]) for r in await conn.fetch(
        "SELECT department_code, month FROM public_snapshot WHERE data_version = $1", version)}
    stale = [(first, t0, t1) for first, t0, t1 in wanted if any((d, first) not in have for d in depts)]
    written = 0
    for first, t0, t1 in stale:
        if t1 <= t0:
            continue
        rows = {r["department_code"]: r for r in await indicators(conn, Window(t0, t1), ("department_code",))}
        for d in depts:
            r = rows.get(d) or {}
            figures = {k: r.get(k, 0 if k in ("received", "completed", "completed_without_deadline") else None)
                       for k in KEYS}
            await conn.execute(
                "INSERT INTO public_snapshot (department_code, month, figures, data_version) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (department_code, month) DO UPDATE SET figures = excluded.figures,"
                " data_version = excluded.data_version, computed_at = now()", d, first, json.dumps(figures), version)
            written += 1
    await conn.execute("DELETE FROM public_snapshot WHERE month < $1 OR department_code NOT IN"
                       " (SELECT department_code FROM public_department)", wanted[-1][0])
    return written


async def published(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """What the portal shows: stored, newest month first."""
    return [{"month": r["month"].strftime("%Y-%m"), "department_code": r["department_code"],
             **json.loads(r["figures"]), "computed_at": r["computed_at"].astimezone(TZ).strftime("%Y-%m-%d %H:%M")}
            for r in await conn.fetch("SELECT department_code, month, figures::text AS figures, computed_at"
                                      " FROM public_snapshot ORDER BY month DESC, department_code")]
