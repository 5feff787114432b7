"""Cases brought up to date in SQL (a backfill's takes) leave the rows the case logic leaves, row for row, also
when such takes mix with ordinary ones."""
from __future__ import annotations

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import ListChange
from streams.calendar.apply import set_calendar
from streams.cases.write import InBatch, process_case_batches
from streams.powerlist.apply import apply_list_changes
from tests.conftest import truncate_all
from tests.histories import scenario, work_calendar
from tests.streams.test_copy_path import TABLES
from tests.streams.test_edges import tight_case


async def _tables(database_url: str, changes, calendar, takes: list[tuple[list[dict], bool]]) -> dict[str, list]:
    truncate_all(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        await set_calendar(conn, {d: (w, "test") for d, w in calendar.items()})
        await apply_list_changes(conn, [ListChange.model_validate(c) for c in changes])
        for k, (events, setwise) in enumerate(takes):
            await process_case_batches(conn, [InBatch(f"t{k}", "test", events)], setwise=setwise)
        return {t: [tuple(r) for r in await conn.fetch(q)] for t, q in TABLES.items()}
    finally:
        await conn.close()


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sc=scenario(), tight=st.lists(st.integers(0, 3), max_size=6), calendar=work_calendar(), data=st.data())
async def test_set_based_takes_leave_the_rows_the_case_logic_leaves(database_url, sc, tight, calendar, data):
    deliveries, changes = sc
    # cases on a grid of hours too: ties at midnight, on the deadline, several corrections
    deliveries = deliveries + [e for i in range(len(tight)) for e in data.draw(tight_case(100 + i))]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(deliveries)), max_size=5)))
    parts = [deliveries[a:b] for a, b in zip([0, *cuts], [*cuts, len(deliveries)]) if b > a]
    modes = [data.draw(st.booleans()) for _ in parts]
    by_logic = await _tables(database_url, changes, calendar, [(p, False) for p in parts])
    mixed = await _tables(database_url, changes, calendar, list(zip(parts, modes)))
    for table in TABLES:
        assert mixed[table] == by_logic[table], table
