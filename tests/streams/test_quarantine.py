"""A record that fails on its data (here: PostgreSQL refuses it, through a trigger) is dead-lettered whole, with the
error, and the rest of its take goes through: the worker keeps running and the totals reconcile."""
from __future__ import annotations

import asyncio

import aiohttp
import psycopg
import pytest

from tests.conftest import TOKEN, staffing_totals_settled

pytestmark = pytest.mark.broker
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TRAP = """CREATE OR REPLACE FUNCTION test_trap() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN IF NEW.change_id LIKE 'trap-%' THEN RAISE EXCEPTION 'the test refuses %', NEW.change_id; END IF; RETURN NEW; END $$;
CREATE TRIGGER test_trap BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION test_trap()"""


@pytest.fixture(scope="module")
def city():
    from simulator.org import generate_city

    return generate_city(units=4, seed=5)


@pytest.fixture
def trap(stack):
    made = []

    def on(table: str) -> None:
        with psycopg.connect(stack.settings.database_url, autocommit=True) as c:
            c.execute(TRAP.format(table=table))
        made.append(table)

    yield on
    with psycopg.connect(stack.settings.database_url, autocommit=True) as c:
        for table in made:
            c.execute(f"DROP TRIGGER IF EXISTS test_trap ON {table}")


async def _until(stack, sql: str, args: tuple, want) -> object:
    for _ in range(300):
        with psycopg.connect(stack.settings.database_url, autocommit=True) as c:
            got = c.execute(sql, args).fetchone()[0]
        if got == want:
            return got
        await asyncio.sleep(0.1)
    return got


def _added(cid: str, code: str) -> dict:
    return {"change_id": cid, "item_code": code, "action": "added", "effective_at": "2024-01-01T00:00:00+08:00",
            "name": code, "category": "行政許可", "department_code": "D-Q", "level": "city", "region_codes": ["330100"]}


async def test_a_list_change_the_database_refuses_is_dead_lettered_and_its_take_goes_on(stack, trap):
    trap("list_change")
    async with aiohttp.ClientSession(headers=AUTH) as s:
        async with s.post(stack.url + "/api/v1/list-changes",
                          json=[_added("q-1", "Q-1"), _added("trap-1", "Q-2"), _added("q-3", "Q-3")]) as r:
            assert r.status == 200, await r.text()
    assert await _until(stack, "SELECT count(*) FROM list_change WHERE change_id IN ('q-1', 'q-3')", (), 2) == 2
    reason = await _until(stack, "SELECT reason LIKE '%%the test refuses trap-1%%' FROM dead_letter"
                          " WHERE kind = 'list_change' AND payload->>'change_id' = 'trap-1'", (), True)
    assert reason is True
    # the receipt of the request is settled by the quarantined change: the relay never sends it again
    assert await _until(stack, "SELECT bool_and(r.settled_at IS NOT NULL) FROM edge_receipt r JOIN edge_item i"
                        " USING (request_id) WHERE i.key = 'trap-1'", (), True) is True
    assert stack.worker.poll() is None


async def test_a_staffing_change_the_database_refuses_is_dead_lettered_and_the_totals_reconcile(stack, trap, city):
    from tests.conftest import truncate_all

    truncate_all(stack.settings.database_url)
    trap("staffing_change")
    sample = [c for c in city.changes if c["kind"] != "staff_moved"][:60]
    poisoned = {**sample[5], "change_id": "trap-" + sample[5]["change_id"]}
    body = [*sample[:5], poisoned, *sample[6:]]
    async with aiohttp.ClientSession(headers=AUTH) as s:
        async with s.post(stack.url + "/api/v1/staffing-changes", json=body) as r:
            assert r.status in (200, 207), await r.text()
        st = await staffing_totals_settled(s, stack.url)
    assert st["reconciled"] and st["received"] == len(body), st
    with psycopg.connect(stack.settings.database_url, autocommit=True) as c:
        reason = c.execute("SELECT reason FROM dead_letter WHERE kind = 'staffing_change' AND stage = 'invalid'"
                           " AND payload->>'change_id' = %s", (poisoned["change_id"],)).fetchone()[0]
        stored = c.execute("SELECT count(*) FROM staffing_change").fetchone()[0]
    assert "the test refuses" in reason and stored == len(body) - 1
    assert await _until(stack, "SELECT bool_and(r.settled_at IS NOT NULL) FROM edge_receipt r JOIN edge_item i"
                        " USING (request_id) JOIN dead_letter d ON d.dl_key = i.key WHERE d.payload->>'change_id' = %s",
                        (poisoned["change_id"],), True) is True
    assert stack.worker.poll() is None
