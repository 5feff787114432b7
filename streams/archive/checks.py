"""Checked before it counts (spec/archive.md §3): a proposal's changes applied in a transaction that is rolled back,
the unit read as it would stand and the staffing findings asked on both sides; the diff compares in one script."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Optional

import asyncpg

from schemas.staffing import StaffingChange
from streams.archive.extract import same
from streams.staffing import checks, queries
from streams.staffing.store import apply_staffing_changes

ATTRS = ("name", "region_code", "nature", "rank", "funding", "parent_unit_code")


class _Undo(Exception):
    """Raised to roll back the changes applied only to look at their effect."""


def validate(changes: list[dict]) -> tuple[list[StaffingChange], list[dict]]:
    """The changes as the staffing stream would take them, and those it would refuse (with why)."""
    good, bad = [], []
    for c in changes:
        try:
            good.append(StaffingChange.model_validate(c))
        except ValueError as exc:
            errors = exc.errors() if hasattr(exc, "errors") else [{"loc": (), "msg": str(exc)}]
            why = "; ".join(f"{'.'.join(str(x) for x in e['loc']) or c.get('kind')}: {e['msg']}" for e in errors)
            bad.append({"change_id": c.get("change_id"), "kind": c.get("kind"), "reason": why[:500]})
    return good, bad


async def _units(conn: asyncpg.Connection, changes: list[StaffingChange], at: datetime) -> list[str]:
    """The units a proposal touches: those it names, and where the persons it moves stand now."""
    units = {c.unit_code for c in changes if c.unit_code}
    persons = [c.person_key for c in changes if c.person_key]
    if persons:
        units |= {r["unit_code"] for r in await conn.fetch(
            "SELECT unit_code FROM org_staff_at($1) WHERE person_key = ANY($2::text[])", at, persons)}
    return sorted(units)


async def _state(conn: asyncpg.Connection, units: list[str], at: datetime, threshold: float) -> tuple[dict, dict]:
    shown = {u: await queries.unit_as_of(conn, u, at) for u in units}
    found = {}
    for u in units:
        for f in await checks.findings(conn, at, "", u, params=checks.DutyParams(overlap_threshold=threshold)):
            found[(f["kind"], f["unit_code"], f["subject"])] = f
    return shown, found


async def evaluate(conn: asyncpg.Connection, changes: list[dict], at: datetime, threshold: float) -> dict[str, Any]:
    """diff, would_open, would_close against the units as they stand at `at`; changes that would not apply where
    they stand (would_not_apply) and that the stream would refuse (invalid)."""
    good, invalid = validate(changes)
    units = await _units(conn, good, at)
    before, found_before = await _state(conn, units, at, threshold)
    after: dict[str, Any] = {}
    found_after: dict[Any, Any] = {}
    pending: list[dict] = []
    try:
        async with conn.transaction():
            await apply_staffing_changes(conn, [(f"check:{c.change_id}", c) for c in good])
            after, found_after = await _state(conn, units, at, threshold)
            pending = [dict(r) for r in await conn.fetch(
                "SELECT change_id, kind, reason FROM staffing_change WHERE change_id = ANY($1::text[])"
                " AND state = 'pending'", [c.change_id for c in good])]
            raise _Undo
    except _Undo:
        pass
    return {"diff": {u: unit_diff(before[u], after.get(u), [c for c in good if c.unit_code == u]) for u in units},
            "would_open": [f for k, f in sorted(found_after.items()) if k not in found_before],
            "would_close": [f for k, f in sorted(found_before.items()) if k not in found_after],
            "would_not_apply": pending, "invalid": invalid, "as_of": at.isoformat()}


def _same_value(a: Any, b: Any) -> bool:
    return same(a) == same(b) if isinstance(a, str) and isinstance(b, str) else a == b


def unit_diff(before: Optional[dict], after: Optional[dict], changes: Iterable[StaffingChange] = ()) -> dict[str, Any]:
    """The unit before and after, in one script: a simplified copy of a traditional 三定 is no change."""
    b, a = before or {}, after or {}
    out: dict[str, Any] = {"exists": {"before": before is not None, "after": after is not None}}
    out["attributes"] = {k: {"before": b.get(k), "after": a.get(k)} for k in ATTRS
                         if not _same_value(b.get(k), a.get(k))}
    out["duties"] = _duties(b.get("duties", []), a.get("duties", []))
    bb, ab = ({x["body_code"]: x for x in s.get("bodies", [])} for s in (b, a))
    out["bodies"] = {
        "added": [{"body_code": k, "name": ab[k]["name"]} for k in sorted(ab.keys() - bb.keys())],
        "removed": [{"body_code": k, "name": bb[k]["name"]} for k in sorted(bb.keys() - ab.keys())],
        "changed": [{"body_code": k, "before": {"name": bb[k]["name"], "rank": bb[k].get("rank")},
                     "after": {"name": ab[k]["name"], "rank": ab[k].get("rank")}} for k in sorted(bb.keys() & ab.keys())
                    if not _same_value(bb[k]["name"], ab[k]["name"]) or bb[k].get("rank") != ab[k].get("rank")]}
    out["quotas"] = _figures(b.get("quotas", []), a.get("quotas", []), "quota_kind", ("approved", "actual"))
    out["posts"] = _figures(b.get("posts", []), a.get("posts", []), "post_level", ("posts_approved", "posts_held"))
    sb, sa = (s.get("staff", {}).get("by_kind", {}) for s in (b, a))
    out["staff"] = {"by_kind": {k: {"before": sb.get(k, 0), "after": sa.get(k, 0)} for k in sorted(sb.keys() | sa.keys())
                                if sb.get(k, 0) != sa.get(k, 0)},
                    "entered": [{"person_key": c.person_key, "name": c.name, "quota_kind": c.quota_kind}
                                for c in changes if c.kind == "staff_in"]}
    return out


def _duties(before: list[dict], after: list[dict]) -> dict[str, list]:
    """Clauses matched by their text in one script; a clause whose text changed under the same duty_id is changed."""
    left: dict[str, Any] = {}
    for d in before:
        left.setdefault(same(d["text"]), []).append(d)
    kept, unmatched = [], []
    for d in after:
        twins = left.get(same(d["text"]))
        if twins:
            old = twins.pop(0)
            if sorted(old.get("item_codes") or []) != sorted(d.get("item_codes") or []):
                kept.append({"duty_id": d["duty_id"], "item_codes": {"before": old.get("item_codes"),
                                                                      "after": d.get("item_codes")}})
        else:
            unmatched.append(d)
    gone = {d["duty_id"]: d for ds in left.values() for d in ds}
    changed = [{"duty_id": d["duty_id"], "before": gone.pop(d["duty_id"])["text"], "after": d["text"]}
               for d in unmatched if d["duty_id"] in gone]
    ids = {c["duty_id"] for c in changed}
    return {"added": [{"duty_id": d["duty_id"], "text": d["text"], "item_codes": d.get("item_codes")}
                      for d in unmatched if d["duty_id"] not in ids],
            "removed": [{"duty_id": d["duty_id"], "text": d["text"]} for d in gone.values()],
            "changed": changed, "relinked": kept}


def _figures(before: list[dict], after: list[dict], key: str, fields: tuple[str, ...]) -> list[dict]:
    b, a = ({r[key]: r for r in rows} for rows in (before, after))
    out = []
    for k in sorted(b.keys() | a.keys()):
        x, y = b.get(k, {}), a.get(k, {})
        if any(x.get(f, 0) != y.get(f, 0) for f in fields):
            out.append({key: k, **{f: {"before": x.get(f, 0), "after": y.get(f, 0)} for f in fields}})
    return out
