"""The real-name roster (实名制人员名册) as an office keeps it, against the staffing data on a date: who came in, who
left, who moved; identity numbers only as their keyed hash."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Optional

import asyncpg
from stdnum.cn import ric

from connectors.sheets import day, text
from core.access import within
from core.script import to_simplified
from core.tz import midnight
from schemas.staffing import QUOTA_KINDS, SEXES, identity_hash, mask_identity
from streams.archive.proposals import create_proposal

REQUIRED = ("name", "sex", "quota_kind")
MOVABLE = ("unit_code", "body_code", "quota_kind", "post_level")


def hash_identity(key: bytes, value: Any) -> str:
    """The keyed hash of a valid identity number (GB 11643, its check character); the refusal never says the value."""
    number = re.sub(r"\s", "", text(value) or "").upper()
    if not ric.is_valid(number):
        raise ValueError("not a valid identity number (GB 11643: 18 characters, a real date, the check character)")
    return identity_hash(key, number)


def hashers(key: bytes) -> dict[str, Any]:
    """What the sheet reader does to a roster's identity numbers as it reads them (picklable: it runs in a child)."""
    import functools

    return {"id_number": functools.partial(hash_identity, key)}


def quota_kind_of(v: Optional[str]) -> str:
    """编制类型 as written (行政编制, 参照公务员法管理事业编制, 机关工勤人员事业编制) as one of the five kinds."""
    s = to_simplified(v or "").strip()
    if s in QUOTA_KINDS:
        return s
    for marks, kind in ((("工勤",), "工勤"), (("政法",), "政法专项"), (("参公", "参照"), "参公事业"), (("行政",), "行政"),
                        (("事业",), "事业")):
        if any(m in s for m in marks):
            return kind
    raise ValueError(f"{(v or '')[:30]!r} is not a quota kind ({', '.join(QUOTA_KINDS)})")


@dataclass
class State:
    """The staffing data on the date: units, their bodies, who holds what, and every identity hash ever seen."""

    units: dict[str, dict[str, Any]]  # unit_code -> {name, region_code}
    bodies: dict[str, dict[str, str]]  # unit_code -> simplified body name -> body_code
    staff: dict[str, dict[str, Any]]  # person_key -> span as of the date
    keys_by_hash: dict[str, str]  # id_hash -> person_key (any time)
    known_keys: set[str] = field(default_factory=set)


@dataclass
class Report:
    accepted: int = 0
    unchanged: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)
    changes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (the unit it concerns, the change)

    def counts(self) -> dict[str, int]:
        return {"accepted": self.accepted, "unchanged": self.unchanged, "refused": len(self.refused)}


def _unit(values: dict[str, Any], state: State, scope: str) -> str:
    code = (text(values.get("unit_code")) or "").upper()
    if code:
        if code not in state.units or not within(scope, state.units[code].get("region_code")):
            raise ValueError(("unit_code", f"no unit {code} on that date"))
        return code
    name = re.sub(r"\s", "", to_simplified(text(values.get("unit_name")) or ""))
    if not name:
        raise ValueError(("unit_name", "no unit: give 单位名称 or 统一社会信用代码"))
    found = [c for c, u in state.units.items() if re.sub(r"\s", "", to_simplified(u["name"] or "")) == name
             and within(scope, u.get("region_code"))]
    if len(found) != 1:
        raise ValueError(("unit_name", f"{'no unit' if not found else f'{len(found)} units'} named {name[:40]!r}"
                                       " on that date"))
    return found[0]


def _person(values: dict[str, Any], state: State, scope: str) -> dict[str, Any]:
    """The row as a person's place; ValueError((field, reason)) for the cell at fault."""
    unit = _unit(values, state, scope)
    body_name = text(values.get("body"))
    body = None
    if body_name:
        body = state.bodies.get(unit, {}).get(re.sub(r"\s", "", to_simplified(body_name)))
        if body is None:
            raise ValueError(("body", f"the unit has no internal body named {body_name[:40]!r} on that date"))
    sex = (text(values.get("sex")) or "").lower()
    if sex not in SEXES:
        raise ValueError(("sex", "男 or 女"))
    try:
        kind = quota_kind_of(text(values.get("quota_kind")))
    except ValueError as exc:
        raise ValueError(("quota_kind", str(exc))) from None
    if values.get("entered") is not None:
        try:
            day(values["entered"])
        except ValueError as exc:
            raise ValueError(("entered", str(exc))) from None
    return {"name": text(values["name"]), "sex": SEXES[sex], "unit_code": unit, "body_code": body,
            "quota_kind": kind, "post_level": text(values.get("post_level"))}


