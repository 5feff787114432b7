"""Who is calling: every write to the API carries a bearer token, or an HMAC-SHA256 signature of its method,
path, timestamp and body; checked here, in front of every handler, before the body is read (a bearer token) or
while reading it, within a time limit."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Optional

from aiohttp import web

from core.access import Caller
from core.web import POOL, SETTINGS

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


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def identify(request: web.Request) -> Optional[Caller]:
    """The caller a bearer token (the platform's, a list administrator's from the environment, or a user's) or
    the trusted gateway's header names; None without credentials; 401 for credentials that name nobody."""
    settings = request.app[SETTINGS]
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        given = auth[7:].strip()
        if any(hmac.compare_digest(given.encode(), t) for t in settings.secrets(settings.webhook_tokens)):
            return Caller("platform", "service")
        for token, name in settings.list_admins().items():
            if hmac.compare_digest(given.encode(), token.encode()):
                return Caller(name, "list_admin")
        row = await _user(request, "u.token_digest = $1", token_digest(given))
        if row is None:
            raise web.HTTPUnauthorized(text="invalid bearer token")
        return Caller(row["name"], row["role"], row["region_scope"])
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        row = await _user(request, "s.id = $1 AND s.expires_at > now()", token_digest(cookie), session=True)
        if row is not None:
            request["csrf"] = row["csrf"]
            return Caller(row["name"], row["role"], row["region_scope"])
    header = settings.trusted_user_header
    if header and request.headers.get(header):
        row = await _user(request, "u.name = $1", request.headers[header])
        if row is None:
            raise web.HTTPForbidden(text=f"{header}: no such user, or disabled")
        return Caller(row["name"], row["role"], row["region_scope"])
    return None


async def _user(request: web.Request, where: str, arg: str, session: bool = False):
    """An enabled user (with the session's CSRF token when found by a session), or None."""
    source = ("app_session s JOIN app_user u ON u.name = s.user_name" if session else "app_user u")
    async with request.app[POOL].acquire() as conn:
        return await conn.fetchrow(f"SELECT u.name, u.role, u.region_scope{', s.csrf' if session else ''}"
                                   f" FROM {source} WHERE {where} AND NOT u.disabled", arg)


SESSION_COOKIE = "shenpi_session"
OPEN = ("/healthz", "/api/v1/openapi.json", "/login")
OPEN_PREFIXES = ("/static/", "/public")  # assets, and the public portal (rate-limited on its own)
# writes whose roles the handler decides (the engine applies the region scope): evaluations and rectification
DELEGATED = ("/api/v1/evaluations", "/api/v1/rectifications", "/console/rectifications")
EVENTS = ("/api/v1/case-events", "/api/v1/list-changes", "/api/v1/staffing-changes")
# reads that are not about regions (operations, the list's propagation, drafts): for callers who see everywhere
EVERYWHERE_ONLY = ("/metrics", "/api/v1/status", "/api/v1/alerts", "/api/v1/list/sync", "/api/v1/list/drafts")


async def _audit(request: web.Request, actor: str, status: int) -> None:
    try:
        async with request.app[POOL].acquire() as conn:
            await conn.execute("INSERT INTO audit_log (actor, action, status, detail) VALUES ($1, $2, $3, $4::jsonb)",
                               actor, f"{request.method} {request.path}", status,
                               json.dumps({"remote": request.remote or "?"}))
    except Exception:  # the audit must not turn a done write into an error answer
        pass


@web.middleware
async def authenticate(request: web.Request, handler):
    if (request.match_info.http_exception is not None or request.path in OPEN
            or request.path.startswith(OPEN_PREFIXES)):
        return await handler(request)  # no such route or method (404 / 405), or nothing to guard
    if request.method not in WRITES:
        caller = await identify(request)
        if caller is None:
            if request.app[SETTINGS].read_access != "open":
                if not request.path.startswith(("/api/", "/metrics")):  # a console page: sign in first
                    raise web.HTTPFound("/login")
                raise web.HTTPUnauthorized(text="credentials required: 'Authorization: Bearer <token>' (a user's token,"
                                                " or the platform's)")
            caller = Caller("anonymous", "viewer")
        if not caller.everywhere and (request.path.startswith(EVERYWHERE_ONLY) or request.path.endswith("/trail")):
            raise web.HTTPForbidden(text=f"{request.path} is for callers who see every region")
        request["caller"] = caller
        return await handler(request)
    if request.path in EVENTS:
        await check_caller(request)
        request["caller"], request["user"] = Caller("platform", "service"), "platform"
        await read_body(request)
        return await handler(request)  # the platform's event posts have their receipts
    actor, status = "?", 500
    try:
        caller = await identify(request)
        if caller is None:
            raise web.HTTPUnauthorized(text="credentials required")
        actor = caller.name
        if "csrf" in request:  # signed in with a cookie: the page's token must come with the form
            form = await request.post() if request.content_type.startswith("application/x-www-form") else {}
            given = request.headers.get("X-CSRF-Token") or form.get("csrf", "")
            if not hmac.compare_digest(str(given), request["csrf"]):
                raise web.HTTPForbidden(text="CSRF token missing or wrong: reload the page")
        need = ("list_admin",) if request.path.startswith(DRAFTS) else ("supervisor",)
        if request.path == "/logout" or request.path.startswith(DELEGATED):
            need = ("viewer", "supervisor", "list_admin")
        if not caller.can(*need) or (request.path.startswith(DRAFTS) and caller.role == "service"):
            raise web.HTTPForbidden(text=f"{caller.name} ({caller.role}) may not do this")
        if not caller.everywhere and request.path != "/logout" and not request.path.startswith(DELEGATED):
            raise web.HTTPForbidden(text="this is for callers who see every region")
        request["caller"], request["user"] = caller, caller.name
        await read_body(request)
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        await _audit(request, actor, status)