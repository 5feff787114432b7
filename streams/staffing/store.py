"""Staffing changes into the database: stored once by change_id, the touched units' versions and persons' spans
rebuilt from every change stored for them, and the findings of the units they reach swept again."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Optional, Sequence

import asyncpg
import orjson

from schemas import DeadLetter
from schemas.staffing import STAFF_KINDS, StaffingChange
from streams.staffing.logic import BASIS, Interval, Span, Version, finding_intervals, person_spans, unit_history
from streams.staffing.words import search_vector

UNIT_KINDS = ("unit_set", "unit_abolished", "body_set", "body_abolished", "quota_set", "posts_set", "duties_set")


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
        new = [c for c in changes if c.change_id in fresh]
        docs = [c for c in new if c.kind == "document"]
        # what a change at t alters starts at t: each unit's findings are swept again from the earliest of them
        since: dict[str, Optional[datetime]] = {}
        for c in new:
            if c.kind in UNIT_KINDS:
                _earliest(since, c.unit_code, c.effective_at)
        persons: dict[str, datetime] = {}
        for c in new:
            if c.kind in STAFF_KINDS:
                persons[c.person_key] = min(persons.get(c.person_key, c.effective_at), c.effective_at)
        # what the take touches is locked, not the city: its units and persons (the units reached through them after)
        await lock(conn, {u for c in new for u in (c.unit_code,) if u} | set(_pkeys(persons)))
        units = {c.unit_code for c in new if c.kind in UNIT_KINDS}
        await rebuild_units(conn, units)
        # staff changes that waited for one of these units to stand are tried again
        for r in await conn.fetch("SELECT person_key, min(effective_at) AS t FROM staffing_change WHERE state = 'pending'"
                                  " AND person_key IS NOT NULL AND unit_code = ANY($1::text[]) GROUP BY 1", sorted(units)):
            persons[r["person_key"]] = min(persons.get(r["person_key"], r["t"]), r["t"])
        if docs:
            await _store_documents(conn, docs)
            for r in await conn.fetch("SELECT DISTINCT unit_code FROM org_version WHERE part = 'body'"
                                      " AND doc_no = ANY($1::text[])", [d.doc_no for d in docs]):
                since[r["unit_code"]] = None  # the archive is timeless: the whole history
        await lock(conn, set(_pkeys(persons)) | set(since))
        reached = await rebuild_persons(conn, set(persons))
        await lock(conn, set(reached))
        for unit, ps in reached.items():
            for p in ps:
                _earliest(since, unit, persons[p])
        await sweep_findings(conn, since, out)
        await queue_finding_alerts(conn, out.opened, out.closed, receivers)
    await analyze_if_grown(conn)
    return out


async def lock(conn: asyncpg.Connection, keys: set[str]) -> None:
    """Per unit (its code) and per person ("p:" + key), for the transaction: row locks, in one order, so that two
    takes wait for each other rather than deadlock (a later batch may still: PostgreSQL detects it and the take is
    retried). Rows, not advisory locks: a take of thousands of keys would fill the server's shared lock table."""
    if keys:
        ks = sorted(keys)
        await conn.execute("INSERT INTO org_lock (key) SELECT k FROM unnest($1::text[]) AS k ON CONFLICT DO NOTHING", ks)
        await conn.execute("SELECT 1 FROM org_lock l JOIN unnest($1::text[]) AS x(k) ON l.key = x.k ORDER BY l.key"
                           " FOR UPDATE OF l", ks)


def _pkeys(persons: Iterable[str]) -> list[str]:
    return [f"p:{p}" for p in persons]


GROWN = ("staffing_change", "org_staff", "org_version", "org_finding")


