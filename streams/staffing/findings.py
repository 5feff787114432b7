"""The four findings the staffing data decides, kept in org_finding: each touched unit's swept again from the earliest
time a take changes it, with what opened and closed to tell."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Iterable, Optional

import asyncpg

from streams.staffing.logic import BASIS, Interval, Span, Version, finding_intervals

Told = list[dict[str, Any]]


async def archive_check(conn: asyncpg.Connection, doc_nos: Iterable[str]):
    known = {r["doc_no"] for r in await conn.fetch(
        "SELECT doc_no FROM org_document WHERE doc_no = ANY($1::text[])", sorted({d for d in doc_nos if d}))}
    return known.__contains__


async def sweep_findings(conn: asyncpg.Connection, since: dict[str, Optional[datetime]]) -> tuple[Told, Told]:
    """Each unit's findings swept again from `since[unit]` (None: its whole history): what was found before then
    stands; a finding that held across it goes on under its first opening. Rows that still stand keep their
    alert marks. Returns the findings opened and closed (to tell)."""
    opened: Told = []
    closed: Told = []
    if not since:
        return opened, closed
    keys = sorted(since)
    starts = [since[u] for u in keys]
    versions, spans, kept = await _state(conn, keys, starts)
    in_archive = await archive_check(conn, (v.doc_no for vs in versions.values() for v in vs if v.part == "body"))
    old: dict[str, dict[tuple, asyncpg.Record]] = {u: {} for u in keys}
    for r in await conn.fetch(
            "DELETE FROM org_finding f USING unnest($1::text[], $2::timestamptz[]) AS x(u, t) WHERE f.unit_code = x.u"
            " AND f.kind = ANY($3::text[]) AND (x.t IS NULL OR f.closed_at IS NULL OR f.closed_at > x.t) RETURNING f.*",
            keys, starts, list(BASIS)[:4]):
        old[r["unit_code"]][(r["kind"], r["subject"], r["opened_at"])] = r
    rows: list[tuple] = []
    now = datetime.now(timezone.utc)
    for u in keys:
        intervals = _joined(finding_intervals(versions[u], spans[u], in_archive, since[u], kept[u]), old[u], since[u])
        rows += _settle(u, intervals, old[u], now, opened, closed)
    await conn.executemany(
        "INSERT INTO org_finding (unit_code, kind, subject, opened_at, closed_at, figures, basis, alerted_open_at,"
        " alerted_close_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9)", rows)
    return opened, closed


async def _state(conn: asyncpg.Connection, keys: list[str], starts: list[Optional[datetime]]):
    """What the findings look at from each unit's start on: its versions (but duties) in force then or after, each
    span that starts or ends after it, and the spans standing from before it for good, counted (an import in time
    order: nearly all of them). Each read is an index range (an OR of the two read every span the unit ever had)."""
    each = "FROM unnest($1::text[], $2::timestamptz[]) AS x(u, t) CROSS JOIN LATERAL"
    versions: dict[str, list[Version]] = {u: [] for u in keys}
    cols = "part, key, valid_from, valid_to, approved, doc_no, CASE WHEN part = 'body' THEN data->>'name' END AS name"
    for r in await conn.fetch(  # without decoding each version's data (a body's name is all they need of it)
            f"SELECT x.u AS unit_code, y.* {each} (SELECT {cols} FROM org_version WHERE unit_code = x.u"
            f" AND valid_to IS NULL UNION ALL SELECT {cols} FROM org_version WHERE unit_code = x.u"
            " AND valid_to > coalesce(x.t, '-infinity')) AS y WHERE y.part <> 'duty'", keys, starts):
        versions[r["unit_code"]].append(Version(r["unit_code"], r["part"], r["key"], r["valid_from"], r["valid_to"],
                                                {"name": r["name"]}, r["approved"], r["doc_no"], ""))
    spans: dict[str, list[Span]] = {u: [] for u in keys}
    cols = "person_key, valid_from, valid_to, quota_kind, post_level"
    for r in await conn.fetch(
            f"SELECT x.u AS unit_code, y.* {each} (SELECT {cols} FROM org_staff WHERE unit_code = x.u"
            f" AND valid_to IS NULL AND valid_from > coalesce(x.t, '-infinity') UNION ALL SELECT {cols} FROM org_staff"
            " WHERE unit_code = x.u AND valid_to > coalesce(x.t, '-infinity')) AS y", keys, starts):
        spans[r["unit_code"]].append(Span(r["person_key"], r["valid_from"], r["valid_to"], r["unit_code"], None,
                                          r["quota_kind"], r["post_level"], "", "", None, "", None))
    kept: dict[str, list[tuple]] = {u: [] for u in keys}
    for r in await conn.fetch(
            "SELECT s.unit_code, s.quota_kind, s.post_level, count(*)::int AS n,"
            " (array_agg(s.person_key ORDER BY s.person_key))[1:50] AS persons"
            " FROM unnest($1::text[], $2::timestamptz[]) AS x(u, t) JOIN org_staff s ON s.unit_code = x.u"
            " AND s.valid_to IS NULL AND s.valid_from <= x.t GROUP BY 1, 2, 3", keys, starts):
        kept[r["unit_code"]].append((r["quota_kind"], r["post_level"], r["n"], r["persons"]))
    return versions, spans, kept


def _joined(intervals: list[Interval], old: dict[tuple, Any], start: Optional[datetime]) -> list[Interval]:
    """A finding that held across the start goes on under its first opening; one that held until it ends there."""
    across = {(k, s): (o, r) for (k, s, o), r in old.items() if start is not None and o < start}
    for i in intervals:
        if i.opened_at == start and (i.kind, i.subject) in across:  # it held across the start: the same one
            i.opened_at, r = across.pop((i.kind, i.subject))
            i.figures = json.loads(r["figures"])
    for (kind, subject), (o, r) in across.items():  # held until the start, and no longer
        intervals.append(Interval(kind, subject, o, start, json.loads(r["figures"])))
    return intervals


def _settle(u: str, intervals: list[Interval], old: dict[tuple, Any], now: datetime, opened: Told,
            closed: Told) -> list[tuple]:
    """The unit's rows, keeping the alert marks of those that stand; what opens or closes now is told."""
    standing = {(i.kind, i.subject) for i in intervals if _open_at(i, now)}
    rows = []
    for i in intervals:
        prev = old.pop((i.kind, i.subject, i.opened_at), None)
        alerted_open = prev["alerted_open_at"] if prev else None
        alerted_close = prev["alerted_close_at"] if prev else None
        if _open_at(i, now) and alerted_open is None:
            alerted_open = _carried(old, i) or now
            if alerted_open is now:
                opened.append(_told(u, i))
        elif not _open_at(i, now) and alerted_open is not None and alerted_close is None:
            alerted_close = now
            closed.append(_told(u, i))
        rows.append((u, i.kind, i.subject, i.opened_at, i.closed_at, json.dumps(i.figures, ensure_ascii=False),
                     BASIS[i.kind], alerted_open, alerted_close))
    for (kind, subject, _), r in list(old.items()):  # a told finding that no longer stands at all
        if r["alerted_open_at"] and not r["alerted_close_at"] and (kind, subject) not in standing:
            closed.append(_told(u, Interval(kind, subject, r["opened_at"], now, json.loads(r["figures"]))))
    return rows


def _open_at(i: Interval, now: datetime) -> bool:
    return i.opened_at <= now and (i.closed_at is None or i.closed_at > now)


def _carried(old: dict, i: Interval):
    """A finding told before whose opening moved (a late change): it is the same finding, told once."""
    for key, r in old.items():
        if key[:2] == (i.kind, i.subject) and r["alerted_open_at"] and not r["alerted_close_at"]:
            old.pop(key)
            return r["alerted_open_at"]
    return None


def _told(unit: str, i: Interval) -> dict[str, Any]:
    return {"unit_code": unit, "kind": i.kind, "subject": i.subject, "opened_at": i.opened_at.isoformat(),
            "closed_at": i.closed_at.isoformat() if i.closed_at else None, "figures": i.figures, "basis": BASIS[i.kind]}
