"""The case write path: one transaction per batch, idempotent, with retract-and-replace per touched case."""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from operator import itemgetter
from typing import Any, Iterable, Optional, Sequence

import asyncpg
import orjson

from schemas import ListChange, Refusal, parse_case_event, parse_case_events
from streams.cases.logic import METRICS, TZ, CaseResult, Ev, WorkCalendar, evaluate_case
from streams.powerlist.logic import PowerList
from streams.powerlist.store import load_power_list, store_list_changes

EVENT_COLS = ("event_id", "case_id", "type", "occurred_at", "item_code", "region_code", "department_code",
              "channel", "applicant_key", "deadline", "outcome", "score")
EVENT_TYPES = ("text", "text", "text", "timestamptz", "text", "text", "text",
               "text", "text", "timestamptz", "text", "smallint")
DIMS = ("region_code", "department_code", "item_code", "level")
# Case batches hold it shared, list changes exclusive: a list change then sees every case a concurrent batch
# wrote, and a batch evaluates its cases against the list as of after the change.
LIST_LOCK = 72_190_416


@dataclass
class InBatch:
    """One input record: a batch of raw events with the key that makes its redelivery a no-op."""

    batch_id: str
    source: str
    events: list[Any]


@dataclass(frozen=True)
class Unreadable:
    """A record that is not even JSON: refused with this reason."""

    reason: str
    text: str


@dataclass
class BatchOutcome:
    """What a call processed; outcomes of several calls add up with +."""

    batches: int = 0
    skipped_batches: int = 0
    events: int = 0
    new: int = 0
    duplicate: int = 0
    invalid: int = 0
    cases: int = 0
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    violations: list[dict[str, Any]] = field(default_factory=list)

    def __add__(self, other: "BatchOutcome") -> "BatchOutcome":
        return BatchOutcome(**{f: getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__})


def recordset(names: Sequence[str], types: Sequence[str], param: int = 1) -> str:
    """Rows travel as one JSON document: far cheaper to encode than one array per column, and as json, not
    jsonb, the server reads each row straight into its columns."""
    return f"json_to_recordset(${param}::json) AS x({', '.join(f'{n} {t}' for n, t in zip(names, types))})"