async def analyze_if_grown(conn: asyncpg.Connection) -> bool:
    """Statistics brought up to date once a table has changed by a fifth since they were taken: an import grows
    these tables from nothing faster than autovacuum looks, and plans made for empty tables scan them whole
    (measured: a person's changes found by a seq scan of 800k rows, 240 ms a take)."""
    stale = await conn.fetch(
        "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
        " WHERE s.relname = ANY($1::text[]) AND s.n_mod_since_analyze > greatest(5000, 0.2 * greatest(c.reltuples, 0))",
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


async def _load(conn: asyncpg.Connection, column: str, keys: Sequence[str], kinds: Sequence[str]) -> dict:
    rows = await conn.fetch(
        f"SELECT c.{column} AS k, c.effective_at AS t, c.payload::text AS p FROM staffing_change c"
        f" JOIN unnest($1::text[]) AS x(k) ON c.{column} = x.k WHERE c.kind = ANY($2::text[]) AND c.state <> 'dead'",
        list(keys), list(kinds))
    by: dict[str, list] = {k: [] for k in keys}
    for r in rows:  # the instant from its column (UTC already), the rest as stored
        c = orjson.loads(r["p"])
        c["effective_at"] = r["t"]
        by[r["k"]].append(c)
    return by


async def _mark(conn: asyncpg.Connection, considered: Iterable[str], refused: dict[str, str]) -> None:
    """Changes that do not apply where they stand wait (pending, with why); the others are applied."""
    ids = list(considered)
    if not ids:
        return
    await conn.execute(
        "UPDATE staffing_change c SET state = CASE WHEN x.why IS NULL THEN 'applied' ELSE 'pending' END, reason = x.why"
        " FROM unnest($1::text[], $2::text[]) AS x(id, why)"
        " WHERE c.change_id = x.id AND c.state <> 'dead' AND (c.state, coalesce(c.reason, ''))"
        " IS DISTINCT FROM (CASE WHEN x.why IS NULL THEN 'applied' ELSE 'pending' END, coalesce(x.why, ''))",
        ids, [refused.get(i) for i in ids])


async def rebuild_persons(conn: asyncpg.Connection, persons: set[str]) -> dict[str, set[str]]:
    """The persons' spans from all their changes, only those that differ written; returns the units whose spans
    changed, with the persons."""
    if not persons:
        return {}
    keys = sorted(persons)
    by = await _load(conn, "person_key", keys, STAFF_KINDS)
    stands = await _standing(conn, {c["unit_code"] for p in keys for c in by[p] if c.get("unit_code")})
    # joined to the keys, not `= ANY($1)`: a generic plan's seq scan tests every row against every key (measured:
    # 0.5 s a take at 100k spans)
    old = {(r["person_key"], r["valid_from"]): tuple(r) for r in await conn.fetch(
        f"SELECT {', '.join(f's.{c}' for c in SPAN_COLS)} FROM org_staff s JOIN unnest($1::text[]) AS x(k)"
        " ON s.person_key = x.k", keys)}
    new, considered, refused = {}, [], {}
    for p in keys:
        spans, why = person_spans(p, by[p], stands)
        considered += [c["change_id"] for c in by[p]]
        refused.update(why)
        new.update({(s.person_key, s.valid_from): _span_row(s) for s in spans})
    gone = [k for k, row in old.items() if new.get(k) != row]
    came = [row for k, row in new.items() if old.get(k) != row]
    await conn.execute("DELETE FROM org_staff s USING unnest($1::text[], $2::timestamptz[]) AS x(p, t)"
                       " WHERE s.person_key = x.p AND s.valid_from = x.t", [k[0] for k in gone], [k[1] for k in gone])
    await conn.copy_records_to_table("org_staff", records=came, columns=SPAN_COLS)
    await _mark(conn, considered, refused)
    units: dict[str, set[str]] = {}
    for row in [old[k] for k in gone] + came:
        units.setdefault(row[3], set()).add(row[0])
    return units


async def _standing(conn: asyncpg.Connection, units: set[str]):
    """Whether a unit stands at a time, for the units given: a person enters or moves only into one that does."""
    spans: dict[str, list[tuple]] = {}
    for r in await conn.fetch("SELECT unit_code, valid_from, valid_to FROM org_version WHERE part = 'unit'"
                              " AND unit_code = ANY($1::text[])", sorted(units)):
        spans.setdefault(r["unit_code"], []).append((r["valid_from"], r["valid_to"]))
    return lambda u, t: any(a <= t and (b is None or t < b) for a, b in spans.get(u, ()))


SPAN_COLS = ("person_key", "valid_from", "valid_to", "unit_code", "body_code", "quota_kind", "post_level", "name",
             "sex", "id_hash", "change_id", "doc_no")
VERSION_COLS = ("unit_code", "part", "key", "valid_from", "valid_to", "data", "approved", "doc_no", "change_id", "tsv")


def _span_row(s: Span) -> tuple:
    return tuple(getattr(s, c) for c in SPAN_COLS)


async def rebuild_units(conn: asyncpg.Connection, units: set[str]) -> None:
    """The units' versions from all their changes; only the versions that differ are deleted or written."""
    if not units:
        return
    keys = sorted(units)
    by = await _load(conn, "unit_code", keys, UNIT_KINDS)
    old = {(r["unit_code"], r["part"], r["key"], r["valid_from"]): (r["valid_to"], json.loads(r["data"]), r["approved"],
                                                                      r["doc_no"], r["change_id"])
           for r in await conn.fetch("SELECT v.unit_code, part, key, valid_from, valid_to, data::text AS data, approved,"
                                     " doc_no, change_id FROM org_version v JOIN unnest($1::text[]) AS x(k)"
                                     " ON v.unit_code = x.k", keys)}
    new, considered, refused = {}, [], {}
    for u in keys:
        versions, why = unit_history(u, by[u])
        considered += [c["change_id"] for c in by[u]]
        refused.update(why)
        new.update({(v.unit_code, v.part, v.key, v.valid_from): v for v in versions})
    same = lambda v, o: o == (v.valid_to, v.data, v.approved, v.doc_no, v.change_id)  # noqa: E731
    gone = [k for k, o in old.items() if k not in new or not same(new[k], o)]
    await conn.execute(
        "DELETE FROM org_version v USING unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS x(u, p, k, t)"
        " WHERE v.unit_code = x.u AND v.part = x.p AND v.key = x.k AND v.valid_from = x.t", *map(list, zip(*gone))
        if gone else ([], [], [], []))
    rows = [_version_row(v) for k, v in new.items() if k not in old or not same(v, old[k])]
    await conn.execute(
        f"INSERT INTO org_version ({', '.join(VERSION_COLS)}) SELECT u, p, k, f, t, d, a, n, c,"
        " CASE WHEN w IS NULL THEN NULL ELSE to_tsvector('simple', w) END FROM unnest($1::text[], $2::text[],"
        " $3::text[], $4::timestamptz[], $5::timestamptz[], $6::jsonb[], $7::int[], $8::text[], $9::text[], $10::text[])"
        " AS x(u, p, k, f, t, d, a, n, c, w)", *(map(list, zip(*rows)) if rows else [[]] * 10))
    await _mark(conn, considered, refused)


def _version_row(v: Version) -> tuple:
    tsv = search_vector(v.data["text"]) if v.part == "duty" else None
    return (v.unit_code, v.part, v.key, v.valid_from, v.valid_to, json.dumps(v.data, ensure_ascii=False),
            v.approved, v.doc_no, v.change_id, tsv)


def version_from(r: asyncpg.Record) -> Version:
    return Version(r["unit_code"], r["part"], r["key"], r["valid_from"], r["valid_to"], json.loads(r["data"]),
                   r["approved"], r["doc_no"], r["change_id"])


def span_from(r: asyncpg.Record) -> Span:
    return Span(*(r[c] for c in SPAN_COLS))


async def archive_check(conn: asyncpg.Connection, doc_nos: Iterable[str]):
    known = {r["doc_no"] for r in await conn.fetch(
        "SELECT doc_no FROM org_document WHERE doc_no = ANY($1::text[])", sorted({d for d in doc_nos if d}))}
    return known.__contains__


async def sweep_findings(conn: asyncpg.Connection, since: dict[str, Optional[datetime]], out: Applied) -> None:
    """Each unit's findings swept again from `since[unit]` (None: its whole history): what was found before then
    stands; a finding that held across it goes on under its first opening. Rows that still stand keep their
    alert marks."""
    if not since:
        return
    keys = sorted(since)
    starts = [since[u] for u in keys]
    overlapping = ("JOIN unnest($1::text[], $2::timestamptz[]) AS x(u, t) ON x.u = unit_code"
                   " AND (x.t IS NULL OR valid_to IS NULL OR valid_to > x.t)")
    versions: dict[str, list[Version]] = {u: [] for u in keys}
    # what the findings look at, without decoding each version's data (a body's name is all they need of it)
    for r in await conn.fetch("SELECT unit_code, part, key, valid_from, valid_to, approved, doc_no, change_id,"
                              f" CASE WHEN part = 'body' THEN data->>'name' END AS name FROM org_version {overlapping}"
                              " WHERE part <> 'duty'", keys, starts):
        versions[r["unit_code"]].append(Version(r["unit_code"], r["part"], r["key"], r["valid_from"], r["valid_to"],
                                                {"name": r["name"]}, r["approved"], r["doc_no"], r["change_id"]))
    spans: dict[str, list[Span]] = {u: [] for u in keys}
    for r in await conn.fetch(f"SELECT {', '.join(SPAN_COLS)} FROM org_staff {overlapping}", keys, starts):
        spans[r["unit_code"]].append(span_from(r))
    in_archive = await archive_check(conn, (v.doc_no for vs in versions.values() for v in vs if v.part == "body"))
    old = {(r["unit_code"], r["kind"], r["subject"], r["opened_at"]): r for r in await conn.fetch(
        "DELETE FROM org_finding f USING unnest($1::text[], $2::timestamptz[]) AS x(u, t) WHERE f.unit_code = x.u"
        " AND f.kind = ANY($3::text[]) AND (x.t IS NULL OR f.closed_at IS NULL OR f.closed_at > x.t) RETURNING f.*",
        keys, starts, list(BASIS)[:4])}
    rows = []
    now = datetime.now(timezone.utc)
    for u in keys:
        start = since[u]
        across = {(k, s): (o, r) for (uu, k, s, o), r in old.items() if uu == u and start is not None and o < start}
        intervals = finding_intervals(versions[u], spans[u], in_archive, start)
        for i in intervals:
            if i.opened_at == start and (i.kind, i.subject) in across:  # it held across the start: the same one
                i.opened_at, r = across.pop((i.kind, i.subject))
                i.figures = json.loads(r["figures"])
        for (kind, subject), (o, r) in across.items():  # held until the start, and no longer
            intervals.append(Interval(kind, subject, o, start, json.loads(r["figures"])))
        standing = {(i.kind, i.subject) for i in intervals if _open_at(i, now)}
        for i in intervals:
            prev = old.pop((u, i.kind, i.subject, i.opened_at), None)
            alerted_open = prev["alerted_open_at"] if prev else None
            alerted_close = prev["alerted_close_at"] if prev else None
            if _open_at(i, now) and alerted_open is None:
                alerted_open = _carried(old, u, i) or now
                if alerted_open is now:
                    out.opened.append(_told(u, i))
            elif not _open_at(i, now) and alerted_open is not None and alerted_close is None:
                alerted_close = now
                out.closed.append(_told(u, i))
            rows.append((u, i.kind, i.subject, i.opened_at, i.closed_at, json.dumps(i.figures, ensure_ascii=False),
                         BASIS[i.kind], alerted_open, alerted_close))
        for (ou, kind, subject, _), r in list(old.items()):  # a told finding that no longer stands at all
            if ou == u and r["alerted_open_at"] and not r["alerted_close_at"] and (kind, subject) not in standing:
                out.closed.append(_told(u, Interval(kind, subject, r["opened_at"], now, json.loads(r["figures"]))))
    await conn.executemany(
        "INSERT INTO org_finding (unit_code, kind, subject, opened_at, closed_at, figures, basis, alerted_open_at,"
        " alerted_close_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9)", rows)


def _open_at(i: Interval, now: datetime) -> bool:
    return i.opened_at <= now and (i.closed_at is None or i.closed_at > now)


def _carried(old: dict, unit: str, i: Interval):
    """A finding told before whose opening moved (a late change): it is the same finding, told once."""
    for key, r in old.items():
        if key[:3] == (unit, i.kind, i.subject) and r["alerted_open_at"] and not r["alerted_close_at"]:
            old.pop(key)
            return r["alerted_open_at"]
    return None


def _told(unit: str, i: Interval) -> dict[str, Any]:
    return {"unit_code": unit, "kind": i.kind, "subject": i.subject, "opened_at": i.opened_at.isoformat(),
            "closed_at": i.closed_at.isoformat() if i.closed_at else None, "figures": i.figures, "basis": BASIS[i.kind]}


async def sweep_inapplicable(conn: asyncpg.Connection, grace: timedelta) -> list[DeadLetter]:
    """Changes still pending after the grace period: nothing arrived that makes them apply; dead-lettered with why
    (they never counted, so nothing is rebuilt)."""
    rows = await conn.fetch(
        "UPDATE staffing_change SET state = 'dead' WHERE state = 'pending' AND received_at < now() - $1::interval"
        " RETURNING change_id, reason, payload::text AS payload", grace)
    return [DeadLetter(dl_key=f"staffing:{r['change_id']}", stage="inapplicable", kind="staffing_change",
                       source="stream", reason=r["reason"] or "does not apply", payload=json.loads(r["payload"]))
            for r in rows]
