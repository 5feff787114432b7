"""What every agent of the worker shares: settings, the database, the topics it writes to."""
from __future__ import annotations

import functools
import logging
import os
import asyncio
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Optional

import faust
import orjson

from core.metrics import WorkerMetrics
from core.settings import Settings
from schemas import DeadLetter
from schemas.deadletter import Kind
from streams.db import Database
from streams.powerlist.models import Violation


@dataclass
class WorkerContext:
    settings: Settings
    db: Database
    app: faust.App
    metrics: WorkerMetrics
    list_changed: asyncio.Event = field(default_factory=asyncio.Event)
    indicators_changed: asyncio.Event = field(default_factory=asyncio.Event)
    topics: dict[str, faust.TopicT] = field(default_factory=dict)
    # set by the cases domain: storing list changes re-evaluates the cases they reach (the list knows no cases)
    apply_list_changes: Optional[Callable[[Any, Any], Awaitable[list[dict]]]] = None

    def raw_topic(self, name: str) -> faust.TopicT:
        """One topic object per name: agents and the publishing hot path share it."""
        if name not in self.topics:
            self.topics[name] = self.app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw",
                                               value_serializer="raw", partitions=self.settings.partitions)
        return self.topics[name]

    async def publish(self, letters: list[DeadLetter], violations: list[dict]) -> None:
        """Tell downstream consumers after commit (the database already holds both): dead letters one by one,
        violations as one record per 500."""
        if letters:
            dl_topic = self.raw_topic(self.settings.dead_letter_topic)
            for d in letters:
                await dl_topic.send(key=d.dl_key.encode(), value=d.model_dump_json().encode())
        topic = self.raw_topic(self.settings.violation_topic)
        for i in range(0, len(violations), 500):
            recs = [Violation(**{**v, "occurred_at": v["occurred_at"].isoformat()}).asdict()
                    for v in violations[i:i + 500]]
            await topic.send(key=recs[0]["item_code"].encode(), value=orjson.dumps({"violations": recs}))


def place(e: Any) -> str:
    """Where a record stands in the log: the dead-letter key of a record that has no key of its own."""
    return f"{e.message.topic}:{e.message.partition}:{e.message.offset}"


def decode_records(events: list, kind: Kind) -> tuple[list[tuple[str, Any]], list[DeadLetter]]:
    """Each record's place and its decoded JSON; a record that is not JSON dead-lettered with the parser's reason."""
    values, letters = [], []
    for e in events:
        try:
            values.append((place(e), orjson.loads(e.value)))
        except orjson.JSONDecodeError as exc:
            letters.append(DeadLetter(dl_key=place(e), stage="invalid", kind=kind, source="kafka",
                                      reason=f"not JSON: {exc}", payload=e.value.decode("utf-8", "replace")))
    return values, letters


def unwrap(values: list[tuple[str, Any]], field: str, parse: Callable[[Any], tuple[Any, Any]],
           kind: Kind) -> tuple[list[tuple[str, Any]], list[DeadLetter]]:
    """Records an edge wrapped as {"delivery": key, field: record} (anything else keyed by its place): each record's
    key and model, or its dead letter with the parser's reason."""
    deliveries, letters = [], []
    for where, obj in values:
        wrapped = isinstance(obj, dict) and isinstance(obj.get("delivery"), str) and field in obj
        raw, key = (obj[field], obj["delivery"]) if wrapped else (obj, where)
        model, refusal = parse(raw)
        if model is not None:
            deliveries.append((key, model))
        else:
            letters.append(DeadLetter(dl_key=key, stage="invalid", kind=kind, source="kafka", reason=refusal.reason,
                                      payload=refusal.raw))
    return deliveries, letters


def steady(ctx: "WorkerContext", name: str):
    """A periodic task whose round fails is logged and counted (`shenpi_timer_failures_total`), and tried again
    at its next round: it has no offsets to keep, and stopping the worker for it would stop every stream (a
    restarted worker would fail the same way, and `shenpi up` ends the stack after five exits)."""

    def wrap(fn):
        @functools.wraps(fn)
        async def run(*args):
            try:
                await fn(*args)
            except Exception:
                ctx.metrics.timer_failures.labels(name).inc()
                logging.getLogger(__name__).exception("%s: this round failed; the next one tries again", name)

        return run

    return wrap


def fatal(agent_fn):
    """An agent that fails stops the worker at once, its offsets uncommitted: redelivery after a restart is
    safe (batches are idempotent), silently dropping a batch is not."""

    @functools.wraps(agent_fn)
    async def run(stream):
        try:
            await agent_fn(stream)
        except Exception:
            die(f"agent {agent_fn.__name__}")

    return run


def die(what: str) -> None:
    logging.getLogger(__name__).exception("%s failed: stopping the worker", what)
    logging.shutdown()
    os._exit(70)
