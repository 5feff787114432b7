"""The power list as an office keeps it (a sheet's rows) against the list in force: the additions, modifications and
cancellations it asks for, within the departments and regions it covers, each to become a reviewed draft."""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Optional

import asyncpg

from core.access import within
from core.names import region_codes_named
from connectors.sheets import days, text
from core.script import to_simplified
from schemas import ITEM_ATTRS, parse_list_change

REQUIRED = ("item_code", "name", "category", "department")
_FIELD_OF_ATTR = {"department_code": "department", "region_codes": "regions"}  # a change's field -> the sheet's


@dataclass
class Unit:
    code: str
    name: str
    region_code: Optional[str]


@dataclass
class Plan:
    accepted: int = 0
    unchanged: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)
    changes: list[tuple[Optional[int], dict[str, Any]]] = field(default_factory=list)  # (sheet row, change fields)

    def counts(self) -> dict[str, int]:
        return {"accepted": self.accepted, "unchanged": self.unchanged, "refused": len(self.refused)}


def code_of(v: Any) -> Optional[str]:
    """A code as typed: full-width letters and digits (a Chinese input method's) read as their plain forms."""
    s = text(v)
    return unicodedata.normalize("NFKC", s) if s else s


def level_of(text: Optional[str]) -> Optional[str]:
    """实施层级 as written (省级, 市级, 县（市、区）级, 乡镇（街道）) as the list's level."""
    if not text:
        return None
    s = to_simplified(text).strip().lower()
    if s in ("province", "city", "county", "town"):
        return s
    for marks, level in (("省", "province"), ("乡镇街道", "town"), ("县区", "county"), ("市", "city")):
        if any(m in s for m in marks):
            return level
    raise ValueError(f"{text[:40]!r} is not a level (省级, 市级, 县级, 乡镇级)")


def level_of_region(code: str) -> str:
    if len(code) == 9:
        return "town"
    return "province" if code.endswith("0000") else "city" if code.endswith("00") else "county"


def _key(name: str) -> str:
    return re.sub(r"\s", "", to_simplified(name))


class Units:
    """Units by name in either script (or by code), narrowed to a region when names repeat across counties."""

    def __init__(self, units: list[Unit], region: Optional[str]):
        self.by_code = {u.code: u for u in units}
        self.by_name: dict[str, list[Unit]] = {}
        for u in units:
            self.by_name.setdefault(_key(u.name), []).append(u)
        self.region = region

    def resolve(self, text: str) -> Unit:
        if text.strip().upper() in self.by_code:
            return self.by_code[text.strip().upper()]
        found = self.by_name.get(_key(text), [])
        if len(found) > 1 and self.region:
            found = [u for u in found if within(self.region, u.region_code)]
        if not found:
            raise ValueError(f"no unit named {text[:60]!r} in the staffing data")
        if len(found) > 1:
            raise ValueError(f"{len(found)} units are named {text[:60]!r}: give the region (--region) or the code")
        return found[0]


def _regions(text: Optional[str], region: Optional[str]) -> Optional[list[str]]:
    if not text:
        return None
    out = []
    for part in re.split(r"[、,，;；\s]+", unicodedata.normalize("NFKC", text).strip()):
        if not part:
            continue
        codes = [part] if re.fullmatch(r"[0-9]{6}|[0-9]{9}", part) else region_codes_named(part, region)
        if len(codes) != 1:
            raise ValueError(f"{part[:40]!r} is not a region code or the name of one region")
        out.append(codes[0])
    return sorted(set(out))


