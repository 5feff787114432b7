"""List drafts over HTTP: drafted and decided by list administrators (a bearer token of SHENPI_LIST_ADMIN_TOKENS,
checked by the API), read by callers who see every region."""
from __future__ import annotations

from typing import Optional

from aiohttp import web

from connectors import edge
from web.common import (
    ADMINISTER_LIST, answering, OPERATIONS, POOL, PUBLISHER, RELAY_WAKE, SETTINGS, json_object, json_response, path_text,
    query_int, query_text, route,
)
from streams.powerlist import drafts
from streams.powerlist.drafts import DraftError

USER = "user"  # request key: the list administrator the API authenticated


_answering = answering(DraftError)


@_answering
async def create(request: web.Request) -> web.Response:
    body = await json_object(request)
    threshold = request.app[SETTINGS].overlap_threshold
    if "recommendation" in body:
        rec = body["recommendation"]
        if not isinstance(rec, dict):
            raise DraftError(400, "recommendation: a JSON object")
        wanted = drafts.from_recommendation(rec, body.get("effective_at"))
        evidence = {"recommendation": rec}
    else:
        wanted, evidence = [body.get("change")], body.get("evidence")
        if not isinstance(wanted[0], dict):
            raise DraftError(400, "change: a JSON object with the list change's fields")
    async with request.app[POOL].acquire() as conn:
        out = [await drafts.create(conn, w, request[USER], threshold, evidence) for w in wanted]
    return json_response({"drafts": out}, status=201)


async def decide_and_publish(app: web.Application, draft_id: str, by: str, approve: bool,
                             reason: Optional[str]) -> dict:
    """The decision, and for an approval the change published with it (the receipt commits with the decision, the
    relay guarantees it): the API's and the console's one way to decide a draft."""
    pub = app[PUBLISHER]
    d = None
    async with app[POOL].acquire() as conn:
        async with conn.transaction():
            change = await drafts.decide(conn, draft_id, by, approve, reason)
            if approve:
                d = pub.prepare("list_change", [change], [], "draft", change.change_id)
                await edge.record(conn, d, 1)
    if d is not None:
        await edge.send_now(app[POOL], pub, d, app[RELAY_WAKE])
    async with app[POOL].acquire() as conn:
        return await drafts.get(conn, draft_id)


async def _decide(request: web.Request, approve: bool) -> web.Response:
    draft_id = path_text(request, "id")
    body = await json_object(request)
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 2000 or "\x00" in reason):
        raise web.HTTPBadRequest(text="reason: text of at most 2000 characters")
    return json_response(await decide_and_publish(request.app, draft_id, request[USER], approve, reason))


@_answering
async def approve(request: web.Request) -> web.Response:
    return await _decide(request, True)


@_answering
async def reject(request: web.Request) -> web.Response:
    return await _decide(request, False)


async def get_drafts(request: web.Request) -> web.Response:
    status = query_text(request, "status", ("draft", "rejected", "published"))
    async with request.app[POOL].acquire() as conn:
        return json_response({"drafts": await drafts.listing(conn, status, query_int(request, "limit", 200))})


@_answering
async def get_draft(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire() as conn:
        return json_response(await drafts.get(conn, path_text(request, "id")))


@_answering
async def get_effect(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire() as conn:
        return json_response(await drafts.effect(conn, path_text(request, "id")))


async def get_trail(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire() as conn:
        return json_response({"item_code": path_text(request, "code"),
                              "trail": await drafts.trail(conn, path_text(request, "code"))})


def add_routes(app: web.Application) -> None:
    route(app, "POST", "/api/v1/list/drafts", create, ADMINISTER_LIST)
    route(app, "GET", "/api/v1/list/drafts", get_drafts, OPERATIONS)
    route(app, "GET", "/api/v1/list/drafts/{id}", get_draft, OPERATIONS)
    route(app, "POST", "/api/v1/list/drafts/{id}/approve", approve, ADMINISTER_LIST)
    route(app, "POST", "/api/v1/list/drafts/{id}/reject", reject, ADMINISTER_LIST)
    route(app, "GET", "/api/v1/list/drafts/{id}/effect", get_effect, OPERATIONS)
    route(app, "GET", "/api/v1/list/items/{code}/trail", get_trail, OPERATIONS)
