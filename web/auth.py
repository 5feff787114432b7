"""Who is calling, and whether the route's policy lets them: a user's bearer token or session, the platform's
token (or an HMAC signature of the event posts), or a trusted gateway's header from a trusted proxy, all from the
headers: a caller not allowed is refused before a byte of the body is read; an allowed write's body is read within
the time and size limits before the handler sees it."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import urllib.parse
from typing import Optional

import asyncpg
from aiohttp import web

from core.access import Caller, token_digest
from core.errors import DomainError
from web.common import POOL, SETTINGS, multipart_form, policy_of
from web.limits import http_error

log = logging.getLogger(__name__)

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_SKEW_SECONDS = 300  # a signed request older (or newer) than this is refused: a captured one cannot be replayed later


_SEEN: dict[str, float] = {}  # signatures accepted within the skew window: a replay inside it is refused too


def _first_use(signature: str) -> bool:
    now = time.time()
    if len(_SEEN) > 100_000:
        for k in [k for k, until in _SEEN.items() if until < now]:
            del _SEEN[k]
    if _SEEN.get(signature, 0) > now:
        return False
    _SEEN[signature] = now + 2 * MAX_SKEW_SECONDS
    return True


def signed_message(method: str, path_qs: str, timestamp: str, body: bytes) -> bytes:
    """What X-Signature signs: 'timestamp\\nMETHOD\\n/path?query\\n' followed by the body."""
    return f"{timestamp}\n{method.upper()}\n{path_qs}\n".encode() + body


def sign(key: bytes, method: str, path_qs: str, timestamp: str, body: bytes) -> str:
    return hmac.new(key, signed_message(method, path_qs, timestamp, body), hashlib.sha256).hexdigest()


async def read_body(request: web.Request, upload: bool = False, small: bool = False) -> bytes:
    """The body, within SHENPI_BODY_TIMEOUT_SECONDS (a body trickled in is not waited for forever), and no larger
    than SHENPI_MAX_BODY_BYTES, or SHENPI_FORM_MAX_BYTES for a form or any `small` one (a write anyone may send; a
    file upload's route: the archive's limit), whether it comes with a length or chunked; read once, then kept."""
    settings = request.app[SETTINGS]
    if small or request.content_type.startswith(("application/x-www-form-urlencoded", "multipart/")):
        limit = settings.archive_max_bytes + UPLOAD_OVERHEAD if upload and not small else settings.form_max_bytes
        if (request.content_length or 0) > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
        request._client_max_size = limit  # aiohttp's read() counts chunked bodies against it
    try:
        return await asyncio.wait_for(request.read(), settings.body_timeout_seconds)
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
            if not _first_use(given):
                raise web.HTTPUnauthorized(text="this signature was used before: sign each request anew")
            return
        raise web.HTTPUnauthorized(text="X-Signature does not match 'timestamp\\nMETHOD\\npath\\n' + body under any"
                                        " configured key")
    raise web.HTTPUnauthorized(text="missing credentials: send 'Authorization: Bearer <token>', or X-Timestamp and"
                                    " 'X-Signature: sha256=<hex HMAC-SHA256 of timestamp\\nMETHOD\\npath\\n + body>'")


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
        request["person"], request["token"] = row["name"], token_digest(given)
        return Caller(row["name"], row["role"], row["region_scope"])
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        row = await _user(request, "s.id = $1 AND s.expires_at > now()", token_digest(cookie), session=True)
        if row is not None:
            request["csrf"], request["person"], request["session"] = row["csrf"], row["name"], token_digest(cookie)
            return Caller(row["name"], row["role"], row["region_scope"])
    header = settings.trusted_user_header
    if header and request.headers.get(header) and request.remote in settings.proxies():
        row = await _user(request, "u.name = $1", request.headers[header][:64])
        if row is None:
            raise web.HTTPUnauthorized(text="credentials required")  # the same answer for any name: none to guess
        request["csrf"], request["person"] = header_csrf(settings, row["name"]), row["name"]
        return Caller(row["name"], row["role"], row["region_scope"])
    return None


async def _user(request: web.Request, where: str, arg: str, session: bool = False):
    """An enabled user (with the session's CSRF token when found by a session), or None."""
    source = ("app_session s JOIN app_user u ON u.name = s.user_name" if session else "app_user u")
    async with request.app[POOL].acquire() as conn:
        return await conn.fetchrow(f"SELECT u.name, u.role, u.region_scope{', s.csrf' if session else ''}"
                                   f" FROM {source} WHERE {where} AND NOT u.disabled", arg)


SESSION_COOKIE = "shenpi_session"
UPLOAD_OVERHEAD = 64 * 1024  # a multipart upload's boundaries and small fields, beyond the file itself


def header_csrf(settings, name: str) -> str:
    """The CSRF token of a caller the gateway names (no cookie to hold one): a keyed hash of the name."""
    return hmac.new(settings.identity_secret(), f"csrf:{name}".encode(), hashlib.sha256).hexdigest()[:32]


class Refusals:
    """Refused attempts go to the audit log, bounded: the first from an address in a minute is written, the rest
    counted and written as one row when the minute is over."""

    def __init__(self, window: float = 60.0):
        self.window = window
        self.seen: dict[str, tuple[float, int]] = {}

    def note(self, remote: str) -> tuple[bool, int]:
        """(write a row now, how many were only counted before it)."""
        now = time.monotonic()
        started, n = self.seen.get(remote, (0.0, 0))
        if now - started >= self.window:
            if len(self.seen) > 10000:
                self.seen = {k: v for k, v in self.seen.items() if now - v[0] < self.window}
            self.seen[remote] = (now, 0)
            return True, n
        self.seen[remote] = (started, n + 1)
        return False, 0


REFUSALS = web.AppKey("refusals", Refusals)


async def _audit(request: web.Request, actor: str, status: int, counted: int = 0) -> None:
    detail = {"remote": request.remote or "?", **({"refused_before_uncounted": counted} if counted else {})}
    try:
        async with request.app[POOL].acquire() as conn:
            await conn.execute("INSERT INTO audit_log (actor, action, status, detail) VALUES ($1, $2, $3, $4::jsonb)",
                               actor, f"{request.method} {request.path}", status, json.dumps(detail))
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:  # a done write stays done
        log.warning("audit of %s %s not written: %s", request.method, request.path, exc)


async def refused(request: web.Request, actor: str, status: int) -> None:
    write, counted = request.app.setdefault(REFUSALS, Refusals()).note(request.remote or "?")
    if write:
        await _audit(request, actor, status, counted)


@web.middleware
async def authenticate(request: web.Request, handler):
    """Every route's policy (web.common.Policy, declared where the route is added), and nothing else, decides."""
    if request.match_info.http_exception is not None:
        return await handler(request)  # no such route or method: 404 / 405
    policy = policy_of(request)
    if policy is None:  # a route added without a policy: refused, and the route-table test fails
        raise web.HTTPForbidden(text="this route has no access policy")
    write = request.method in WRITES
    if policy.who == "anyone":
        if write:
            await read_body(request, small=True)
        return await handler(request)
    if policy.who == "platform":
        await check_caller(request)  # from the headers (a signature's body is read only under a fresh timestamp)
        if write:
            await read_body(request)
        request["caller"], request["user"] = Caller("platform", "service"), "platform"
        return await handler(request)  # the platform's event posts have their receipts
    actor, status = "?", 500
    try:
        caller = await identify(request)
        if caller is None:
            if request.method in WRITES or request.app[SETTINGS].read_access != "open":
                if request.method not in WRITES and not request.path.startswith(("/api/", "/metrics")):
                    raise web.HTTPFound("/login?next=" + urllib.parse.quote(request.path_qs, safe=""))
                raise web.HTTPUnauthorized(text="credentials required: 'Authorization: Bearer <token>' (a user's token,"
                                                " or the platform's)")
            caller = Caller("anonymous", "viewer")
        actor = caller.name
        if policy.roles and not caller.can(*policy.roles) or (not policy.service and caller.role == "service"):
            raise web.HTTPForbidden(text=f"not allowed for the role {caller.role}")
        if policy.everywhere and not caller.everywhere:
            raise web.HTTPForbidden(text="this is for callers who see every region")
        if write:  # only now, for a caller allowed to send it
            await read_body(request, upload=policy.upload)
        if write and "csrf" in request:  # a browser's session: the page's token must come too
            form = await request.post() if request.content_type.startswith("application/x-www-form") else {}
            if request.content_type.startswith("multipart/form-data"):
                form = {k: v.decode("utf-8", "replace") for k, (f, v) in (await multipart_form(request)).items()
                        if f is None}
            given = request.headers.get("X-CSRF-Token") or form.get("csrf", "")
            if not hmac.compare_digest(str(given), request["csrf"]):
                raise web.HTTPForbidden(text="CSRF token missing or wrong: reload the page")
        request["caller"], request["user"] = caller, caller.name
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except DomainError as exc:  # answered by web.limits.errors, audited here with the status it will get
        status = http_error(exc).status
        raise
    finally:
        if status in (401, 403):
            await refused(request, actor, status)
        elif request.method in WRITES:
            await _audit(request, actor, status)
