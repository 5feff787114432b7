"""What every agent of the worker shares: settings, the database, the topics it writes to."""
from __future__ import annotations

import functools
import logging
import os
import asyncio
from dataclasses import dataclass, field

import faust

from core.metrics import WorkerMetrics
from core.settings import Settings
from streams.db import Database


@dataclass
class WorkerContext:
    settings: Settings
    db: Database
    app: faust.App
    metrics: WorkerMetrics
    list_changed: asyncio.Event = field(default_factory=asyncio.Event)
    indicators_changed: asyncio.Event = field(default_factory=asyncio.Event)
    topics: dict[str, faust.TopicT] = field(default_factory=dict)

    def raw_topic(self, name: str) -> faust.TopicT:
        """One topic object per name: agents and the publishing hot path share it."""
        if name not in self.topics:
            self.topics[name] = self.app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw",
                                               value_serializer="raw", partitions=self.settings.partitions)
        return self.topics[name]


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
