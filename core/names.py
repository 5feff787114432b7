"""Names for codes: regions from the shipped table of administrative divisions (core/data/regions.csv), units
(departments) from the staffing half, items from the power list; the code stays on hover."""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

import asyncpg

REGIONS = Path(__file__).with_name("data") / "regions.csv"


@lru_cache(maxsize=1)
def _regions() -> dict[str, str]:
    with open(REGIONS, encoding="utf-8") as f:
        return {r["code"]: r["name"] for r in csv.DictReader(f)}


def region_name(code: Optional[str]) -> Optional[str]:
    """A county's or city's name; a town (9 digits) by its county's, with its own number."""
    if not code:
        return None
    names = _regions()
    if code in names:
        return names[code]
    if len(code) == 9 and code[:6] in names:
        return f"{names[code[:6]]}·{code[6:]}"
    return None


def region_codes(text: str) -> list[str]:
    """The regions a name (either script) or a code names: a code (6 digits, or a town's 9 under a known county)
    itself; a name every region of that name (西湖区 is in 杭州 and in 南昌); none when unknown."""
    from core.script import to_simplified

    text = text.strip()
    names = _regions()
    if text in names or (len(text) == 9 and text.isdigit() and text[:6] in names):
        return [text]
    wanted = to_simplified(text)
    return [c for c, n in names.items() if to_simplified(n) == wanted]


class Names:
    """The names of the codes one page shows, looked up together."""

    def __init__(self, departments: dict[str, str], items: dict[str, str]):
        self.departments, self.items = departments, items

    @classmethod
    async def load(cls, conn: asyncpg.Connection, departments: Iterable[str] = (), items: Iterable[str] = ()) -> "Names":
        deps, its = sorted({d for d in departments if d}), sorted({i for i in items if i})
        dept = {r["unit_code"]: r["name"] for r in await conn.fetch(
            "SELECT DISTINCT ON (unit_code) unit_code, data->>'name' AS name FROM org_version"
            " WHERE part = 'unit' AND unit_code = ANY($1::text[]) ORDER BY unit_code, valid_from DESC", deps)} if deps else {}
        item = {r["item_code"]: r["name"] for r in await conn.fetch(
            "SELECT DISTINCT ON (item_code) item_code, name FROM list_item_version WHERE item_code = ANY($1::text[])"
            " AND name IS NOT NULL ORDER BY item_code, valid_from DESC", its)} if its else {}
        return cls(dept, item)

    def of(self, kind: str, code: Optional[str]) -> Optional[str]:
        if kind == "region_code":
            return region_name(code)
        return (self.departments if kind == "department_code" else self.items).get(code or "")


def region_codes_named(name: str, within_region: Optional[str] = None) -> list[str]:
    """The codes of the regions called `name` (either script), within a region's subtree when one is given."""
    from core.access import within
    from core.script import to_simplified

    key = to_simplified(name.strip())
    return sorted(c for c, n in _regions().items() if n == key and within(within_region or "", c))


async def names_for(conn: asyncpg.Connection, rows: Iterable[Mapping[str, Any]]):
    """name(code_column, code) for the codes in `rows`: units and departments from the staffing half, items from the
    list, regions from the table (what a workbook puts beside each code)."""
    rows = list(rows)
    n = await Names.load(conn, {r.get(k) for r in rows for k in ("department_code", "unit_code")},
                         {r.get("item_code") for r in rows})
    return lambda kind, code: n.of("department_code" if kind == "unit_code" else kind, code)
