"""The case write path: one transaction per batch, idempotent, with retract-and-replace per touched case."""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Optional, Sequence

import asyncpg
import orjson

from schemas import ListChange, Refusal, parse_case_event, parse_case_events
from streams.cases.logic import METRICS, CaseResult, Ev, evaluate_case
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
    """Rows travel as one JSON document: far cheaper to encode than one array per column."""
    return f"jsonb_to_recordset(${param}::jsonb) AS x({', '.join(f'{n} {t}' for n, t in zip(names, types))})"


def as_json(names: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    return orjson.dumps([dict(zip(names, r)) for r in rows]).decode()


OldState = dict[str, tuple[Optional[tuple[str, str, str, str]], dict[str, list[int]]]]


@dataclass
class Locked:
    """Cases locked for this transaction: what each last contributed (to retract), and which are brand new."""

    old: OldState
    created: set[str]


async def lock_cases(conn: asyncpg.Connection, case_ids: Iterable[str]) -> Locked:
    """Create missing case rows and lock all of them, in key order so concurrent writers never deadlock."""
    ids = sorted(set(case_ids))
    created = {r[0] for r in await conn.fetch(
        "INSERT INTO case_state (case_id) SELECT x FROM unnest($1::text[]) x ORDER BY x ON CONFLICT DO NOTHING"
        " RETURNING case_id", ids)}
    rows = await conn.fetch(
        "SELECT case_id, region_code, department_code, item_code, level, contrib::text AS contrib FROM case_state"
        " WHERE case_id = ANY($1::text[]) ORDER BY case_id FOR UPDATE", ids)
    old = {r["case_id"]: ((r["region_code"], r["department_code"], r["item_code"], r["level"])
                          if r["region_code"] is not None else None, orjson.loads(r["contrib"])) for r in rows}
    return Locked(old, created)


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
        locked = Locked({}, set())
        if rows:
            locked = await lock_cases(conn, (r["case_id"] for r in rows.values()))
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
            # a case created just now has no events but the ones this batch inserted: no need to read them back
            known: dict[str, list[Ev]] = {}
            for eid in new_ids:
                r = rows[eid]
                if r["case_id"] in locked.created:
                    known.setdefault(r["case_id"], []).append(Ev(*(r[f] for f in Ev._fields)))
            out.violations = await recompute_cases(conn, touched, locked, known)
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


def _ev(r: asyncpg.Record) -> Ev:
    return Ev(r["event_id"], r["case_id"], r["type"], r["occurred_at"], r["item_code"], r["region_code"],
              r["department_code"], r["channel"], r["deadline"], r["score"])


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
            events[r["case_id"]].append(_ev(r))
    return events


async def power_list_for(conn: asyncpg.Connection, events: dict[str, list[Ev]]) -> PowerList:
    """The list history of the items these cases applied for."""
    return await load_power_list(
        conn, {e.item_code for evs in events.values() for e in evs if e.type == "submitted" and e.item_code})


async def recompute_cases(conn: asyncpg.Connection, case_ids: Sequence[str], locked: Optional[Locked] = None,
                          known: Optional[dict[str, list[Ev]]] = None) -> list[dict]:
    """Retract what the cases contributed and add what they contribute now; returns new violations.

    `known` holds the complete event lists of cases the caller already has in hand."""
    if locked is None:
        locked = await lock_cases(conn, case_ids)
    old_state = locked.old
    events = dict(known or {})
    events.update(await load_events(conn, [c for c in case_ids if c not in events]))
    plist = await power_list_for(conn, events)
    results: dict[str, Optional[CaseResult]] = {
        cid: evaluate_case(events.get(cid, ()), plist.guard, plist.committed_days) for cid in case_ids
    }

    delta: dict[Key, list[int]] = defaultdict(lambda: [0] * len(METRICS))
    for cid in case_ids:
        dims, contrib = old_state.get(cid, (None, {}))
        if dims is None:
            continue
        for day, vals in contrib.items():
            d = delta[(date.fromisoformat(day), *dims)]
            for i, v in enumerate(vals):
                d[i] -= v
    new_contrib: dict[str, dict[str, list[int]]] = {}
    for cid, res in results.items():
        if res is None:
            continue
        mine = new_contrib[cid] = {}
        for day, vals in res.contrib.items():
            mine[day.isoformat()] = vals
            d = delta[(day, *res.dims)]
            for i, v in enumerate(vals):
                d[i] += v
    changed = sorted((k, v) for k, v in delta.items() if any(v))
    if changed:
        names = ("day", *DIMS, *METRICS)
        types = ["date", "text", "text", "text", "text"] + ["bigint"] * len(METRICS)
        sets = ", ".join(f"{m} = indicator_daily.{m} + excluded.{m}" for m in METRICS)
        await conn.execute(
            f"INSERT INTO indicator_daily ({', '.join(names)}) SELECT * FROM {recordset(names, types)}"
            f" ON CONFLICT (day, {', '.join(DIMS)}) DO UPDATE SET {sets}, updated_at = now()",
            as_json(names, ((*k, *v) for k, v in changed)))

    states = [
        (cid, r.submitted_at, *r.dims, r.accepted_at, r.ended_at, r.deadline, _multirange(r.suspensions),
         r.corrections, r.last_event_at, new_contrib[cid])
        for cid, r in results.items() if r is not None
    ]
    if states:
        names = ("case_id", "submitted_at", *DIMS, "accepted_at", "ended_at", "deadline", "suspensions",
                 "corrections", "last_event_at", "contrib")
        types = ("text", "timestamptz", "text", "text", "text", "text", "timestamptz", "timestamptz", "timestamptz",
                 "tstzmultirange", "integer", "timestamptz", "jsonb")
        await conn.execute(
            f"INSERT INTO case_state ({', '.join(names)}) SELECT * FROM {recordset(names, types)}"
            " ON CONFLICT (case_id) DO UPDATE SET submitted_at = excluded.submitted_at,"
            " region_code = excluded.region_code, department_code = excluded.department_code,"
            " item_code = excluded.item_code, level = excluded.level, accepted_at = excluded.accepted_at,"
            " ended_at = excluded.ended_at, deadline = excluded.deadline, suspensions = excluded.suspensions,"
            " corrections = excluded.corrections, last_event_at = excluded.last_event_at,"
            " contrib = excluded.contrib, updated_at = now()",
            as_json(names, states))

    old_violations = {r["event_id"] for r in await conn.fetch(
        "DELETE FROM violation WHERE case_id = ANY($1::text[]) RETURNING event_id", list(case_ids))}
    vrows = [
        (e.event_id, cid, e.type, r.dims[2], r.dims[0], r.dims[1], e.occurred_at, rule)
        for cid, r in results.items() if r is not None for e, rule in r.violations
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
