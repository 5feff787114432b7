"""Proposals as read (spec/archive.md §5): one with its changes, unsure fields, checks, trail and publication; the
list in a caller's regions."""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Optional

import asyncpg

from core.access import scope_pattern, within


def _iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, (datetime, date)) else v


async def show(conn: asyncpg.Connection, pid: str, scope: str = "") -> Optional[dict[str, Any]]:
    row = await conn.fetchrow("SELECT * FROM org_proposal WHERE proposal_id = $1", pid)
    if row is None or not (scope == "" or (row["region_code"] and within(scope, row["region_code"]))):
        return None
    found = json.loads(row["checks"]) if row["checks"] else {}
    changes = json.loads(row["changes"])
    applied = {r["change_id"]: r["state"] for r in await conn.fetch(
        "SELECT change_id, state FROM staffing_change WHERE change_id = ANY($1::text[])",
        [c["change_id"] for c in changes])} if row["status"] == "published" else {}
    return {"proposal_id": pid, "document_id": row["document_id"], "unit_code": row["unit_code"],
            "doc_no": row["doc_no"], "effective_at": row["effective_at"].isoformat(), "status": row["status"],
            "changes": changes, "unsure": json.loads(row["unsure"]), "diff": found.get("diff", {}),
            "would_open": found.get("would_open", []), "would_close": found.get("would_close", []),
            "trail": await trail(conn, pid), "source": row["source"], "region_code": row["region_code"],
            "spans": json.loads(row["spans"]), "would_not_apply": found.get("would_not_apply", []),
            "invalid": found.get("invalid", []), "checked_at": _iso(row["checked_at"]),
            "created_by": row["created_by"], "created_at": _iso(row["created_at"]), "edited_by": row["edited_by"],
            "edited_at": _iso(row["edited_at"]), "decided_by": row["decided_by"], "decided_at": _iso(row["decided_at"]),
            "reason": row["reason"], "publication": {"request_id": row["request_id"], "changes": len(changes),
                                                     "taken": len(applied), "states": dict(sorted(applied.items()))}
            if row["status"] == "published" else None}


async def trail(conn: asyncpg.Connection, pid: str) -> list[dict[str, Any]]:
    """The proposal's steps, with its document's before it (uploaded, extracted) when there is one."""
    rows = await conn.fetch(
        "SELECT at, actor, step, proposal_id, document_id, detail::text FROM org_proposal_trail t"
        " WHERE proposal_id = $1 OR (proposal_id IS NULL AND document_id = (SELECT document_id FROM org_proposal"
        "  WHERE proposal_id = $1)) ORDER BY id", pid)
    return [{"at": r["at"].isoformat(), "actor": r["actor"], "step": r["step"], "document_id": r["document_id"],
             "detail": json.loads(r["detail"]) if r["detail"] else None} for r in rows]


async def listing(conn: asyncpg.Connection, scope: str = "", status: Optional[str] = None,
                  unit: Optional[str] = None, limit: int = 200) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT proposal_id, source, document_id, unit_code, region_code, doc_no, effective_at, status, created_by,"
        " created_at, edited_by, decided_by, jsonb_array_length(changes) AS changes,"
        " jsonb_array_length(unsure) AS unsure, coalesce(jsonb_array_length(checks->'would_open'), 0) AS would_open,"
        " coalesce(jsonb_array_length(checks->'would_close'), 0) AS would_close FROM org_proposal"
        " WHERE ($1::text IS NULL OR region_code LIKE $1) AND ($2::text IS NULL OR status = $2)"
        " AND ($3::text IS NULL OR unit_code = $3) ORDER BY created_at DESC, proposal_id LIMIT $4",
        scope_pattern(scope), status, unit, limit)
    return [{k: _iso(v) for k, v in dict(r).items()} for r in rows]
