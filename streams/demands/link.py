"""What a demand is about (spec/demands.md §2): the given item, else the given department, else the item in force in
its region whose name its text is most like (the list drafts' similarity, streams/powerlist/overlap.py)."""
from __future__ import annotations

from typing import Iterable, Optional

import asyncpg

from schemas.demands import Demand
from streams.powerlist.overlap import Index, Item


def regions_above(code: str) -> list[str]:
    """The region and the county, city and province it lies in (a town's 9 digits, a county's 6)."""
    county = code[:6]
    return list(dict.fromkeys([code, county, county[:4] + "00", county[:2] + "0000"]))


async def items_in_force(conn: asyncpg.Connection, region: str) -> list[Item]:
    rows = await conn.fetch(
        "SELECT item_code, name, department_code FROM list_item_version WHERE valid_to IS NULL AND active"
        " AND name IS NOT NULL AND (region_codes = '{}' OR region_codes && $1::text[]) ORDER BY item_code", regions_above(region))
    return [Item(r["item_code"], r["name"], r["department_code"]) for r in rows]


# a region's index of names, kept while the list stands as it was (by its changes' count and latest arrival): built
# once, not once a take (800 names cost 0.4 s to segment)
_INDEXES: dict[str, tuple[tuple, Index]] = {}


class Linker:
    """Links a take's demands, one index per region, kept across takes while the list does not change."""

    def __init__(self, conn: asyncpg.Connection, threshold: float):
        self.conn, self.threshold = conn, threshold
        self.stamp: tuple | None = None
        self.departments: dict[str, Optional[str]] = {}

    async def given(self, demands: Iterable[Demand]) -> None:
        """The departments of the items a take's demands name, in one statement rather than one a demand."""
        codes = sorted({d.item_code for d in demands if d.item_code} - set(self.departments))
        if codes:
            self.departments.update({code: None for code in codes})
            self.departments.update((r["item_code"], r["department_code"]) for r in await self.conn.fetch(
                "SELECT DISTINCT ON (item_code) item_code, department_code FROM list_item_version"
                " WHERE item_code = ANY($1::text[]) ORDER BY item_code, valid_from DESC", codes))

    async def _index(self, region: str) -> Index:
        if self.stamp is None:
            self.stamp = tuple(await self.conn.fetchrow("SELECT count(*), max(ingested_at) FROM list_change"))
        kept = _INDEXES.get(region)
        if kept is None or kept[0] != self.stamp:
            if len(_INDEXES) > 4096:
                _INDEXES.clear()
            kept = _INDEXES[region] = (self.stamp, Index(await items_in_force(self.conn, region)))
        return kept[1]

    async def link(self, d: Demand) -> dict:
        if d.item_code:
            await self.given([d])
            dept = self.departments[d.item_code]
            return {"item_code": d.item_code, "department_code": d.department_code or dept, "score": 1.0,
                    "how": "given"}
        if d.department_code:
            return {"item_code": None, "department_code": d.department_code, "score": 1.0, "how": "given"}
        item, score = (await self._index(d.region_code)).best(d.text)
        if item is None or score < self.threshold:
            return {"item_code": None, "department_code": None, "score": round(score, 4) if item else None,
                    "how": None}
        return {"item_code": item.item_code, "department_code": item.department_code, "score": round(score, 4),
                "how": "matched"}
