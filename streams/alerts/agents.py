"""The alerting loop: one worker at a time evaluates the rules (on indicator changes and on a timer, for
figures that move with time alone) and delivers the outbox."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone

import aiohttp
import asyncpg

from core import locks
from streams.alerts.engine import evaluate
from streams.alerts.notify import deliver_due
from streams.alerts.rules import load_rules
from streams.calendar.store import tell_missing_years
from streams.context import WorkerContext, die

log = logging.getLogger(__name__)


async def run_alerts(ctx: WorkerContext) -> None:
    s = ctx.settings
    rules = load_rules(s.alert_rules)

    async def lead(conn: asyncpg.Connection) -> None:
        async with aiohttp.ClientSession() as http:
            while True:
                await evaluate(conn, rules, datetime.now(timezone.utc))
                await tell_missing_years(conn, datetime.now(timezone.utc), s.calendar_horizon_days)
                sent, failed = await deliver_due(conn, http, rules)
                ctx.metrics.notifications.labels("sent").inc(sent)
                ctx.metrics.notifications.labels("failed").inc(failed)
                try:
                    await asyncio.wait_for(ctx.indicators_changed.wait(), timeout=s.alert_interval_seconds)
                except asyncio.TimeoutError:
                    pass
                ctx.indicators_changed.clear()
                await asyncio.sleep(s.alert_min_interval_seconds)

    await ctx.db.lead("alerting", locks.ALERTING_LEADER, lead)


def register(ctx: WorkerContext) -> None:
    if not ctx.settings.alerts_enabled:
        return
    load_rules(ctx.settings.alert_rules)  # a bad rules file stops the worker at start-up, with the reason

    @ctx.app.task
    async def alerts():
        try:
            await run_alerts(ctx)
        except asyncio.CancelledError:
            raise
        except Exception:
            die("alerting")
