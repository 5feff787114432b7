"""The working-day calendar in the database (table work_calendar: the days that differ from Monday to Friday)."""
from __future__ import annotations

from typing import Any, Optional

import asyncpg

from streams.calendar.logic import WorkCalendar


async def load_calendar(conn: asyncpg.Connection) -> WorkCalendar:
    return WorkCalendar({r["day"]: r["workday"] for r in await conn.fetch("SELECT day, workday FROM work_calendar")})


async def calendar_days(conn: asyncpg.Connection, year: Optional[int] = None) -> list[dict[str, Any]]:
    """The days that differ from Monday to Friday, with why."""
    rows = await conn.fetch("SELECT day, workday, note FROM work_calendar"
                            " WHERE $1::int IS NULL OR extract(year FROM day) = $1 ORDER BY day", year)
    return [{"day": str(r["day"]), "workday": r["workday"], "note": r["note"]} for r in rows]
