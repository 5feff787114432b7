"""The webhook the service platform calls: authenticated, validated, answered after the broker acknowledged."""
from __future__ import annotations

import hashlib
import hmac
import uuid

from aiohttp import web

from connectors.kafka import Publisher
from connectors.parsing import decode_json_body, validate
from shenpi.settings import Settings

PUBLISHER = web.AppKey("publisher", Publisher)
SETTINGS = web.AppKey("settings", Settings)


def check_caller(request: web.Request, body: bytes) -> None:
    """A bearer token from SHENPI_WEBHOOK_TOKENS, or X-Signature: sha256=<hex HMAC of the body>."""
    settings = request.app[SETTINGS]
    tokens, keys = settings.secrets(settings.webhook_tokens), settings.secrets(settings.webhook_hmac_keys)
    if not tokens and not keys:
        raise web.HTTPServiceUnavailable(text="no webhook credentials configured (SHENPI_WEBHOOK_TOKENS or "
                                              "SHENPI_WEBHOOK_HMAC_KEYS): refusing every write")
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer ") and any(hmac.compare_digest(auth[7:].strip().encode(), t) for t in tokens):
        return
    sig = request.headers.get("X-Signature", "")
    if sig.startswith("sha256="):
        given = sig[7:].strip().lower()
        if any(hmac.compare_digest(hmac.new(k, body, hashlib.sha256).hexdigest(), given) for k in keys):
            return
        raise web.HTTPUnauthorized(text="X-Signature does not match the body under any configured key")
    raise web.HTTPUnauthorized(text="missing credentials: send 'Authorization: Bearer <token>' or "
                                    "'X-Signature: sha256=<hex HMAC-SHA256 of the body>'")


async def _ingest(request: web.Request, kind: str) -> web.Response:
    body = await request.read()  # aiohttp answers 413 past client_max_size
    check_caller(request, body)
    request_id = request.headers.get("Idempotency-Key") or uuid.uuid4().hex
    source = "webhook"
    items = decode_json_body(body)
    good, bad = validate(items, kind)
    pub = request.app[PUBLISHER]
    if kind == "case_event":
        batch_ids = await pub.case_events(good, source, request_id) if good else []
    else:
        await pub.list_changes(good)
        batch_ids = []
    dl_keys = await pub.dead_letters(bad, kind, source, request_id) if bad else []
    status = 200 if not bad else (207 if good else 422)
    return web.json_response({
        "request_id": request_id, "received": len(items), "accepted": len(good),
        "refused": [{"index": r.index, "reason": r.reason} for r in bad],
        "batches": batch_ids, "dead_letters": dl_keys,
    }, status=status)


async def case_events(request: web.Request) -> web.Response:
    return await _ingest(request, "case_event")


async def list_changes(request: web.Request) -> web.Response:
    return await _ingest(request, "list_change")


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/case-events", case_events)
    app.router.add_post("/api/v1/list-changes", list_changes)
