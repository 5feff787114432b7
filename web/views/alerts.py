"""Alerts over HTTP: state and history; acknowledging and silencing (authenticated by the API, like every write)."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Optional

from aiohttp import web

from web.common import OPERATIONS, POOL, SUPERVISE, json_object, json_response, path_int, query_int, route

MAX_SILENCE = 31 * 24 * 3600


async def alerts_overview(conn, limit: int = 200) -> dict:
    state = await conn.fetch("SELECT id, rule, group_key, status, value, threshold, severity, since, fired_at,"
                             " resolved_at, acknowledged_by, acknowledged_at, silenced_until FROM alert_state"
                             " ORDER BY (status IN ('firing', 'resolving')) DESC, severity, rule, group_key")
    events = await conn.fetch("SELECT id, rule, group_key, kind, value, at FROM alert_event ORDER BY id DESC LIMIT $1",
                              limit)
    notes = await conn.fetch("SELECT status, count(*) AS n, max(last_error) AS last_error FROM alert_notification"
                             " GROUP BY status")
    return {"alerts": [dict(r) for r in state], "history": [dict(r) for r in events],
            "notifications": {r["status"]: {"count": r["n"], "last_error": r["last_error"]} for r in notes}}


async def get_alerts(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire() as conn:
        return json_response(await alerts_overview(conn, query_int(request, "limit", 200, hi=10_000)))


async def _act(request: web.Request, kind: str) -> web.Response:
    alert_id = path_int(request, "id")
    data = await json_object(request)  # the caller is authenticated (api/auth.py)
    until = None
    if kind == "silenced":
        seconds = data.get("seconds", 3600)
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) \
                or not 0 < seconds <= MAX_SILENCE:
            raise web.HTTPBadRequest(text=f"seconds: a number of seconds from 1 to {MAX_SILENCE} (31 days)")
        until = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    by = request["caller"].name  # who acts is who authenticated, whatever the body says
    async with request.app[POOL].acquire() as conn:
        row = await act_on_alert(conn, alert_id, kind, by, until)
    return web.json_response({"ok": True, "rule": row["rule"], "group": row["group_key"], "kind": kind})


async def act_on_alert(conn, alert_id: int, kind: str, by: str, until: Optional[datetime]):
    """Acknowledge (by whom) or silence (until when) an alert, with the event in its history; 404 if none."""
    async with conn.transaction():
        if kind == "acknowledged":
            row = await conn.fetchrow("UPDATE alert_state SET acknowledged_by = $2, acknowledged_at = now()"
                                      " WHERE id = $1 RETURNING rule, group_key", alert_id, by)
        else:
            row = await conn.fetchrow("UPDATE alert_state SET silenced_until = $2 WHERE id = $1"
                                      " RETURNING rule, group_key", alert_id, until)
        if row is None:
            raise web.HTTPNotFound(text=f"no alert {alert_id}")
        await conn.execute("INSERT INTO alert_event (rule, group_key, kind) VALUES ($1, $2, $3)",
                           row["rule"], row["group_key"], kind)
    return row


async def acknowledge(request: web.Request) -> web.Response:
    return await _act(request, "acknowledged")


async def silence(request: web.Request) -> web.Response:
    return await _act(request, "silenced")


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/api/v1/alerts", get_alerts, OPERATIONS)
    route(app, "POST", "/api/v1/alerts/{id}/ack", acknowledge, SUPERVISE)
    route(app, "POST", "/api/v1/alerts/{id}/silence", silence, SUPERVISE)
