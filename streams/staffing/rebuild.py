"""A take's units and persons worked out again: from every change stored for one, or, when all its new changes are
later than everything stored for it (an import in time order), from where it stands now; either way only the versions
and spans that differ are written."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable, Optional, Sequence

import asyncpg
import orjson

from schemas.staffing import STAFF_KINDS
from streams.staffing.logic import Span, Version, person_spans, unit_history
from streams.staffing.words import search_vector

UNIT_KINDS = ("unit_set", "unit_abolished", "body_set", "body_abolished", "quota_set", "posts_set", "duties_set")
SPAN_COLS = ("person_key", "valid_from", "valid_to", "unit_code", "body_code", "quota_kind", "post_level", "name",
             "sex", "id_hash", "change_id", "doc_no")
VERSION_COLS = ("unit_code", "part", "key", "valid_from", "valid_to", "data", "approved", "doc_no", "change_id", "tsv")
Changes = dict[str, list[dict[str, Any]]]


def later(news: list[dict[str, Any]], last: Optional[datetime]) -> bool:
    """Whether a key's new changes all come after everything stored for it (`last`: the latest, None: nothing)."""
    return last is None or min(c["effective_at"] for c in news) > last


async def load(conn: asyncpg.Connection, column: str, keys: Sequence[str], kinds: Sequence[str]) -> Changes:
    rows = await conn.fetch(
        f"SELECT c.{column} AS k, c.effective_at AS t, c.payload::text AS p FROM staffing_change c"
        f" JOIN unnest($1::text[]) AS x(k) ON c.{column} = x.k WHERE c.kind = ANY($2::text[]) AND c.state <> 'dead'",
        list(keys), list(kinds))
    by: Changes = {k: [] for k in keys}
    for r in rows:  # the instant from its column (UTC already), the rest as stored
        c = orjson.loads(r["p"])
        c["effective_at"] = r["t"]
        by[r["k"]].append(c)
    return by


async def mark(conn: asyncpg.Connection, considered: Iterable[str], refused: dict[str, str]) -> None:
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


async def rebuild_units(conn: asyncpg.Connection, news: Changes, last: dict[str, Optional[datetime]]
                        ) -> dict[str, datetime]:
    """The units' versions; returns the units whose standing moved, with when it first differs."""
    if not news:
        return {}
    cand = {u for u in news if later(news[u], last.get(u))}
    old = await _versions(conn, sorted(cand), whole=False)
    # a unit with a past but not standing now (abolished) keeps attributes no open version shows: worked out whole
    slow = sorted(set(news) - cand | {u for u in cand if last.get(u) is not None and ("unit", "") not in
                                      {(v.part, v.key) for v in old.get(u, [])}})
    old.update(await _versions(conn, slow, whole=True))
    by = await load(conn, "unit_code", slow, UNIT_KINDS) if slow else {}
    new: list[Version] = []
    considered, refused, moved = [], {}, {}
    for u in sorted(news):
        full = u in by
        versions, why = unit_history(u, by[u], []) if full else unit_history(u, news[u], old.get(u, []))
        considered += [c["change_id"] for c in by[u]] if full else list(why)
        refused.update(why)
        new += versions
        t = _moved(old.get(u, []), versions)
        if t is not None:
            moved[u] = t
    await _write_versions(conn, [v for vs in old.values() for v in vs], new)
    await mark(conn, considered, refused)
    return moved


async def _versions(conn: asyncpg.Connection, units: list[str], whole: bool) -> dict[str, list[Version]]:
    """The units' versions: all of them, or those in force after every change (valid_to NULL)."""
    out: dict[str, list[Version]] = {}
    if units:
        for r in await conn.fetch(
                "SELECT v.unit_code, part, key, valid_from, valid_to, data::text AS data, approved, doc_no, change_id"
                " FROM org_version v JOIN unnest($1::text[]) AS x(k) ON v.unit_code = x.k"
                f"{'' if whole else ' WHERE v.valid_to IS NULL'}", units):
            out.setdefault(r["unit_code"], []).append(version_from(r))
    return out


def _moved(old: list[Version], new: list[Version]) -> Optional[datetime]:
    """When the unit's standing (its unit versions' spans together) first differs, or None."""
    def standing(vs: list[Version]) -> set[tuple]:
        spans: list[list] = []
        for v in sorted((v for v in vs if v.part == "unit"), key=lambda v: v.valid_from):
            if spans and spans[-1][1] == v.valid_from:
                spans[-1][1] = v.valid_to
            else:
                spans.append([v.valid_from, v.valid_to])
        return {tuple(s) for s in spans}

    points = [t for s in standing(old) ^ standing(new) for t in s if t is not None]
    return min(points) if points else None


