"""The write path against the real database equals a plain recomputation, whatever the delivery."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import ListChange
from streams.cases.reach import set_calendar
from streams.cases.write import InBatch, process_case_batches, sweep_orphans
from streams.cases.reach import apply_list_changes
from streams.indicators.queries import Window, indicators
from tests.compare import GROUPINGS, WINDOWS, assert_same, rows_by_key, window_label
from tests.conftest import truncate_all
from tests.histories import scenario, work_calendar
from tests.reference import recompute


async def check_all(conn, events, changes, calendar=None):
    for t0, t1 in WINDOWS:
        for g in GROUPINGS:
            got = rows_by_key(await indicators(conn, Window(t0, t1), g), g)
            want = recompute(events, changes, t0, t1, g, calendar)
            assert_same(got, want, f"{window_label(t0, t1)} by {g}")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sc=scenario(), data=st.data())
async def test_any_delivery_gives_the_reference_indicators(database_url, sc, data):
    import asyncpg
    deliveries, changes = sc
    truncate_all(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        # batches of random size, list changes interleaved at random points, each batch possibly redelivered
        i, c, n = 0, 0, 0
        while i < len(deliveries) or c < len(changes):
            if c < len(changes) and data.draw(st.booleans()):
                k = data.draw(st.integers(1, 3))
                await apply_list_changes(conn, [ListChange.model_validate(x) for x in changes[c:c + k]])
                c += k
                continue
            k = data.draw(st.integers(1, 12))
            batch = InBatch(f"b{n}", "test", deliveries[i:i + k])
            await process_case_batches(conn, [batch])
            if data.draw(st.integers(0, 5)) == 0:
                again = await process_case_batches(conn, [batch])
                assert again.skipped_batches == 1 and again.new == 0
            i, n = i + k, n + 1
        await check_all(conn, deliveries, changes)
    finally:
        await conn.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sc=scenario(), before=work_calendar(), after=work_calendar())
async def test_deadlines_count_the_calendars_working_days_even_when_it_changes_afterwards(database_url, sc, before,
                                                                                        after):
    import asyncpg
    deliveries, changes = sc
    truncate_all(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        await set_calendar(conn, {d: (w, "before") for d, w in before.items()})
        await apply_list_changes(conn, [ListChange.model_validate(c) for c in changes])
        await process_case_batches(conn, [InBatch("b", "test", deliveries)])
        await check_all(conn, deliveries, changes, before)
        await set_calendar(conn, {d: (w, "after") for d, w in after.items()})
        await check_all(conn, deliveries, changes, {**before, **after})
    finally:
        await conn.close()


async def test_the_shipped_2025_calendar_moves_deadlines_over_spring_festival(conn):
    from datetime import datetime
    from pathlib import Path

    from schemas.calendar import load_calendar_file

    await apply_list_changes(conn, [ListChange.model_validate({
        "change_id": "cal", "item_code": "CAL", "action": "added", "effective_at": "2024-01-01T00:00:00+08:00",
        "name": "x", "category": "行政許可", "department_code": "D", "level": "county", "region_codes": ["330102"],
        "committed_days": 2})])

    def case(cid, dept, accepted, completed):
        return [{"event_id": f"{cid}s", "case_id": cid, "type": "submitted", "occurred_at": accepted, "item_code": "CAL",
                 "region_code": "330102", "department_code": dept, "channel": "window"},
                {"event_id": f"{cid}a", "case_id": cid, "type": "accepted", "occurred_at": accepted},
                {"event_id": f"{cid}c", "case_id": cid, "type": "completed", "occurred_at": completed,
                 "outcome": "approved"}]

    await process_case_batches(conn, [InBatch("cal", "t", [
        # Friday + 2 working days: Tuesday by Monday to Friday; Monday, with Sunday 26 January worked (調休)
        *case("fri", "D-FRI", "2025-01-24T10:00:00+08:00", "2025-01-28T09:00:00+08:00"),
        # Monday + 2: Wednesday by Monday to Friday; Thursday 6 February after the Spring Festival holiday
        *case("mon", "D-MON", "2025-01-27T10:00:00+08:00", "2025-02-06T09:00:00+08:00"),
    ])])

    async def on_time():
        rows = await indicators(conn, Window(datetime.fromisoformat("2025-01-01T00:00:00+08:00"),
                                             datetime.fromisoformat("2025-03-01T00:00:00+08:00")), ("department_code",))
        return {r["department_code"]: r["on_time_rate"] for r in rows if r["completed"]}

    assert await on_time() == {"D-FRI": 1.0, "D-MON": 0.0}
    days = load_calendar_file(Path(__file__).resolve().parents[2] / "infra" / "calendars" / "cn-2025.yaml").days()
    assert await set_calendar(conn, days) == 2
    assert await on_time() == {"D-FRI": 0.0, "D-MON": 1.0}


async def test_writers_racing_to_create_the_same_cases_count_every_event(database_url):
    """Two partitions' workers (say, keyed by event, not by case) bring the first events of the same cases at once:
    the second to create a case's row finds it taken, then locks it and recomputes from everything stored."""
    import asyncpg

    def ev(eid, cid, typ, at, **kw):
        return {"event_id": eid, "case_id": cid, "type": typ, "occurred_at": at, **kw}

    sub = dict(item_code="I", region_code="330100", department_code="D", channel="online")
    first = [ev("1s", "c1", "submitted", "2024-03-01T09:00:00+08:00", **sub),
             ev("2a", "c2", "accepted", "2024-03-01T10:00:00+08:00")]
    second = [ev("1c", "c1", "completed", "2024-03-02T09:00:00+08:00", outcome="approved"),
              ev("2s", "c2", "submitted", "2024-03-01T09:00:00+08:00", **sub)]
    truncate_all(database_url)
    a, b, watch = [await asyncpg.connect(database_url) for _ in range(3)]
    try:
        held = a.transaction()
        await held.start()
        await process_case_batches(a, [InBatch("x", "t", first)])
        racing = asyncio.create_task(process_case_batches(b, [InBatch("y", "t", second)]))
        waiting = False
        for _ in range(200):  # until the second writer waits on a lock the first one holds (or it ends: the test fails)
            waiting = await watch.fetchval("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1",
                                           b.get_server_pid())
            if waiting or racing.done():
                break
            await asyncio.sleep(0.05)
        assert waiting and not racing.done()  # waiting for the rows the first writer created and holds
        await held.commit()
        assert (await racing).new == 2
        await check_all(a, first + second, [])
    finally:
        await a.close()
        await b.close()
        await watch.close()


