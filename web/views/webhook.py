"""The webhook the service platform calls: validated, recorded as a receipt before the answer, then sent to the
broker (the API authenticates; its relay sends again what the broker did not take)."""
from __future__ import annotations

import hashlib
import uuid

from aiohttp import web

from connectors import edge
from connectors.parsing import decode_json_body, validate
from web.common import EVENTS, POOL, PUBLISHER, RELAY_WAKE, SETTINGS, route


async def _ingest(request: web.Request, kind: str) -> web.Response:
    body = await request.read()  # the caller is authenticated (api/auth.py); aiohttp answers 413 past client_max_size
    # keyed on the content too: a retry (same key, same body) is a no-op downstream; a key reused with another
    # body is another request, whose events are not dropped as if already seen
    key = request.headers.get("Idempotency-Key")
    request_id = f"{key[:200]}:{hashlib.sha256(body).hexdigest()[:16]}" if key else uuid.uuid4().hex
    items = decode_json_body(body)
    good, bad = validate(items, kind, request.app[SETTINGS].identity_secret())
    pub = request.app[PUBLISHER]
    d = pub.prepare(kind, good, bad, "webhook", request_id)
    async with request.app[POOL].acquire() as conn:
        fresh = await edge.record(conn, d, len(items))
    if fresh:  # the answer never waits long on the broker: what is recorded is safe
        await edge.send_now(request.app[POOL], pub, d, request.app[RELAY_WAKE])
    status = 200 if not bad else (207 if good else 422)
    return web.json_response({
        "request_id": request_id, "received": len(items), "accepted": len(good),
        "refused": [{"index": r.index, "reason": r.reason} for r in bad],
        "batches": d.batch_ids, "dead_letters": d.dl_keys, **({"deliveries": d.delivery_keys} if d.delivery_keys else {}),
    }, status=status)


async def case_events(request: web.Request) -> web.Response:
    return await _ingest(request, "case_event")


async def list_changes(request: web.Request) -> web.Response:
    return await _ingest(request, "list_change")


async def staffing_changes(request: web.Request) -> web.Response:
    return await _ingest(request, "staffing_change")


def add_routes(app: web.Application) -> None:
    route(app, "POST", "/api/v1/case-events", case_events, EVENTS)
    route(app, "POST", "/api/v1/list-changes", list_changes, EVENTS)
    route(app, "POST", "/api/v1/staffing-changes", staffing_changes, EVENTS)