async def _write_versions(conn: asyncpg.Connection, old: list[Version], new: list[Version]) -> None:
    """Only what differs: a version that only ended gets its end, one that differs otherwise is replaced."""
    was = {(v.unit_code, v.part, v.key, v.valid_from): v for v in old}
    now = {(v.unit_code, v.part, v.key, v.valid_from): v for v in new}
    body = lambda v: (v.data, v.approved, v.doc_no, v.change_id)  # noqa: E731
    ended = [v for k, v in now.items() if k in was and body(v) == body(was[k]) and v.valid_to != was[k].valid_to]
    gone = [k for k, o in was.items() if k not in now or body(now[k]) != body(o)]
    await conn.execute(
        "UPDATE org_version v SET valid_to = x.e FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[],"
        " $5::timestamptz[]) AS x(u, p, k, t, e) WHERE v.unit_code = x.u AND v.part = x.p AND v.key = x.k"
        " AND v.valid_from = x.t", *_columns([(v.unit_code, v.part, v.key, v.valid_from, v.valid_to) for v in ended], 5))
    await conn.execute(
        "DELETE FROM org_version v USING unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS x(u, p, k, t)"
        " WHERE v.unit_code = x.u AND v.part = x.p AND v.key = x.k AND v.valid_from = x.t", *_columns(gone, 4))
    rows = [_version_row(v) for k, v in now.items() if k not in was or body(v) != body(was[k])]
    await conn.execute(
        f"INSERT INTO org_version ({', '.join(VERSION_COLS)}) SELECT u, p, k, f, t, d, a, n, c,"
        " CASE WHEN w IS NULL THEN NULL ELSE to_tsvector('simple', w) END FROM unnest($1::text[], $2::text[],"
        " $3::text[], $4::timestamptz[], $5::timestamptz[], $6::jsonb[], $7::int[], $8::text[], $9::text[], $10::text[])"
        " AS x(u, p, k, f, t, d, a, n, c, w)", *_columns(rows, 10))


def _columns(rows: Sequence[tuple], n: int) -> list[list]:
    return [list(c) for c in zip(*rows)] if rows else [[] for _ in range(n)]


def _version_row(v: Version) -> tuple:
    tsv = search_vector(v.data["text"]) if v.part == "duty" else None
    return (v.unit_code, v.part, v.key, v.valid_from, v.valid_to, json.dumps(v.data, ensure_ascii=False),
            v.approved, v.doc_no, v.change_id, tsv)


def version_from(r: asyncpg.Record) -> Version:
    return Version(r["unit_code"], r["part"], r["key"], r["valid_from"], r["valid_to"], json.loads(r["data"]),
                   r["approved"], r["doc_no"], r["change_id"])


def span_from(r: asyncpg.Record) -> Span:
    return Span(*(r[c] for c in SPAN_COLS))


async def rebuild_persons(conn: asyncpg.Connection, news: Changes, last: dict[str, Optional[datetime]],
                          retry: set[str]) -> dict[str, set[str]]:
    """The persons' spans (`retry`: persons worked out whole, e.g. a unit they name stands otherwise now); returns
    the units whose spans changed, with the persons."""
    keys = sorted(set(news) | retry)
    if not keys:
        return {}
    cand = [p for p in keys if p not in retry and later(news[p], last.get(f"p:{p}"))]
    slow = sorted(set(keys) - set(cand))
    by = await load(conn, "person_key", slow, STAFF_KINDS) if slow else {}
    old: dict[tuple, Span] = {}
    for ks, whole in ((cand, False), (slow, True)):  # joined to the keys: `= ANY($1)` planned generic scans all
        old.update({(r["person_key"], r["valid_from"]): span_from(r) for r in await conn.fetch(
            f"SELECT {', '.join(f's.{c}' for c in SPAN_COLS)} FROM org_staff s JOIN unnest($1::text[]) AS x(k)"
            f" ON s.person_key = x.k{'' if whole else ' WHERE s.valid_to IS NULL'}", ks)} if ks else {})
    opened = {k[0]: s for k, s in old.items() if s.valid_to is None}
    stands = await _standing(conn, {c["unit_code"] for p in keys for c in by.get(p, news.get(p, []))
                                    if c.get("unit_code")})
    new, considered, refused = {}, [], {}
    for p in keys:
        full = p in by
        spans, why = person_spans(p, by[p] if full else news[p], stands, None if full else opened.get(p))
        considered += [c["change_id"] for c in by[p]] if full else list(why)
        refused.update(why)
        new.update({(s.person_key, s.valid_from): s for s in spans})
    return await _write_spans(conn, old, new, considered, refused)


async def _write_spans(conn: asyncpg.Connection, old: dict[tuple, Span], new: dict[tuple, Span],
                       considered: list[str], refused: dict[str, str]) -> dict[str, set[str]]:
    gone = [k for k, s in old.items() if new.get(k) != s]
    came = [s for k, s in new.items() if old.get(k) != s]
    await conn.execute("DELETE FROM org_staff s USING unnest($1::text[], $2::timestamptz[]) AS x(p, t)"
                       " WHERE s.person_key = x.p AND s.valid_from = x.t", *_columns(gone, 2))
    await conn.copy_records_to_table("org_staff", records=[_span_row(s) for s in came], columns=SPAN_COLS)
    await mark(conn, considered, refused)
    units: dict[str, set[str]] = {}
    for s in [old[k] for k in gone] + came:
        units.setdefault(s.unit_code, set()).add(s.person_key)
    return units


def _span_row(s: Span) -> tuple:
    return tuple(getattr(s, c) for c in SPAN_COLS)


async def _standing(conn: asyncpg.Connection, units: set[str]):
    """Whether a unit stands at a time, for the units given: a person enters or moves only into one that does."""
    spans: dict[str, list[tuple]] = {}
    for r in await conn.fetch("SELECT unit_code, valid_from, valid_to FROM org_version WHERE part = 'unit'"
                              " AND unit_code = ANY($1::text[])", sorted(units)):
        spans.setdefault(r["unit_code"], []).append((r["valid_from"], r["valid_to"]))
    return lambda u, t: any(a <= t and (b is None or t < b) for a, b in spans.get(u, ()))
