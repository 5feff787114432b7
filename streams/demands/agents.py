"""Demands in: validated again, classified and linked, stored exactly once by demand_id in one transaction a take;
refusals and records that break the write path dead-lettered with the reason."""
from __future__ import annotations

import operator
import threading
from datetime import datetime, timezone

from schemas.demands import parse_demand
from streams.alerts.outbox import event_receivers
from streams.context import WorkerContext, decode_records, fatal, steady, unwrap
from streams.demands import surge
from streams.demands.classify import model
from streams.demands.store import apply_demands
from streams.quarantine import store_keyed


def register(ctx: WorkerContext) -> None:
    app, s = ctx.app, ctx.settings
    key = s.identity_secret()
    # the topics' model trained (or read from its cache) beside the loop, not inside the first take's classify
    threading.Thread(target=model, args=(s.demand_lexicon_file,), name="demand-topics", daemon=True).start()

    @app.agent(ctx.raw_topic(s.demand_topic), name="demands")
    @fatal
    async def demands(stream):
        async for events in stream.take_events(2000, within=0.1):
            values, letters = decode_records(events, "demand")
            deliveries, refused = unwrap(values, "demand", lambda raw: parse_demand(raw, key), "demand")
            letters += refused

            async def apply(conn, part) -> int:
                return await apply_demands(conn, part, s.demand_link_threshold, s.demand_lexicon_file)

            await ctx.publish(await ctx.db.run("demands", lambda conn: store_keyed(
                conn, deliveries, apply, operator.add, 0, "demand", letters)), [])

    @app.timer(interval=s.demand_surge_interval_seconds, name="demand-surge")
    @steady(ctx, "demand-surge")
    async def demand_surge():
        receivers = event_receivers(s.alert_rules)
        await ctx.db.run("demand surge", lambda conn: surge.evaluate(
            conn, datetime.now(timezone.utc), s.demand_surge_k, s.demand_surge_min, receivers))
