"""The public portal's monthly figures: stored snapshots equal to the engine's answer for each local month, written
again only when the data changed, late events into a past month included."""
from __future__ import annotations

import random
from datetime import datetime

from core.tz import TZ
from streams.cases.write import InBatch, process_case_batches
from streams.indicators.queries import indicators
from streams.indicators.window import Window
from streams.public.snapshots import months, published, refresh
from tests.histories import random_histories

NOW = datetime(2024, 12, 20, 12, tzinfo=TZ)


async def test_snapshots_equal_the_engine_and_follow_late_events(private_conn):  # no worker refreshes for now
    conn = private_conn
    events = random_histories(random.Random(11), 500)
    await process_case_batches(conn, [InBatch("pub-1", "t", events)])
    depts = sorted({e["department_code"] for e in events if e.get("department_code")})[:2]
    await conn.executemany("INSERT INTO public_department (department_code) VALUES ($1)", [(d,) for d in depts])
    assert await refresh(conn, NOW) == 12 * len(depts)
    assert await refresh(conn, NOW) == 0  # nothing changed: nothing computed
    shown = {(r["department_code"], r["month"]): r for r in await published(conn)}
    for first, t0, t1 in months(NOW):
        for r in await indicators(conn, Window(t0, t1), ("department_code",)):
            if r["department_code"] in depts:
                got = shown[(r["department_code"], first.strftime("%Y-%m"))]
                assert (got["received"], got["on_time_rate"]) == (r["received"], r["on_time_rate"])
    # a late event into a past month: the next refresh brings it in
    late = {"event_id": "late-1", "case_id": "late-case", "type": "submitted", "occurred_at": "2024-07-31T23:30:00+08:00",
            "item_code": "L-1", "region_code": "330102", "department_code": depts[0], "channel": "online"}
    before = shown[(depts[0], "2024-07")]["received"]
    await process_case_batches(conn, [InBatch("pub-2", "t", [late])])
    assert await refresh(conn, NOW) > 0
    after = {(r["department_code"], r["month"]): r for r in await published(conn)}
    assert after[(depts[0], "2024-07")]["received"] == before + 1  # a local month: 23:30 on the 31st is July
    assert after[(depts[0], "2024-08")]["received"] == shown[(depts[0], "2024-08")]["received"]
