"""HTTP views of the power list and of its propagation to the platform."""
from __future__ import annotations

from datetime import datetime, timezone

from aiohttp import web

from web.common import (OPERATIONS, POOL, READ, json_response, path_text, query_int, query_text, route, wants_xlsx,
                        xlsx_answer)
from schemas.events import EARLIEST, LATEST
from streams.powerlist.queries import ITEM_COLS, item_history, items_as_of, sync_state


def _when(value: str | None) -> datetime:
    if not value:
        return datetime.now(timezone.utc)
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise web.HTTPBadRequest(text=f"as_of: {value!r} is not an ISO 8601 time") from None
    if ts.tzinfo is None:
        raise web.HTTPBadRequest(text="as_of: give an offset, e.g. 2024-01-01T00:00:00+08:00")
    if not EARLIEST <= ts < LATEST:
        raise web.HTTPBadRequest(text=f"as_of: outside {EARLIEST.date()} .. {LATEST.date()}")
    return ts


async def get_items(request: web.Request) -> web.Response:
    active = {"true": True, "false": False, None: None}[query_text(request, "active", ("true", "false"))]
    at, code = _when(query_text(request, "as_of")), query_text(request, "item_code")
    limit = query_int(request, "limit", 1000)
    async with request.app[POOL].acquire() as conn:
        rows = await items_as_of(conn, at, code, active, limit, request["caller"].scope)
    if wants_xlsx(request):
        return await xlsx_answer(request, "权责清单", rows, "power-list", as_of=at, columns=ITEM_COLS)
    return json_response({"items": rows})


async def get_item(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire() as conn:
        h = await item_history(conn, path_text(request, "code"), request["caller"].scope)
    if not h["versions"]:
        raise web.HTTPNotFound(text=f"no list item {request.match_info['code']!r}")
    return json_response(h)


async def get_sync(request: web.Request) -> web.Response:
    status = query_text(request, "status", ("pending", "failed", "parked", "applied"))
    code, limit = query_text(request, "item_code"), query_int(request, "limit", 200, hi=10_000)
    async with request.app[POOL].acquire() as conn:
        return json_response(await sync_state(conn, status, code, limit))


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/api/v1/list/items", get_items, READ)
    route(app, "GET", "/api/v1/list/items/{code}", get_item, READ)
    route(app, "GET", "/api/v1/list/sync", get_sync, OPERATIONS)
