"""A periodic task's failed round is counted and the next round runs; an agent's failure is not softened."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from prometheus_client import CollectorRegistry

from core.metrics import WorkerMetrics
from streams.context import steady


async def test_a_failed_round_is_counted_and_the_next_one_runs():
    registry = CollectorRegistry()
    ctx = SimpleNamespace(metrics=WorkerMetrics(registry))
    rounds = []

    @steady(ctx, "sweep")
    async def sweep():
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise OverflowError("date value out of range")

    await sweep()
    await sweep()
    assert rounds == [0, 1]
    assert registry.get_sample_value("shenpi_timer_failures_total", {"timer": "sweep"}) == 1


async def test_cancellation_still_stops_it():
    import asyncio

    ctx = SimpleNamespace(metrics=WorkerMetrics(CollectorRegistry()))

    @steady(ctx, "t")
    async def t():
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await t()
