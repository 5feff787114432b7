"""Linking a demand by hand (spec/demands.md §4): to an item in force in the demand's region, named by its code or
its name in either script, within the caller's regions; recorded with who and when by store.link_by_hand."""
from __future__ import annotations

from typing import Any

import asyncpg

from core.errors import Invalid, NotFound
from core.script import to_simplified, to_traditional
from streams.demands.link import items_in_force
from streams.demands.queries import show
from streams.demands.store import link_by_hand
from streams.powerlist.overlap import Item


def pick(items: list[Item], text: str) -> Item:
    """The item a person meant: its code, else its name (either script); else a worded refusal."""
    text = text.strip()[:200]
    if not text:
        raise Invalid("item: give the item's name or code")
    by_code = [i for i in items if i.item_code == text]
    if by_code:
        return by_code[0]
    names = {text, to_simplified(text), to_traditional(text)}
    found = [i for i in items if i.name in names or to_simplified(i.name) in names]
    if not found:
        raise Invalid("item: no such item in force in the demand's region")
    if len({i.item_code for i in found}) > 1:
        raise Invalid("item: several items have that name: give the code")
    return found[0]


async def choices(conn: asyncpg.Connection, demand_id: str, scope: str = "") -> tuple[dict[str, Any], list[Item]]:
    """The demand (within the caller's regions) and the items it may be linked to: those in force in its region."""
    d = await show(conn, demand_id, scope)
    if d is None:
        raise NotFound(f"no demand {demand_id!r} in your regions")
    return d, await items_in_force(conn, d["region_code"])


async def link(conn: asyncpg.Connection, demand_id: str, item: str, who: str, scope: str = "") -> dict[str, Any]:
    """A person's link of a demand in the caller's regions to an item in force in the demand's region (so never to
    an item of a region the caller does not see): link_item, link_department, linked_by, linked_at."""
    _, items = await choices(conn, demand_id, scope)
    chosen = pick(items, item)
    async with conn.transaction():
        out = await link_by_hand(conn, demand_id, chosen.item_code, who)
    if out is None:  # gone meanwhile
        raise NotFound(f"no demand {demand_id!r} in your regions")
    return {**out, "linked_at": out["linked_at"].isoformat() if out["linked_at"] else None}
