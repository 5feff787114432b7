"""What keeps one caller from taking the service down: reads and live streams at once per person, and database
errors of a bounded statement (or a pool that stays busy) answered as such, not as a crash."""
from __future__ import annotations

from collections import Counter

import asyncpg
from aiohttp import web

from core.errors import Conflict, DomainError, Invalid, NotFound, Refused
from web.common import client_address
from web.pool import PoolBusy


STREAMS = frozenset({"/console/stream"})  # live streams: open for long, so on a cap of their own


def reader(request: web.Request) -> str:
    """Whose reads these are: the signed-in person (or service credential), else the client's address (forwarded
    only by a trusted proxy): an office behind one address is many people."""
    caller = request.get("caller")
    if caller is not None and caller.name != "anonymous":
        return f"{caller.role}:{caller.name}"
    return "address:" + client_address(request)


def limit_reads(per_caller: int, streams_per_caller: int):
    """At most `per_caller` reads of one person (anonymous callers: of one address) run at once, API and console
    pages alike (HEAD too), and at most `streams_per_caller` live streams besides; more are answered 429. Static
    assets, the health check and the public portal (rate-limited per address) are not counted."""
    running: Counter = Counter()

    @web.middleware
    async def limit(request: web.Request, handler):
        if request.method not in ("GET", "HEAD") or request.path == "/healthz" or request.path.startswith(
                ("/static/", "/public")):
            return await handler(request)
        stream = request.path in STREAMS
        who, cap = (("stream", reader(request)), streams_per_caller) if stream else (reader(request), per_caller)
        if running[who] >= cap:
            raise web.HTTPTooManyRequests(text=f"at most {cap} {'live streams' if stream else 'reads'} at once"
                                               " per person", headers={"Retry-After": "1"})
        running[who] += 1
        try:
            return await handler(request)
        finally:
            running[who] -= 1
            if not running[who]:
                del running[who]

    return limit


@web.middleware
async def errors(request: web.Request, handler):
    try:
        return await handler(request)
    except PoolBusy as exc:
        raise web.HTTPServiceUnavailable(text=f"the service is busy ({exc}): try again", headers={"Retry-After": "2"}) from None
    except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.CannotConnectNowError):
        # nothing can be recorded, so nothing is accepted: the caller tries again
        raise web.HTTPServiceUnavailable(text="the database is unreachable: try again",
                                         headers={"Retry-After": "2"}) from None
    except asyncpg.QueryCanceledError:
        raise web.HTTPServiceUnavailable(text="the query ran past the statement timeout: ask for a smaller window",
                                         headers={"Retry-After": "5"}) from None
    except (asyncpg.DataError, asyncpg.UntranslatableCharacterError):
        # the database's own words may quote what it was given: the caller hears only that a value was refused
        raise web.HTTPBadRequest(text="a value was refused by the database (NUL characters, or out of range)") from None
    except DomainError as exc:  # what the domain refused (a window or grouping the caller got wrong, ...), any page
        raise http_error(exc) from None


_STATUS = ((Invalid, web.HTTPBadRequest), (Refused, web.HTTPForbidden), (NotFound, web.HTTPNotFound),
           (Conflict, web.HTTPConflict))
_BY_STATUS = {400: web.HTTPBadRequest, 403: web.HTTPForbidden, 404: web.HTTPNotFound, 409: web.HTTPConflict}


def http_error(exc: DomainError) -> web.HTTPException:
    """The HTTP error a domain error stands for (by its kind, or the status it carries; 400 when neither says more)."""
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status in _BY_STATUS:
        return _BY_STATUS[status](text=str(exc))
    return next((h for kind, h in _STATUS if isinstance(exc, kind)), web.HTTPBadRequest)(text=str(exc))


# every answer: no framing, no sniffing, and pages that run only the site's own scripts
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline';"
                               " object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
}


@web.middleware
async def security_headers(request: web.Request, handler):
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(SECURITY_HEADERS)
        raise
    if not response.prepared:  # a stream already sent its headers (set below, before it began)
        response.headers.update(SECURITY_HEADERS)
    return response
