"""Proposals over HTTP (spec/archive.md §5): read through the caller's region scope; edited, approved or rejected by
a person who maintains staffing data there. An edit's checks are computed in the heavy child, never in this loop."""
from __future__ import annotations

from typing import Any, Optional

from aiohttp import web

from connectors import edge
from core.access import Caller
from streams.archive import proposals
from streams.archive.proposals import STATUSES, ProposalError
from web.common import (
    HEAVY, POOL, PUBLISHER, READ, RELAY_WAKE, SETTINGS, Policy, json_object, json_response, path_text,
    query_int, query_text, route,
)

# a person (never the platform's token) in a role that maintains staffing data; the engine checks the region
MAINTAIN_STAFFING = Policy("caller", roles=("staffing_admin",), scoped=True, write=True, service=False)


async def get_list(request: web.Request) -> web.Response:
    status = query_text(request, "status", STATUSES)
    async with request.app[POOL].acquire() as conn:
        rows = await proposals.listing(conn, request["caller"].scope, status, query_text(request, "unit", max_length=18),
                                       query_int(request, "limit", 200, hi=1000))
    return json_response({"proposals": rows})


async def shown(app: web.Application, pid: str, caller: Caller) -> dict[str, Any]:
    async with app[POOL].acquire() as conn:
        p = await proposals.show(conn, pid, caller.scope)
    if p is None:
        raise web.HTTPNotFound(text=f"no proposal {pid!r} in your regions")
    return p


async def get_one(request: web.Request) -> web.Response:
    return json_response(await shown(request.app, path_text(request, "id"), request["caller"]))


async def run_edit(app: web.Application, pid: str, changes: Any, caller: Caller,
                   effective_at: Any = None) -> dict[str, Any]:
    """The API's and the console's one way to edit: refused at once when the caller may not, else done off the loop."""
    await shown(app, pid, caller)
    if not isinstance(changes, list) or not changes:
        raise ProposalError(400, "changes: a non-empty JSON array of staffing changes")
    s = app[SETTINGS]
    await app[HEAVY].run(caller.name, proposals.edit, pid, changes, caller, s.overlap_threshold, effective_at,
                         timeout=s.analysis_timeout_seconds)
    return await shown(app, pid, caller)


async def post_edit(request: web.Request) -> web.Response:
    body = await json_object(request)
    return json_response(await run_edit(request.app, path_text(request, "id"), body.get("changes"), request["caller"],
                                        body.get("effective_at")))


async def decide(app: web.Application, pid: str, caller: Caller, approve: bool, reason: Optional[str]) -> dict:
    """Approve (published with its receipt in the same transaction, sent now or by the relay) or reject."""
    if approve:
        async with app[POOL].acquire() as conn:
            d = await proposals.approve_and_record(conn, pid, caller, app[PUBLISHER])
        await edge.send_now(app[POOL], app[PUBLISHER], d, app[RELAY_WAKE])
    else:
        async with app[POOL].acquire() as conn:
            async with conn.transaction():
                await proposals.decide(conn, pid, caller, False, reason)
    return await shown(app, pid, caller)


def _reason(body: dict) -> Optional[str]:
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 2000 or "\x00" in reason):
        raise ProposalError(400, "reason: text of at most 2000 characters")
    return reason


async def post_approve(request: web.Request) -> web.Response:
    await json_object(request)
    return json_response(await decide(request.app, path_text(request, "id"), request["caller"], True, None))


async def post_reject(request: web.Request) -> web.Response:
    reason = _reason(await json_object(request))
    return json_response(await decide(request.app, path_text(request, "id"), request["caller"], False, reason))


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/api/v1/org/proposals", get_list, READ)
    route(app, "GET", "/api/v1/org/proposals/{id}", get_one, READ)
    route(app, "POST", "/api/v1/org/proposals/{id}/edit", post_edit, MAINTAIN_STAFFING)
    route(app, "POST", "/api/v1/org/proposals/{id}/approve", post_approve, MAINTAIN_STAFFING)
    route(app, "POST", "/api/v1/org/proposals/{id}/reject", post_reject, MAINTAIN_STAFFING)
