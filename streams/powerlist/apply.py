"""Applying list changes: stored, the items' histories rebuilt, and the cases they reach back to re-evaluated."""
from __future__ import annotations

from typing import Sequence

import asyncpg

from core import locks
from schemas import ListChange
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
