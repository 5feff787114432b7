"""List changes as drafts: checked for overlapping powers, approved by a second list administrator or rejected with
a reason, one audit trail per item; and a published reform's effect, the item's figures before and after."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

import asyncpg

from schemas import ListChange, parse_list_change
from streams.indicators.queries import Window, indicators
from streams.powerlist.overlap import Index, Item


class DraftError(Exception):
    """What the caller did wrong, with the HTTP status that says so."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


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
        raise DraftError(400, refusal.reason)
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
        raise DraftError(400, "recommendation: item_codes missing")
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
            raise DraftError(400, "recommendation: a devolution needs the lower-level regions in its evidence")
        return [{"item_code": codes[0], "action": "devolved", **at,
                 "devolved_to": {"level": "town" if levels == {"town"} else "county", "region_codes": regions}}]
    raise DraftError(400, f"a {kind!r} recommendation is not a list change")


async def decide(conn: asyncpg.Connection, draft_id: str, by: str, approve: bool,
                 reason: Optional[str] = None) -> ListChange:
    """Approve (to publish) or reject another administrator's draft, once: the caller publishes the returned
    change in the same transaction, so that concurrent approvals publish it once."""
    row = await conn.fetchrow("SELECT item_code, status, drafted_by, change::text AS change FROM list_draft"
                              " WHERE draft_id = $1 FOR UPDATE", draft_id)
    if row is None:
        raise DraftError(404, f"no draft {draft_id!r}")
    if row["status"] != "draft":
        raise DraftError(409, f"draft {draft_id} is already {row['status']}")
    if row["drafted_by"] == by:
        raise DraftError(403, "two-person rule: a draft is approved or rejected by another list administrator")
    if not approve and not (reason or "").strip():
        raise DraftError(400, "a rejection needs a reason")
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
        raise DraftError(404, f"no draft {draft_id!r}")
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


async def effect(conn: asyncpg.Connection, draft_id: str, max_days: int = 90) -> dict[str, Any]:
    """A published change's item, by region, in the same-length windows before and after it took effect."""
    d = await get(conn, draft_id)
    if d["status"] != "published":
        raise DraftError(409, f"draft {draft_id} is {d['status']}, not published")
    at = datetime.fromisoformat(d["change"]["effective_at"])
    length = min(datetime.now(timezone.utc) - at, timedelta(days=max_days))
    if length <= timedelta(0):
        raise DraftError(409, "the change has not taken effect yet")
    code = d["item_code"]

    async def side(w: Window) -> list[dict]:
        rows = await indicators(conn, w, ("region_code",), {"item_code": code})
        return [{k: v for k, v in r.items() if k != "components"} for r in rows]

    return {"draft_id": draft_id, "item_code": code, "action": d["action"], "effective_at": at.isoformat(),
            "window_days": length / timedelta(days=1), "before": await side(Window(at - length, at)),
            "after": await side(Window(at, at + length))}
