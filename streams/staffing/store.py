"""Staffing changes into the database: stored once by change_id, the touched units' versions and persons' spans
worked out again (streams/staffing/rebuild.py), and the findings of the units they reach swept again (findings.py)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Optional, Sequence

import asyncpg

from schemas import DeadLetter
from schemas.staffing import STAFF_KINDS, StaffingChange
from streams.staffing.findings import sweep_findings
from streams.staffing.rebuild import UNIT_KINDS, Changes, rebuild_persons, rebuild_units
from streams.staffing.words import search_vector


@dataclass
class Applied:
    fresh: int = 0
    duplicates: int = 0
    redelivered: int = 0
    opened: list[dict[str, Any]] = field(default_factory=list)  # findings to tell about (alerts)
    closed: list[dict[str, Any]] = field(default_factory=list)

    def __add__(self, other: "Applied") -> "Applied":
        return Applied(**{f: getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__})


async def apply_staffing_changes(conn: asyncpg.Connection, deliveries: Sequence[tuple[str, StaffingChange]],
                                 receivers: Sequence[str] = ()) -> Applied:
    """One transaction: a record taken twice changes nothing, a change sent twice is a duplicate; the findings that
    open or close are told in it."""
    from streams.staffing.alerts import queue_finding_alerts

    out = Applied()
    async with conn.transaction():
        # every statement here joins the take's keys (thousands at most) to tables of millions by their indexes; a
        # hash or merge join reads the whole table (measured: 30-170 ms for 500 versions' ends, 2 ms by index).
        # Put back at the end: a caller's transaction around the take goes on as it was.
        joins = await conn.fetchrow(
            "WITH was AS MATERIALIZED (SELECT current_setting('enable_hashjoin') AS h, current_setting('enable_mergejoin')"
            " AS m) SELECT h, m, set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)"
            " FROM was")
        new = await _store_changes(conn, deliveries, out)
        units: Changes = {}
        persons: Changes = {}
        for c in new:
            if c.kind in UNIT_KINDS:
                units.setdefault(c.unit_code, []).append(_as_stored(c))
            elif c.kind in STAFF_KINDS:
                persons.setdefault(c.person_key, []).append(_as_stored(c))
        # what a change at t alters starts at t: each unit's findings are swept again from the earliest of them
        since: dict[str, Optional[datetime]] = {}
        for u, cs in units.items():
            since[u] = min(c["effective_at"] for c in cs)
        # what the take touches is locked, not the city: its units and persons (the units reached through them after)
        latest = {**{u: max(c["effective_at"] for c in cs) for u, cs in units.items()},
                  **{f"p:{p}": max(c["effective_at"] for c in cs) for p, cs in persons.items()}}
        last = await lock(conn, set(latest), {u for c in new for u in (c.unit_code,) if u}, latest)
        moved = await rebuild_units(conn, units, last)
        # staff changes into a unit whose standing moved (e.g. founded late) are tried again, from then on
        retry: dict[str, datetime] = {r["person_key"]: r["t"] for r in await conn.fetch(
            "SELECT c.person_key, min(c.effective_at) AS t FROM staffing_change c JOIN unnest($1::text[],"
            " $2::timestamptz[]) AS x(u, t) ON c.unit_code = x.u AND c.effective_at >= x.t"
            " WHERE c.person_key IS NOT NULL AND c.state <> 'dead' GROUP BY 1", list(moved), list(moved.values()))}
        docs = [c for c in new if c.kind == "document"]
        if docs:
            await _store_documents(conn, docs)
            # the archive is timeless: a unit's findings change where a body citing the document stood
            for r in await conn.fetch("SELECT unit_code, min(valid_from) AS t FROM org_version WHERE part = 'body'"
                                      " AND doc_no = ANY($1::text[]) GROUP BY 1", [d.doc_no for d in docs]):
                _earliest(since, r["unit_code"], r["t"])
        await lock(conn, _pkeys(set(retry) - set(persons)) | (set(since) - set(units)))
        reached = await rebuild_persons(conn, persons, last, set(retry))
        await lock(conn, set(reached) - set(since))
        first = {p: min([c["effective_at"] for c in persons.get(p, [])] + ([retry[p]] if p in retry else []))
                 for p in set(persons) | set(retry)}
        for unit, ps in reached.items():
            for p in ps:
                _earliest(since, unit, first[p])
        out.opened, out.closed = await sweep_findings(conn, since)
        await queue_finding_alerts(conn, out.opened, out.closed, receivers)
        await conn.execute("SELECT set_config('enable_hashjoin', $1, true), set_config('enable_mergejoin', $2, true)",
                           joins["h"], joins["m"])
    await analyze_if_grown(conn)
    return out


async def _store_changes(conn: asyncpg.Connection, deliveries: Sequence[tuple[str, StaffingChange]],
                         out: Applied) -> list[StaffingChange]:
    """The take's records and changes stored once; returns the changes not seen before."""
    keys = [k for k, _ in deliveries]
    new_keys = {r["delivery_key"] for r in await conn.fetch(
        "INSERT INTO staffing_delivery (delivery_key, change_id, fresh)"
        " SELECT k, c, false FROM unnest($1::text[], $2::text[]) AS x(k, c)"
        " ON CONFLICT (delivery_key) DO NOTHING RETURNING delivery_key",
        keys, [c.change_id for _, c in deliveries])}
    out.redelivered = len(set(keys)) - len(new_keys)
    firsts: dict[str, tuple[str, StaffingChange]] = {}
    for k, c in deliveries:
        if k in new_keys:
            firsts.setdefault(c.change_id, (k, c))
    changes = [c for _, c in firsts.values()]
    fresh = {r["change_id"] for r in await conn.fetch(
        "INSERT INTO staffing_change (change_id, kind, effective_at, unit_code, person_key, doc_no, payload)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[],"
        " $7::jsonb[]) ON CONFLICT (change_id) DO NOTHING RETURNING change_id",
        [c.change_id for c in changes], [c.kind for c in changes], [c.effective_at for c in changes],
        [c.unit_code for c in changes], [c.person_key for c in changes], [c.doc_no for c in changes],
        [json.dumps(c.payload(), ensure_ascii=False) for c in changes])}
    fresh_keys = [k for k, c in firsts.values() if c.change_id in fresh]
    await conn.execute("UPDATE staffing_delivery d SET fresh = true FROM unnest($1::text[]) AS x(k)"
                       " WHERE d.delivery_key = x.k", fresh_keys)
    out.fresh, out.duplicates = len(fresh_keys), len(new_keys) - len(fresh_keys)
    return [c for c in changes if c.change_id in fresh]


