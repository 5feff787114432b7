"""Reading the staffing half as of any time: figures per unit and quota kind, a unit as it stood, its history
(歷史沿革), the difference between two of its states, and search of the archive and the duty clauses."""
from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any, Optional

import asyncpg

from core.access import like_pattern, scope_pattern, scope_prefix
from schemas.staffing import HANDLING_KINDS
from streams.staffing.logic import quota_figures
from streams.staffing.words import search_query

# as of $1 through the SQL functions of migration 0024 (org_versions_at, org_staff_at, org_units_at): the units standing
# at $1, in the caller's regions ($2: a LIKE pattern or NULL), optionally one ($3)
UNITS_AT = "SELECT unit_code, data FROM org_units_at($1, $2) WHERE ($3::text IS NULL OR unit_code = $3)"
# the columns of a figures row and of a finding, as a workbook shows them (every finding has these; kinds add more)
FIGURE_COLUMNS = ("unit_code", "unit_name", "quota_kind", "approved", "actual", "vacant", "over", "usage_rate")
FINDING_COLUMNS = ("kind", "unit_code", "unit_name", "subject", "candidate", "opened_at", "basis")


def custom_plans(fn):
    """Each statement planned for its own time and scope: a generic plan guesses a validity range holds a few rows
    where it holds thousands, and loops over every unit (measured: minutes for all units' figures)."""
    @functools.wraps(fn)
    async def run(conn: asyncpg.Connection, *args, **kw):
        async with conn.transaction():
            await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            return await fn(conn, *args, **kw)

    return run


def _iso(v: Any) -> Any:
    return v.isoformat() if hasattr(v, "isoformat") else v


# the staff standing then read once for both quotas and posts (a GiST scan of every span: most of its time)
FIGURES = (
    f"WITH u AS MATERIALIZED ({UNITS_AT}),"
    " s AS MATERIALIZED (SELECT unit_code, quota_kind, post_level, count(*)::int AS n FROM org_staff_at($1)"
    "        WHERE unit_code IN (SELECT unit_code FROM u) GROUP BY 1, 2, 3),"
    " q AS (SELECT unit_code, key AS quota_kind, approved FROM org_versions_at($1) WHERE part = 'quota'"
    "        AND unit_code IN (SELECT unit_code FROM u)),"
    " sq AS (SELECT unit_code, quota_kind, sum(n)::int AS actual FROM s GROUP BY 1, 2),"
    " p AS (SELECT unit_code, key AS post_level, approved FROM org_versions_at($1) WHERE part = 'posts'"
    "        AND unit_code IN (SELECT unit_code FROM u)),"
    " h AS (SELECT unit_code, post_level, sum(n)::int AS held FROM s WHERE post_level IS NOT NULL GROUP BY 1, 2)"
    " SELECT true AS quota, u.unit_code, u.data->>'name' AS unit_name, u.data->>'region_code' AS region_code,"
    "  coalesce(q.quota_kind, sq.quota_kind) AS key, coalesce(q.approved, 0) AS approved,"
    "  coalesce(sq.actual, 0) AS actual"
    " FROM u JOIN (q FULL JOIN sq USING (unit_code, quota_kind)) ON u.unit_code = coalesce(q.unit_code, sq.unit_code)"
    " UNION ALL SELECT false, coalesce(p.unit_code, h.unit_code), NULL, NULL, coalesce(p.post_level, h.post_level),"
    "  coalesce(p.approved, 0), coalesce(h.held, 0) FROM p FULL JOIN h USING (unit_code, post_level)"
    " ORDER BY 1, 2, 5")


