"""HTTP views of the indicators and of the reconciliation totals."""
from __future__ import annotations

import csv
import io
from typing import Any

from aiohttp import web

from core.web import OPERATIONS, POOL, READ, json_response, query_text, route

from streams.indicators.queries import GROUP_KEYS, GUARDS, INDICATORS, QueryError, indicators, parse_group_by, parse_window
from streams.indicators.status import totals

def to_csv(rows: list[dict[str, Any]], group_by: tuple[str, ...]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    cols = list(group_by) + list(INDICATORS + GUARDS)
    w.writerow(cols)
    for r in rows:
        w.writerow(["" if r[c] is None else r[c] for c in cols])
    return buf.getvalue()


async def get_indicators(request: web.Request) -> web.Response:
    q = request.query
    fmt = query_text(request, "format", ("json", "csv"))
    try:
        window = parse_window(q.get("from"), q.get("to"))
        group_by = parse_group_by(q.get("group_by", ""))
    except QueryError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    async with request.app[POOL].acquire() as conn:
        rows = await indicators(conn, window, group_by, scope=request["caller"].scope)
    if q.get("components") not in ("1", "true"):
        for r in rows:
            r.pop("components")
    if fmt == "csv":
        return web.Response(text=to_csv(rows, group_by), content_type="text/csv")
    return web.json_response({
        "from": window.t0.isoformat(), "to": window.t1.isoformat(), "group_by": list(group_by),
        "group_keys": list(GROUP_KEYS), "rows": rows,
    })


async def get_status(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire() as conn:
        return json_response(await totals(conn))


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/api/v1/indicators", get_indicators, READ)
    route(app, "GET", "/api/v1/status", get_status, OPERATIONS)
