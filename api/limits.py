"""What keeps one caller from taking the service down: reads at once per caller, and database errors of a
bounded statement answered as such, not as a crash."""
from __future__ import annotations

from collections import Counter

import asyncpg
from aiohttp import web


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
        raise web.HTTPServiceUnavailable(text="the database is unreachable: try again", headers={"Retry-After": "2"})
    except asyncpg.QueryCanceledError:
        raise web.HTTPServiceUnavailable(text="the query ran past the statement timeout: ask for a smaller window",
                                         headers={"Retry-After": "5"}) from None
    except (asyncpg.DataError, asyncpg.UntranslatableCharacterError) as exc:
        raise web.HTTPBadRequest(text=f"bad value: {exc}") from None
