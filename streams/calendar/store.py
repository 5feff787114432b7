"""The working-day calendar in the database (table work_calendar: the days that differ from Monday to Friday)."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Optional

import asyncpg

from core.tz import local_day
from streams.calendar.logic import WorkCalendar


async def load_calendar(conn: asyncpg.Connection) -> WorkCalendar:
    return WorkCalendar({r["day"]: r["workday"] for r in await conn.fetch("SELECT day, workday FROM work_calendar")})


async def calendar_days(conn: asyncpg.Connection, year: Optional[int] = None) -> list[dict[str, Any]]:
    """The days that differ from Monday to Friday, with why."""
    rows = await conn.fetch("SELECT day, workday, note FROM work_calendar"
                            " WHERE $1::int IS NULL OR extract(year FROM day) = $1 ORDER BY day", year)
    return [{"day": str(r["day"]), "workday": r["workday"], "note": r["note"]} for r in rows]


async def loaded_years(conn: asyncpg.Connection) -> set[int]:
    """The years a holiday arrangement has been loaded for (every year's arrangement has its holidays)."""
    return {int(r["y"]) for r in await conn.fetch("SELECT DISTINCT extract(year FROM day) AS y FROM work_calendar")}


def missing_years(loaded: set[int], first: date, last: date) -> list[int]:
    """The years from `first` to `last` whose holidays are not loaded: there Monday to Friday counts, holidays too."""
    return [y for y in range(first.year, last.year + 1) if y not in loaded]


CALENDAR_RULE = "calendar_not_loaded"


async def tell_missing_years(conn: asyncpg.Connection, now: datetime, horizon_days: int) -> list[int]:
    """An alert (for who sees every region) per year from today to `horizon_days` ahead without its arrangement;
    resolved once it is loaded. Returns the missing years."""
    today = local_day(now)
    missing = missing_years(await loaded_years(conn), today, today + timedelta(days=horizon_days))
    keys = [f"year={y}" for y in missing]
    async with conn.transaction():
        fired = await conn.fetch(
            "INSERT INTO alert_state (rule, group_key, status, value, threshold, severity, since, fired_at, updated_at)"
            " SELECT $1, k, 'firing', NULL, 0, 'warning', $3, $3, now() FROM unnest($2::text[]) k"
            " ON CONFLICT (rule, group_key) DO UPDATE SET status = 'firing', fired_at = $3, resolved_at = NULL,"
            " updated_at = now() WHERE alert_state.status <> 'firing' RETURNING group_key", CALENDAR_RULE, keys, now)
        resolved = await conn.fetch(
            "UPDATE alert_state SET status = 'ok', resolved_at = $3, updated_at = now() WHERE rule = $1"
            " AND status = 'firing' AND NOT group_key = ANY($2::text[]) RETURNING group_key", CALENDAR_RULE, keys, now)
        await conn.executemany("INSERT INTO alert_event (rule, group_key, kind, at) VALUES ($1, $2, $3, $4)",
                               [(CALENDAR_RULE, r["group_key"], kind, now)
                                for rows, kind in ((fired, "fired"), (resolved, "resolved")) for r in rows])
    return missing
