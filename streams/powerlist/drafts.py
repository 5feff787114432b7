"""List changes as drafts: checked for overlapping powers, approved by a second list administrator or rejected with
a reason, one audit trail per item; and a published reform's effect, the item's figures before and after."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any, Optional

import asyncpg

from connectors import edge
from core.errors import Conflict, Invalid, NotFound, Refused
from schemas import ListChange, parse_list_change
from streams.powerlist.overlap import Index, Item


async def _audit(conn: asyncpg.Connection, item: str, draft_id: Optional[str], change_id: Optional[str], actor: str,
                 step: str, detail: Any = None) -> None:
    await conn.execute("INSERT INTO list_audit (item_code, draft_id, change_id, actor, step, detail)"
                       " VALUES ($1, $2, $3, $4, $5, $6::jsonb)", item, draft_id, change_id, actor, step,
                       json.dumps(detail, ensure_ascii=False, default=str))


async def overlap_warnings(conn: asyncpg.Connection, change: ListChange, threshold: float,
                           index: Optional[Index] = None) -> list[dict]:
    """For an item added or modified: the most alike items in force in other departments, and any legal article
    another department's item also claims."""
    if change.action not in ("added", "modified"):
        return []
    now = await conn.fetchrow("SELECT name, department_code, legal_basis FROM list_items_at(now()) WHERE item_code = $1",
                              change.item_code)
    name = change.name or (now["name"] if now else None)
    if not name:
        return []
    dept = change.department_code or (now["department_code"] if now else None)
    basis = change.legal_basis or (now["legal_basis"] if now else None)
    return (index or await index_in_force(conn)).similar(Item(change.item_code, name, dept, basis), threshold)


async def index_in_force(conn: asyncpg.Connection) -> Index:
    """The named items in force now, indexed for similarity."""
    rows = await conn.fetch("SELECT item_code, name, department_code, legal_basis FROM list_items_at(now())"
                            " WHERE active AND name IS NOT NULL")
    return Index(Item(r["item_code"], r["name"], r["department_code"], r["legal_basis"]) for r in rows)


async def create(conn: asyncpg.Connection, fields: dict[str, Any], by: str, threshold: float,
                 evidence: Any = None, index: Optional[Index] = None) -> dict[str, Any]:
    """A draft with its overlap warnings (`index`: the list in force, when many drafts are made at once)."""
    draft_id = uuid.uuid4().hex[:16]
    fields = {**fields, "change_id": f"draft:{draft_id}"}
    fields.setdefault("effective_at", datetime.now(timezone.utc).isoformat())
    change, refusal = parse_list_change(fields)
    if change is None:
        raise Invalid(refusal.reason)
    warnings = await overlap_warnings(conn, change, threshold, index)
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO list_draft (draft_id, item_code, action, change, evidence, checks, drafted_by)"
            " VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7)", draft_id, change.item_code, change.action,
            change.model_dump_json(exclude_none=True), json.dumps(evidence, ensure_ascii=False, default=str),
            json.dumps(warnings, ensure_ascii=False), by)
        await _audit(conn, change.item_code, draft_id, change.change_id, by, "drafted", {"evidence": evidence})
        await _audit(conn, change.item_code, draft_id, change.change_id, "system", "checked",
                     {"threshold": threshold, "warnings": warnings})
    return await get(conn, draft_id)


async def overlap_report(conn: asyncpg.Connection, threshold: float) -> dict[str, Any]:
    """Overlaps across the whole list in force: the nightly report (`shenpi list overlaps`)."""
    index = await index_in_force(conn)
    return {"items": len(index.items), "threshold": threshold, "overlaps": index.all_pairs(threshold)}


def from_recommendation(rec: dict[str, Any], effective_at: Optional[str] = None) -> list[dict[str, Any]]:
    """The draft changes a recommendation suggests (to be reviewed like any other)."""
    kind, codes = rec.get("kind"), rec.get("item_codes") or []
    if not codes or not all(isinstance(c, str) for c in codes):
        raise Invalid("recommendation: item_codes missing")
    at = {"effective_at": effective_at} if effective_at else {}
    if kind == "cancel":  # a recommendation about one region cancels there only (events.md)
        where = rec.get("region_code")
        return [{"item_code": codes[0], "action": "cancelled", **at,
                 **({"region_codes": [where]} if isinstance(where, str) and where else {})}]
    if kind == "merge":  # the first item stays, the others go into it
        return [{"item_code": c, "action": "cancelled", **at} for c in codes[1:]]
    if kind == "devolve":
        peers = (rec.get("evidence") or {}).get("lower_level_peers") or []
        regions = sorted({p["region_code"] for p in peers if isinstance(p, dict) and p.get("region_code")})
        levels = {p.get("level") for p in peers if isinstance(p, dict)}
        if not regions:
            raise Invalid("recommendation: a devolution needs the lower-level regions in its evidence")
        return [{"item_code": codes[0], "action": "devolved", **at,
                 "devolved_to": {"level": "town" if levels == {"town"} else "county", "region_codes": regions}}]
    raise Invalid(f"a {kind!r} recommendation is not a list change")


