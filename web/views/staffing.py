"""HTTP views of the staffing half, every read through the caller's region scope."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from aiohttp import web

from core.access import RegionError, narrow
from web.common import (HEAVY, POOL, READ, SETTINGS, json_response, path_text, query_int, query_text, route, wants_xlsx,
                        xlsx_answer)
from streams.indicators.window import QueryError, parse_instant
from streams.staffing import checks, queries


def _at(request: web.Request, name: str, default_now: bool = True) -> Optional[datetime]:
    raw = query_text(request, name, max_length=40)
    if raw is None:
        return datetime.now(timezone.utc) if default_now else None
    try:
        return parse_instant(raw, name)
    except QueryError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None


def _scope(request: web.Request) -> Optional[str]:
    """The caller's scope narrowed by ?region=; None when the region asked for is outside it (nothing to see)."""
    try:
        return narrow(request["caller"].scope, query_text(request, "region", max_length=12))
    except RegionError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None


def _window(request: web.Request):
    t0, t1 = _at(request, "from", False), _at(request, "to", False)
    if (t0 is None) != (t1 is None):
        raise web.HTTPBadRequest(text="give both from and to")
    if t0 is not None and t1 <= t0:
        raise web.HTTPBadRequest(text="empty window: to must be after from")
    return None if t0 is None else (t0, t1)


def _fraction(request: web.Request, name: str, default: float) -> float:
    raw = query_text(request, name, max_length=8)
    try:
        value = default if raw is None else float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise web.HTTPBadRequest(text=f"{name}: a number from 0 to 1")
    return value


async def get_figures(request: web.Request) -> web.Response:
    at, scope, win = _at(request, "as_of"), _scope(request), _window(request)
    if scope is None:
        return json_response({"as_of": at.isoformat(), "rows": [], "posts": []})
    async with request.app[POOL].acquire() as conn:
        out = await queries.figures(conn, at, scope, query_text(request, "unit"), win)
    if wants_xlsx(request):
        return await xlsx_answer(request, "编制使用情况", out["rows"], "org-figures", as_of=at,
                                 columns=queries.FIGURE_COLUMNS)
    return json_response(out)


async def get_findings(request: web.Request) -> web.Response:
    """What the workers keep (now, the settings' thresholds); another time, window or threshold is computed in the
    bounded child process, never in this loop."""
    s, scope, win = request.app[SETTINGS], _scope(request), _window(request)
    asked = _at(request, "as_of", False)
    at = asked or datetime.now(timezone.utc)
    kind = query_text(request, "kind", max_length=40)
    params = checks.DutyParams.of(s, query_int(request, "min_volume", s.duty_min_volume, lo=0),
                                  _fraction(request, "min_on_time", s.duty_min_on_time))
    rows: list = []
    if scope is not None and asked is None and win is None and params == checks.DutyParams.of(s):
        async with request.app[POOL].acquire() as conn:
            rows = await checks.stored(conn, at, scope, query_text(request, "unit"), kind)
    elif scope is not None:
        found = await request.app[HEAVY].run(request["caller"].name, checks.findings, at, scope,
                                             query_text(request, "unit"), win, params,
                                             timeout=s.analysis_timeout_seconds)
        rows = [f for f in found if kind in (None, f["kind"])]
    if wants_xlsx(request):
        return await xlsx_answer(request, "检查发现", rows, "org-findings", as_of=at,
                                 columns=queries.FINDING_COLUMNS)
    return json_response({"as_of": at.isoformat(), "findings": rows})


async def get_unit(request: web.Request) -> web.Response:
    code, at = path_text(request, "code"), _at(request, "as_of")
    async with request.app[POOL].acquire() as conn:
        u = await queries.unit_as_of(conn, code, at, request["caller"].scope)
    if u is None:
        raise web.HTTPNotFound(text=f"no unit {code!r} stood at {at.isoformat()} in your regions")
    return json_response(u)


async def get_history(request: web.Request) -> web.Response:
    code = path_text(request, "code")
    async with request.app[POOL].acquire() as conn:
        h = await queries.history(conn, code, request["caller"].scope)
    if h is None:
        raise web.HTTPNotFound(text=f"no unit {code!r} in your regions")
    return json_response(h)


async def get_diff(request: web.Request) -> web.Response:
    code, a, b = path_text(request, "code"), _at(request, "a", False), _at(request, "b")
    if a is None:
        raise web.HTTPBadRequest(text="a: the earlier time is required")
    async with request.app[POOL].acquire() as conn:
        d = await queries.diff(conn, code, a, b, request["caller"].scope)
    if d is None:
        raise web.HTTPNotFound(text=f"no unit {code!r} in your regions at either time")
    return json_response(d)


async def get_search(request: web.Request) -> web.Response:
    q = query_text(request, "q", max_length=100)
    if not q:
        raise web.HTTPBadRequest(text="q: what to search for")
    async with request.app[POOL].acquire() as conn:
        return json_response(await queries.search(conn, q, request["caller"].scope, query_int(request, "limit", 50,
                                                                                              hi=500)))


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/api/v1/org/figures", get_figures, READ)
    route(app, "GET", "/api/v1/org/findings", get_findings, READ)
    route(app, "GET", "/api/v1/org/search", get_search, READ)
    route(app, "GET", "/api/v1/org/units/{code}", get_unit, READ)
    route(app, "GET", "/api/v1/org/units/{code}/history", get_history, READ)
    route(app, "GET", "/api/v1/org/units/{code}/diff", get_diff, READ)
