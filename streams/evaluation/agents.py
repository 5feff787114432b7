"""Rectification deadlines watched: an overdue task told once, and once more at each escalation step."""
from __future__ import annotations

from streams.alerts import outbox
from streams.context import WorkerContext, steady
from streams.evaluation.rectify import overdue_sweep


def register(ctx: WorkerContext) -> None:
    s = ctx.settings
    receivers = outbox.event_receivers(s.alert_rules)

    @ctx.app.timer(interval=s.sweep_interval_seconds, name="rectification-deadlines")
    @steady(ctx, "rectification-deadlines")
    async def deadlines():
        async def sweep(conn):
            async with conn.transaction():
                events = await overdue_sweep(conn, s.rectify_escalation_days)
                await outbox.queue(conn, events, receivers)

        await ctx.db.run("rectification deadlines", sweep)
