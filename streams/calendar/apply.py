"""Loading a calendar: the days set, and the cases whose deadline counted a changed day re-evaluated."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Optional

import asyncpg

from core import locks
from core.tz import midnight
from streams.calendar.store import load_calendar
from streams.cases.recompute import recompute_cases


async def set_calendar(conn: asyncpg.Connection, days: dict[date, tuple[bool, Optional[str]]]) -> int:
    """Set days of the working-day calendar (workday or not, and why), and re-evaluate the cases whose
    committed-days deadline counted a day that changed; returns how many were."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", locks.LIST)
        old = await load_calendar(conn)
        await conn.execute(
            "INSERT INTO work_calendar (day, workday, note) SELECT * FROM unnest($1::date[], $2::bool[], $3::text[])"
            " ON CONFLICT (day) DO UPDATE SET workday = excluded.workday, note = excluded.note",
            list(days), [w for w, _ in days.values()], [n for _, n in days.values()])
        changed = sorted(d for d, (w, _) in days.items() if old.is_workday(d) != w)
        if not changed:
            return 0
        # a deadline lies after every working day counted for it: only cases accepted before the last changed
        # day and due after the first can have counted one
        cases = [r["case_id"] for r in await conn.fetch(
            "SELECT case_id FROM case_state WHERE accepted_at < $2 AND deadline >= $1",
            midnight(changed[0]), midnight(changed[-1] + timedelta(days=1)))]
        if cases:
            await recompute_cases(conn, cases)
        return len(cases)
