"""The eight findings as of t (spec/staffing.md §3): `stored` reads what the workers keep in org_finding (what the API
and the console answer with); `findings` computes them afresh (a past time, other thresholds: the CLI, a child
process, the workers' own sweep)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Optional

import asyncpg

from core.access import scope_pattern
from streams.staffing.logic import BASIS, CANDIDATES, UnitState, findings_at
from streams.staffing.queries import UNITS_AT, custom_plans, figures
from streams.staffing.findings import archive_check
from streams.staffing.rebuild import SPAN_COLS, VERSION_COLS, span_from, version_from

STAFFING_KINDS = ("over_quota", "mixed_use", "over_posts", "unapproved_body")
DUTY_KINDS = ("duty_unexercised", "power_without_duty", "duty_underperformed", "duty_overlap")


@dataclass(frozen=True)
class DutyParams:
    """The duty checks' thresholds: the settings' unless a caller asks for others."""

    min_volume: int = 20
    min_on_time: float = 0.8
    overlap_threshold: float = 0.6

    @classmethod
    def of(cls, s, min_volume: Optional[int] = None, min_on_time: Optional[float] = None) -> "DutyParams":
        return cls(s.duty_min_volume if min_volume is None else min_volume,
                   s.duty_min_on_time if min_on_time is None else min_on_time, s.overlap_threshold)


def finding(kind: str, unit: str, subject: str, figures_: dict, opened_at: Optional[datetime] = None) -> dict:
    return {"kind": kind, "unit_code": unit, "subject": subject, **figures_, "basis": BASIS[kind],
            "candidate": kind in CANDIDATES, "opened_at": opened_at.isoformat() if opened_at else None}


@custom_plans
async def findings(conn: asyncpg.Connection, at: datetime, scope: str = "", unit: Optional[str] = None,
                   window: Optional[tuple[datetime, datetime]] = None,
                   params: DutyParams = DutyParams()) -> list[dict[str, Any]]:
    """All eight computed as of `at` (jieba and pairwise work: never in the API's event loop)."""
    from streams.staffing.duties import duty_findings

    units = {r["unit_code"]: json.loads(r["data"]) for r in await conn.fetch(UNITS_AT, at, scope_pattern(scope), unit)}
    if not units:
        return []
    out = await _staffing_findings(conn, at, sorted(units))
    out += await duty_findings(conn, at, set(units), window or (at - timedelta(days=365), at), params)
    opened = {(r["unit_code"], r["kind"], r["subject"]): r["opened_at"] for r in await conn.fetch(
        "SELECT unit_code, kind, subject, opened_at FROM org_findings_at($1) WHERE unit_code = ANY($2::text[])",
        at, sorted(units))}
    for f in out:
        f["unit_name"] = units.get(f["unit_code"], {}).get("name")
        t = opened.get((f["unit_code"], f["kind"], f["subject"]))
        f["opened_at"] = f["opened_at"] or (t.isoformat() if t else None)
    return sorted(out, key=lambda f: (f["unit_code"], f["kind"], f["subject"]))


async def _staffing_findings(conn: asyncpg.Connection, at: datetime, codes: list[str]) -> list[dict]:
    states = {u: UnitState() for u in codes}
    versions = [version_from(r) for r in await conn.fetch(
        f"SELECT {', '.join(VERSION_COLS[:-1])} FROM org_versions_at($1) WHERE unit_code = ANY($2::text[])"
        " AND part IN ('unit', 'quota', 'posts', 'body')", at, codes)]
    for v in versions:
        states[v.unit_code].add_version(v, 1)
    for r in await conn.fetch(f"SELECT {', '.join(SPAN_COLS)} FROM org_staff_at($1) WHERE unit_code = ANY($2::text[])",
                              at, codes):
        s = span_from(r)
        states[s.unit_code].add_span(s, 1)
    in_archive = await archive_check(conn, (v.doc_no for v in versions if v.part == "body"))
    return [finding(kind, u, subject, figs) for u, st in states.items()
            for (kind, subject), figs in findings_at(st, in_archive).items()]


@custom_plans
async def stored(conn: asyncpg.Connection, at: datetime, scope: str = "", unit: Optional[str] = None,
                 kind: Optional[str] = None) -> list[dict[str, Any]]:
    """The findings the workers keep, open at `at`: each with the figures as of `at` and those it opened with."""
    rows = await conn.fetch(
        "SELECT f.*, f.figures::text AS figures, u.data->>'name' AS unit_name"
        " FROM org_findings_at($1) f JOIN org_units_at($1, $2) u ON u.unit_code = f.unit_code"
        " WHERE ($3::text IS NULL OR f.unit_code = $3) AND ($4::text IS NULL OR f.kind = $4)"
        " ORDER BY f.unit_code, f.kind, f.subject", at, scope_pattern(scope), unit, kind)
    now = await figures_by_subject(conn, at, scope, unit) if any(r["kind"] in STAFFING_KINDS for r in rows) else {}
    return [{**finding(r["kind"], r["unit_code"], r["subject"], f, r["opened_at"]), "unit_name": r["unit_name"],
             "opened_figures": o} for r in rows for f, o in [as_of(r, now)]]


@custom_plans
async def in_period(conn: asyncpg.Connection, unit: str, t0: datetime, t1: datetime) -> list[dict[str, Any]]:
    """The unit's findings open at any time in [t0, t1), when each opened and closed, with the figures as of t1 and
    those it opened with (an evaluation's evidence)."""
    rows = await conn.fetch(
        "SELECT *, figures::text AS figures FROM org_finding WHERE unit_code = $1 AND opened_at < $3"
        " AND (closed_at IS NULL OR closed_at > $2) ORDER BY opened_at, kind, subject", unit, t0, t1)
    now = await figures_by_subject(conn, t1, "", unit)
    return [{"kind": r["kind"], "subject": r["subject"], "opened_at": r["opened_at"].isoformat(),
             "closed_at": r["closed_at"].isoformat() if r["closed_at"] else None, "figures": f,
             "opened_figures": o, "as_of": t1.isoformat(), "basis": r["basis"], "candidate": r["kind"] in CANDIDATES}
            for r in rows for f, o in [as_of(r, now)]]


def as_of(r, now: dict) -> tuple[dict, dict]:
    """A stored finding's figures as of the time `now` was read at, and those it opened with."""
    opened = json.loads(r["figures"])
    if r["kind"] not in ("over_quota", "mixed_use", "over_posts"):
        return opened, opened
    cur = now.get((r["unit_code"], opened.get("quota_kind") or opened.get("post_level")), {})
    if r["kind"] == "mixed_use":  # no quota of that kind: nothing is "over" it, the holders are 混編
        cur = {"actual": cur.get("actual", 0)}
    return {**opened, **cur}, opened


async def figures_by_subject(conn: asyncpg.Connection, at: datetime, scope: str, unit: Optional[str]) -> dict:
    """(unit, quota kind or post level) -> the figures as of `at`."""
    fig = await figures(conn, at, scope, unit)
    out = {(r["unit_code"], r["quota_kind"]): {k: r[k] for k in ("approved", "actual", "over")} for r in fig["rows"]}
    out.update({(p["unit_code"], p["post_level"]): {"posts_approved": p["posts_approved"],
                                                    "posts_held": p["posts_held"]} for p in fig["posts"]})
    return out


