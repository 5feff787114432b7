"""Large takes go in by COPY: the state they leave is the one small takes leave, row for row."""
from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import asyncpg

from schemas import ListChange
from streams.cases.logic import DIMS, METRICS
from streams.cases.recompute import COPY_FROM
from streams.cases.write import InBatch, process_case_batches
from streams.cases.reach import apply_list_changes
from tests.conftest import truncate_all
from tests.histories import BASE, SH, iso

TABLES = {
    "case_event": "SELECT event_id, case_id, type, occurred_at, item_code, region_code, department_code, channel,"
                  " applicant_key, deadline, outcome, score FROM case_event ORDER BY event_id",
    "case_state": "SELECT case_id, submitted_at, region_code, department_code, item_code, level, accepted_at,"
                  " ended_at, deadline, suspensions, corrections, last_event_at, contrib FROM case_state"
                  " ORDER BY case_id",
    "indicator_daily": f"SELECT day, {', '.join(DIMS)}, {', '.join(METRICS)} FROM indicator_daily"
                       f" ORDER BY day, {', '.join(DIMS)}",
    "violation": "SELECT event_id, case_id, event_type, item_code, region_code, department_code, occurred_at, rule"
                 " FROM violation ORDER BY event_id",
}


def histories(n: int) -> list[dict]:
    """Cases with every kind of state: suspensions closed and open, corrections, deadlines of their own, items
    on the list and off it (violations), and cases still waiting for their `submitted`."""
    rng = random.Random(7)
    out = []
    for k in range(n):
        cid, t = f"K{k}", BASE + timedelta(minutes=rng.randrange(0, 40 * 24 * 60))
        evs: list[dict[str, Any]] = [] if k % 50 == 0 else [
            {"type": "submitted", "item_code": rng.choice(["ITEM-A", "ITEM-X"]), "region_code": "330102",
             "department_code": f"D-{rng.randrange(80)}", "channel": rng.choice(["online", "window"])}]
        for typ in rng.sample(["accepted", "suspended", "resumed", "correction_requested", "completed",
                               "evaluated", "suspended"], rng.randrange(0, 7)):
            evs.append({"type": typ, **({"deadline": iso(t + timedelta(days=3), SH)} if typ == "accepted"
                                         and rng.random() < 0.3 else {}),
                        **({"outcome": "approved"} if typ == "completed" else {}),
                        **({"score": rng.randrange(1, 6)} if typ == "evaluated" else {})})
        for i, ev in enumerate(evs):
            t += timedelta(hours=rng.randrange(1, 60))
            out.append({"event_id": f"{cid}-{i}", "case_id": cid, "occurred_at": iso(t, SH), **ev})
    return out


async def _written(database_url: str, events: list[dict], take: int, first: int = 0) -> dict[str, list]:
    """The tables after the events are written in takes of `take`, the first `first` of them once before."""
    truncate_all(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        await apply_list_changes(conn, [ListChange.model_validate(
            {"change_id": "L1", "item_code": "ITEM-A", "action": "added", "effective_at": iso(BASE, SH),
             "name": "事項A", "category": "行政許可", "department_code": "D-1", "level": "county",
             "region_codes": ["330102"], "committed_days": 2})])
        if first:
            await process_case_batches(conn, [InBatch("first", "test", events[:first])])
        for k in range(0, len(events), take):
            out = await process_case_batches(conn, [InBatch(f"t{k}", "test", events[k:k + take])])
            assert out.new + out.duplicate == len(events[k:k + take]) and out.duplicate == max(0, min(first - k, take))
        return {t: [tuple(r) for r in await conn.fetch(q)] for t, q in TABLES.items()}
    finally:
        await conn.close()


async def test_a_take_by_copy_leaves_what_small_takes_leave(database_url):
    events = histories(3 * COPY_FROM)
    by_copy = await _written(database_url, events, len(events))
    small = await _written(database_url, sorted(events, key=lambda e: e["case_id"]), 40)
    for table in TABLES:
        assert by_copy[table] == small[table], table
    assert min(len(by_copy[t]) for t in TABLES) >= COPY_FROM  # each table was written by COPY
    assert any(r[9] for r in by_copy["case_state"])  # suspensions made it through the COPY


async def test_a_large_take_that_meets_stored_events_skips_them(database_url):
    """The COPY fails on the first stored event; the take is written again by the insert that skips them."""
    events = histories(3 * COPY_FROM)
    half = await _written(database_url, events, len(events), first=len(events) // 2)
    small = await _written(database_url, sorted(events, key=lambda e: e["case_id"]), 40)
    for table in TABLES:
        assert half[table] == small[table], table