@custom_plans
async def figures(conn: asyncpg.Connection, at: datetime, scope: str = "", unit: Optional[str] = None,
                  window: Optional[tuple[datetime, datetime]] = None) -> dict[str, Any]:
    """Approved against actual per unit and quota kind (never pooled), posts per level; with a window, cases per
    staff of the handling kinds at the window's end."""
    both = await conn.fetch(FIGURES, at, scope_pattern(scope), unit)
    # 24k rows at 6,500 units: records unpacked by position, not looked up by name, and each pair of approved and
    # actual figured once (a few hundred distinct pairs)
    out, posts = [], []
    figured: dict[tuple[int, int], dict[str, Any]] = {}
    for quota, code, name, region, key, approved, actual in both:
        if quota:
            f = figured.get((approved, actual))
            if f is None:
                f = figured[approved, actual] = quota_figures(approved, actual)
            out.append({"unit_code": code, "unit_name": name, "region_code": region, "quota_kind": key, **f})
        else:
            posts.append({"unit_code": code, "post_level": key, "posts_approved": approved, "posts_held": actual})
    result = {"as_of": at.isoformat(), "rows": out, "posts": posts}
    if window is not None:
        result["cases_per_staff"] = await cases_per_staff(conn, window, scope, unit)
    return result


@custom_plans
async def cases_per_staff(conn: asyncpg.Connection, window: tuple[datetime, datetime], scope: str = "",
                          unit: Optional[str] = None) -> list[dict[str, Any]]:
    """Cases received in the window for the items whose department is the unit, over the unit's staff of the
    handling kinds (行政, 政法專項, 參公事業) at the window's end; null when there are none."""
    from streams.indicators.queries import indicators
    from streams.indicators.window import Window

    t0, t1 = window
    staff = await conn.fetch(
        f"WITH u AS ({UNITS_AT}) SELECT u.unit_code, u.data->>'name' AS unit_name,"
        " (SELECT count(*) FROM org_staff_at($1) s WHERE s.unit_code = u.unit_code"
        "  AND s.quota_kind = ANY($4::text[]))::int AS staff"
        " FROM u ORDER BY 1", t1, scope_pattern(scope), unit, list(HANDLING_KINDS))
    items = await conn.fetch("SELECT DISTINCT item_code, department_code FROM list_item_version"
                             " WHERE department_code = ANY($1::text[])", [r["unit_code"] for r in staff])
    dept = {r["item_code"]: r["department_code"] for r in items}
    received: dict[str, int] = {}
    if dept:
        for r in await indicators(conn, Window(t0, t1), ("item_code",)):
            if r["item_code"] in dept:
                received[dept[r["item_code"]]] = received.get(dept[r["item_code"]], 0) + r["received"]
    return [{"unit_code": r["unit_code"], "unit_name": r["unit_name"], "received": received.get(r["unit_code"], 0),
             "staff": r["staff"], "cases_per_staff": round(received.get(r["unit_code"], 0) / r["staff"], 4)
             if r["staff"] else None} for r in staff]


@custom_plans
async def unit_as_of(conn: asyncpg.Connection, code: str, at: datetime, scope: str = "") -> Optional[dict[str, Any]]:
    """The unit as it stood: attributes, bodies, duties, quotas and posts with their figures, staff counts, and
    the document that set each; None when it did not stand then (or is outside the caller's regions)."""
    unit = await conn.fetchrow(
        "SELECT data, doc_no, valid_from, valid_to FROM org_units_at($1, $2) WHERE unit_code = $3", at,
        scope_pattern(scope), code)
    if unit is None:
        return None
    parts = await conn.fetch(
        "SELECT part, key, data, approved, doc_no, valid_from FROM org_versions_at($1) WHERE unit_code = $2"
        " AND part <> 'unit' ORDER BY part, (data->>'n')::int NULLS LAST, key", at, code)
    docs = {r["doc_no"]: dict(r) for r in await conn.fetch(
        "SELECT doc_no, title, issued_at, doc_type FROM org_document WHERE doc_no = ANY($1::text[])",
        list({p["doc_no"] for p in parts if p["doc_no"]} | {unit["doc_no"]}))}
    fig = await figures(conn, at, scope, code)
    in_force = {r["item_code"] for r in await conn.fetch(
        "SELECT item_code FROM list_items_at($1) WHERE active", at)}

    def part(name: str) -> list[dict]:
        return [{"key": p["key"], **json.loads(p["data"]), "doc_no": p["doc_no"], "since": p["valid_from"].isoformat(),
                 "document": _doc(docs.get(p["doc_no"]))} for p in parts if p["part"] == name]

    duties = part("duty")
    for d in duties:
        d["duty_id"] = d.pop("key")
        d["items_in_force"] = [i for i in d["item_codes"] if i in in_force]
        d["status"] = ("unlinked" if not d["item_codes"] else "exercised" if d["items_in_force"] else "unexercised")
    staff = await conn.fetch(
        "SELECT quota_kind, body_code, count(*)::int AS n FROM org_staff_at($1) WHERE unit_code = $2"
        " GROUP BY 1, 2 ORDER BY 1, 2", at, code)
    by_kind: dict[str, int] = {}
    for r in staff:
        by_kind[r["quota_kind"]] = by_kind.get(r["quota_kind"], 0) + r["n"]
    return {"unit_code": code, "as_of": at.isoformat(), **json.loads(unit["data"]), "doc_no": unit["doc_no"],
            "since": unit["valid_from"].isoformat(), "document": _doc(docs.get(unit["doc_no"])),
            "bodies": [{**b, "body_code": b.pop("key")} for b in part("body")], "duties": duties,
            "quotas": fig["rows"], "posts": fig["posts"],
            "staff": {"total": sum(by_kind.values()), "by_kind": by_kind, "by_body": [dict(r) for r in staff]}}


