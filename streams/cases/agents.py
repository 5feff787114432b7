"""Case events in, case state and daily indicator components out; orphans swept after the grace period."""
from __future__ import annotations

import logging
import time
from datetime import timedelta

import orjson

from streams.cases.models import CaseEventBatch, Violation
from streams.cases.store import InBatch, Unreadable, process_case_batches, sweep_orphans
from streams.context import WorkerContext, fatal

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


async def publish(ctx: WorkerContext, letters: list[dict], violations: list[dict]) -> None:
    """Tell downstream consumers after commit (the database already holds both): dead letters one by one,
    violations as one alert record per batch."""
    if letters:
        dl_topic = ctx.raw_topic(ctx.settings.dead_letter_topic)
        for d in letters:
            await dl_topic.send(key=d["dl_key"].encode(), value=orjson.dumps(d, default=str))
    topic = ctx.raw_topic(ctx.settings.violation_topic)
    for i in range(0, len(violations), 500):
        recs = [Violation(**{**v, "occurred_at": v["occurred_at"].isoformat()}).asdict()
                for v in violations[i:i + 500]]
        await topic.send(key=recs[0]["item_code"].encode(), value=orjson.dumps({"violations": recs}))


def register(ctx: WorkerContext) -> None:
    app, s = ctx.app, ctx.settings

    @app.agent(ctx.raw_topic(s.case_topic), name="case-events")
    @fatal
    async def case_events(stream):
        async for events in stream.take_events(s.take_records, within=s.take_within_seconds):
            started = time.perf_counter()
            batches = [to_batch(e.value, e.message.topic, e.message.partition, e.message.offset) for e in events]
            pool = await ctx.db.pool()
            async with pool.acquire() as conn:
                out = await process_case_batches(conn, batches)
            m = ctx.metrics
            m.batches.inc(len(batches))
            m.batch_seconds.observe(time.perf_counter() - started)
            for outcome, n in (("new", out.new), ("duplicate", out.duplicate), ("invalid", out.invalid)):
                m.events.labels(outcome).inc(n)
            if out.cases:
                ctx.indicators_changed.set()
            await publish(ctx, out.dead_letters, out.violations)

    @app.timer(interval=s.sweep_interval_seconds, name="orphan-sweep")
    async def orphan_sweep():
        pool = await ctx.db.pool()
        async with pool.acquire() as conn:
            letters = await sweep_orphans(conn, timedelta(seconds=s.grace_seconds))
        if letters:
            log.warning("dead-lettered %d events whose case never got a 'submitted'", len(letters))
            await publish(ctx, letters, [])
