"""Reading the power list: as of any time, an item's whole history, and the state of propagation."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

import asyncpg

from core.access import scope_pattern
from schemas import ITEM_ATTRS

ITEM_COLS = ("item_code", "active", *ITEM_ATTRS, "valid_from", "valid_to", "change_id", "action")


def _row(r: asyncpg.Record) -> dict[str, Any]:
    return {k: (r[k].isoformat() if isinstance(r[k], datetime) else r[k]) for k in r.keys()}


def _in_scope(param: str) -> str:
    """An item version handled in the caller's regions (or everywhere); the parameter is a LIKE pattern or NULL."""
    return (f"({param}::text IS NULL OR cardinality(region_codes) = 0"
            f" OR EXISTS (SELECT 1 FROM unnest(region_codes) r WHERE r LIKE {param}))")


async def items_as_of(conn: asyncpg.Connection, at: datetime, item_code: Optional[str] = None,
                      active: Optional[bool] = None, limit: int = 1000, scope: str = "") -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT {', '.join(ITEM_COLS)} FROM list_items_at($1)"
        " WHERE ($2::text IS NULL OR item_code = $2) AND ($3::boolean IS NULL OR active = $3)"
        f" AND {_in_scope('$5')} ORDER BY item_code LIMIT $4", at, item_code, active, limit, scope_pattern(scope))
    return [_row(r) for r in rows]


async def item_history(conn: asyncpg.Connection, item_code: str, scope: str = "") -> dict[str, Any]:
    """Every version; for a caller with a scope, only an item handled in it at some time (else no versions)."""
    if scope and not await conn.fetchval(
            f"SELECT EXISTS (SELECT 1 FROM list_item_version WHERE item_code = $1 AND {_in_scope('$2')})",
            item_code, scope_pattern(scope)):
        return {"item_code": item_code, "versions": [], "sync": [], "violations": 0}
    versions = await conn.fetch(
        f"SELECT {', '.join(ITEM_COLS)}, devolved_from FROM list_item_version WHERE item_code = $1"
        " ORDER BY valid_from, change_id", item_code)
    sync = await conn.fetch(
        "SELECT change_id, action, status, attempts, last_error, ingested_at, applied_at, latency_ms FROM list_sync"
        " WHERE item_code = $1 ORDER BY seq", item_code)
    violations = await conn.fetchval("SELECT count(*) FROM violation WHERE item_code = $1"
                                     " AND ($2::text IS NULL OR region_code LIKE $2)", item_code, scope_pattern(scope))
    return {"item_code": item_code, "versions": [_row(r) for r in versions], "sync": [_row(r) for r in sync],
            "violations": violations}


async def sync_state(conn: asyncpg.Connection, status: Optional[str] = None, item_code: Optional[str] = None,
                     limit: int = 200) -> dict[str, Any]:
    counts = {r["status"]: r["n"] for r in await conn.fetch("SELECT status, count(*) AS n FROM list_sync GROUP BY 1")}
    lat = await conn.fetchrow(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50,"
        " percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) AS p99 FROM list_sync"
        " WHERE applied_at > now() - interval '1 hour'")
    rows = await conn.fetch(
        "SELECT change_id, item_code, action, status, attempts, last_error, next_attempt_at, ingested_at, applied_at,"
        " latency_ms FROM list_sync WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR item_code = $2)"
        " ORDER BY seq DESC LIMIT $3", status, item_code, limit)
    return {"counts": counts, "latency_ms_last_hour": {"p50": lat["p50"], "p99": lat["p99"]},
            "changes": [_row(r) for r in rows]}
