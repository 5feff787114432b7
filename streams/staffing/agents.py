"""Staffing changes in: applied by effective time in one transaction a take (findings that open or close told in it);
changes that still do not apply after the grace period dead-lettered; the duty checks swept when their inputs move."""
from __future__ import annotations

import operator
from datetime import timedelta

from schemas.staffing import parse_staffing_change
from streams.context import WorkerContext, decode_records, fatal, steady, unwrap
from streams.deadletters.store import insert_dead_letters
from streams.alerts.outbox import event_receivers
from streams.quarantine import store_keyed
from streams.staffing import duties
from streams.staffing.checks import DutyParams
from streams.staffing.store import Applied, apply_staffing_changes, sweep_inapplicable


def register(ctx: WorkerContext) -> None:
    app, s = ctx.app, ctx.settings
    key = s.identity_secret()
    receivers = event_receivers(s.alert_rules)

    @app.agent(ctx.raw_topic(s.staffing_topic), name="staffing-changes")
    @fatal
    async def staffing_changes(stream):
        async for events in stream.take_events(2000, within=0.1):
            values, letters = decode_records(events, "staffing_change")
            deliveries, refused = unwrap(values, "change", lambda raw: parse_staffing_change(raw, key),
                                         "staffing_change")
            letters += refused

            async def apply(conn, part) -> Applied:
                return await apply_staffing_changes(conn, part, receivers)

            await ctx.publish(await ctx.db.run("staffing changes", lambda conn: store_keyed(
                conn, deliveries, apply, operator.add, Applied(), "staffing_change", letters)), [])

    @app.timer(interval=s.sweep_interval_seconds, name="staffing-sweep")
    @steady(ctx, "staffing-sweep")
    async def inapplicable_sweep():
        async def sweep(conn):
            async with conn.transaction():
                letters = await sweep_inapplicable(conn, timedelta(seconds=s.grace_seconds))
                await insert_dead_letters(conn, letters)
            return letters

        await ctx.db.run("staffing sweep", sweep)

    @app.timer(interval=s.duty_check_interval_seconds, name="staffing-duty-checks")
    @steady(ctx, "staffing-duty-checks")
    async def duty_checks():
        """缺位, 越位, 不到位, 職能交叉 into org_finding when the staffing, the list or the hour moved: the API reads
        them, and never segments or compares clauses itself."""
        params = DutyParams.of(s)
        await ctx.db.run("staffing duty checks", lambda conn: duties.sweep(conn, params, receivers))
