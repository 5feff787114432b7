"""Every case re-evaluated from its raw events: after a change of rule (a migration requests it), or on demand.
Case by case through the ordinary write path, so it is exact while workers keep writing."""
from __future__ import annotations

from typing import Callable, Optional

import asyncpg

from core import locks
from streams.cases.recompute import recompute_cases

RECOMPUTE = "recompute_cases"


async def pending(conn: asyncpg.Connection) -> list[dict]:
    """Maintenance that migrations requested and nobody has run yet."""
    if await conn.fetchval("SELECT to_regclass('maintenance') IS NULL"):
        return []
    return [{"task": r["task"], "reason": r["reason"], "requested_at": r["requested_at"].isoformat()}
            for r in await conn.fetch("SELECT task, reason, requested_at FROM maintenance ORDER BY requested_at")]


async def recompute_all(conn: asyncpg.Connection, chunk: int = 1000,
                        progress: Optional[Callable[[int, int], None]] = None) -> int:
    """Re-evaluate every case, `chunk` cases a transaction; returns how many."""
    total = await conn.fetchval("SELECT count(*) FROM case_state")
    done, last = 0, ""
    while True:
        ids = [r[0] for r in await conn.fetch(
            "SELECT case_id FROM case_state WHERE case_id > $1 ORDER BY case_id LIMIT $2", last, chunk)]
        if not ids:
            return done
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", locks.LIST)
            await recompute_cases(conn, ids)
        done, last = done + len(ids), ids[-1]
        if progress:
            progress(done, total)


async def run_pending(conn: asyncpg.Connection, progress: Optional[Callable[[int, int], None]] = None) -> list[str]:
    """Run the requested maintenance; returns what ran."""
    ran = []
    for task in await pending(conn):
        if task["task"] == RECOMPUTE:
            await recompute_all(conn, progress=progress)
        await conn.execute("DELETE FROM maintenance WHERE task = $1", task["task"])
        ran.append(task["task"])
    return ran