def as_json(names: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    return orjson.dumps([dict(zip(names, r)) for r in rows]).decode()


OldState = dict[str, tuple[Optional[tuple[str, str, str, str]], dict[str, list[int]]]]


async def lock_cases(conn: asyncpg.Connection, case_ids: Iterable[str]) -> OldState:
    """Lock the cases that have a row, in key order so concurrent writers never deadlock; what each last
    contributed (to retract)."""
    rows = await conn.fetch(
        "SELECT case_id, region_code, department_code, item_code, level, contrib FROM case_state"
        " WHERE case_id = ANY($1::text[]) ORDER BY case_id FOR UPDATE", sorted(set(case_ids)))
    return {r["case_id"]: ((r["region_code"], r["department_code"], r["item_code"], r["level"])
                           if r["region_code"] is not None else None, orjson.loads(r["contrib"])) for r in rows}


async def process_case_batches(conn: asyncpg.Connection, batches: Sequence[InBatch]) -> BatchOutcome:
    """Store the new events of the batches not yet processed and bring their cases up to date, atomically."""
    out = BatchOutcome()
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", LIST_LOCK)
        # Claiming first makes a concurrent redelivery wait for this transaction, then skip.
        claim = {b.batch_id: b.source for b in batches}
        fresh = {r["batch_id"] for r in await conn.fetch(
            "INSERT INTO processed_batch (batch_id, source, n_events, n_new, n_duplicate, n_invalid)"
            " SELECT b, s, 0, 0, 0, 0 FROM unnest($1::text[], $2::text[]) AS x(b, s) ORDER BY b"
            " ON CONFLICT (batch_id) DO NOTHING RETURNING batch_id", list(claim), list(claim.values()))}
        rows: dict[str, dict[str, Any]] = {}
        per_batch: list[tuple[InBatch, list[str], int]] = []
        seen_batches: set[str] = set()
        for b in batches:
            if b.batch_id not in fresh or b.batch_id in seen_batches:
                out.skipped_batches += 1
                continue
            seen_batches.add(b.batch_id)
            out.batches += 1
            ids_in_batch: list[str] = []
            invalid = 0
            if any(isinstance(raw, Unreadable) for raw in b.events):
                parsed = [(None, Refusal(i, raw.reason, raw.text)) if isinstance(raw, Unreadable)
                          else parse_case_event(raw, i) for i, raw in enumerate(b.events)]
            else:
                parsed = parse_case_events(b.events)
            for ev, refusal in parsed:
                if refusal is not None:
                    invalid += 1
                    out.dead_letters.append(dict(
                        dl_key=f"{b.batch_id}#{refusal.index}", stage="invalid", kind="case_event", source=b.source,
                        reason=refusal.reason, payload=refusal.raw))
                    continue
                ids_in_batch.append(ev.event_id)
                rows.setdefault(ev.event_id, ev.__dict__)  # exactly the EVENT_COLS fields
            per_batch.append((b, ids_in_batch, invalid))
        old: OldState = {}
        if rows:
            old = await lock_cases(conn, (r["case_id"] for r in rows.values()))
            inserted = await conn.fetch(
                f"INSERT INTO case_event ({', '.join(EVENT_COLS)}) SELECT * FROM {recordset(EVENT_COLS, EVENT_TYPES)}"
                " ON CONFLICT (event_id) DO NOTHING RETURNING event_id, case_id",
                orjson.dumps(list(rows.values())).decode(),
            )
        else:
            inserted = []
        new_ids = {r["event_id"] for r in inserted}
        touched = sorted({r["case_id"] for r in inserted})
        batch_rows = []
        claimed: set[str] = set()
        for b, ids_in_batch, invalid in per_batch:
            n_new = 0
            for e in ids_in_batch:
                if e in new_ids and e not in claimed:
                    claimed.add(e)
                    n_new += 1
            batch_rows.append((b.batch_id, len(b.events), n_new, len(ids_in_batch) - n_new, invalid))
            out.events += len(b.events)
            out.new += n_new
            out.duplicate += len(ids_in_batch) - n_new
            out.invalid += invalid
        if batch_rows:
            await conn.execute(
                "UPDATE processed_batch p SET n_events = x.n, n_new = x.nn, n_duplicate = x.nd, n_invalid = x.ni"
                " FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $5::int[]) AS x(b, n, nn, nd, ni)"
                " WHERE p.batch_id = x.b", *zip(*batch_rows))
        await insert_dead_letters(conn, out.dead_letters)
        if touched:
            # a case with no row has no events but the ones this batch inserted: no need to read them back
            new_cases: dict[str, list[Ev]] = {}
            for eid in new_ids:
                r = rows[eid]
                if r["case_id"] not in old:
                    new_cases.setdefault(r["case_id"], []).append(_ev_of(r))
            out.violations = await recompute_cases(conn, [c for c in touched if c in old], old, new_cases)
        out.cases = len(touched)
    return out


async def quarantine(conn: asyncpg.Connection, batch: InBatch, error: BaseException) -> BatchOutcome:
    """A record that cannot be processed is accounted for and dead-lettered whole, so it cannot block the stream."""
    out = BatchOutcome()
    reason = f"could not be processed: {type(error).__name__}: {error}"[:1000]
    async with conn.transaction():
        fresh = await conn.fetchval(
            "INSERT INTO processed_batch (batch_id, source, n_events, n_new, n_duplicate, n_invalid)"
            " VALUES ($1, $2, $3, 0, 0, $3) ON CONFLICT (batch_id) DO NOTHING RETURNING batch_id",
            batch.batch_id, batch.source, len(batch.events))
        if fresh is None:
            out.skipped_batches = 1
            return out
        out.batches, out.events, out.invalid = 1, len(batch.events), len(batch.events)
        out.dead_letters = [dict(dl_key=f"{batch.batch_id}#{i}", stage="invalid", kind="case_event",
                                 source=batch.source, reason=reason,
                                 payload=raw.text if isinstance(raw, Unreadable) else raw)
                            for i, raw in enumerate(batch.events)]
        await insert_dead_letters(conn, out.dead_letters)
    return out


def _storable(text: str) -> str:
    """PostgreSQL text and jsonb hold no NUL: whatever came in is kept, with ␀ in its place."""
    return text.replace("\x00", "\u2400").replace("\\u0000", "\u2400")


async def insert_dead_letters(conn: asyncpg.Connection, letters: Sequence[dict[str, Any]]) -> int:
    if not letters:
        return 0
    cols = [[_storable(str(d[k])) for d in letters] for k in ("dl_key", "stage", "kind", "source", "reason")]
    res = await conn.fetch(
        "INSERT INTO dead_letter (dl_key, stage, kind, source, reason, payload)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[])"
        " ON CONFLICT (dl_key) DO NOTHING RETURNING id",
        *cols, [_storable(json.dumps(d["payload"], default=str, ensure_ascii=False)) for d in letters],
    )
    return len(res)


_ev_fields = itemgetter(*Ev._fields)


def _ev_of(r: Any) -> Ev:
    """The case logic's view of a stored event (a record) or a validated one (its fields)."""
    return Ev._make(_ev_fields(r))


def _multirange(susp: list[tuple[datetime, Optional[datetime]]]) -> str:
    """A tstzmultirange literal: '{["lo","hi"),["lo",)}' (no upper bound: still suspended)."""
    return "{" + ",".join(f'["{lo.isoformat()}",' + (f'"{hi.isoformat()}")' if hi else ")") for lo, hi in susp) + "}"


Key = tuple[date, str, str, str, str]


async def load_events(conn: asyncpg.Connection, case_ids: Sequence[str]) -> dict[str, list[Ev]]:
    """All stored events of the cases, by case."""
    events: dict[str, list[Ev]] = defaultdict(list)
    if case_ids:
        for r in await conn.fetch(
            "SELECT event_id, case_id, type, occurred_at, item_code, region_code, department_code, channel,"
            " deadline, score FROM case_event WHERE case_id = ANY($1::text[])", list(case_ids)):
            events[r["case_id"]].append(_ev_of(r))
    return events


async def power_list_for(conn: asyncpg.Connection, events: dict[str, list[Ev]]) -> PowerList:
    """The list history of the items these cases applied for."""
    return await load_power_list(
        conn, {e.item_code for evs in events.values() for e in evs if e.type == "submitted" and e.item_code})


async def load_calendar(conn: asyncpg.Connection) -> WorkCalendar:
    return WorkCalendar({r["day"]: r["workday"] for r in await conn.fetch("SELECT day, workday FROM work_calendar")})


STATE_COLS = ("case_id", "submitted_at", *DIMS, "accepted_at", "ended_at", "deadline", "suspensions",
              "corrections", "last_event_at", "contrib")
STATE_TYPES = ("text", "timestamptz", "text", "text", "text", "text", "timestamptz", "timestamptz", "timestamptz",
               "tstzmultirange", "integer", "timestamptz", "text")


def _state(cid: str, r: Optional[CaseResult]) -> tuple:
    if r is None:  # no `submitted` yet: a pending case, swept after the grace period
        return (cid, None, None, None, None, None, None, None, None, "{}", 0, None, "{}")
    return (cid, r.submitted_at, *r.dims, r.accepted_at, r.ended_at, r.deadline, _multirange(r.suspensions),
            r.corrections, r.last_event_at,
            orjson.dumps({day.isoformat(): vals for day, vals in r.contrib.items()}).decode())


async def recompute_cases(conn: asyncpg.Connection, case_ids: Sequence[str], old: Optional[OldState] = None,
                          new_cases: Optional[dict[str, list[Ev]]] = None) -> list[dict]:
    """Retract what the cases contributed and add what they contribute now; returns new violations.

    `old` is what `lock_cases` returned for them. `new_cases` are cases without a row, with all their events
    in hand: their rows are created here, unless a concurrent writer created one first; those are then locked
    and recomputed from the database like the others."""
    if old is None:
        old = await lock_cases(conn, case_ids)
    case_ids = [c for c in case_ids if c in old]  # a case swept away meanwhile has nothing left to count
    new_cases = new_cases or {}
    events = dict(new_cases)
    events.update(await load_events(conn, case_ids))
    plist = await power_list_for(conn, events)
    calendar = await load_calendar(conn)
    created: dict[str, Optional[CaseResult]] = {}
    if new_cases:
        fresh = {cid: evaluate_case(evs, plist.guard, plist.committed_days, calendar=calendar)
                 for cid, evs in new_cases.items()}
        won = {r["case_id"] for r in await conn.fetch(
            f"INSERT INTO case_state ({', '.join(STATE_COLS)}) SELECT * FROM {recordset(STATE_COLS, STATE_TYPES)}"
            " ORDER BY case_id ON CONFLICT (case_id) DO NOTHING RETURNING case_id",
            as_json(STATE_COLS, (_state(cid, fresh[cid]) for cid in sorted(fresh))))}
        created = {cid: res for cid, res in fresh.items() if cid in won}
        lost = sorted(set(fresh) - won)
        if lost:  # created concurrently: now committed, so locked and read back whole
            old = {**old, **await lock_cases(conn, lost)}
            case_ids = sorted({*case_ids, *(c for c in lost if c in old)})
            events = {**events, **await load_events(conn, lost)}
            plist = await power_list_for(conn, events)
    results: dict[str, Optional[CaseResult]] = {
        cid: evaluate_case(events.get(cid, ()), plist.guard, plist.committed_days, calendar=calendar)
        for cid in case_ids
    }

    delta: dict[Key, list[int]] = {}
    for cid in case_ids:
        dims, contrib = old[cid]
        if dims is None:
            continue
        for day, vals in contrib.items():
            key = (date.fromisoformat(day), *dims)
            d = delta.get(key)
            delta[key] = [-v for v in vals] if d is None else [a - v for a, v in zip(d, vals)]
    for res in (*results.values(), *created.values()):
        if res is None:
            continue
        for day, vals in res.contrib.items():
            key = (day, *res.dims)
            d = delta.get(key)
            delta[key] = vals if d is None else [a + v for a, v in zip(d, vals)]
    changed = sorted((k, v) for k, v in delta.items() if any(v))
    if changed:
        names = ("day", *DIMS, *METRICS)
        types = ["date", "text", "text", "text", "text"] + ["bigint"] * len(METRICS)
        sets = ", ".join(f"{m} = indicator_daily.{m} + excluded.{m}" for m in METRICS)
        await conn.execute(
            f"INSERT INTO indicator_daily ({', '.join(names)}) SELECT * FROM {recordset(names, types)}"
            f" ON CONFLICT (day, {', '.join(DIMS)}) DO UPDATE SET {sets}, updated_at = now()",
            as_json(names, ((*k, *v) for k, v in changed)))

    states = [_state(cid, r) for cid, r in results.items() if r is not None]
    if states:
        await conn.execute(
            f"UPDATE case_state s SET {', '.join(f'{c} = x.{c}' for c in STATE_COLS[1:])}, updated_at = now()"
            f" FROM {recordset(STATE_COLS, STATE_TYPES)} WHERE s.case_id = x.case_id",
            as_json(STATE_COLS, states))

    old_violations = {r["event_id"] for r in await conn.fetch(
        "DELETE FROM violation WHERE case_id = ANY($1::text[]) RETURNING event_id", case_ids)} if case_ids else set()
    vrows = [
        (e.event_id, cid, e.type, r.dims[2], r.dims[0], r.dims[1], e.occurred_at, rule)
        for cid, r in (*results.items(), *created.items()) if r is not None for e, rule in r.violations
    ]
    keys = ("event_id", "case_id", "event_type", "item_code", "region_code", "department_code", "occurred_at", "rule")
    if vrows:
        types = ("text",) * 6 + ("timestamptz", "text")
        await conn.execute(f"INSERT INTO violation ({', '.join(keys)}) SELECT * FROM {recordset(keys, types)}",
                           as_json(keys, vrows))
    return [dict(zip(keys, v)) for v in vrows if v[0] not in old_violations]


async def sweep_orphans(conn: asyncpg.Connection, grace: timedelta) -> list[dict[str, Any]]:
    """Dead-letter the events of cases whose `submitted` has not come within the grace period."""
    async with conn.transaction():
        cases = [r["case_id"] for r in await conn.fetch(
            "SELECT case_id FROM case_state WHERE submitted_at IS NULL AND pending_since < now() - $1::interval"
            " ORDER BY case_id FOR UPDATE SKIP LOCKED", grace)]
        if not cases:
            return []
        gone = await conn.fetch(
            f"DELETE FROM case_event WHERE case_id = ANY($1::text[]) RETURNING {', '.join(EVENT_COLS)}, ingested_at",
            cases)
        await conn.execute("DELETE FROM case_state WHERE case_id = ANY($1::text[])", cases)
        letters = [dict(
            dl_key=f"orphan#{r['event_id']}#{r['ingested_at'].isoformat()}", stage="orphan", kind="case_event", source="stream",
            reason=f"no 'submitted' event for case {r['case_id']!r} within the grace period of {grace}",
            payload={c: (r[c].isoformat() if isinstance(r[c], datetime) else r[c]) for c in EVENT_COLS
                     if r[c] is not None}) for r in gone]
        await insert_dead_letters(conn, letters)
        return letters


async def apply_list_changes(conn: asyncpg.Connection, changes: Sequence[ListChange]) -> list[dict]:
    """Store list changes and re-evaluate the cases they reach back to (late changes included)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LIST_LOCK)
        since = await store_list_changes(conn, changes)
        if not since:
            return []
        cases = [r["case_id"] for r in await conn.fetch(
            "SELECT s.case_id FROM case_state s JOIN unnest($1::text[], $2::timestamptz[]) AS x(item, ts)"
            " ON s.item_code = x.item AND s.last_event_at >= x.ts", list(since), list(since.values()))]
        return await recompute_cases(conn, cases) if cases else []


async def set_calendar(conn: asyncpg.Connection, days: dict[date, tuple[bool, Optional[str]]]) -> int:
    """Set days of the working-day calendar (workday or not, and why), and re-evaluate the cases whose
    committed-days deadline counted a day that changed; returns how many were."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LIST_LOCK)
        old = await load_calendar(conn)
        await conn.execute(
            "INSERT INTO work_calendar (day, workday, note) SELECT * FROM unnest($1::date[], $2::bool[], $3::text[])"
            " ON CONFLICT (day) DO UPDATE SET workday = excluded.workday, note = excluded.note",
            list(days), [w for w, _ in days.values()], [n for _, n in days.values()])
        changed = sorted(d for d, (w, _) in days.items() if old.is_workday(d) != w)
        if not changed:
            return 0
        # a deadline lies after every working day counted for it: only cases accepted before the last changed
        # day and due after the first can have counted one
        first = datetime.combine(changed[0], time(0), TZ)
        last = datetime.combine(changed[-1] + timedelta(days=1), time(0), TZ)
        cases = [r["case_id"] for r in await conn.fetch(
            "SELECT case_id FROM case_state WHERE accepted_at < $2 AND deadline >= $1", first, last)]
        if cases:
            await recompute_cases(conn, cases)
        return len(cases)
