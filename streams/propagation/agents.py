"""The propagator: one worker at a time (an advisory lock) drives list changes to the platform and reconciles."""
from __future__ import annotations

import asyncio
import logging
import time

import asyncpg

from connectors.platform import PlatformClient, PlatformError
from core import locks
from streams.context import WorkerContext, die
from streams.propagation.store import propagate_once, reconcile

log = logging.getLogger(__name__)


async def run_propagator(ctx: WorkerContext, stop: asyncio.Event) -> None:
    s = ctx.settings

    async def lead(conn: asyncpg.Connection) -> None:
        log.info("propagating list changes to %s", s.platform_url)
        next_reconcile = time.monotonic() + s.reconcile_interval_seconds
        async with PlatformClient(s) as client:
            while not stop.is_set():
                outcomes = await propagate_once(conn, client, s)
                for o in outcomes:
                    ctx.metrics.propagation.labels("ok" if o.ok else "failed").inc()
                if time.monotonic() >= next_reconcile:
                    next_reconcile = time.monotonic() + s.reconcile_interval_seconds
                    try:
                        drifts = await reconcile(conn, client, repair=True)
                        for d in drifts:
                            log.warning("drift %s %s: %s (repaired: %s)", d.item_code, d.kind, d.detail, d.repaired)
                    except PlatformError as exc:
                        log.warning("reconciliation skipped: %s", exc)
                if not outcomes:
                    try:
                        await asyncio.wait_for(ctx.list_changed.wait(), timeout=0.05)
                    except asyncio.TimeoutError:
                        pass
                    ctx.list_changed.clear()

    await ctx.db.lead("propagator", locks.PROPAGATION_LEADER, lead, stop)


def register(ctx: WorkerContext) -> None:
    if not ctx.settings.propagation_enabled:
        return

    @ctx.app.task
    async def propagator():
        stop = asyncio.Event()
        try:
            await run_propagator(ctx, stop)
        except asyncio.CancelledError:
            stop.set()
            raise
        except Exception:
            die("propagator")
