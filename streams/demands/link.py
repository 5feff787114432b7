"""What a demand is about (spec/demands.md §2): the given item, else the given department, else the item in force in
its region whose name its text says, else the one whose name it is most like (the list drafts' similarity)."""
from __future__ import annotations

from typing import Iterable, Optional, Sequence

import asyncpg

from core.script import to_simplified
from schemas.demands import Demand
from streams.powerlist.overlap import Index, Item


def regions_above(code: str) -> list[str]:
    """The region and the county, city and province it lies in (a town's 9 digits, a county's 6)."""
    county = code[:6]
    return list(dict.fromkeys([code, county, county[:4] + "00", county[:2] + "0000"]))


async def items_in_force(conn: asyncpg.Connection, region: str) -> list[Item]:
    rows = await conn.fetch(
        "SELECT item_code, name, department_code FROM list_items_at(now()) WHERE active AND name IS NOT NULL"
        " AND (region_codes = '{}' OR region_codes && $1::text[]) ORDER BY item_code", regions_above(region))
    return [Item(r["item_code"], r["name"], r["department_code"]) for r in rows]


# what closes many items' names and people leave out when they name one (食品经营许可证核发 → 食品经营许可证)
ACTIONS = ("核发", "审批", "办理", "认定", "核准", "备案", "登记", "审核", "确认", "换发", "注册", "申请")
MIN_NAMED = 4  # a shorter name or remainder (结婚登记 → 结婚) says too little to be taken as the item's name


class Names:
    """The items whose name a text says, whole or less a closing action word: the longest said wins (the first in
    the text among equals). A short name in a long complaint is said, though the whole text is little like it."""

    def __init__(self, items: Sequence[Item]):
        self.by_start: dict[str, list[tuple[str, Item]]] = {}
        for it in items:
            name = to_simplified(it.name).lower()
            forms = {name} | {name[:-len(a)] for a in ACTIONS if name.endswith(a)}
            for form in sorted(f for f in forms if len(f) >= MIN_NAMED):
                self.by_start.setdefault(form[:2], []).append((form, it))
        for said in self.by_start.values():
            said.sort(key=lambda f: -len(f[0]))  # stable: the list's order among names as long

    def find(self, text: str) -> Optional[Item]:
        plain = to_simplified(text).lower()
        best: Optional[tuple[str, Item]] = None
        for k in range(len(plain) - 1):
            for form, it in self.by_start.get(plain[k:k + 2], ()):
                if best is not None and len(form) <= len(best[0]):
                    break
                if plain.startswith(form, k):
                    best = (form, it)
                    break
        return best[1] if best else None


# a region's index of names, kept while the list stands as it was (by its changes' count and latest arrival): built
# once, not once a take (800 names cost 0.4 s to segment)
_INDEXES: dict[str, tuple[tuple, Index, Names]] = {}


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

    async def _index(self, region: str) -> tuple[Index, Names]:
        if self.stamp is None:
            # the list as it stands, and its next moment: a change dated ahead comes in force then, though nothing arrives
            self.stamp = tuple(await self.conn.fetchrow(
                "SELECT count(*), max(ingested_at), (SELECT min(t) FROM list_item_version,"
                " LATERAL (VALUES (valid_from), (valid_to)) AS b(t) WHERE t > now()) FROM list_change"))
        kept = _INDEXES.get(region)
        if kept is None or kept[0] != self.stamp:
            if len(_INDEXES) > 4096:
                _INDEXES.clear()
            items = await items_in_force(self.conn, region)
            kept = _INDEXES[region] = (self.stamp, Index(items), Names(items))
        return kept[1], kept[2]

    async def link(self, d: Demand) -> dict:
        if d.item_code:
            await self.given([d])
            dept = self.departments[d.item_code]
            return {"item_code": d.item_code, "department_code": d.department_code or dept, "score": 1.0,
                    "how": "given"}
        if d.department_code:
            return {"item_code": None, "department_code": d.department_code, "score": 1.0, "how": "given"}
        index, names = await self._index(d.region_code)
        said = names.find(d.text)
        if said is not None:
            return {"item_code": said.item_code, "department_code": said.department_code, "score": 1.0,
                    "how": "matched"}
        item, score = index.best(d.text)
        if item is None or score < self.threshold:
            return {"item_code": None, "department_code": None, "score": round(score, 4) if item else None,
                    "how": None}
        return {"item_code": item.item_code, "department_code": item.department_code, "score": round(score, 4),
                "how": "matched"}
