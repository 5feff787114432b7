"""The TimescaleDB path for real (PGlite with TimescaleDB 2.23): migrations, policies, and the same answers as
plain PostgreSQL for the same data, in the query API and in every dashboard panel."""
from __future__ import annotations

import json
import random
from datetime import timedelta

import asyncpg
import pytest

from dashboards.boards import BOARDS, panels, render
from db.capabilities import detect
from schemas import ListChange
from streams.cases.write import InBatch, process_case_batches
from streams.cases.reach import apply_list_changes
from streams.indicators.queries import Window, indicators
from tests.compare import GROUPINGS
from tests.dashboards.test_boards import expand
from tests.histories import BASE, random_histories

WINDOWS = [(BASE - timedelta(days=5), BASE + timedelta(days=60)), (BASE + timedelta(days=3), BASE + timedelta(days=9))]


async def feed(conn, events, changes):
    await apply_list_changes(conn, changes)
    for i in range(0, len(events), 150):
        await process_case_batches(conn, [InBatch(f"ts{i}", "test", events[i:i + 150])])


def dataset():
    changes = [ListChange.model_validate(
        {"change_id": f"t{i}", "item_code": item, "action": "added", "effective_at": "2024-02-20T00:00:00+08:00",
         "name": item, "category": "公共服務", "department_code": "D-SCJ", "level": "county",
         "region_codes": ["330100", "330102", "330106"], "committed_days": 2})
        for i, item in enumerate(["ITEM-A", "ITEM-B", "ITEM-C"])]
    return random_histories(random.Random(23), 400), changes


async def answers(conn) -> dict:
    out: dict[tuple, list[dict]] = {}
    for t0, t1 in WINDOWS:
        for g in GROUPINGS:
            rows = await indicators(conn, Window(t0, t1), g)
            out[(t0, t1, g)] = [{k: v for k, v in r.items()} for r in rows]
    variables = {k: [r[0] for r in await conn.fetch(f"SELECT DISTINCT {c} FROM indicator_daily ORDER BY 1")]
                 for k, c in (("region", "region_code"), ("department", "department_code"), ("item", "item_code"))}
    for name in BOARDS:
        for p in panels(json.loads(render(name))):
            for t in p.get("targets", []):
                if "rawSql" in t:
                    sql = expand(t["rawSql"], *WINDOWS[0], variables)
                    out[(name, p["title"])] = [dict(r) for r in await conn.fetch(sql)]
    return out


@pytest.mark.timescaledb
async def test_migrations_policies_and_the_same_answers_as_plain_postgresql(timescale_url, private_conn):
    conn = private_conn
    ts = await asyncpg.connect(timescale_url)
    try:
        caps = await detect(ts)
        assert caps.timescaledb and caps.timescaledb.startswith("2.") and not (await detect(conn)).timescaledb
        assert await ts.fetchval("SELECT count(*) FROM timescaledb_information.hypertables"
                                 " WHERE hypertable_name = 'indicator_daily'") == 1
        jobs = dict(await ts.fetch("SELECT proc_name, job_id FROM timescaledb_information.jobs"
                                   " WHERE hypertable_name = 'indicator_daily'"))
        assert set(jobs) == {"policy_compression", "policy_retention"}
        await ts.execute("TRUNCATE alert_notification, alert_event, alert_state, list_sync, case_event, case_state,"
                         " indicator_daily, violation, processed_batch, dead_letter, list_change, list_item_version")
        events, changes = dataset()
        half = len(events) // 2
        await feed(ts, events[:half], changes)
        await feed(conn, events[:half], changes)
        for job in jobs.values():  # no scheduler in PGlite: run each policy once by hand
            await ts.execute(f"CALL run_job({job})")
        compressed = await ts.fetchval("SELECT count(*) FROM timescaledb_information.chunks"
                                       " WHERE hypertable_name = 'indicator_daily' AND is_compressed")
        assert compressed > 0, "the 2024 chunks are older than the compression horizon"
        # late events land in compressed chunks: the upserts must still add up
        await feed(ts, events[half:], [])
        await feed(conn, events[half:], [])
        got, want = await answers(ts), await answers(conn)
        assert got.keys() == want.keys()
        for k in want:
            assert got[k] == want[k], k
    finally:
        await ts.close()
