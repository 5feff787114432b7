"""The public portal's snapshots kept current by the worker that leads (one at a time), at most once a minute
while the data changes."""
from __future__ import annotations

import logging

import asyncpg

from core import locks
from streams.context import WorkerContext, steady
from streams.public.snapshots import refresh

log = logging.getLogger(__name__)


def register(ctx: WorkerContext) -> None:
    @ctx.app.timer(interval=ctx.settings.public_refresh_seconds, name="public-snapshots")
    @steady(ctx, "public-snapshots")
    async def snapshots():
        async def lead(conn: asyncpg.Connection) -> None:
            async with conn.transaction():
                if await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", locks.PUBLIC_LEADER):
                    n = await refresh(conn)
                    if n:
                        log.info("public portal: %d monthly snapshots computed", n)

        await ctx.db.run("public snapshots", lead)
