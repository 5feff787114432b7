"""What keeps one caller from taking the service down: reads at once per caller, and database errors of a
bounded statement answered as such, not as a crash."""
from __future__ import annotations

from collections import Counter

import asyncpg
from aiohttp import web

from core.errors import Conflict, DomainError, Invalid, NotFound, Refused


def limit_reads(per_caller: int):
    """At most `per_caller` reads of one caller (by address) run at once, API, console pages and live streams
    alike (HEAD too); more are answered 429. Static assets and the health check are not counted."""
    running: Counter = Counter()

    @web.middleware
    async def limit(request: web.Request, handler):
        if request.method not in ("GET", "HEAD") or request.path == "/healthz" or request.path.startswith(
                ("/static/", "/public")):  # the public portal has its own rate limit
            return await handler(request)
        who = request.remote or "?"
        if running[who] >= per_caller:
            raise web.HTTPTooManyRequests(text=f"at most {per_caller} reads at once per caller",
                                          headers={"Retry-After": "1"})
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


def http_error(exc: DomainError) -> web.HTTPException:
    """The HTTP error a domain error stands for (400 when its kind says no more)."""
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