async def test_redelivered_batch_is_a_no_op_and_totals_reconcile(conn):
    ev = {"event_id": "e1", "case_id": "c1", "type": "submitted", "occurred_at": "2024-03-01T09:00:00+08:00",
          "item_code": "I", "region_code": "330100", "department_code": "D", "channel": "window"}
    bad = {"event_id": "e2", "case_id": "c1", "type": "exploded", "occurred_at": "2024-03-01T09:00:00+08:00"}
    out = await process_case_batches(conn, [InBatch("b1", "t", [ev, ev, bad]), InBatch("b1", "t", [ev])])
    assert (out.batches, out.skipped_batches, out.new, out.duplicate, out.invalid) == (1, 1, 1, 1, 1)
    assert "type: Input should be" in out.dead_letters[0].reason
    row = await conn.fetchrow("SELECT n_events, n_new, n_duplicate, n_invalid FROM processed_batch")
    assert tuple(row) == (3, 1, 1, 1)
    assert await conn.fetchval("SELECT count(*) FROM dead_letter WHERE stage = 'invalid'") == 1


async def test_orphans_wait_then_are_dead_lettered(conn):
    early = {"event_id": "x1", "case_id": "late-case", "type": "accepted", "occurred_at": "2024-03-01T09:00:00+08:00"}
    out = await process_case_batches(conn, [InBatch("b1", "t", [early])])
    assert out.new == 1
    assert await sweep_orphans(conn, timedelta(hours=1)) == []
    await conn.execute("UPDATE case_state SET pending_since = now() - interval '2 hours'")
    letters = await sweep_orphans(conn, timedelta(hours=1))
    assert [d.payload["event_id"] for d in letters] == ["x1"]
    assert "no 'submitted' event" in letters[0].reason
    assert await conn.fetchval("SELECT count(*) FROM case_event") == 0
    assert await conn.fetchval("SELECT count(*) FROM dead_letter WHERE stage = 'orphan'") == 1


