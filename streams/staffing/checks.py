"""The eight findings as of t (spec/staffing.md §3): the four the staffing data decides, by the same rule the stream
keeps them with, and the duty checks against the power list and the approvals half."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any, Optional

import asyncpg

from core.script import to_simplified
from streams.staffing.logic import BASIS, CANDIDATES, UnitState, findings_at
from core.access import scope_pattern
from streams.staffing.queries import AT, UNITS_AT
from streams.staffing.store import SPAN_COLS, VERSION_COLS, archive_check, span_from, version_from

MIN_VOLUME, MIN_ON_TIME = 20, 0.8
# boilerplate every 三定 ends with: never an overlap, whoever shares it
BOILERPLATE = re.compile(r"交办的其他(工作|任务|事项)|其他(工作|任务)事项?$")


async def findings(conn: asyncpg.Connection, at: datetime, scope: str = "", unit: Optional[str] = None,
                   window: Optional[tuple[datetime, datetime]] = None, min_volume: int = MIN_VOLUME,
                   min_on_time: float = MIN_ON_TIME, overlap_threshold: float = 0.6) -> list[dict[str, Any]]:
    units = {r["unit_code"]: json.loads(r["data"]) for r in await conn.fetch(UNITS_AT, at, scope_pattern(scope), unit)}
    if not units:
        return []
    codes = sorted(units)
    out = await _staffing_findings(conn, at, codes)
    duties = await _duties_at(conn, at)
    in_force = {r["item_code"]: r["department_code"] for r in await conn.fetch(
        "SELECT item_code, department_code FROM list_items_at($1) WHERE active", at)}
    mine = [d for d in duties if d["unit_code"] in units]
    for d in mine:
        if d["item_codes"] and not any(i in in_force for i in d["item_codes"]):
            out.append(_finding("duty_unexercised", d["unit_code"], d["duty_id"], {
                "duty_id": d["duty_id"], "text": d["text"], "item_codes": d["item_codes"], "items_in_force": []}))
    named: dict[str, set[str]] = {}
    for d in duties:
        named.setdefault(d["unit_code"], set()).update(d["item_codes"])
    for item, dept in sorted(in_force.items()):
        if dept in units and item not in named.get(dept, set()):
            out.append(_finding("power_without_duty", dept, item, {"item_code": item}))
    t0, t1 = window or (at - timedelta(days=365), at)
    out += await _underperformed(conn, [d for d in mine if d["item_codes"]], (t0, t1), min_volume, min_on_time)
    out += _overlaps(duties, set(units), overlap_threshold)
    for f in out:
        f["unit_name"] = units.get(f["unit_code"], {}).get("name")
    return sorted(out, key=lambda f: (f["unit_code"], f["kind"], f["subject"]))


def _finding(kind: str, unit: str, subject: str, figures: dict, opened_at: Optional[datetime] = None) -> dict:
    return {"kind": kind, "unit_code": unit, "subject": subject, **figures, "basis": BASIS[kind],
            "candidate": kind in CANDIDATES, "opened_at": opened_at.isoformat() if opened_at else None}


async def _staffing_findings(conn: asyncpg.Connection, at: datetime, codes: list[str]) -> list[dict]:
    states = {u: UnitState() for u in codes}
    versions = [version_from(r) for r in await conn.fetch(
        f"SELECT {', '.join(VERSION_COLS[:-1])} FROM org_version WHERE unit_code = ANY($2::text[])"
        f" AND part IN ('unit', 'quota', 'posts', 'body') AND {AT}", at, codes)]
    for v in versions:
        states[v.unit_code].add_version(v, 1)
    for r in await conn.fetch(f"SELECT {', '.join(SPAN_COLS)} FROM org_staff WHERE unit_code = ANY($2::text[])"
                              f" AND {AT}", at, codes):
        s = span_from(r)
        states[s.unit_code].add_span(s, 1)
    in_archive = await archive_check(conn, (v.doc_no for v in versions if v.part == "body"))
    opened = {(r["unit_code"], r["kind"], r["subject"]): r["opened_at"] for r in await conn.fetch(
        "SELECT unit_code, kind, subject, opened_at FROM org_finding WHERE unit_code = ANY($2::text[])"
        " AND opened_at <= $1 AND (closed_at IS NULL OR closed_at > $1)", at, codes)}
    return [_finding(kind, u, subject, figures, opened.get((u, kind, subject)))
            for u, st in states.items() for (kind, subject), figures in findings_at(st, in_archive).items()]


async def _duties_at(conn: asyncpg.Connection, at: datetime) -> list[dict]:
    return [{"unit_code": r["unit_code"], "duty_id": r["key"], "text": r["text"], "region_code": r["region_code"],
             "item_codes": json.loads(r["item_codes"] or "[]")} for r in await conn.fetch(
        "SELECT v.unit_code, v.key, v.data->>'text' AS text, v.data->'item_codes' AS item_codes,"
        " u.data->>'region_code' AS region_code FROM org_version v JOIN org_version u ON u.unit_code = v.unit_code"
        "  AND u.part = 'unit' AND u.valid_from <= $1 AND (u.valid_to IS NULL OR u.valid_to > $1)"
        " WHERE v.part = 'duty' AND v.valid_from <= $1 AND (v.valid_to IS NULL OR v.valid_to > $1)", at)]


async def _underperformed(conn: asyncpg.Connection, duties: list[dict], window: tuple[datetime, datetime],
                          min_volume: int, min_on_time: float) -> list[dict]:
    """Clauses whose items, together, had at least min_volume cases and an on-time rate below min_on_time."""
    if not duties:
        return []
    from streams.indicators.definitions import BY_KEY
    from streams.indicators.queries import indicators
    from streams.indicators.window import Window

    items = {i for d in duties for i in d["item_codes"]}
    comps = {r["item_code"]: r["components"] for r in await indicators(conn, Window(*window), ("item_code",),
                                                                         {}) if r["item_code"] in items}
    out = []
    for d in duties:
        total: dict[str, int] = {}
        for i in d["item_codes"]:
            for k, v in comps.get(i, {}).items():
                total[k] = total.get(k, 0) + (v or 0)
        received, rate = BY_KEY["received"].value(total) if total else 0, BY_KEY["on_time_rate"].value(total) if total else None
        if received >= min_volume and rate is not None and rate < min_on_time:
            out.append(_finding("duty_underperformed", d["unit_code"], d["duty_id"], {
                "duty_id": d["duty_id"], "text": d["text"], "item_codes": d["item_codes"], "received": received,
                "on_time_rate": round(rate, 4), "min_volume": min_volume, "min_on_time": min_on_time,
                "from": window[0].isoformat(), "to": window[1].isoformat()}))
    return out


def boilerplate(duties: list[dict]) -> set[str]:
    """Clause texts that are boilerplate: the usual closing clause, or the same words in most units."""
    units_by_text: dict[str, set[str]] = {}
    for d in duties:
        units_by_text.setdefault(_norm(d["text"]), set()).add(d["unit_code"])
    n_units = len({d["unit_code"] for d in duties})
    return {t for t, us in units_by_text.items() if BOILERPLATE.search(t) or (n_units >= 3 and len(us) * 2 > n_units)}


def _common_words(duties: list[dict]) -> set[str]:
    """Words that a fifth or more of the units use in their clauses (负责, 组织实施, 行政执法...): the phrasing of
    every 三定, not what a unit does."""
    from streams.staffing.words import words

    units: dict[str, set[str]] = {}
    for d in duties:
        for w in set(words(d["text"])):
            units.setdefault(w, set()).add(d["unit_code"])
    n = len({d["unit_code"] for d in duties})
    return {w for w, us in units.items() if n >= 5 and len(us) * 5 >= n}


def _distinctive(text: str, common: set[str]) -> str:
    from streams.staffing.words import _jieba

    return " ".join(w for w in _jieba().lcut(to_simplified(text)) if w.strip() and w not in common)


def _norm(text: str) -> str:
    return re.sub(r"[\s。；;，,、（）()\d]+", "", to_simplified(text))


def _overlaps(duties: list[dict], units: set[str], threshold: float) -> list[dict]:
    """Clauses of different units of one government (one region) alike by the list drafts' measure, boilerplate
    left out; reported for each side that the caller sees. A county's bureau mirroring the city's is no 職能交叉."""
    by_region: dict[str, list[dict]] = {}
    for d in duties:
        by_region.setdefault(d["region_code"], []).append(d)
    return [f for region in sorted(by_region) for f in _overlaps_in(by_region[region], units, threshold)]


def _overlaps_in(duties: list[dict], units: set[str], threshold: float) -> list[dict]:
    from streams.powerlist.overlap import Index, Item

    if not units & {d["unit_code"] for d in duties}:
        return []
    skip = boilerplate(duties)
    kept = [d for d in duties if _norm(d["text"]) not in skip]
    by_key = {f"{d['unit_code']}#{d['duty_id']}": d for d in kept}
    common = _common_words(kept)
    index = Index(Item(k, _distinctive(d["text"], common), d["unit_code"]) for k, d in by_key.items())
    out = []
    for pair in index.all_pairs(threshold):
        a, b = (by_key[k] for k in pair["items"])
        if pair["score"] < threshold:
            continue
        for x, y in ((a, b), (b, a)):
            if x["unit_code"] in units:
                out.append(_finding("duty_overlap", x["unit_code"], f"{x['duty_id']}~{y['unit_code']}#{y['duty_id']}", {
                    "duty_id": x["duty_id"], "text": x["text"], "other_unit_code": y["unit_code"],
                    "other_duty_id": y["duty_id"], "other_text": y["text"], "score": pair["score"]}))
    return out
