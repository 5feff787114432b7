"""Decision support on a schedule: the worker that leads recomputes chains and recommendations for the last year,
the mining in a separate process so that the event path never waits on it."""
from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import asyncpg

from core import locks
from streams.analysis.service import analysis_window, chains, recommendations
from streams.context import WorkerContext

log = logging.getLogger(__name__)
FIRST_DELAY = 30.0  # let the worker settle (and a restart loop not recompute each time)


def register(ctx: WorkerContext) -> None:
    interval = ctx.settings.analysis_interval_seconds
    if interval <= 0:
        return

    @ctx.app.task
    async def scheduled_analysis():
        await asyncio.sleep(FIRST_DELAY)
        executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))

        async def lead(conn: asyncpg.Connection) -> None:
            while True:
                window = analysis_window(None, None)
                try:
                    await chains(conn, window, executor=executor)
                    await recommendations(conn, window, executor=executor)
                except asyncpg.PostgresError as exc:
                    log.warning("scheduled decision support failed: %s", exc)
                await asyncio.sleep(interval)

        try:
            await ctx.db.lead("analysis", locks.ANALYSIS_LEADER, lead)
        finally:
            executor.shutdown(cancel_futures=True)
