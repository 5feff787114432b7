"""Who is calling: every write to the API carries a bearer token or an HMAC-SHA256 of its body, checked here,
in front of every handler, before a handler reads anything."""
from __future__ import annotations

import hashlib
import hmac

from aiohttp import web

from core.web import SETTINGS

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def check_caller(request: web.Request) -> None:
    """A bearer token from SHENPI_WEBHOOK_TOKENS, or X-Signature: sha256=<hex HMAC of the body>; raises 401/503."""
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
        body = await request.read()  # aiohttp answers 413 past client_max_size; handlers get the same bytes
        given = sig[7:].strip().lower()
        if any(hmac.compare_digest(hmac.new(k, body, hashlib.sha256).hexdigest(), given) for k in keys):
            return
        raise web.HTTPUnauthorized(text="X-Signature does not match the body under any configured key")
    raise web.HTTPUnauthorized(text="missing credentials: send 'Authorization: Bearer <token>' or "
                                    "'X-Signature: sha256=<hex HMAC-SHA256 of the body>'")


@web.middleware
async def authenticate(request: web.Request, handler):
    if request.method in WRITES:
        await check_caller(request)
    return await handler(request)