async def test_a_case_for_a_cancelled_item_is_a_violation_only_after_the_cancellation(conn):
    def ev(eid, cid, t, typ="submitted", region="330100"):
        e = {"event_id": eid, "case_id": cid, "type": typ, "occurred_at": t}
        if typ == "submitted":
            e |= {"item_code": "G-1", "region_code": region, "department_code": "D", "channel": "online"}
        return e

    await apply_list_changes(conn, [ListChange.model_validate(c) for c in (
        {"change_id": "g1", "item_code": "G-1", "action": "added", "effective_at": "2024-03-01T00:00:00+08:00",
         "name": "n", "category": "行政許可", "department_code": "D", "level": "city", "region_codes": ["330100"]},
        {"change_id": "g2", "item_code": "G-1", "action": "cancelled", "effective_at": "2024-03-10T00:00:00+08:00"},
    )])
    await process_case_batches(conn, [InBatch("b", "t", [
        ev("before", "c-before", "2024-03-09T23:59:59+08:00"),
        ev("after", "c-after", "2024-03-10T00:00:00+08:00"),
        ev("early", "c-early", "2024-02-01T09:00:00+08:00"),
        ev("town", "c-town", "2024-03-05T09:00:00+08:00", region="330102001"),
    ])])
    rules = dict(await conn.fetch("SELECT event_id, rule FROM violation"))
    assert rules == {"after": "cancelled", "early": "never_listed", "town": "outside_regions"}
    # a devolution: the old level is now outside the list, the new one is not
    await apply_list_changes(conn, [ListChange.model_validate(
        {"change_id": "g3", "item_code": "G-1", "action": "devolved", "effective_at": "2024-03-20T00:00:00+08:00",
         "devolved_to": {"level": "town", "region_codes": ["330102001"]}})])
    await process_case_batches(conn, [InBatch("b2", "t", [
        ev("old-level", "c-old", "2024-03-21T09:00:00+08:00"),
        ev("new-level", "c-new", "2024-03-21T09:00:00+08:00", region="330102001"),
    ])])
    rules = dict(await conn.fetch("SELECT event_id, rule FROM violation"))
    assert rules["old-level"] == "devolved_away" and "new-level" not in rules


async def test_a_poison_record_is_dead_lettered_whole_and_the_rest_goes_on(conn, monkeypatch):
    from streams.cases import recompute as store
    from streams.cases.agents import process_or_quarantine
    from streams.indicators.status import totals

    real = store.evaluate_case

    def evaluate(events, *args, **kw):
        events = list(events)
        if any(e.case_id == "poison" for e in events):
            raise OverflowError("date value out of range")
        return real(events, *args, **kw)

    monkeypatch.setattr(store, "evaluate_case", evaluate)

    def sub(eid, cid):
        return {"event_id": eid, "case_id": cid, "type": "submitted", "occurred_at": "2024-03-01T09:00:00+08:00",
                "item_code": "I", "region_code": "330100", "department_code": "D", "channel": "window"}

    batches = [InBatch("ok1", "t", [sub("a", "c1")]), InBatch("bad", "t", [sub("b", "poison"), sub("c", "c3")]),
               InBatch("ok2", "t", [sub("d", "c4")])]
    out = await process_or_quarantine(conn, batches)
    assert (out.batches, out.new, out.invalid) == (3, 2, 2)
    assert {d.dl_key for d in out.dead_letters} == {"bad#0", "bad#1"}
    assert "OverflowError: date value out of range" in out.dead_letters[0].reason
    t = await totals(conn)
    assert (t["received"], t["counted"], t["dead_lettered"], t["reconciled"]) == (4, 2, 2, True)
    again = await process_or_quarantine(conn, batches)
    assert again.skipped_batches == 3 and again.new == 0


async def test_dead_letters_keep_what_postgresql_cannot_store(conn):
    from streams.cases.write import Unreadable, process_case_batches as run
    out = await run(conn, [InBatch("nul", "t", [Unreadable("not JSON: bad \x00 byte", "ab\x00cd"),
                                                {"event_id": "e\x00", "case_id": "c", "type": "x"}])])
    assert out.invalid == 2
    rows = await conn.fetch("SELECT reason, payload::text AS p FROM dead_letter ORDER BY dl_key")
    assert "␀" in rows[0]["reason"] and "ab␀cd" in rows[0]["p"]
    assert "NUL characters are not allowed" in rows[1]["reason"]


def test_the_raw_event_row_is_exactly_the_contract():
    from schemas import CaseEvent
    from streams.cases.write import EVENT_COLS
    # the write path stores a validated event's fields as they are: the table and the model must agree
    assert tuple(CaseEvent.model_fields) == EVENT_COLS
