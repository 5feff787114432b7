"""The case write path: one transaction per take of records, idempotent, new events stored and their cases brought
up to date; records that cannot be processed and orphaned events dead-lettered whole."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Sequence

import asyncpg
import orjson

from core import locks
from schemas import CaseEvent, DeadLetter, Refusal, parse_case_event, parse_case_event_texts, parse_case_events
from streams.cases.logic import Step
from streams.cases.recompute import COPY_FROM, Prior, lock_cases, recompute_cases, step_of
from streams.deadletters.store import insert_dead_letters
from streams.quarantine import reason_of
from streams.sql import copy_if_new, recordset

EVENT_COLS = tuple(CaseEvent.model_fields)  # the columns of case_event: a validated event's fields
_NOT_TEXT = {"occurred_at": "timestamptz", "deadline": "timestamptz", "score": "smallint"}
EVENT_SQL_TYPES = tuple(_NOT_TEXT.get(c, "text") for c in EVENT_COLS)


@dataclass
class InBatch:
    """One input record: a batch of raw events (decoded values, or JSON texts of objects already checked for
    repeated keys) with the key that makes its redelivery a no-op."""

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
    dead_letters: list[DeadLetter] = field(default_factory=list)
    violations: list[dict[str, Any]] = field(default_factory=list)

    def __add__(self, other: "BatchOutcome") -> "BatchOutcome":
        return BatchOutcome(**{f: getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__})


async def process_case_batches(conn: asyncpg.Connection, batches: Sequence[InBatch]) -> BatchOutcome:
    """Store the new events of the batches not yet processed and bring their cases up to date, atomically."""
    out = BatchOutcome()
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", locks.LIST)
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
            if b.events and isinstance(b.events[0], bytes):
                parsed = parse_case_event_texts(b.events)
            elif any(isinstance(raw, Unreadable) for raw in b.events):
                parsed = [(None, Refusal(i, raw.reason, raw.text)) if isinstance(raw, Unreadable)
                          else parse_case_event(raw, i) for i, raw in enumerate(b.events)]
            else:
                parsed = parse_case_events(b.events)
            for ev, refusal in parsed:
                if refusal is not None:
                    invalid += 1
                    out.dead_letters.append(DeadLetter(
                        dl_key=f"{b.batch_id}#{refusal.index}", stage="invalid", kind="case_event", source=b.source,
                        reason=refusal.reason, payload=refusal.raw))
                    continue
                ids_in_batch.append(ev.event_id)
                rows.setdefault(ev.event_id, ev.__dict__)  # exactly the EVENT_COLS fields
            per_batch.append((b, ids_in_batch, invalid))
        prior: dict[str, Prior] = {}
        new_ids: set[str] = set()
        if rows:
            prior = await lock_cases(conn, (r["case_id"] for r in rows.values()))
            new_ids = await _insert_events(conn, rows)
        touched = sorted({rows[e]["case_id"] for e in new_ids})
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
            new_cases: dict[str, list[Step]] = {}
            for eid in new_ids:
                r = rows[eid]
                if r["case_id"] not in prior:
                    new_cases.setdefault(r["case_id"], []).append(step_of(r))
            out.violations = await recompute_cases(conn, [c for c in touched if c in prior], prior, new_cases)
        out.cases = len(touched)
    return out



async def _insert_events(conn: asyncpg.Connection, rows: dict[str, dict[str, Any]]) -> set[str]:
    """Store the events not stored yet; the ids of those stored now. A large take of events none of which is
    stored yet (a backfill) goes in by COPY; if any is, the COPY fails whole and the insert skips those."""
    if len(rows) >= COPY_FROM and await copy_if_new(conn, "case_event", EVENT_COLS,
                                                    [tuple(r.values()) for r in rows.values()]):
        return set(rows)
    return {r["event_id"] for r in await conn.fetch(
        f"INSERT INTO case_event ({', '.join(EVENT_COLS)}) SELECT * FROM {recordset(EVENT_COLS, EVENT_SQL_TYPES)}"
        " ON CONFLICT (event_id) DO NOTHING RETURNING event_id", orjson.dumps(list(rows.values())).decode())}


async def quarantine(conn: asyncpg.Connection, batch: InBatch, error: BaseException) -> BatchOutcome:
    """A record that cannot be processed is accounted for and dead-lettered whole, so it cannot block the stream."""
    out = BatchOutcome()
    reason = reason_of(error)
    async with conn.transaction():
        fresh = await conn.fetchval(
            "INSERT INTO processed_batch (batch_id, source, n_events, n_new, n_duplicate, n_invalid)"
            " VALUES ($1, $2, $3, 0, 0, $3) ON CONFLICT (batch_id) DO NOTHING RETURNING batch_id",
            batch.batch_id, batch.source, len(batch.events))
        if fresh is None:
            out.skipped_batches = 1
            return out
        out.batches, out.events, out.invalid = 1, len(batch.events), len(batch.events)
        out.dead_letters = [DeadLetter(dl_key=f"{batch.batch_id}#{i}", stage="invalid", kind="case_event",
                                       source=batch.source, reason=reason,
                                       payload=raw.text if isinstance(raw, Unreadable)
                                       else orjson.loads(raw) if isinstance(raw, bytes) else raw)
                            for i, raw in enumerate(batch.events)]
        await insert_dead_letters(conn, out.dead_letters)
    return out


async def sweep_orphans(conn: asyncpg.Connection, grace: timedelta) -> list[DeadLetter]:
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
        letters = [DeadLetter(
            dl_key=f"orphan#{r['event_id']}#{r['ingested_at'].isoformat()}", stage="orphan", kind="case_event",
            source="stream",
            reason=f"no 'submitted' event for case {r['case_id']!r} within the grace period of {grace}",
            payload={c: (r[c].isoformat() if isinstance(r[c], datetime) else r[c]) for c in EVENT_COLS
                     if r[c] is not None}) for r in gone]
        await insert_dead_letters(conn, letters)
        return letters
