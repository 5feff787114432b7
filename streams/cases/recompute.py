"""Bringing cases up to date: each touched case's old contribution retracted and its new one, from all its
events, added; the case's state row and its violations replaced."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from operator import itemgetter
from typing import Any, Callable, Iterable, NamedTuple, Optional, Sequence

import asyncpg
import orjson

from streams.calendar.store import load_calendar
from streams.cases.logic import DIMS, METRICS, CaseResult, Dims, Step, evaluate_case
from streams.powerlist.logic import PowerList
from streams.powerlist.store import load_power_list
from streams.sql import as_json, copy_if_new, recordset


class Prior(NamedTuple):
    """What a locked case last contributed, to retract: its group (None while pending) and its daily components."""

    dims: Optional[Dims]
    contrib: dict[str, list[int]]


DayGroup = tuple[date, str, str, str, str]  # a row of indicator_daily: the day and the case's DIMS

CASE_STATE_COLS = ("case_id", "submitted_at", *DIMS, "accepted_at", "ended_at", "deadline", "suspensions",
                   "corrections", "last_event_at", "contrib")
CASE_STATE_SQL_TYPES = ("text", "timestamptz", "text", "text", "text", "text", "timestamptz", "timestamptz",
                        "timestamptz", "tstzmultirange", "integer", "timestamptz", "text")
COPY_FROM = 2000  # rows; below this, one INSERT of a JSON document costs less than a COPY
VIOLATION_COLS = ("event_id", "case_id", "event_type", "item_code", "region_code", "department_code", "occurred_at",
                  "rule")


async def lock_cases(conn: asyncpg.Connection, case_ids: Iterable[str]) -> dict[str, Prior]:
    """Lock the cases that have a row, in key order so concurrent writers never deadlock; what each last
    contributed (to retract)."""
    rows = await conn.fetch(
        "SELECT case_id, region_code, department_code, item_code, level, contrib FROM case_state"
        " WHERE case_id = ANY($1::text[]) ORDER BY case_id FOR UPDATE", sorted(set(case_ids)))
    return {r["case_id"]: Prior((r["region_code"], r["department_code"], r["item_code"], r["level"])
                                if r["region_code"] is not None else None, orjson.loads(r["contrib"])) for r in rows}


_step_fields = itemgetter(*Step._fields)


def step_of(r: Any) -> Step:
    """The case logic's view of a stored event (a record) or a validated one (its fields)."""
    return Step._make(_step_fields(r))


async def load_events(conn: asyncpg.Connection, case_ids: Sequence[str]) -> dict[str, list[Step]]:
    """All stored events of the cases, by case."""
    events: dict[str, list[Step]] = defaultdict(list)
    if case_ids:
        for r in await conn.fetch(
            f"SELECT {', '.join(Step._fields)} FROM case_event WHERE case_id = ANY($1::text[])", list(case_ids)):
            events[r["case_id"]].append(step_of(r))
    return events


async def power_list_for(conn: asyncpg.Connection, events: dict[str, list[Step]]) -> PowerList:
    """The list history of the items these cases applied for."""
    return await load_power_list(
        conn, {e.item_code for evs in events.values() for e in evs if e.type == "submitted" and e.item_code})


def _multirange(susp: list[tuple[datetime, Optional[datetime]]]) -> str:
    """A tstzmultirange literal: '{["lo","hi"),["lo",)}' (no upper bound: still suspended)."""
    return "{" + ",".join(f'["{lo.isoformat()}",' + (f'"{hi.isoformat()}")' if hi else ")") for lo, hi in susp) + "}"


def _state(cid: str, r: Optional[CaseResult], suspensions: Callable[[list], Any] = _multirange) -> tuple:
    if r is None:  # no `submitted` yet: a pending case, swept after the grace period
        return (cid, None, None, None, None, None, None, None, None, suspensions([]), 0, None, "{}")
    return (cid, r.submitted_at, *r.dims, r.accepted_at, r.ended_at, r.deadline, suspensions(r.suspensions),
            r.corrections, r.last_event_at,
            orjson.dumps({day.isoformat(): vals for day, vals in r.contrib.items()}).decode())


def _ranges(susp: list[tuple[datetime, Optional[datetime]]]) -> list[asyncpg.Range]:
    """The same, as COPY takes it."""
    return [asyncpg.Range(lo, hi, upper_inc=False) for lo, hi in susp]


async def _create(conn: asyncpg.Connection, fresh: dict[str, Optional[CaseResult]]) -> set[str]:
    """Insert the rows of new cases; returns the ids whose row this call created (others were created
    concurrently). Many at once (a backfill) go in by COPY, unless one exists: then all by the insert that
    skips those."""
    if len(fresh) >= COPY_FROM and await copy_if_new(conn, "case_state", CASE_STATE_COLS, [
            _state(cid, fresh[cid], _ranges) for cid in sorted(fresh)]):
        return set(fresh)
    state = recordset(CASE_STATE_COLS, CASE_STATE_SQL_TYPES)
    return {r["case_id"] for r in await conn.fetch(
        f"INSERT INTO case_state ({', '.join(CASE_STATE_COLS)}) SELECT * FROM {state}"
        " ORDER BY case_id ON CONFLICT (case_id) DO NOTHING RETURNING case_id",
        as_json(CASE_STATE_COLS, (_state(cid, fresh[cid]) for cid in sorted(fresh))))}


