"""Demands stored exactly once by demand_id (a later updated_at wins), each delivery recorded by its key."""
from __future__ import annotations

from typing import Optional, Sequence

import asyncpg
import orjson

from schemas.demands import Demand
from streams.demands.classify import classify
from streams.demands.link import Linker

_UPSERT = """
INSERT INTO demand (demand_id, received_at, version_at, channel, kind, region_code, text, item_code, department_code,
  case_id, requester_hash, handled_at, outcome, satisfaction, topics, why, link_item, link_department, link_score,
  link_how)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::jsonb, $17, $18, $19, $20)
ON CONFLICT (demand_id) DO UPDATE SET received_at = EXCLUDED.received_at, version_at = EXCLUDED.version_at,
  channel = EXCLUDED.channel, kind = EXCLUDED.kind, region_code = EXCLUDED.region_code, text = EXCLUDED.text,
  item_code = EXCLUDED.item_code, department_code = EXCLUDED.department_code, case_id = EXCLUDED.case_id,
  requester_hash = coalesce(EXCLUDED.requester_hash, demand.requester_hash), handled_at = EXCLUDED.handled_at,
  outcome = EXCLUDED.outcome, satisfaction = EXCLUDED.satisfaction, topics = EXCLUDED.topics, why = EXCLUDED.why,
  -- a person's link stands until the source itself names the item
  link_item = CASE WHEN demand.link_how = 'manual' AND EXCLUDED.link_how IS DISTINCT FROM 'given'
                   THEN demand.link_item ELSE EXCLUDED.link_item END,
  link_department = CASE WHEN demand.link_how = 'manual' AND EXCLUDED.link_how IS DISTINCT FROM 'given'
                   THEN demand.link_department ELSE EXCLUDED.link_department END,
  link_score = CASE WHEN demand.link_how = 'manual' AND EXCLUDED.link_how IS DISTINCT FROM 'given'
                   THEN demand.link_score ELSE EXCLUDED.link_score END,
  link_how = CASE WHEN demand.link_how = 'manual' AND EXCLUDED.link_how IS DISTINCT FROM 'given'
                   THEN 'manual' ELSE EXCLUDED.link_how END,
  stored_at = now()
WHERE demand.version_at < EXCLUDED.version_at
RETURNING demand_id
"""


async def apply_demands(conn: asyncpg.Connection, deliveries: Sequence[tuple[str, Demand]], threshold: float,
                        lexicon: Optional[str] = None) -> int:
    """One transaction: deliveries not seen before applied in order of version (older or equal copies are
    duplicates); how many changed a demand."""
    async with conn.transaction():
        keys = [k for k, _ in deliveries]
        seen = {r["delivery_key"] for r in await conn.fetch(
            "SELECT delivery_key FROM demand_delivery WHERE delivery_key = ANY($1::text[])", keys)}
        linker = Linker(conn, threshold)
        rows, fresh = [], 0
        for key, d in sorted(((k, d) for k, d in deliveries if k not in seen), key=lambda kd: kd[1].version):
            if key in seen:
                continue
            seen.add(key)
            topics = classify(d.text, lexicon)
            link = await linker.link(d)
            changed = await conn.fetchval(
                _UPSERT, d.demand_id, d.received_at, d.version, d.channel, d.kind, d.region_code, d.text, d.item_code,
                d.department_code, d.case_id, d.requester_hash, d.handled_at, d.outcome, d.satisfaction,
                [t["topic"] for t in topics], orjson.dumps(topics).decode(), link["item_code"],
                link["department_code"], link["score"], link["how"])
            fresh += changed is not None
            rows.append((key, d.demand_id, changed is not None))
        await conn.executemany("INSERT INTO demand_delivery (delivery_key, demand_id, fresh) VALUES ($1, $2, $3)"
                               " ON CONFLICT DO NOTHING", rows)
        return fresh


async def link_by_hand(conn: asyncpg.Connection, demand_id: str, item_code: str, who: str) -> Optional[dict]:
    """A person's link, recorded with who and when; None when there is no such demand."""
    row = await conn.fetchrow(
        "UPDATE demand SET link_item = $2, link_how = 'manual', link_score = NULL, linked_by = $3, linked_at = now(),"
        " link_department = coalesce((SELECT department_code FROM list_item_version WHERE item_code = $2"
        "   ORDER BY valid_from DESC LIMIT 1), link_department)"
        " WHERE demand_id = $1 RETURNING link_item, link_department, linked_by, linked_at", demand_id, item_code, who)
    return dict(row) if row else None
