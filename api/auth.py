"""Who is calling: every write to the API carries a bearer token, or an HMAC-SHA256 signature of its method,
path, timestamp and body; checked here, in front of every handler, before the body is read (a bearer token) or
while reading it, within a time limit."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import time

from aiohttp import web

from core.web import SETTINGS

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DRAFTS = "/api/v1/list/drafts"  # written by list administrators, by name
MAX_SKEW_SECONDS = 300  # a signed request older (or newer) than this is refused: a captured one cannot be replayed later


def signed_message(method: str, path_qs: str, timestamp: str, body: bytes) -> bytes:
    """What X-Signature signs: 'timestamp\\nMETHOD\\n/path?query\\n' followed by the body."""
    return f"{timestamp}\n{method.upper()}\n{path_qs}\n".encode() + body


def sign(key: bytes, method: str, path_qs: str, timestamp: str, body: bytes) -> str:
    return hmac.new(key, signed_message(method, path_qs, timestamp, body), hashlib.sha256).hexdigest()


async def read_body(request: web.Request) -> bytes:
    """The body, within SHENPI_BODY_TIMEOUT_SECONDS (a body trickled in is not waited for forever)."""
    try:
        return await asyncio.wait_for(request.read(), request.app[SETTINGS].body_timeout_seconds)
    except asyncio.TimeoutError:
        raise web.HTTPRequestTimeout(text="the body did not arrive in time") from None


async def check_caller(request: web.Request) -> None:
    """A bearer token from SHENPI_WEBHOOK_TOKENS, or X-Timestamp and X-Signature: sha256=<hex HMAC> under a key of
    SHENPI_WEBHOOK_HMAC_KEYS; raises 401 (or 503 when no credentials are configured)."""
    settings = request.app[SETTINGS]
    tokens, keys = settings.secrets(settings.webhook_tokens), settings.secrets(settings.webhook_hmac_keys)
    if not tokens and not keys:
        raise web.HTTPServiceUnavailable(text="no webhook credentials configured (SHENPI_WEBHOOK_TOKENS or "
                                              "SHENPI_WEBHOOK_HMAC_KEYS): refusing every write")
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        if any(hmac.compare_digest(auth[7:].strip().encode(), t) for t in tokens):
            return
        raise web.HTTPUnauthorized(text="invalid bearer token")
    sig = request.headers.get("X-Signature", "")
    if sig.startswith("sha256="):
        ts = request.headers.get("X-Timestamp", "")
        if not ts.isascii() or not ts.isdigit() or abs(time.time() - int(ts)) > MAX_SKEW_SECONDS:
            raise web.HTTPUnauthorized(text=f"X-Timestamp: Unix seconds within {MAX_SKEW_SECONDS}s of now required"
                                            " with X-Signature")
        body = await read_body(request)
        given = sig[7:].strip().lower()
        if any(hmac.compare_digest(sign(k, request.method, request.path_qs, ts, body), given) for k in keys):
            return
        raise web.HTTPUnauthorized(text="X-Signature does not match 'timestamp\\nMETHOD\\npath\\n' + body under any"
                                        " configured key")
    raise web.HTTPUnauthorized(text="missing credentials: send 'Authorization: Bearer <token>', or X-Timestamp and"
                                    " 'X-Signature: sha256=<hex HMAC-SHA256 of timestamp\\nMETHOD\\npath\\n + body>'")


def list_admin(request: web.Request) -> str:
    """The list administrator a bearer token of SHENPI_LIST_ADMIN_TOKENS names; 401 otherwise."""
    admins = request.app[SETTINGS].list_admins()
    auth = request.headers.get("Authorization", "")
    if not admins:
        raise web.HTTPServiceUnavailable(text="no list administrators configured (SHENPI_LIST_ADMIN_TOKENS)")
    if not auth.startswith("Bearer "):
        raise web.HTTPUnauthorized(text="a list administrator's bearer token is required")
    given = auth[7:].strip().encode()
    for token, name in admins.items():
        if hmac.compare_digest(given, token.encode()):
            return name
    raise web.HTTPUnauthorized(text="invalid bearer token for a list administrator")


@web.middleware
async def authenticate(request: web.Request, handler):
    if request.match_info.http_exception is not None:  # no such route or method: 404 / 405, nothing to guard
        return await handler(request)
    if request.method in WRITES:
        if request.path.startswith(DRAFTS):
            request["user"] = list_admin(request)
        else:
            await check_caller(request)
        await read_body(request)
    return await handler(request)