def _delta(prior: dict[str, Prior], case_ids: Sequence[str],
           results: Iterable[Optional[CaseResult]]) -> list[tuple[DayGroup, list[int]]]:
    """What indicator_daily must change by: the priors retracted, the results added; rows that cancel left out."""
    delta: dict[DayGroup, list[int]] = {}
    for cid in case_ids:
        dims, contrib = prior[cid]
        if dims is None:
            continue
        for day, vals in contrib.items():
            key = (date.fromisoformat(day), *dims)
            d = delta.get(key)
            delta[key] = [-v for v in vals] if d is None else [a - v for a, v in zip(d, vals)]
    for res in results:
        if res is None:
            continue
        for on, vals in res.contrib.items():
            key = (on, *res.dims)
            d = delta.get(key)
            delta[key] = vals if d is None else [a + v for a, v in zip(d, vals)]
    return sorted((k, v) for k, v in delta.items() if any(v))


async def recompute_cases(conn: asyncpg.Connection, case_ids: Sequence[str], prior: Optional[dict[str, Prior]] = None,
                          new_cases: Optional[dict[str, list[Step]]] = None) -> list[dict]:
    """Retract what the cases contributed and add what they contribute now; returns new violations.

    `prior` is what `lock_cases` returned for them. `new_cases` are cases without a row, with all their events
    in hand: their rows are created here, unless a concurrent writer created one first; those are then locked
    and recomputed from the database like the others."""
    if prior is None:
        prior = await lock_cases(conn, case_ids)
    case_ids = [c for c in case_ids if c in prior]  # a case swept away meanwhile has nothing left to count
    new_cases = new_cases or {}
    events = dict(new_cases)
    events.update(await load_events(conn, case_ids))
    plist = await power_list_for(conn, events)
    calendar = await load_calendar(conn)
    created: dict[str, Optional[CaseResult]] = {}
    if new_cases:
        fresh = {cid: evaluate_case(evs, plist.guard, plist.deadline_days, calendar=calendar)
                 for cid, evs in new_cases.items()}
        won = await _create(conn, fresh)
        created = {cid: res for cid, res in fresh.items() if cid in won}
        lost = sorted(set(fresh) - won)
        if lost:  # created concurrently: now committed, so locked and read back whole
            prior = {**prior, **await lock_cases(conn, lost)}
            case_ids = sorted({*case_ids, *(c for c in lost if c in prior)})
            events = {**events, **await load_events(conn, lost)}
            plist = await power_list_for(conn, events)
    results: dict[str, Optional[CaseResult]] = {
        cid: evaluate_case(events.get(cid, ()), plist.guard, plist.deadline_days, calendar=calendar)
        for cid in case_ids
    }

    changed = _delta(prior, case_ids, (*results.values(), *created.values()))
    if changed:
        names = ("day", *DIMS, *METRICS)
        types = ["date", "text", "text", "text", "text"] + ["bigint"] * len(METRICS)
        sets = ", ".join(f"{m} = indicator_daily.{m} + excluded.{m}" for m in METRICS)
        upsert = f" ON CONFLICT (day, {', '.join(DIMS)}) DO UPDATE SET {sets}, updated_at = now()"
        if len(changed) >= COPY_FROM:  # staged by COPY: far cheaper than a JSON document of that size
            await conn.execute("CREATE TEMP TABLE IF NOT EXISTS daily_delta (LIKE indicator_daily INCLUDING DEFAULTS)")
            await conn.copy_records_to_table("daily_delta", records=[(*k, *v) for k, v in changed], columns=names)
            await conn.execute(f"INSERT INTO indicator_daily ({', '.join(names)}) SELECT {', '.join(names)}"
                               f" FROM daily_delta{upsert}; TRUNCATE daily_delta")
        else:
            await conn.execute(
                f"INSERT INTO indicator_daily ({', '.join(names)}) SELECT * FROM {recordset(names, types)}{upsert}",
                as_json(names, ((*k, *v) for k, v in changed)))

    states = [_state(cid, r) for cid, r in results.items() if r is not None]
    if states:
        await conn.execute(
            f"UPDATE case_state s SET {', '.join(f'{c} = x.{c}' for c in CASE_STATE_COLS[1:])}, updated_at = now()"
            f" FROM {recordset(CASE_STATE_COLS, CASE_STATE_SQL_TYPES)} WHERE s.case_id = x.case_id",
            as_json(CASE_STATE_COLS, states))

    old_violations = {r["event_id"] for r in await conn.fetch(
        "DELETE FROM violation WHERE case_id = ANY($1::text[]) RETURNING event_id", case_ids)} if case_ids else set()
    vrows = [
        (e.event_id, cid, e.type, r.dims[2], r.dims[0], r.dims[1], e.occurred_at, rule)
        for cid, r in (*results.items(), *created.items()) if r is not None for e, rule in r.violations
    ]
    if len(vrows) >= COPY_FROM:  # a backfill's: none of them is stored (the cases' rows were just deleted)
        await conn.copy_records_to_table("violation", records=vrows, columns=VIOLATION_COLS)
    elif vrows:
        types = ["text"] * 6 + ["timestamptz", "text"]
        await conn.execute(
            f"INSERT INTO violation ({', '.join(VIOLATION_COLS)}) SELECT * FROM {recordset(VIOLATION_COLS, types)}",
            as_json(VIOLATION_COLS, vrows))
    return [dict(zip(VIOLATION_COLS, v)) for v in vrows if v[0] not in old_violations]
