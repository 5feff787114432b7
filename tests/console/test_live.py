"""One computation for every watcher: each scope's figures summed from every region's row equal the engine's answer
for the scope; a change reaches every open stream of a scope, computed once."""
from __future__ import annotations

import asyncio
import json
import random

import pytest

from web.console.live import LiveHub, by_scope
from web.console.views import live_message
from streams.cases.write import InBatch, process_case_batches
from streams.indicators.queries import indicators
from streams.indicators.window import parse_window
from tests.histories import random_histories


async def test_a_scope_summed_from_regions_equals_the_engine(conn):
    events = random_histories(random.Random(4), 400)
    await process_case_batches(conn, [InBatch("live-1", "test", events)])
    for window in (parse_window("2024-01-01", "2024-12-31"), parse_window("2024-03-01", "2024-03-02T12:00:00+08:00")):
        rows = await indicators(conn, window, ("region_code",))
        for scope in ("", "330102", "330106", "330102001", "110000"):
            total, mine = by_scope(rows, scope)
            want = (await indicators(conn, window, (), scope=scope))[0]
            assert {k: total[k] for k in want if k != "components"} == {k: want[k] for k in want if k != "components"}, scope
            assert {r["region_code"] for r in mine} == {r["region_code"] for r in await indicators(
                conn, window, ("region_code",), scope=scope) if r["region_code"]}


@pytest.fixture
async def pool(database_url):
    import asyncpg

    p = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    yield p
    await p.close()


async def test_many_streams_one_computation_per_change(conn, pool, database_url):
    hub = LiveHub(pool, database_url, live_message, interval=3600, debounce=0.05)
    await hub.start()
    try:
        watchers = [hub.subscribe(scope, None, None) for scope in ("", "330102", "330106") for _ in range(20)]
        first = [await asyncio.wait_for(w.queue.get(), 10) for w in watchers]
        before = hub.computations
        assert before == 1 and len(set(first)) <= 3
        await conn.execute("SELECT pg_notify('shenpi_changed', '')")
        for _ in range(200):  # until the hub has computed again (a notice with no new figures sends no message)
            if hub.computations > before and not hub.wake.is_set():
                break
            await asyncio.sleep(0.05)
        assert hub.computations == before + 1  # sixty streams, three scopes: one computation
        assert not hub.wake.is_set()  # and none pending
    finally:
        await hub.stop()
    assert all(w.queue.get_nowait() is None for w in watchers)  # streams end with the hub


async def test_the_live_tiles_are_the_overviews_own_computation(conn, pool, database_url):
    """An item in force in two counties is one item of the city: the live tiles count it once, as the overview and
    a window of the same day do (a sum over regions would count it twice)."""
    from core.figures import fmt
    from schemas import parse_list_change
    from streams.cases.reach import apply_list_changes

    await apply_list_changes(conn, [parse_list_change({
        "change_id": f"live-two-{k}", "item_code": f"LIVE-TWO-{k}", "action": "added", "name": f"两县事项{k}",
        "category": "行政許可", "effective_at": "2020-01-01T00:00:00+08:00", "department_code": "D-LIVE",
        "level": "county", "region_codes": ["330102", "330106"]})[0] for k in range(3)])
    hub = LiveHub(pool, database_url, live_message, interval=3600, debounce=0.05)
    await hub.start()
    try:
        for scope in ("", "330102"):
            msg = json.loads(await asyncio.wait_for(hub.subscribe(scope, None, None).queue.get(), 10))
            want = (await indicators(conn, parse_window(None, None), (), scope=scope))[0]
            for k in ("items_active", "zero_case_items", "received"):
                assert msg["total"][k] == fmt(k, want[k]), (scope, k)
            assert want["items_active"] >= 3
    finally:
        await hub.stop()
