"""Pure case logic: from all of one case's events to its state and its daily indicator components."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from operator import attrgetter
from typing import Any, Callable, Iterable, NamedTuple, Optional

from core.tz import local_day
from streams.calendar.logic import MON_FRI, WorkCalendar, add_working_days

# Additive daily components; every rate of the spec is a ratio of two of them.
METRICS = (
    "received", "online", "accepted", "rejected", "completed", "on_time", "immediate",
    "handled", "handling_us", "corr_cases", "corr_once", "evaluated", "satisfied", "out_of_list", "no_deadline",
)
N_METRICS = len(METRICS)
(RECEIVED, ONLINE, ACCEPTED, REJECTED, COMPLETED, ON_TIME, IMMEDIATE, HANDLED, HANDLING_US, CORR_CASES, CORR_ONCE,
 EVALUATED, SATISFIED, OUT_OF_LIST, NO_DEADLINE) = range(N_METRICS)
ONLINE_CHANNELS = frozenset({"online", "mobile"})


class Step(NamedTuple):
    """One event of a case, as the case logic reads it."""

    event_id: str
    case_id: str
    type: str
    occurred_at: datetime
    item_code: Optional[str] = None
    region_code: Optional[str] = None
    department_code: Optional[str] = None
    channel: Optional[str] = None
    deadline: Optional[datetime] = None
    score: Optional[int] = None


DIMS = ("region_code", "department_code", "item_code", "level")  # a case's group, from its first `submitted`
Dims = tuple[str, str, str, str]
# (item_code, region_code, at) -> None when the item is active there then, else the rule broken
GuardFn = Callable[[str, str, datetime], Optional[str]]
# (item_code, at) -> the working days the item's version in force then gives a case (committed, else statutory)
DaysFn = Callable[[str, datetime], Optional[int]]


def level_of(region_code: str) -> str:
    """The administrative level of an office from its 行政區劃代碼."""
    if len(region_code) == 9:
        return "town"
    if region_code.endswith("0000"):
        return "province"
    if region_code.endswith("00"):
        return "city"
    return "county"


def _overlap(intervals: Iterable[tuple[datetime, Optional[datetime]]], a: datetime, b: datetime) -> timedelta:
    total = timedelta(0)
    for s, e in intervals:
        lo, hi = max(a, s), (b if e is None else min(b, e))
        if hi > lo:
            total += hi - lo
    return total


@dataclass
class CaseResult:
    """A case's state of record and its contribution to the daily components."""

    case_id: str
    dims: Dims
    submitted_at: datetime
    accepted_at: Optional[datetime]
    ended_at: Optional[datetime]
    deadline: Optional[datetime]
    suspensions: list[tuple[datetime, Optional[datetime]]]
    corrections: int
    last_event_at: datetime
    contrib: dict[date, list[int]] = field(default_factory=dict)  # per bucket, in METRICS order
    violations: list[tuple[Step, str]] = field(default_factory=list)


_in_time = attrgetter("occurred_at", "event_id")


def _ordered(events: Iterable[Step]) -> list[Step]:
    evs = list(events)
    if len({e.event_id for e in evs}) < len(evs):  # the store never passes duplicates; others may
        seen: dict[str, Step] = {}
        for e in evs:
            seen.setdefault(e.event_id, e)
        evs = list(seen.values())
    return sorted(evs, key=_in_time)


def suspensions_of(events: list[Step]) -> list[tuple[datetime, Optional[datetime]]]:
    """Suspended/resumed pairs in time order; a repeated suspend or a stray resume changes nothing."""
    out: list[tuple[datetime, Optional[datetime]]] = []
    start: Optional[datetime] = None
    for e in events:
        if e.type == "suspended" and start is None:
            start = e.occurred_at
        elif e.type == "resumed" and start is not None:
            out.append((start, e.occurred_at))
            start = None
    if start is not None:
        out.append((start, None))
    return out


def evaluate_case(events: Iterable[Step], guard: GuardFn, deadline_days: DaysFn,
                  bucket: Callable[[datetime], Any] = local_day, *,
                  calendar: WorkCalendar = MON_FRI) -> Optional[CaseResult]:
    """Everything one case contributes, from all its events; None while it has no `submitted`.

    Contributions are keyed by bucket(occurred_at): the local day, or any other key (None: leave it out).
    The deadline is the first `accepted` event's own, else the item's days (committed, else statutory, as in force
    at acceptance) counted in the calendar's working days from the acceptance day; a case with neither has none:
    it is never overdue, and its completion is counted apart (NO_DEADLINE), not as on time or late."""
    evs = _ordered(events)
    sub: Optional[Step] = None
    first_accepted: Optional[Step] = None
    deadline: Optional[datetime] = None
    ended_at: Optional[datetime] = None
    corrections = 0
    for e in evs:
        t = e.type
        if t == "submitted":
            sub = sub or e
        elif t == "accepted":
            first_accepted = first_accepted or e
        elif t == "completed" or t == "withdrawn":
            ended_at = ended_at or e.occurred_at
        elif t == "correction_requested":
            corrections += 1
    if sub is None:
        return None
    assert sub.region_code and sub.department_code and sub.item_code
    dims = (sub.region_code, sub.department_code, sub.item_code, level_of(sub.region_code))
    accepted_at = first_accepted.occurred_at if first_accepted else None
    if first_accepted is not None:
        deadline = first_accepted.deadline
        if deadline is None:
            days = deadline_days(sub.item_code, first_accepted.occurred_at)
            if days is not None:
                deadline = add_working_days(first_accepted.occurred_at, days, calendar)
    susp = suspensions_of(evs)

    contrib: dict[Any, list[int]] = {}
    violations: list[tuple[Step, str]] = []
    item, region = dims[2], dims[0]
    for e in evs:
        key = bucket(e.occurred_at)
        if key is None:
            continue
        c = contrib.get(key)
        if c is None:
            c = contrib[key] = [0] * N_METRICS
        t = e.type
        if t == "submitted":
            c[RECEIVED] += 1
            c[ONLINE] += e.channel in ONLINE_CHANNELS
        elif t == "accepted":
            c[ACCEPTED] += 1
        elif t == "rejected":
            c[REJECTED] += 1
        elif t == "evaluated":
            c[EVALUATED] += 1
            c[SATISFIED] += (e.score or 0) >= 4
        elif t == "completed":
            c[COMPLETED] += 1
            done = e.occurred_at
            paused = _overlap(susp, accepted_at, done) if susp and accepted_at is not None else timedelta(0)
            if deadline is None:  # never accepted, or no deadline anywhere: not judged, counted apart
                c[NO_DEADLINE] += 1
            else:
                c[ON_TIME] += done <= deadline + paused
            if accepted_at is not None:
                c[IMMEDIATE] += local_day(done) == local_day(accepted_at)
                c[HANDLED] += 1
                c[HANDLING_US] += (done - accepted_at - paused) // timedelta(microseconds=1)
            if corrections:
                c[CORR_CASES] += 1
                c[CORR_ONCE] += corrections == 1
        rule = guard(item, region, e.occurred_at)
        if rule is not None:
            c[OUT_OF_LIST] += 1
            violations.append((e, rule))
    return CaseResult(
        case_id=sub.case_id, dims=dims, submitted_at=sub.occurred_at, accepted_at=accepted_at,
        ended_at=ended_at, deadline=deadline, suspensions=susp, corrections=corrections,
        last_event_at=evs[-1].occurred_at, contrib=dict(contrib), violations=violations,
    )

