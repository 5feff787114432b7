"""The power list in the database: raw changes, and the item versions rebuilt from them."""
from __future__ import annotations

from dataclasses import astuple, fields
from datetime import datetime
from typing import Iterable, Sequence

import asyncpg

from schemas import ListChange
from streams.powerlist.logic import PowerList, Version, build_versions

VERSION_COLS = tuple(f.name for f in fields(Version))


async def load_power_list(conn: asyncpg.Connection, items: Iterable[str]) -> PowerList:
    rows = await conn.fetch(
        f"SELECT {', '.join(VERSION_COLS)} FROM list_item_version WHERE item_code = ANY($1::text[])", list(items))
    return PowerList(
        Version(**{**dict(r), "region_codes": tuple(r["region_codes"]), "devolved_from": tuple(r["devolved_from"]),
                   "stopped_in": tuple(r["stopped_in"])})
        for r in rows
    )


async def store_list_changes(conn: asyncpg.Connection, changes: Sequence[ListChange]) -> dict[str, datetime]:
    """Insert the changes not seen before and rebuild their items' histories.

    Returns, per item that changed, the earliest effective time among its new changes."""
    if not changes:
        return {}
    firsts: dict[str, ListChange] = {}
    for c in changes:
        firsts.setdefault(c.change_id, c)
    changes = list(firsts.values())
    rows = await conn.fetch(
        "INSERT INTO list_change (change_id, item_code, action, effective_at, payload)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::jsonb[])"
        " ON CONFLICT (change_id) DO NOTHING RETURNING change_id",
        [c.change_id for c in changes], [c.item_code for c in changes], [c.action for c in changes],
        [c.effective_at for c in changes], [c.model_dump_json(exclude_none=True) for c in changes])
    fresh = {r["change_id"] for r in rows}
    # in arrival order: changes to one item reach the platform in the order they came
    await conn.execute(
        "INSERT INTO list_sync (change_id, item_code, action, next_attempt_at, due_at)"
        " SELECT c, i, a, greatest(e, now()), greatest(e, now()) FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])"
        " WITH ORDINALITY AS x(c, i, a, e, n) WHERE c = ANY($5::text[]) ORDER BY n",
        [c.change_id for c in changes], [c.item_code for c in changes], [c.action for c in changes],
        [c.effective_at for c in changes], list(fresh))
    since: dict[str, datetime] = {}
    for c in changes:
        if c.change_id in fresh:
            since[c.item_code] = min(since.get(c.item_code, c.effective_at), c.effective_at)
    for item in sorted(since):
        await rebuild_item(conn, item)
    return since


async def rebuild_item(conn: asyncpg.Connection, item: str) -> list[Version]:
    rows = await conn.fetch("SELECT payload FROM list_change WHERE item_code = $1", item)
    changes = []
    for r in rows:
        c = ListChange.model_validate_json(r["payload"])
        changes.append({**c.model_dump(mode="json"), "effective_at": c.effective_at})
    versions = build_versions(item, changes)
    await conn.execute("DELETE FROM list_item_version WHERE item_code = $1", item)
    await conn.executemany(
        f"INSERT INTO list_item_version ({', '.join(VERSION_COLS)})"
        f" VALUES ({', '.join(f'${i + 1}' for i in range(len(VERSION_COLS)))})",
        [tuple(list(v) if isinstance(v, tuple) else v for v in astuple(v)) for v in versions])
    return versions