def wanted(values: dict[str, Any], now: Optional[dict[str, Any]], units: Units,
           region: Optional[str]) -> tuple[Unit, dict[str, Any]]:
    """The item as the row wants it; a ValueError's args are (field, reason)."""
    def field_(name: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except ValueError as exc:
            raise ValueError(name, str(exc)) from None

    unit = field_("department", lambda: units.resolve(text(values["department"]) or ""))
    name, sub = text(values.get("name")), text(values.get("sub_name"))
    regions = field_("regions", lambda: _regions(text(values.get("regions")), region))
    if regions is None:
        current = list((now or {}).get("region_codes") or [])
        if now is not None and not (region is None or not current or any(within(c, region) for c in current)):
            current = sorted({*current, region})
        regions = current if now is not None else [region or unit.region_code] if (region or unit.region_code) else []
    level = field_("level", lambda: level_of(text(values.get("level"))))
    if level is None:
        level = (now or {}).get("level") or (level_of_region(regions[0]) if regions else None)
    item = {"item_code": code_of(values["item_code"]), "name": f"{name}（{sub}）" if sub else name,
            "category": text(values.get("category")), "department_code": unit.code, "level": level,
            "region_codes": regions,
            "statutory_days": field_("statutory_days", lambda: days(values.get("statutory_days"))),
            "committed_days": field_("committed_days", lambda: days(values.get("committed_days"))),
            "legal_basis": text(values.get("legal_basis"))}
    return unit, item


def _same(attr: str, a: Any, b: Any) -> bool:
    if attr == "region_codes":
        return sorted(a or []) == sorted(b or [])
    if attr in ("name", "category", "legal_basis"):
        return _key(a or "") == _key(b or "")
    return a == b


def _check(item: dict[str, Any], action: str) -> Optional[tuple[str, str]]:
    """The change as the schema takes it, or the field at fault with the reason."""
    _, refusal = parse_list_change({**{k: v for k, v in item.items() if v is not None}, "action": action,
                                    "change_id": "sheet", "effective_at": datetime.now(timezone.utc).isoformat()})
    if refusal is None:
        return None
    attr = refusal.reason.split(":", 1)[0].split(".")[0]
    return _FIELD_OF_ATTR.get(attr, attr), refusal.reason


def plan(rows: list[tuple[int, dict[str, Any]]], headers: dict[str, str], in_force: dict[str, dict[str, Any]],
         units: Units, region: Optional[str]) -> Plan:
    """Each row accepted (a draft to make), unchanged, or refused with its column; then the cancellations of items in
    force, of the departments the sheet covers, in its regions, that the sheet no longer lists."""
    out, seen, departments, regions = Plan(), set(), set(), {region} if region else set()

    def refuse(row: int, fld: str, reason: str) -> None:
        out.refused.append({"row": row, "column": headers.get(fld, fld), "reason": reason})

    first: dict[str, int] = {}
    for n, values in rows:
        code = code_of(values.get("item_code"))
        if code:
            seen.add(code)
            if first.setdefault(code, n) != n:
                refuse(n, "item_code", f"{code} is listed again (row {first[code]})")
                continue
        missing = [f for f in REQUIRED if not text(values.get(f))]
        if missing:
            refuse(n, missing[0], f"{headers.get(missing[0], missing[0])} is empty")
            continue
        now = in_force.get(code)
        try:
            unit, item = wanted(values, now, units, region)
        except ValueError as exc:
            fld, reason = exc.args if len(exc.args) == 2 else ("department", str(exc))
            refuse(n, fld, reason)
            continue
        departments.add(unit.code)
        if not region:  # a sheet of a region covers that region; otherwise the regions its rows name
            regions.update(item["region_codes"] or ([unit.region_code] if unit.region_code else []))
        if now is None:
            action, fields = "added", {k: v for k, v in item.items() if v is not None}
        else:
            action = "modified"
            fields = {"item_code": code, **{a: item[a] for a in ITEM_ATTRS
                                            if item.get(a) is not None and not _same(a, item[a], now.get(a))}}
        fault = _check(fields, action)
        if fault:
            refuse(n, *fault)
            continue
        if action == "modified" and len(fields) == 1:
            out.unchanged += 1
            continue
        out.accepted += 1
        out.changes.append((n, {**fields, "action": action}))
    out.changes += [(None, c) for c in cancellations(in_force, seen, departments, regions)]
    return out


def cancellations(in_force: dict[str, dict[str, Any]], seen: set[str], departments: set[str],
                  regions: set[str]) -> list[dict[str, Any]]:
    """Items of the covered departments that the sheet does not list: cancelled where the sheet speaks (a regional
    cancellation when the item is in force in other regions too)."""
    out = []
    for code, item in sorted(in_force.items()):
        if code in seen or item.get("department_code") not in departments:
            continue
        have = list(item.get("region_codes") or [])
        if not have:  # everywhere: stopped where the sheet speaks, or everywhere when it names no region
            out.append({"item_code": code, "action": "cancelled", **({"region_codes": sorted(regions)}
                                                                     if regions else {})})
            continue
        here = sorted(r for r in have if any(within(c, r) for c in regions))
        if here:
            out.append({"item_code": code, "action": "cancelled",
                        **({} if len(here) == len(have) else {"region_codes": here})})
    return out


async def load_units(conn: asyncpg.Connection, region: Optional[str]) -> Units:
    rows = await conn.fetch(
        "SELECT unit_code, data->>'name' AS name, data->>'region_code' AS region_code FROM org_units_at(now(), NULL)")
    return Units([Unit(r["unit_code"], r["name"] or "", r["region_code"]) for r in rows], region)


async def load_in_force(conn: asyncpg.Connection) -> dict[str, dict[str, Any]]:
    rows = await conn.fetch(f"SELECT item_code, {', '.join(ITEM_ATTRS)} FROM list_items_at(now()) WHERE active")
    return {r["item_code"]: dict(r) for r in rows}


def _comparable(fields: dict[str, Any]) -> Optional[str]:
    change, _ = parse_list_change({**fields, "change_id": "sheet", "effective_at": "2000-01-01T00:00:00+00:00"})
    return None if change is None else change.model_dump_json(exclude={"change_id", "effective_at"},
                                                              exclude_none=True)


async def import_rows(conn: asyncpg.Connection, rows: list[tuple[int, dict[str, Any]]], headers: dict[str, str],
                      refused: list[dict[str, Any]], by: str, threshold: float, region: Optional[str],
                      evidence: dict[str, Any]) -> dict[str, Any]:
    """The drafts a sheet asks for, in one transaction, each through the draft workflow (overlap warnings, a second
    person approves); a change already drafted and pending is not drafted again (the same sheet imported twice)."""
    from streams.powerlist import drafts

    p = plan(rows, headers, await load_in_force(conn), await load_units(conn, region), region)
    pending: dict[str, Any] = {}
    for r in await conn.fetch("SELECT draft_id, change::text AS change FROM list_draft WHERE status = 'draft'"
                              " ORDER BY drafted_at"):
        pending.setdefault(_comparable({k: v for k, v in json.loads(r["change"]).items()
                                        if k not in ("change_id", "effective_at")}), r["draft_id"])
    ids: list[str] = []
    index = await drafts.index_in_force(conn) if p.changes else None
    async with conn.transaction():
        for row, change in p.changes:
            same = pending.get(_comparable(change))
            if same:
                ids.append(same)
                continue
            d = await drafts.create(conn, change, by, threshold, {**evidence, "row": row}, index)
            ids.append(d["draft_id"])
    return {"rows": p.counts() | {"refused": len(refused) + len(p.refused)},
            "refused": sorted(refused + p.refused, key=lambda r: (r["row"], r["column"])), "drafts": ids}
