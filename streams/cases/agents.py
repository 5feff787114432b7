"""Case events in, case state and daily indicator components out; orphans swept after the grace period."""
from __future__ import annotations

import logging
import operator
import time
from datetime import timedelta

import asyncpg
import orjson

from streams.cases.models import CaseEventBatch
from streams.cases.reach import apply_list_changes
from streams.cases.write import BatchOutcome, InBatch, Unreadable, process_case_batches, quarantine, sweep_orphans
from streams.context import WorkerContext, fatal, steady
from streams.quarantine import bisect

log = logging.getLogger(__name__)


def to_batch(value: bytes, topic: str, partition: int, offset: int) -> InBatch:
    """An envelope keeps its own batch id; anything else is keyed by its place in the log."""
    where = f"{topic}:{partition}:{offset}"
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        return InBatch(where, "kafka", [Unreadable(f"not JSON: {exc}", value.decode("utf-8", "replace")[:10000])])
    if isinstance(obj, dict) and isinstance(obj.get("events"), list) and isinstance(obj.get("batch_id"), str):
        env = CaseEventBatch(batch_id=obj["batch_id"], source=str(obj.get("source", "kafka")), events=obj["events"])
        return InBatch(env.batch_id, env.source, env.events)
    return InBatch(where, "kafka", obj if isinstance(obj, list) else [obj])


async def process_or_quarantine(conn: asyncpg.Connection, batches: list[InBatch]) -> BatchOutcome:
    """A take that fails on its data is split until the record at fault is found and dead-lettered whole."""
    out, failed = await bisect(conn, batches, process_case_batches, operator.add, BatchOutcome())
    for batch, error in failed:
        out += await quarantine(conn, batch, error)
    return out


def register(ctx: WorkerContext) -> None:
    app, s = ctx.app, ctx.settings
    ctx.apply_list_changes = apply_list_changes

    # >1: takes side by side (the write path is order-free and locks cases in key order); takes that share
    # cases then wait on each other, so more worker processes (partitions apart) scale better
    @app.agent(ctx.raw_topic(s.case_topic), name="case-events", concurrency=s.case_concurrency)
    @fatal
    async def case_events(stream):
        async for events in stream.take_events(s.take_records, within=s.take_within_seconds):
            started = time.perf_counter()
            batches = [to_batch(e.value, e.message.topic, e.message.partition, e.message.offset) for e in events]
            out = await ctx.db.run("case events", lambda conn: process_or_quarantine(conn, batches))
            m = ctx.metrics
            m.batches.inc(len(batches))
            m.batch_seconds.observe(time.perf_counter() - started)
            for outcome, n in (("new", out.new), ("duplicate", out.duplicate), ("invalid", out.invalid)):
                m.events.labels(outcome).inc(n)
            if out.cases:
                ctx.indicators_changed.set()
                # the API's live hub recomputes the overview once for every open console (console/live.py)
                await ctx.db.run("notify", lambda conn: conn.execute("SELECT pg_notify('shenpi_changed', '')"))
            await ctx.publish(out.dead_letters, out.violations)

    @app.timer(interval=s.sweep_interval_seconds, name="orphan-sweep")
    @steady(ctx, "orphan-sweep")
    async def orphan_sweep():
        letters = await ctx.db.run("orphan sweep", lambda conn: sweep_orphans(conn, timedelta(seconds=s.grace_seconds)))
        if letters:
            log.warning("dead-lettered %d events whose case never got a 'submitted'", len(letters))
            await ctx.publish(letters, [])
