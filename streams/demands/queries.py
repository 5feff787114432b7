"""Demands read back (spec/demands.md §3, §5): figures for any window and grouping, a demand, a list; every read
within the caller's regions (a region code prefix)."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Optional

import asyncpg
import orjson

from core.access import scope_prefix
from core.tz import local_day, midnight
from schemas.demands import COMPLAINT, OUTCOMES, SATISFACTIONS

GROUPS = {"item": ("item_code", "d.link_item"), "department": ("department_code", "d.link_department"),
          "region": ("region_code", "d.region_code"), "channel": ("channel", "d.channel"),
          "topic": ("topic", "t.topic")}
# the same groups in demand_rollup, where no item or department is ''
_ROLLED = {"item": "NULLIF(item_code, '')", "department": "NULLIF(department_code, '')", "region": "region_code",
           "channel": "channel", "topic": "topic"}
CASE_COLUMNS = {"item": "item_code", "department": "department_code", "region": "region_code"}
_WHERE = "d.received_at >= $1 AND d.received_at < $2 AND d.region_code LIKE $3"
# the figures' filters, after the window and the scope
_ABOUT = " AND ($4::text IS NULL OR d.link_item = $4) AND ($5::text IS NULL OR d.link_department = $5)"
_MEASURES = "demands, complaints, resolved, handled, satisfied, rated, timed, handled_us"
# a demand's row as demand_rollup holds it (db/migrations/0031), for the ends of a window that are not whole days
_RAW = (f"SELECT coalesce(d.link_item, '') AS item_code, coalesce(d.link_department, '') AS department_code,"
        f" d.region_code, d.channel, x.topic, 1 AS demands, (d.kind = $6)::int AS complaints,"
        f" (d.outcome IS NOT DISTINCT FROM $7)::int AS resolved,"
        f" (d.outcome IS NOT NULL OR d.handled_at IS NOT NULL)::int AS handled,"
        f" (d.satisfaction = ANY($8::text[]) IS TRUE)::int AS satisfied, (d.satisfaction IS NOT NULL)::int AS rated,"
        f" (d.handled_at IS NOT NULL)::int AS timed,"
        f" coalesce((extract(epoch FROM d.handled_at - d.received_at) * 1000000)::bigint, 0) AS handled_us"
        f" FROM demand d CROSS JOIN LATERAL unnest(ARRAY[''] || d.topics) AS x(topic)"
        f" WHERE ((d.received_at >= $9 AND d.received_at < $10) OR (d.received_at >= $11 AND d.received_at < $12))"
        f" AND {_WHERE}{_ABOUT}")
# the window's whole days: ranges of months and days, each added or taken away (a month less the days it lacks)
# (each range read by the index on its own: a join let the planner scan the whole rollup for two ranges or more)
_ROLLUP = (f"SELECT r.item_code, r.department_code, r.region_code, r.channel, r.topic,"
           f" {', '.join(f'r.{m} * w.sign AS {m}' for m in _MEASURES.split(', '))}"
           " FROM unnest($13::text[], $14::date[], $15::date[], $16::int[]) AS w(span, d0, d1, sign)"
           " CROSS JOIN LATERAL (SELECT * FROM demand_rollup WHERE span = w.span AND day >= w.d0 AND day < w.d1"
           " AND region_code LIKE $3 AND ($4::text IS NULL OR item_code = $4)"
           " AND ($5::text IS NULL OR department_code = $5) OFFSET 0) r")

# requesters with more than one demand about an item: the pairs whose demands all lie in the window, scope and
# department are counted as they stand; those a window's end or the scope cuts, from their demands (two are enough)
_REPEATS_BY_ITEM = (
    "SELECT p.item_code AS key, count(*) AS n FROM demand_item_requester p"
    " WHERE p.last_at >= $1 AND p.first_at < $2 AND (p.region_code IS NULL OR p.region_code LIKE $3)"
    " AND ($4::text IS NULL OR p.item_code = $4) AND ($5::text IS NULL OR p.department_code IS NULL"
    " OR p.department_code = $5) AND ((p.first_at >= $1 AND p.last_at < $2 AND p.region_code LIKE $3"
    " AND ($5::text IS NULL OR p.department_code = $5)) IS TRUE"
    " OR (SELECT count(*) FROM (SELECT FROM demand d WHERE d.link_item = p.item_code"
    f" AND d.requester_hash = p.requester_hash AND {_WHERE}{_ABOUT} LIMIT 2) x) > 1) GROUP BY 1")


def _pattern(scope: str) -> str:
    return (scope_prefix(scope) if scope else "") + "%"


def _first_of_next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


Span = tuple[str, date, date, int]


def parts(start: datetime, end: datetime) -> tuple[list[datetime], list[Span]]:
    """A window [start, end) as the rollup reads it: two ranges of instants read from the rows (the ends that are not
    whole local days), and its whole local days as ranges of demand_rollup (span, from, to, sign): whole months, and
    a month cut by the window as its days, or as the month less the days it lacks when those are fewer."""
    d0, d1 = local_day(start), local_day(end)
    if midnight(d0) < start:
        d0 += timedelta(days=1)
    if d0 >= d1:  # no whole day: the rows alone
        return [start, end, end, end], []
    spans: list[Span] = []
    month = d0.replace(day=1)
    while month < d1:
        after = _first_of_next_month(month)
        lo, hi = max(d0, month), min(d1, after)
        if (lo - month) + (after - hi) >= hi - lo:
            spans.append(("day", lo, hi, 1))
        else:
            spans += [("month", month, after, 1), ("day", month, lo, -1), ("day", hi, after, -1)]
        month = after
    merged: list[Span] = []
    for span in sorted(spans, key=lambda x: (x[0], x[3], x[1])):
        if span[1] == span[2]:
            continue
        if merged and merged[-1][0] == span[0] and merged[-1][3] == span[3] and merged[-1][2] == span[1]:
            merged[-1] = (span[0], merged[-1][1], span[2], span[3])
        else:
            merged.append(span)
    return [start, midnight(d0), midnight(d1), end], merged


async def figures(conn: asyncpg.Connection, start: datetime, end: datetime, by: str = "item", scope: str = "",
                  item: Optional[str] = None, department: Optional[str] = None) -> dict[str, Any]:
    """One row per group: demands, complaints, topics, repeat requesters, rates, hours, complaints per 10k cases;
    of one item or department if given. Whole local days from demand_rollup, the ends of the window from the rows."""
    async with conn.transaction():
        # compiling costs more than these scans take; a plan for the window and filters given, not a generic one
        # (the generic plan PostgreSQL turns to after five runs read every demand from the table and sorted them)
        await conn.execute("SET LOCAL jit = off; SET LOCAL plan_cache_mode = force_custom_plan;"
                           " SET LOCAL work_mem = '32MB'")  # the year's (item, requester) pairs sorted in memory
        return await _figures(conn, start, end, by, scope, item, department)


async def _figures(conn: asyncpg.Connection, start: datetime, end: datetime, by: str, scope: str,
                   item: Optional[str], department: Optional[str]) -> dict[str, Any]:
    name, col = GROUPS[by]
    args = (start, end, _pattern(scope), item, department)
    instants, days = parts(start, end)
    only = " WHERE topic <> ''" if by == "topic" else ""
    rows = await conn.fetch(
        f"SELECT {_ROLLED[by]} AS key, topic, {', '.join(f'sum({m})::bigint AS {m}' for m in _MEASURES.split(', '))}"
        f" FROM ({_RAW} UNION ALL {_ROLLUP}) u{only}"
        f" GROUP BY 1, 2 HAVING sum(demands) > 0 ORDER BY demands DESC, 1 NULLS LAST, 2",
        *args, COMPLAINT, OUTCOMES[0], list(SATISFACTIONS[:2]), *instants, *([list(c) for c in zip(*days)] or [[]] * 4))
    topic_join = "CROSS JOIN LATERAL unnest(d.topics) AS t(topic)"
    repeats = await conn.fetch(_REPEATS_BY_ITEM if by == "item" else (
        f"SELECT key, count(*) AS n FROM (SELECT {col} AS key, d.requester_hash FROM demand d"
        f" {topic_join if by == 'topic' else ''} WHERE {_WHERE}{_ABOUT} AND d.requester_hash IS NOT NULL"
        f" GROUP BY 1, 2 HAVING count(*) > 1) r GROUP BY 1"), *args)
    cases = {}
    if by in CASE_COLUMNS:  # the approvals half: received cases of the same group, window, scope and filters
        cases = {r["key"]: r["n"] for r in await conn.fetch(
            f"SELECT {CASE_COLUMNS[by]} AS key, sum(received)::bigint AS n FROM indicator_daily"
            " WHERE day >= ($1 AT TIME ZONE 'Asia/Shanghai')::date AND day < ($2 AT TIME ZONE 'Asia/Shanghai')::date"
            " AND region_code LIKE $3 AND ($4::text IS NULL OR item_code = $4)"
            " AND ($5::text IS NULL OR department_code = $5) GROUP BY 1", *args)}
    by_topic: dict[Any, dict[str, int]] = {}
    for r in rows:
        if r["topic"]:
            by_topic.setdefault(r["key"], {})[r["topic"]] = r["demands"]
    repeat = {r["key"]: r["n"] for r in repeats}
    out = []
    for r in rows:
        if (by == "topic") != bool(r["topic"]):
            continue
        n_cases = cases.get(r["key"])
        out.append({name: r["key"], "demands": r["demands"], "complaints": r["complaints"],
                    "topics": by_topic.get(r["key"], {}), "repeat_requesters": repeat.get(r["key"], 0),
                    "resolved_rate": _rate(r["resolved"], r["handled"]),
                    "satisfaction_rate": _rate(r["satisfied"], r["rated"]),
                    "handling_hours": round(r["handled_us"] / r["timed"] / 3.6e9, 2) if r["timed"] else None,
                    "complaints_per_10k_cases": (round(r["complaints"] / n_cases * 10000, 2) if n_cases else None)})
    return {"from": start.isoformat(), "to": end.isoformat(), "by": by, "rows": out}


def _rate(num: int, den: int) -> Optional[float]:
    return round(num / den, 4) if den else None


_COLS = ("demand_id, received_at, channel, kind, region_code, text, case_id, handled_at, outcome, satisfaction, why,"
         " link_item, link_department, link_score, link_how, linked_by, linked_at")


def _demand(r: asyncpg.Record) -> dict[str, Any]:
    out = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in dict(r).items()
           if not k.startswith("link") and k != "why"}
    out["topics"] = orjson.loads(r["why"])
    out["link"] = {"item_code": r["link_item"], "department_code": r["link_department"], "score": r["link_score"],
                   "how": r["link_how"], "by": r["linked_by"],
                   "at": r["linked_at"].isoformat() if r["linked_at"] else None}
    return out


async def show(conn: asyncpg.Connection, demand_id: str, scope: str = "") -> Optional[dict[str, Any]]:
    r = await conn.fetchrow(f"SELECT {_COLS} FROM demand WHERE demand_id = $1 AND region_code LIKE $2",
                            demand_id, _pattern(scope))
    return _demand(r) if r else None


async def listing(conn: asyncpg.Connection, item: Optional[str] = None, topic: Optional[str] = None,
                  unlinked: bool = False, limit: int = 50, scope: str = "") -> dict[str, Any]:
    from core.script import to_simplified

    rows = await conn.fetch(
        f"SELECT {_COLS} FROM demand WHERE region_code LIKE $1 AND ($2::text IS NULL OR link_item = $2)"
        f" AND ($3::text IS NULL OR $3 = ANY(topics)) AND (NOT $4 OR link_how IS NULL)"
        f" ORDER BY received_at DESC, demand_id LIMIT $5",
        _pattern(scope), item, to_simplified(topic) if topic else None, unlinked, limit)
    return {"demands": [_demand(r) for r in rows]}


async def topic_complaints(conn: asyncpg.Connection, start: datetime, end: datetime, topics: tuple[str, ...],
                           scope: str = "", samples: int = 3) -> dict[str, dict[str, Any]]:
    """Per linked item: its complaints in the window with any of `topics`, counted per topic, and a few texts."""
    rows = await conn.fetch(
        "SELECT link_item AS item, count(*) AS n, array_agg(text ORDER BY received_at DESC) AS texts,"
        " array_agg(topics) AS topic_sets FROM (SELECT link_item, text, received_at, array_to_string(topics, '|')"
        " AS topics FROM demand d WHERE " + _WHERE + " AND d.kind = $4 AND d.topics && $5::text[]"
        " AND d.link_item IS NOT NULL) x GROUP BY 1", start, end, _pattern(scope), COMPLAINT, list(topics))
    out = {}
    for r in rows:
        per = {t: sum(t in ts.split("|") for ts in r["topic_sets"]) for t in topics}
        out[r["item"]] = {"complaints": r["n"], "by_topic": per, "sample_texts": r["texts"][:samples]}
    return out


async def department_figures(conn: asyncpg.Connection, department: str, start: datetime, end: datetime,
                             received_cases: Optional[int]) -> dict[str, Any]:
    """A unit's demands (linked to it or its items) for its evaluation: complaints per 10k of its received cases,
    and the satisfaction rate of those rated."""
    r = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE kind = $4) AS complaints,"
        " count(*) FILTER (WHERE satisfaction = ANY($5::text[])) AS satisfied,"
        " count(*) FILTER (WHERE satisfaction IS NOT NULL) AS rated FROM demand"
        " WHERE link_department = $1 AND received_at >= $2 AND received_at < $3",
        department, start, end, COMPLAINT, list(SATISFACTIONS[:2]))
    return {"complaints": r["complaints"],
            "complaints_per_10k_cases": round(r["complaints"] / received_cases * 10000, 2) if received_cases else None,
            "satisfaction_rate": _rate(r["satisfied"], r["rated"])}


async def nearby_from_counties(conn: asyncpg.Connection, start: datetime, end: datetime, items: list[str],
                               scope: str = "") -> dict[str, int]:
    """Per item: its 就近办理 demands raised in counties and towns (evidence for devolving a city-level item)."""
    rows = await conn.fetch(
        "SELECT link_item AS item, count(*) AS n FROM demand d WHERE " + _WHERE + " AND d.link_item = ANY($4::text[])"
        " AND '就近办理' = ANY(d.topics) AND (length(d.region_code) = 9 OR right(d.region_code, 2) <> '00')"
        " GROUP BY 1", start, end, _pattern(scope), items)
    return {r["item"]: r["n"] for r in rows}


async def topics_by_month(conn: asyncpg.Connection, start: datetime, end: datetime, scope: str = "") -> list[dict]:
    """Demands per local month and topic (a demand once under each of its topics)."""
    return [dict(r) for r in await conn.fetch(
        "SELECT to_char(d.received_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') AS month, t AS topic, count(*) AS n"
        " FROM demand d, unnest(d.topics) AS t WHERE " + _WHERE + " GROUP BY 1, 2 ORDER BY 1",
        start, end, _pattern(scope))]