async def decide_and_publish(pool: asyncpg.Pool, publisher: Any, wake: Any, draft_id: str, by: str, approve: bool,
                             reason: Optional[str]) -> dict[str, Any]:
    """The decision, and for an approval the change published with it (the receipt commits with the decision, the
    relay guarantees it): the API's and the console's one way to decide a draft. `publisher` is a
    connectors.kafka.Publisher and `wake` the relay's asyncio.Event."""
    d = None
    async with pool.acquire() as conn:
        async with conn.transaction():
            change = await decide(conn, draft_id, by, approve, reason)
            if approve:
                d = publisher.prepare("list_change", [change], [], "draft", change.change_id)
                await edge.record(conn, d, 1)
    if d is not None:
        await edge.send_now(pool, publisher, d, wake)
    async with pool.acquire() as conn:
        return await get(conn, draft_id)


async def decide(conn: asyncpg.Connection, draft_id: str, by: str, approve: bool,
                 reason: Optional[str] = None) -> ListChange:
    """Approve (to publish) or reject another administrator's draft, once: the caller publishes the returned
    change in the same transaction, so that concurrent approvals publish it once."""
    row = await conn.fetchrow("SELECT item_code, status, drafted_by, change::text AS change FROM list_draft"
                              " WHERE draft_id = $1 FOR UPDATE", draft_id)
    if row is None:
        raise NotFound(f"no draft {draft_id!r}")
    if row["status"] != "draft":
        raise Conflict(f"draft {draft_id} is already {row['status']}")
    if row["drafted_by"] == by:
        raise Refused("two-person rule: a draft is approved or rejected by another list administrator")
    if not approve and not (reason or "").strip():
        raise Invalid("a rejection needs a reason")
    change = ListChange.model_validate_json(row["change"])
    status = "published" if approve else "rejected"
    await conn.execute("UPDATE list_draft SET status = $2, decided_by = $3, decided_at = now(), reason = $4"
                       " WHERE draft_id = $1", draft_id, status, by, reason)
    await _audit(conn, row["item_code"], draft_id, change.change_id, by, "approved" if approve else "rejected",
                 {"reason": reason} if reason else None)
    if approve:
        await _audit(conn, row["item_code"], draft_id, change.change_id, "system", "published",
                     json.loads(change.model_dump_json(exclude_none=True)))
    return change


def _row(r: asyncpg.Record) -> dict[str, Any]:
    out = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in dict(r).items()}
    for k in ("change", "evidence", "checks"):
        if isinstance(out.get(k), str):
            out[k] = json.loads(out[k])
    return out


async def get(conn: asyncpg.Connection, draft_id: str) -> dict[str, Any]:
    r = await conn.fetchrow("SELECT * FROM list_draft WHERE draft_id = $1", draft_id)
    if r is None:
        raise NotFound(f"no draft {draft_id!r}")
    return _row(r)


async def listing(conn: asyncpg.Connection, status: Optional[str], limit: int = 200) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT * FROM list_draft WHERE $1::text IS NULL OR status = $1"
                            " ORDER BY drafted_at DESC LIMIT $2", status, limit)
    return [_row(r) for r in rows]


async def trail(conn: asyncpg.Connection, item_code: str) -> list[dict[str, Any]]:
    """An item's changes from draft to the platform: every audited step, then each propagation to the platform."""
    steps = [_row(r) for r in await conn.fetch(
        "SELECT at, actor, step, draft_id, change_id, detail FROM list_audit WHERE item_code = $1 ORDER BY id",
        item_code)]
    for s in steps:
        if isinstance(s.get("detail"), str):
            s["detail"] = json.loads(s["detail"])
    for r in await conn.fetch("SELECT change_id, status, attempts, last_error, applied_at, latency_ms FROM list_sync"
                              " WHERE item_code = $1 ORDER BY seq", item_code):
        steps.append({"at": r["applied_at"].isoformat() if r["applied_at"] else None, "actor": "platform",
                      "step": "platform_acknowledged" if r["status"] == "applied" else f"platform_{r['status']}",
                      "change_id": r["change_id"], "detail": {"attempts": r["attempts"], "last_error": r["last_error"],
                                                              "latency_ms": r["latency_ms"]}})
    return steps