def _doc(d: Optional[dict]) -> Optional[dict]:
    return None if d is None else {k: _iso(v) for k, v in d.items()}


async def history(conn: asyncpg.Connection, code: str, scope: str = "") -> Optional[dict[str, Any]]:
    """歷史沿革: every moment the unit's 三定 changed, with the document and what changed (set, changed, ended)."""
    rows = await conn.fetch(
        "SELECT part, key, data, valid_from, valid_to, doc_no, change_id FROM org_version WHERE unit_code = $1"
        " ORDER BY valid_from, part, key", code)
    if not rows or (scope and not any((json.loads(r["data"]).get("region_code") or "").startswith(scope_prefix(scope))
                                      for r in rows if r["part"] == "unit")):
        return None
    ended = {(r["part"], r["key"], r["valid_to"]): r for r in rows if r["valid_to"] is not None}
    moments: dict[datetime, dict[str, Any]] = {}
    started = set()
    for r in rows:
        m = moments.setdefault(r["valid_from"], {"at": r["valid_from"].isoformat(), "doc_nos": set(), "changes": []})
        m["doc_nos"].add(r["doc_no"])
        before = ended.get((r["part"], r["key"], r["valid_from"]))
        started.add((r["part"], r["key"], r["valid_from"]))
        m["changes"].append({"part": r["part"], "key": r["key"], "action": "changed" if before else "set",
                             "before": json.loads(before["data"]) if before else None, "after": json.loads(r["data"])})
    for (part, key, t), r in ended.items():
        if (part, key, t) not in started:
            m = moments.setdefault(t, {"at": t.isoformat(), "doc_nos": set(), "changes": []})
            m["changes"].append({"part": part, "key": key, "action": "ended", "before": json.loads(r["data"]),
                                 "after": None})
    docs = {r["doc_no"]: dict(r) for r in await conn.fetch(
        "SELECT doc_no, title, issued_at, doc_type FROM org_document WHERE doc_no = ANY($1::text[])",
        list({r["doc_no"] for r in rows if r["doc_no"]}))}
    versions = []
    for t in sorted(moments):
        m = moments[t]
        m["documents"] = [_doc(docs.get(d)) or {"doc_no": d, "in_archive": False} for d in sorted(m.pop("doc_nos") - {None})]
        m["changes"] = [c for c in m["changes"] if c["action"] != "changed" or c["before"] != c["after"]]
        if m["changes"]:
            versions.append(m)
    generations = [{"at": v["at"], "doc_no": d["doc_no"], "title": d.get("title")} for v in versions
                   for d in v["documents"] if any(c["part"] == "duty" and c["action"] != "ended" for c in v["changes"])]
    return {"unit_code": code, "versions": versions, "generations": generations}


