"""Demands stored exactly once by demand_id (a later updated_at wins), each delivery recorded by its key."""
from __future__ import annotations

from typing import Optional, Sequence

import asyncpg
import orjson

from schemas.demands import Demand
from streams.demands.classify import classify
from streams.demands.link import Linker

_COLUMNS = ("demand_id text, received_at timestamptz, version_at timestamptz, channel text, kind text, region_code text,"
            " text text, item_code text, department_code text, case_id text, requester_hash text,"
            " handled_at timestamptz, outcome text, satisfaction text, topics text[], why jsonb, link_item text,"
            " link_department text, link_score double precision, link_how text")
_NAMES = ", ".join(c.split()[0] for c in _COLUMNS.split(", "))
# a person's link stands until the source itself names the item
_KEEP_MANUAL = "demand.link_how = 'manual' AND EXCLUDED.link_how IS DISTINCT FROM 'given'"
_UPSERT = f"""
INSERT INTO demand ({_NAMES})
SELECT {_NAMES} FROM jsonb_to_recordset($1::jsonb) AS x({_COLUMNS})
ON CONFLICT (demand_id) DO UPDATE SET
  {", ".join(f"{c} = EXCLUDED.{c}" for c in _NAMES.split(", ")[1:14] + ["topics", "why"] if c != "requester_hash")},
  requester_hash = coalesce(EXCLUDED.requester_hash, demand.requester_hash),
  {", ".join(f"{c} = CASE WHEN {_KEEP_MANUAL} THEN demand.{c} ELSE EXCLUDED.{c} END"
             for c in ("link_item", "link_department", "link_score", "link_how"))},
  stored_at = now()
WHERE demand.version_at < EXCLUDED.version_at
RETURNING demand_id
"""


def _row(d: Demand, topics: list[dict], link: dict) -> dict:
    return {**d.model_dump(mode="json", exclude={"updated_at"}), "version_at": d.version.isoformat(),
            "topics": [t["topic"] for t in topics], "why": topics, "link_item": link["item_code"],
            "link_department": link["department_code"], "link_score": link["score"], "link_how": link["how"]}


async def apply_demands(conn: asyncpg.Connection, deliveries: Sequence[tuple[str, Demand]], threshold: float,
                        lexicon: Optional[str] = None) -> int:
    """One transaction, one statement: of the deliveries not seen before, each demand's latest version applied
    when later than the stored one (older or equal copies are duplicates); how many changed a demand."""
    async with conn.transaction():
        seen = {r["delivery_key"] for r in await conn.fetch(
            "SELECT delivery_key FROM demand_delivery WHERE delivery_key = ANY($1::text[])", [k for k, _ in deliveries])}
        latest: dict[str, tuple[str, Demand]] = {}
        for key, d in deliveries:
            if key not in seen and (d.demand_id not in latest or latest[d.demand_id][1].version < d.version):
                latest[d.demand_id] = (key, d)
        linker = Linker(conn, threshold)
        await linker.given(d for _, d in latest.values())
        rows = [_row(d, classify(d.text, lexicon), await linker.link(d)) for _, d in latest.values()]
        changed = {r["demand_id"] for r in await conn.fetch(_UPSERT, orjson.dumps(rows).decode())} if rows else set()
        marks: dict[str, tuple[str, bool]] = {}
        for key, d in deliveries:
            if key not in seen and key not in marks:
                marks[key] = (d.demand_id, d.demand_id in changed and latest[d.demand_id][0] == key)
        await conn.execute(
            "INSERT INTO demand_delivery (delivery_key, demand_id, fresh) SELECT * FROM unnest($1::text[], $2::text[],"
            " $3::boolean[]) ON CONFLICT DO NOTHING", list(marks), [m[0] for m in marks.values()],
            [m[1] for m in marks.values()])
        return sum(m[1] for m in marks.values())


async def link_by_hand(conn: asyncpg.Connection, demand_id: str, item_code: str, who: str) -> Optional[dict]:
    """A person's link, recorded with who and when; None when there is no such demand."""
    row = await conn.fetchrow(
        "UPDATE demand SET link_item = $2, link_how = 'manual', link_score = NULL, linked_by = $3, linked_at = now(),"
        " link_department = coalesce((SELECT department_code FROM list_item_version WHERE item_code = $2"
        "   ORDER BY valid_from DESC LIMIT 1), link_department)"
        " WHERE demand_id = $1 RETURNING link_item, link_department, linked_by, linked_at", demand_id, item_code, who)
    return dict(row) if row else None
