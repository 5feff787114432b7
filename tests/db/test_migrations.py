"""Migrations that change a rule bring stored figures to the new rule: 0009 (the deadline rule) pads stored
contributions, requests a recompute, and `shenpi db upgrade`'s maintenance brings every case to the new rule."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import asyncpg
import psycopg

from db.migrate import upgrade
from streams.cases.rebuild import pending, run_pending
from streams.indicators.queries import Window, indicators
from tests.compare import assert_same, rows_by_key
from tests.conftest import ADMIN_DSN, _dsn_for
from tests.histories import SH
from tests.reference import recompute

DAY = datetime(2025, 6, 3, tzinfo=SH)
EVENTS = [
    {"event_id": "e1", "case_id": "c1", "type": "submitted", "occurred_at": DAY + timedelta(hours=9),
     "item_code": "I", "region_code": "330102", "department_code": "D", "channel": "window"},
    {"event_id": "e2", "case_id": "c1", "type": "accepted", "occurred_at": DAY + timedelta(hours=10)},
    {"event_id": "e3", "case_id": "c1", "type": "completed", "occurred_at": DAY + timedelta(hours=15),
     "outcome": "approved"},
]
# what the code before 0009 stored for this case: its completion, without a deadline, counted as on time
OLD = [1, 0, 1, 0, 1, 1, 1, 1, 5 * 3600 * 10**6, 0, 0, 0, 0, 3]
OLD_METRICS = ("received", "online", "accepted", "rejected", "completed", "on_time", "immediate", "handled",
               "handling_us", "corr_cases", "corr_once", "evaluated", "satisfied", "out_of_list")


async def test_the_deadline_rule_migration_brings_old_figures_to_the_new_rule():
    name = f"shenpi_mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    dsn = _dsn_for(name)
    try:
        upgrade(dsn, target=8)
        conn = await asyncpg.connect(dsn)
        try:
            for e in EVENTS:
                await conn.execute("INSERT INTO case_event (event_id, case_id, type, occurred_at, item_code,"
                                   " region_code, department_code, channel, outcome) VALUES ($1, $2, $3, $4, $5, $6,"
                                   " $7, $8, $9)", e["event_id"], e["case_id"], e["type"], e["occurred_at"],
                                   e.get("item_code"), e.get("region_code"), e.get("department_code"),
                                   e.get("channel"), e.get("outcome"))
            await conn.execute(
                "INSERT INTO case_state (case_id, submitted_at, region_code, department_code, item_code, level,"
                " accepted_at, ended_at, last_event_at, contrib) VALUES ('c1', $1, '330102', 'D', 'I', 'county', $2,"
                " $3, $3, $4)", EVENTS[0]["occurred_at"], EVENTS[1]["occurred_at"], EVENTS[2]["occurred_at"],
                '{"2025-06-03": [%s]}' % ", ".join(map(str, OLD)))
            await conn.execute(
                f"INSERT INTO indicator_daily (day, region_code, department_code, item_code, level,"
                f" {', '.join(OLD_METRICS)}) VALUES ($1, '330102', 'D', 'I', 'county',"
                f" {', '.join(f'${i}' for i in range(2, 2 + len(OLD)))})", DAY.date(), *OLD)
            window = Window(DAY, DAY + timedelta(days=1))
            assert await conn.fetchval("SELECT sum(on_time) FROM indicator_daily") == 1

            assert upgrade(dsn, target=9) == ["0009_deadline_rule"]
            assert [t["task"] for t in await pending(conn)] == ["recompute_cases"]
            padded = await conn.fetchval("SELECT contrib FROM case_state WHERE case_id = 'c1'")
            assert json.loads(padded)["2025-06-03"] == [*OLD, 0], padded
            upgrade(dsn)  # as `shenpi db upgrade` does: every migration, then what they requested, by today's code
            assert await run_pending(conn) == ["recompute_cases"]
            assert await pending(conn) == []
            got = rows_by_key(await indicators(conn, window), ())
            assert got[()]["on_time_rate"] is None and got[()]["completed_without_deadline"] == 1
            assert_same(got, recompute(EVENTS, [], window.t0, window.t1, ()), "after the deadline rule")
        finally:
            await conn.close()
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
