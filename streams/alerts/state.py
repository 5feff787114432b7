"""Alerts as operators see and handle them: the state and history, acknowledged or silenced with the event kept."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

import asyncpg

from core.errors import NotFound


async def alerts_overview(conn: asyncpg.Connection, limit: int = 200) -> dict:
    state = await conn.fetch("SELECT id, rule, group_key, status, value, threshold, severity, since, fired_at,"
                             " resolved_at, acknowledged_by, acknowledged_at, silenced_until FROM alert_state"
                             " ORDER BY (status IN ('firing', 'resolving')) DESC, severity, rule, group_key")
    events = await conn.fetch("SELECT id, rule, group_key, kind, value, at FROM alert_event ORDER BY id DESC LIMIT $1",
                              limit)
    notes = await conn.fetch("SELECT status, count(*) AS n, max(last_error) AS last_error FROM alert_notification"
                             " GROUP BY status")
    return {"alerts": [dict(r) for r in state], "history": [dict(r) for r in events],
            "notifications": {r["status"]: {"count": r["n"], "last_error": r["last_error"]} for r in notes}}


async def act_on_alert(conn: asyncpg.Connection, alert_id: int, kind: str, by: str,
                       until: Optional[datetime]) -> asyncpg.Record:
    """Acknowledge (by whom) or silence (until when) an alert, with the event in its history; NotFound if none."""
    async with conn.transaction():
        if kind == "acknowledged":
            row = await conn.fetchrow("UPDATE alert_state SET acknowledged_by = $2, acknowledged_at = now()"
                                      " WHERE id = $1 RETURNING rule, group_key", alert_id, by)
        else:
            row = await conn.fetchrow("UPDATE alert_state SET silenced_until = $2 WHERE id = $1"
                                      " RETURNING rule, group_key", alert_id, until)
        if row is None:
            raise NotFound(f"no alert {alert_id}")
        await conn.execute("INSERT INTO alert_event (rule, group_key, kind) VALUES ($1, $2, $3)",
                           row["rule"], row["group_key"], kind)
    return row
