"""The one faust app: create_app(settings) builds it and registers every domain's agents."""
from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timezone
from typing import Optional

import faust
from prometheus_client import CollectorRegistry

from core.metrics import WorkerMetrics
from core.settings import Settings
from streams.context import WorkerContext, steady
from streams.db import Database


def _bound_fetch_wait(ms: int) -> None:
    """faust fixes the consumer's fetch_max_wait_ms at 1500; a broker that holds a fetch for the whole wait
    (Tansu does) then adds up to 1.5 s of latency. Bound it (harmless on Apache Kafka, which answers early)."""
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    original = getattr(AIOKafkaConsumerThread, "_shenpi_original", AIOKafkaConsumerThread._create_worker_consumer)

    def create(self, transport):
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = ms
        return consumer

    setattr(AIOKafkaConsumerThread, "_shenpi_original", original)  # noqa: B010 (a patch, said as one)
    setattr(AIOKafkaConsumerThread, "_create_worker_consumer", create)  # noqa: B010


def create_app(settings: Settings, registry: Optional[CollectorRegistry] = None) -> faust.App:
    if not settings.kafka_bootstrap or not settings.database_url:
        raise ValueError("the worker needs SHENPI_KAFKA_BOOTSTRAP and SHENPI_DATABASE_URL")
    _bound_fetch_wait(settings.fetch_max_wait_ms)
    app = faust.App(
        f"{settings.topic_prefix}-worker",
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        autodiscover=False,
        web_enabled=False,
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.session_timeout_seconds,
        broker_heartbeat_interval=settings.heartbeat_seconds,
        broker_commit_interval=0.5,
        broker_max_poll_records=2000,
        processing_guarantee="at_least_once",
    )
    metrics = WorkerMetrics(registry or CollectorRegistry())
    db = Database(settings.database_url, max_size=settings.case_concurrency + 5,
                  on_retry=lambda work: metrics.db_retries.labels(work).inc())
    ctx = WorkerContext(settings, db, app, metrics)

    @app.on_before_shutdown.connect  # type: ignore[arg-type]  # mode's stub wants its own generic signal type
    async def close_pool(sender, **kwargs) -> None:
        await db.close()

    from streams.alerts import agents as alerts
    from streams.archive import agents as archive
    from streams.analysis import agents as analysis
    from streams.cases import agents as cases
    from streams.deadletters import agents as deadletters
    from streams.powerlist import agents as powerlist
    from streams.propagation import agents as propagation
    from streams.staffing import agents as staffing
    from streams.demands import agents as demands
    from streams.evaluation import agents as evaluation
    from streams.public import agents as public

    for domain in (cases, powerlist, staffing, demands, archive, evaluation, public, deadletters, propagation, alerts, analysis):
        domain.register(ctx)
    _register_heartbeat(ctx)
    _register_lag(ctx)
    return app


def _register_lag(ctx: WorkerContext) -> None:
    """Lag from the high-water marks of fetch responses (right on every broker, unlike 'latest offset')."""

    @ctx.app.timer(interval=5.0, name="consumer-lag")
    @steady(ctx, "consumer-lag")
    async def lag():
        consumer = ctx.app.consumer
        try:
            for tp in consumer.assignment():
                hw = consumer.highwater(tp)
                pos = consumer._read_offset.get(tp)
                if hw is not None:
                    ctx.metrics.lag.labels(tp.topic, str(tp.partition)).set(max(0, hw - (pos + 1 if pos is not None else 0)))
        except Exception:  # lag is a diagnostic: never let it disturb the worker
            pass


def _register_heartbeat(ctx: WorkerContext) -> None:
    worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    started = datetime.now(timezone.utc)

    @ctx.app.timer(interval=1.0, name="heartbeat")
    @steady(ctx, "heartbeat")
    async def heartbeat():
        assigned = len(ctx.app.consumer.assignment()) if ctx.app.consumer else 0
        pool = await ctx.db.pool()
        await pool.execute(
            "INSERT INTO worker (worker_id, host, pid, started_at, seen_at, partitions) VALUES ($1, $2, $3, $4, now(), $5)"
            " ON CONFLICT (worker_id) DO UPDATE SET seen_at = now(), partitions = excluded.partitions",
            worker_id, socket.gethostname(), os.getpid(), started, assigned)