def compare(rows: list[tuple[int, dict[str, Any]]], headers: dict[str, str], state: State, on: date,
            tag: str, scope: str = "") -> Report:
    """Each row matched by its identity hash (or 人员编号): in, moved or unchanged; then out, everyone the staffing
    data has in a unit the roster covers whom it does not list. Changes take effect at the date's local midnight."""
    out, listed, covered = Report(), set(), set()
    first: dict[str, Any] = {}
    at = midnight(on).isoformat()

    def refuse(n: int, fld: str, reason: str) -> None:  # a number typed in the wrong column is blotted out too
        out.refused.append({"row": n, "column": headers.get(fld, fld), "reason": mask_identity(reason, b"")})

    for n, values in rows:
        missing = [f for f in REQUIRED if not text(values.get(f))]
        h, number = values.get("id_number"), text(values.get("person_no"))
        if missing or not (h or number):
            fld = missing[0] if missing else "id_number" if "id_number" in headers else "person_no"
            refuse(n, fld, f"{headers.get(fld, fld)} is empty")
            continue
        key = number if number and number in state.known_keys else state.keys_by_hash.get(h or "") or number \
            or f"P{h[:24]}"
        if first.setdefault(key, n) != n:
            refuse(n, "id_number" if h else "person_no", f"the same person as row {first[key]}")
            continue
        try:
            place = _person(values, state, scope)
        except ValueError as exc:
            refuse(n, *exc.args[0])
            continue
        listed.add(key)
        covered.add(place["unit_code"])
        now = state.staff.get(key)
        compared = [f for f in MOVABLE if f == "unit_code" or f == "quota_kind"
                    or ("body" if f == "body_code" else f) in headers]
        if now is None:
            entry = {"change_id": f"{tag}:in:{key}", "kind": "staff_in", "effective_at": at, "person_key": key,
                     **{k: v for k, v in place.items() if v is not None}, **({"id_hash": h} if h else {})}
            out.changes.append((place["unit_code"], entry))
        else:
            moved = {f: place[f] for f in compared if place[f] != now.get(f)}
            if not moved:
                out.unchanged += 1
                continue
            out.changes.append((place["unit_code"], {"change_id": f"{tag}:moved:{key}", "kind": "staff_moved",
                                                     "effective_at": at, "person_key": key, **moved}))
        out.accepted += 1
    for key, span in sorted(state.staff.items()):
        if span["unit_code"] in covered and key not in listed:
            out.changes.append((span["unit_code"], {"change_id": f"{tag}:out:{key}", "kind": "staff_out",
                                                    "effective_at": at, "person_key": key}))
    return out


async def load_state(conn: asyncpg.Connection, on: date, hashes: list[str], numbers: list[str]) -> State:
    at = midnight(on)
    units = {r["unit_code"]: {"name": r["name"], "region_code": r["region_code"]} for r in await conn.fetch(
        "SELECT unit_code, data->>'name' AS name, data->>'region_code' AS region_code FROM org_units_at($1, NULL)", at)}
    bodies: dict[str, dict[str, str]] = {}
    for r in await conn.fetch("SELECT unit_code, key, data->>'name' AS name FROM org_versions_at($1) WHERE part = 'body'",
                              at):
        bodies.setdefault(r["unit_code"], {})[re.sub(r"\s", "", to_simplified(r["name"] or ""))] = r["key"]
    staff = {r["person_key"]: dict(r) for r in await conn.fetch(
        "SELECT person_key, unit_code, body_code, quota_kind, post_level FROM org_staff_at($1)", at)}
    by_hash = {r["id_hash"]: r["person_key"] for r in await conn.fetch(
        "SELECT DISTINCT ON (id_hash) id_hash, person_key FROM org_staff WHERE id_hash = ANY($1::text[])"
        " ORDER BY id_hash, valid_from DESC", hashes)}
    known = {r[0] for r in await conn.fetch("SELECT DISTINCT person_key FROM org_staff WHERE person_key = ANY($1)",
                                            numbers)}
    return State(units, bodies, staff, by_hash, known)


async def import_roster(conn: asyncpg.Connection, rows: list[tuple[int, dict[str, Any]]], headers: dict[str, str],
                        refused: list[dict[str, Any]], on: date, by: str, tag: str, scope: str = "",
                        overlap_threshold: float = 0.6) -> dict[str, Any]:
    """The row report and the staff changes the roster asks for, as a proposal per unit (the archive's proposals:
    diff, would_open, a second person publishes); nothing reaches the staffing stream before that."""
    hashes = [v["id_number"] for _, v in rows if v.get("id_number")]
    numbers = [n for _, v in rows if (n := text(v.get("person_no")))]
    report = compare(rows, headers, await load_state(conn, on, hashes, numbers), on, tag, scope)
    by_unit: dict[str, list[dict[str, Any]]] = {}
    for unit, change in report.changes:
        by_unit.setdefault(unit, []).append(change)
    proposals: list[dict[str, Any]] = [{"unit_code": u, "proposal_id": None, "changes": cs}
                                       for u, cs in sorted(by_unit.items())]
    out = {"rows": report.counts() | {"refused": len(refused) + len(report.refused)},
           "refused": sorted(refused + report.refused, key=lambda r: (r["row"], r["column"])),
           "proposal_id": None, "proposals": proposals}
    async with conn.transaction():
        for p in proposals:
            p["proposal_id"] = await create_proposal(conn, source="roster", unit_code=p["unit_code"],
                                                     changes=p["changes"], effective_at=midnight(on),
                                                     created_by=by, overlap_threshold=overlap_threshold)
    out["proposal_id"] = proposals[0]["proposal_id"] if proposals else None
    return out
