"""What list changes and calendar loads reach back to: stored, and the cases they touch re-evaluated (here, in the
cases domain: the list and the calendar know nothing of cases)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Optional, Sequence

import asyncpg

from core import locks
from core.tz import midnight
from schemas import ListChange
from streams.calendar.store import load_calendar
from streams.cases.recompute import recompute_cases
from streams.powerlist.store import store_list_changes


async def apply_list_changes(conn: asyncpg.Connection, changes: Sequence[ListChange]) -> list[dict]:
    """Store list changes and re-evaluate the cases they reach back to (late changes included); returns the
    violations that are new."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", locks.LIST)
        since = await store_list_changes(conn, changes)
        if not since:
            return []
        cases = [r["case_id"] for r in await conn.fetch(
            "SELECT s.case_id FROM case_state s JOIN unnest($1::text[], $2::timestamptz[]) AS x(item, ts)"
            " ON s.item_code = x.item AND s.last_event_at >= x.ts", list(since), list(since.values()))]
        return await recompute_cases(conn, cases) if cases else []


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
