"""The pure logic, without a database: one case's contribution, and the power list's history and guard."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from streams.cases.logic import (ACCEPTED, COMPLETED, HANDLED, HANDLING_US, IMMEDIATE, ON_TIME, ONLINE, OUT_OF_LIST,
                                 RECEIVED, Step, evaluate_case, level_of)
from streams.powerlist.logic import PowerList, build_versions

T = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 in Shanghai


def step(eid, typ, at, **kw):
    return Step(eid, "c", typ, at, **kw)


def everywhere(*_):
    return None


def no_days(*_):
    return None


def test_level_of_a_region_code():
    assert [level_of(c) for c in ("330000", "330100", "330102", "330102001")] == ["province", "city", "county", "town"]


def test_a_case_contributes_to_the_days_its_events_happen_on():
    evs = [step("s", "submitted", T, item_code="I", region_code="330102", department_code="D", channel="online"),
           step("a", "accepted", T + timedelta(hours=1)),
           step("c", "completed", T + timedelta(days=1, hours=2))]
    r = evaluate_case(reversed(evs), everywhere, no_days)  # order of arrival does not matter
    day0, day1 = T.date(), (T + timedelta(days=1)).date()
    assert r.dims == ("330102", "D", "I", "county")
    assert (r.contrib[day0][RECEIVED], r.contrib[day0][ONLINE], r.contrib[day0][ACCEPTED]) == (1, 1, 1)
    c = r.contrib[day1]
    assert (c[COMPLETED], c[HANDLED], c[IMMEDIATE]) == (1, 1, 0)
    assert c[HANDLING_US] == timedelta(days=1, hours=1) // timedelta(microseconds=1)
    assert r.ended_at == T + timedelta(days=1, hours=2)


def test_suspension_pushes_the_deadline_and_is_left_out_of_handling_time():
    evs = [step("s", "submitted", T, item_code="I", region_code="330102", department_code="D", channel="window"),
           step("a", "accepted", T, deadline=T + timedelta(hours=2)),
           step("p", "suspended", T + timedelta(hours=1)), step("r", "resumed", T + timedelta(hours=4)),
           step("c", "completed", T + timedelta(hours=4, minutes=30))]
    r = evaluate_case(evs, everywhere, no_days)
    c = r.contrib[T.date()]
    assert c[ON_TIME] == 1, "2 h deadline + 3 h suspended: done after 4.5 h is on time"
    assert c[HANDLING_US] == timedelta(hours=1, minutes=30) // timedelta(microseconds=1)


def test_no_submitted_no_result_and_duplicates_count_once():
    assert evaluate_case([step("a", "accepted", T)], everywhere, no_days) is None
    sub = step("s", "submitted", T, item_code="I", region_code="330102", department_code="D", channel="window")
    assert evaluate_case([sub, sub], everywhere, no_days).contrib[T.date()][RECEIVED] == 1


def change(cid, action, at, **kw):
    return {"change_id": cid, "item_code": "I", "action": action, "effective_at": at, **kw}


def test_versions_and_the_guard_follow_the_list_in_effective_order():
    added = change("1", "added", T, name="n", category="行政許可", department_code="D", level="city",
                   region_codes=["330100"], committed_days=5)
    devolved = change("2", "devolved", T + timedelta(days=10), devolved_to={"level": "county",
                                                                            "region_codes": ["330102"]})
    cancelled = change("3", "cancelled", T + timedelta(days=20))
    versions = build_versions("I", [cancelled, added, devolved])  # arrival order does not matter
    assert [v.action for v in versions] == ["added", "devolved", "cancelled"]
    assert versions[0].valid_to == versions[1].valid_from
    pl = PowerList(versions)
    assert pl.guard("I", "330100", T - timedelta(seconds=1)) == "never_listed"
    assert pl.guard("I", "330100", T) is None
    assert pl.guard("I", "330103", T) == "outside_regions"
    assert pl.guard("I", "330100", T + timedelta(days=11)) == "devolved_away"
    assert pl.guard("I", "330102", T + timedelta(days=11)) is None
    assert pl.guard("I", "330102", T + timedelta(days=21)) == "cancelled"
    assert pl.deadline_days("I", T + timedelta(days=11)) == 5


def test_an_event_outside_the_list_is_counted_and_named():
    pl = PowerList(build_versions("I", [change("1", "added", T + timedelta(days=1), name="n", category="行政許可",
                                               department_code="D", level="county", region_codes=[])]))
    evs = [step("s", "submitted", T, item_code="I", region_code="330102", department_code="D", channel="window")]
    r = evaluate_case(evs, pl.guard, pl.deadline_days)
    assert r.contrib[T.date()][OUT_OF_LIST] == 1 and r.violations[0][1] == "never_listed"


def listed(**days):
    return PowerList(build_versions("I", [change("1", "added", T - timedelta(days=30), name="n", category="行政許可",
                                                 department_code="D", level="county", region_codes=[], **days)]))


def completed_case(accepted_deadline=None, second_deadline=None):
    evs = [step("s", "submitted", T, item_code="I", region_code="330102", department_code="D", channel="window"),
           step("a", "accepted", T, deadline=accepted_deadline),
           step("c", "completed", T + timedelta(days=3))]
    if second_deadline:
        evs.append(step("a2", "accepted", T + timedelta(hours=1), deadline=second_deadline))
    return evs


def test_the_deadline_comes_from_the_acceptance_then_committed_then_statutory_days():
    # 3 days later, on Thursday: on time with 5 working days, late with 1
    both = listed(committed_days=5, statutory_days=1)
    assert evaluate_case(completed_case(), both.guard, both.deadline_days).contrib[(T + timedelta(days=3)).date()][
        ON_TIME] == 1, "committed days before statutory"
    statutory = listed(statutory_days=1)
    r = evaluate_case(completed_case(), statutory.guard, statutory.deadline_days)
    assert r.deadline is not None and r.contrib[(T + timedelta(days=3)).date()][ON_TIME] == 0
    own = evaluate_case(completed_case(T + timedelta(days=10)), statutory.guard, statutory.deadline_days)
    assert own.deadline == T + timedelta(days=10), "the acceptance's own deadline before the list's days"


def test_a_completion_without_a_deadline_is_counted_apart_not_on_time():
    from streams.cases.logic import NO_DEADLINE

    none = listed()
    day = (T + timedelta(days=3)).date()
    r = evaluate_case(completed_case(), none.guard, none.deadline_days)
    assert r.deadline is None and (r.contrib[day][ON_TIME], r.contrib[day][NO_DEADLINE]) == (0, 1)
    # only the first acceptance's deadline counts: a later acceptance's is not the case's deadline
    r = evaluate_case(completed_case(second_deadline=T + timedelta(days=10)), none.guard, none.deadline_days)
    assert r.deadline is None and r.contrib[day][NO_DEADLINE] == 1
    never_accepted = [e for e in completed_case() if e.type != "accepted"]
    r = evaluate_case(never_accepted, none.guard, none.deadline_days)
    assert (r.contrib[day][ON_TIME], r.contrib[day][NO_DEADLINE]) == (0, 1)


def test_a_regional_cancellation_stops_the_item_there_and_nowhere_else():
    from datetime import datetime, timedelta, timezone

    from streams.powerlist.logic import PowerList, build_versions

    t = datetime(2024, 1, 1, tzinfo=timezone.utc)
    add = {"change_id": "a", "effective_at": t, "action": "added", "name": "x", "category": "c",
           "department_code": "d", "level": "county", "region_codes": ["330102", "330105", "330106"]}
    stop = {"change_id": "b", "effective_at": t + timedelta(days=10), "action": "cancelled", "region_codes": ["330105"]}
    later = t + timedelta(days=20)
    pl = PowerList(build_versions("I", [stop, add]))  # any arrival order
    assert [pl.guard("I", r, later) for r in ("330102", "330105", "330106")] == [None, "cancelled", None]
    assert pl.guard("I", "330105", t + timedelta(days=5)) is None  # before it stopped
    everywhere = PowerList(build_versions("I", [{**add, "region_codes": []}, stop]))
    assert [everywhere.guard("I", r, later) for r in ("330102", "330105")] == [None, "cancelled"]
    rest = {**stop, "change_id": "c", "region_codes": ["330102", "330106"], "effective_at": t + timedelta(days=11)}
    assert not build_versions("I", [add, stop, rest])[-1].active  # stopped everywhere it was: cancelled
    back = {**add, "change_id": "d", "action": "modified", "effective_at": t + timedelta(days=12)}
    assert PowerList(build_versions("I", [add, stop, back])).guard("I", "330105", later) is None
