"""HTTP views of demands (spec/demands.md §5): the platform's POST, and figures read through the caller's scope."""
from __future__ import annotations

from aiohttp import web

from streams.demands.queries import GROUPS, figures
from web.common import EVENTS, POOL, READ, json_response, query_text, route
from web.views.staffing import _scope, _window
from web.views.webhook import _ingest


async def post_demands(request: web.Request) -> web.Response:
    return await _ingest(request, "demand")


async def get_figures(request: web.Request) -> web.Response:
    by = query_text(request, "by", max_length=20) or "item"
    if by not in GROUPS:
        raise web.HTTPBadRequest(text=f"by: one of {', '.join(GROUPS)}")
    win, scope = _window(request), _scope(request)
    if win is None:
        raise web.HTTPBadRequest(text="give from and to")
    if scope is None:
        return json_response({"by": by, "rows": []})
    async with request.app[POOL].acquire() as conn:
        return json_response(await figures(conn, win[0], win[1], by, scope))


def add_routes(app: web.Application) -> None:
    route(app, "POST", "/api/v1/demands", post_demands, EVENTS)
    route(app, "GET", "/api/v1/demands/figures", get_figures, READ)
