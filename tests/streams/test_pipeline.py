"""End to end on the real broker and database: webhook → Kafka → faust worker → PostgreSQL → query API."""
from __future__ import annotations

import asyncio
import json
import random
import signal
import threading
import time
from datetime import timedelta

import aiohttp
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.kafka import Publisher
from schemas import CaseEvent
from tests.compare import GROUPINGS, WINDOWS, assert_same, rows_by_key, window_label
from tests.conftest import TOKEN, truncate_all, wait_processed
from tests.histories import BASE, random_histories, scenario
from tests.reference import recompute

pytestmark = pytest.mark.broker
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def query(session, stack, t0, t1, group_by) -> list[dict]:
    params = {"from": t0.isoformat(), "to": t1.isoformat(), "group_by": ",".join(group_by)}
    async with session.get(stack.url + "/api/v1/indicators", params=params) as r:
        assert r.status == 200, await r.text()
        return (await r.json())["rows"]


async def check_against_reference(stack, events, changes, windows=WINDOWS, groupings=GROUPINGS):
    async with aiohttp.ClientSession() as s:
        for t0, t1 in windows:
            for g in groupings:
                got = rows_by_key(await query(s, stack, t0, t1, g), g)
                assert_same(got, recompute(events, changes, t0, t1, g), f"{window_label(t0, t1)} by {g}")


def wait_list(dsn: str, n: int, timeout: float = 30) -> None:
    import time
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as c:
        while c.execute("SELECT count(*) FROM list_change").fetchone()[0] < n:
            assert time.monotonic() < deadline, "list changes not processed"
            time.sleep(0.05)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(sc=scenario(), data=st.data())
async def test_pipeline_equals_batch_recomputation(stack, sc, data):
    deliveries, changes = sc
    dsn = stack.settings.database_url
    truncate_all(dsn)
    batches, dls = [], []
    async with aiohttp.ClientSession() as s:
        # half the list changes before the events, half after: late list changes re-evaluate cases
        cut = data.draw(st.integers(0, len(changes)))
        for part in (changes[:cut], None, changes[cut:]):
            if part is None:
                i = 0
                while i < len(deliveries):
                    k = data.draw(st.integers(1, 20))
                    body = "\n".join(json.dumps(e) for e in deliveries[i:i + k])
                    async with s.post(stack.url + "/api/v1/case-events", data=body, headers=AUTH) as r:
                        assert r.status == 200, await r.text()
                        out = await r.json()
                    batches += out["batches"]
                    i += k
                wait_processed(dsn, batches, dls)
            elif part:
                async with s.post(stack.url + "/api/v1/list-changes", json=part, headers=AUTH) as r:
                    assert r.status == 200, await r.text()
        wait_list(dsn, len(changes))
    await check_against_reference(stack, deliveries, changes)


def stream_through(stack, disturb) -> None:
    """1,500 events of random histories streamed in chunks, `disturb` called a third of the way through; in the
    end every batch is counted once and the indicators are those of an undisturbed run."""
    dsn = stack.settings.database_url
    truncate_all(dsn)
    events = random_histories(random.Random(7), 1500)
    chunks = [events[i:i + 150] for i in range(0, len(events), 150)]
    sent: list[str] = []
    third = threading.Event()

    async def produce():
        pub = Publisher(stack.settings)
        await pub.start()
        try:
            for n, chunk in enumerate(chunks):
                sent.extend(await pub.case_events([CaseEvent.model_validate(e) for e in chunk], "restart-test",
                                                  f"r{n}"))
                if n == len(chunks) // 3:
                    third.set()
                await asyncio.sleep(0.15)
        finally:
            await pub.stop()

    producer = threading.Thread(target=lambda: asyncio.run(produce()))
    producer.start()
    assert third.wait(60)
    with psycopg.connect(dsn, autocommit=True) as c:
        done_before = c.execute("SELECT count(*) FROM processed_batch").fetchone()[0]
    disturb()
    producer.join(120)
    wait_processed(dsn, sent, [], timeout=120)
    with psycopg.connect(dsn, autocommit=True) as c:
        new, dup, batches = c.execute(
            "SELECT sum(n_new), sum(n_duplicate), count(*) FROM processed_batch").fetchone()
    assert 0 < done_before < len(sent), "the disturbance must land mid-stream"
    assert batches == len(set(sent))
    assert new == len({e["event_id"] for e in events}) and new + dup == len(events)
    windows = [(BASE - timedelta(days=3), BASE + timedelta(days=60)), (BASE + timedelta(days=5), BASE + timedelta(days=12))]
    asyncio.run(check_against_reference(stack, events, [], windows, [(), ("region_code", "item_code")]))


def test_sigkill_mid_stream_ends_with_the_uninterrupted_result(stack):
    def kill_and_restart():
        stack.stop("worker", signal.SIGKILL)
        stack.start_worker()

    stream_through(stack, kill_and_restart)


def test_the_database_dropping_every_connection_mid_stream_loses_nothing_and_stops_nothing(stack):
    def drop_connections():
        """Cut connections in the middle of their work (a transaction open), three times."""
        cut, deadline = 0, time.monotonic() + 30
        with psycopg.connect(stack.settings.database_url, autocommit=True) as c:
            while cut < 3 and time.monotonic() < deadline:
                cut += c.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')").fetchone()[0]
                time.sleep(0.005)
        assert cut >= 3, "no connection was caught at work"

    worker = stack.worker
    stream_through(stack, drop_connections)
    assert worker.poll() is None, "the worker must wait for the database, not die"
