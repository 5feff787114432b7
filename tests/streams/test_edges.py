"""The set-based contributions of a window's cut parts (SQL) equal the case logic's, event by event."""
from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import ListChange
from schemas.events import EARLIEST, LATEST
from streams.calendar.store import load_calendar
from streams.cases.logic import DIMS, METRICS, evaluate_case
from streams.cases.recompute import load_events, power_list_for
from streams.cases.write import InBatch, process_case_batches
from streams.indicators.edges import edge_sql
from streams.cases.reach import apply_list_changes
from tests.histories import BASE, DEPTS, ITEMS, REGIONS, SH, iso, list_history

TYPES = ["accepted", "rejected", "correction_requested", "correction_submitted", "suspended", "resumed",
         "completed", "withdrawn", "evaluated"]


@st.composite
def tight_case(draw, n: int) -> list[dict]:
    """A case on a grid of whole hours, so that a completion falls exactly on its deadline, acceptance and
    completion share a local day or straddle midnight, and several corrections come before one completion."""
    cid = f"E{n}"
    at = lambda: BASE + timedelta(hours=draw(st.sampled_from([0, 1, 2, 15, 16, 24, 25])))  # noqa: E731
    evs = [{"event_id": f"{cid}-0", "case_id": cid, "type": "submitted", "occurred_at": iso(at(), SH),
            "item_code": draw(st.sampled_from(ITEMS)), "region_code": draw(st.sampled_from(REGIONS)),
            "department_code": draw(st.sampled_from(DEPTS)), "channel": draw(st.sampled_from(["online", "window"]))}]
    for i in range(1, draw(st.integers(0, 8)) + 1):
        ev = {"event_id": f"{cid}-{i}", "case_id": cid, "type": draw(st.sampled_from(TYPES)), "occurred_at": iso(at(), SH)}
        if ev["type"] == "accepted" and draw(st.booleans()):
            ev["deadline"] = iso(at(), SH)
        if ev["type"] == "completed":
            ev["outcome"] = "approved"
        if ev["type"] == "evaluated":
            ev["score"] = draw(st.integers(1, 5))
        evs.append(ev)
    first = min((e for e in evs if e["type"] == "accepted"), key=lambda e: (e["occurred_at"], e["event_id"]),
                default=None)
    if first is not None and "deadline" in first and draw(st.booleans()):  # done on the very instant it is due
        evs.append({"event_id": f"{cid}-due", "case_id": cid, "type": "completed", "occurred_at": first["deadline"],
                    "outcome": "approved"})
    return evs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases=st.lists(st.integers(0, 10**6), min_size=1, max_size=12).flatmap(
    lambda ks: st.tuples(*[tight_case(i) for i in range(len(ks))])), changes=list_history())
async def test_cut_parts_count_what_the_case_logic_counts(private_conn, cases, changes):
    conn = private_conn  # a database no worker touches; each example rolled back, not the tables truncated
    tr = conn.transaction()
    await tr.start()
    try:
        await apply_list_changes(conn, [ListChange.model_validate(c) for c in changes])
        await process_case_batches(conn, [InBatch("e", "test", [e for evs in cases for e in evs])])
        events = await load_events(conn, [evs[0]["case_id"] for evs in cases])
        plist, calendar = await power_list_for(conn, events), await load_calendar(conn)
        want: dict[tuple, list[int]] = {}
        for evs in events.values():
            res = evaluate_case(evs, plist.guard, plist.deadline_days, lambda ts: True, calendar=calendar)
            if res is not None and True in res.contrib:
                acc = want.setdefault(res.dims, [0] * len(METRICS))
                want[res.dims] = [a + v for a, v in zip(acc, res.contrib[True])]
        rows = await conn.fetch(edge_sql([("$1", "$2")]), EARLIEST, LATEST)
        got = {tuple(r[d] for d in DIMS): [int(r[m]) for m in METRICS] for r in rows}
        assert got == want
    finally:
        await tr.rollback()