async def diff(conn: asyncpg.Connection, code: str, a: datetime, b: datetime, scope: str = "") -> Optional[dict]:
    """What differs between the unit at `a` and at `b` (e.g. two 三定 generations): per part, added, removed, changed."""
    sa, sb = await unit_as_of(conn, code, a, scope), await unit_as_of(conn, code, b, scope)
    if sa is None and sb is None:
        return None

    def keyed(s: Optional[dict], part: str, key: str) -> dict:
        return {x[key]: x for x in (s or {}).get(part, [])}

    out: dict[str, Any] = {"unit_code": code, "from": a.isoformat(), "to": b.isoformat()}
    for part, key, fields in (("duties", "duty_id", ("text", "item_codes")), ("bodies", "body_code", ("name", "rank")),
                              ("quotas", "quota_kind", ("approved",)), ("posts", "post_level", ("posts_approved",))):
        xa, xb = keyed(sa, part, key), keyed(sb, part, key)
        pick = lambda x: {f: x.get(f) for f in (key, *fields)}  # noqa: E731
        out[part] = {"added": [pick(xb[k]) for k in sorted(xb.keys() - xa.keys())],
                     "removed": [pick(xa[k]) for k in sorted(xa.keys() - xb.keys())],
                     "changed": [{key: k, "before": pick(xa[k]), "after": pick(xb[k])} for k in sorted(xa.keys() & xb.keys())
                                 if pick(xa[k]) != pick(xb[k])]}
    attrs = ("name", "region_code", "nature", "rank", "funding", "parent_unit_code")
    out["attributes"] = {k: {"before": (sa or {}).get(k), "after": (sb or {}).get(k)} for k in attrs
                         if (sa or {}).get(k) != (sb or {}).get(k)}
    return out


async def search(conn: asyncpg.Connection, text: str, scope: str = "", limit: int = 50) -> dict[str, Any]:
    """Documents and duty clauses by Chinese words (segmented as they were when stored), and by substring for a
    query too short to have words of its own."""
    from core.script import to_simplified

    q, like = search_query(text), like_pattern(to_simplified(text))
    docs = await conn.fetch(
        "SELECT doc_no, title, issued_at, doc_type, left(body, 300) AS excerpt FROM org_document d"
        " WHERE (($1::text IS NOT NULL AND tsv @@ to_tsquery('simple', $1)) OR title || ' ' || body LIKE $2)"
        " AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM org_version v JOIN org_version u ON u.unit_code = v.unit_code"
        "   AND u.part = 'unit' WHERE v.doc_no = d.doc_no AND u.data->>'region_code' LIKE $3))"
        " ORDER BY issued_at DESC, doc_no LIMIT $4", q, like, scope_pattern(scope), limit)
    duties = await conn.fetch(
        "SELECT v.unit_code, u.data->>'name' AS unit_name, v.key AS duty_id, v.data->>'text' AS text,"
        " v.data->'item_codes' AS item_codes, v.doc_no, v.valid_from, v.valid_to, v.span @> now() AS in_force"
        " FROM org_version v"
        " JOIN LATERAL (SELECT data FROM org_version u WHERE u.unit_code = v.unit_code AND u.part = 'unit'"
        "   ORDER BY u.valid_from DESC LIMIT 1) u ON true"
        " WHERE v.part = 'duty' AND (($1::text IS NOT NULL AND v.tsv @@ to_tsquery('simple', $1))"
        "   OR v.data->>'text' LIKE $2) AND ($3::text IS NULL OR u.data->>'region_code' LIKE $3)"
        " ORDER BY in_force DESC, v.valid_from DESC, v.unit_code LIMIT $4", q, like, scope_pattern(scope), limit)
    return {"query": text, "words": q, "documents": [{k: _iso(v) for k, v in dict(r).items()} for r in docs],
            "duties": [{**{k: _iso(v) for k, v in dict(r).items()}, "item_codes": json.loads(r["item_codes"] or "[]")}
                       for r in duties]}
