"""HTTP views of demands (spec/demands.md §5): the platform's POST, figures read through the caller's scope, and a
person's link of a demand to an item."""
from __future__ import annotations

from aiohttp import web

from streams.demands import manual
from streams.demands.queries import GROUPS, figures
from web.common import EVENTS, POOL, READ, Policy, json_object, json_response, path_text, query_text, route
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


# supervisors (who weigh demands in evaluations and recommendations) and list administrators (who know the items):
# a person, never the platform's token, since the link records who made it; the engine keeps it to their regions
LINK_DEMANDS = Policy("caller", roles=("supervisor", "list_admin"), scoped=True, write=True, service=False)


async def link_demand(request: web.Request, demand_id: str, item) -> dict:
    """The API's and the console's one way to link by hand."""
    if not isinstance(item, str) or "\x00" in item or len(item) > 200:
        raise web.HTTPBadRequest(text="item: the item's code or name (at most 200 characters)")
    c = request["caller"]
    async with request.app[POOL].acquire() as conn:
        return await manual.link(conn, demand_id, item, c.name, c.scope)


async def post_link(request: web.Request) -> web.Response:
    demand_id = path_text(request, "id")
    out = await link_demand(request, demand_id, (await json_object(request)).get("item"))
    return json_response({"demand_id": demand_id, **out})


def add_routes(app: web.Application) -> None:
    route(app, "POST", "/api/v1/demands", post_demands, EVENTS)
    route(app, "GET", "/api/v1/demands/figures", get_figures, READ)
    route(app, "POST", "/api/v1/demands/{id}/link", post_link, LINK_DEMANDS)