def _as_stored(c: StaffingChange) -> dict[str, Any]:
    """A change as rebuild.load reads it back: the payload, its instant in UTC."""
    return {**c.payload(), "effective_at": c.effective_at.astimezone(timezone.utc)}


async def lock(conn: asyncpg.Connection, keys: set[str], also: Iterable[str] = (),
               latest: Optional[dict[str, datetime]] = None) -> dict[str, Optional[datetime]]:
    """Per unit (its code) and per person ("p:" + key), for the transaction: row locks, in one order, so that two
    takes wait for each other rather than deadlock (a later batch may still: PostgreSQL detects it and the take is
    retried). Rows, not advisory locks: a take of thousands of keys would fill the server's shared lock table.
    Each key's latest change stored moves on to `latest`'s; returns what it was (None: nothing stored)."""
    ks = sorted(keys | set(also))
    if not ks:
        return {}
    at = [(latest or {}).get(k) for k in ks]
    # the row's own earlier value, kept aside by the same statement: RETURNING sees only the new one
    return {r["key"]: r["prev_at"] for r in await conn.fetch(
        "INSERT INTO org_lock AS l (key, last_at) SELECT k, t FROM unnest($1::text[], $2::timestamptz[]) AS x(k, t)"
        " ORDER BY k ON CONFLICT (key) DO UPDATE SET prev_at = l.last_at, last_at = greatest(l.last_at,"
        " excluded.last_at) RETURNING l.key, l.prev_at", ks, at)}


def _pkeys(persons: Iterable[str]) -> set[str]:
    return {f"p:{p}" for p in persons}


GROWN = ("staffing_change", "org_staff", "org_version", "org_finding")


async def analyze_if_grown(conn: asyncpg.Connection) -> bool:
    """Statistics brought up to date once a table has changed by as much as it held when they were taken: an import
    grows these tables from nothing faster than autovacuum looks, and plans made for empty tables scan them whole
    (measured: a person's changes found by a seq scan of 800k rows, 240 ms a take). Not more often: each ANALYZE of
    a grown table costs a few hundred ms (a fifth's growth: 30 s of a 6,500-unit import)."""
    stale = await conn.fetch(
        "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
        " WHERE s.relname = ANY($1::text[]) AND s.n_mod_since_analyze > greatest(5000, greatest(c.reltuples, 0))",
        list(GROWN))
    for r in stale:
        await conn.execute(f'ANALYZE "{r["relname"]}"')
    return bool(stale)


def _earliest(since: dict[str, Optional[datetime]], unit: str, t: datetime) -> None:
    if unit in since and since[unit] is None:
        return
    since[unit] = min(since[unit], t) if since.get(unit) is not None else t


async def _store_documents(conn: asyncpg.Connection, docs: Iterable[StaffingChange]) -> None:
    """A doc_no given twice keeps the text of the later one (by effective time)."""
    await conn.executemany(
        "INSERT INTO org_document (doc_no, title, issued_at, doc_type, body, effective_at, change_id, tsv)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, to_tsvector('simple', $8))"
        " ON CONFLICT (doc_no) DO UPDATE SET title = excluded.title, issued_at = excluded.issued_at,"
        " doc_type = excluded.doc_type, body = excluded.body, effective_at = excluded.effective_at,"
        " change_id = excluded.change_id, tsv = excluded.tsv"
        " WHERE (excluded.effective_at, excluded.change_id) > (org_document.effective_at, org_document.change_id)",
        [(d.doc_no, d.title, d.issued_at, d.doc_type, d.text, d.effective_at, d.change_id,
          search_vector(f"{d.title} {d.text}")) for d in docs])


async def sweep_inapplicable(conn: asyncpg.Connection, grace: timedelta) -> list[DeadLetter]:
    """Changes still pending after the grace period: nothing arrived that makes them apply; dead-lettered with why
    (they never counted, so nothing is rebuilt)."""
    rows = await conn.fetch(
        "UPDATE staffing_change SET state = 'dead' WHERE state = 'pending' AND received_at < now() - $1::interval"
        " RETURNING change_id, reason, payload::text AS payload", grace)
    return [DeadLetter(dl_key=f"staffing:{r['change_id']}", stage="inapplicable", kind="staffing_change",
                       source="stream", reason=r["reason"] or "does not apply", payload=json.loads(r["payload"]))
            for r in rows]
