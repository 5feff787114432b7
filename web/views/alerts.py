"""Alerts over HTTP: state and history; acknowledging and silencing (authenticated by the API, like every write)."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from aiohttp import web

from streams.alerts.state import act_on_alert, alerts_overview
from web.common import OPERATIONS, POOL, SUPERVISE, json_object, json_response, path_int, query_int, route

MAX_SILENCE = 31 * 24 * 3600


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


async def acknowledge(request: web.Request) -> web.Response:
    return await _act(request, "acknowledged")


async def silence(request: web.Request) -> web.Response:
    return await _act(request, "silenced")


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/api/v1/alerts", get_alerts, OPERATIONS)
    route(app, "POST", "/api/v1/alerts/{id}/ack", acknowledge, SUPERVISE)
    route(app, "POST", "/api/v1/alerts/{id}/silence", silence, SUPERVISE)
