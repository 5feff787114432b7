"""Decision support over HTTP: GET /api/v1/analysis/chains, /recommendations, /compare (JSON, as the CLI's)."""
from __future__ import annotations

import math
from datetime import timedelta
from typing import Callable, TypeVar

from aiohttp import web

from web.common import HEAVY, READ, SETTINGS, json_response, route
from streams.analysis.chains import ChainParams
from streams.analysis.merge import MergeParams
from streams.analysis.recommend import RecommendParams
from streams.analysis.service import analysis_window, chains, comparison, recommendations
from streams.indicators.window import QueryError

T = TypeVar("T")


def _param(request: web.Request, name: str, cast: Callable[[str], T], default: T) -> T:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = cast(raw)
    except ValueError:
        raise QueryError(f"{name}: {raw!r} is not a {cast.__name__}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise QueryError(f"{name}: {raw!r} is not a finite number")
    return value


async def _answer(request: web.Request, work, *args) -> web.Response:
    """`work(conn, window, *args)` in a child process, within the API's limits and the caller's queue (a QueryError,
    here or in the child, is a 400: web/limits.py)."""
    window = analysis_window(request.query.get("from"), request.query.get("to"))
    return json_response(await request.app[HEAVY].run(request["caller"].name, work, window, *args,
                                                      timeout=request.app[SETTINGS].analysis_timeout_seconds))


async def get_chains(request: web.Request) -> web.Response:
    q = lambda n, c, d: _param(request, n, c, d)  # noqa: E731
    try:
        d = ChainParams()
        params = ChainParams(q("min_support", int, d.min_support),
                             timedelta(days=q("max_span_days", float, d.max_span / timedelta(days=1))),
                             q("min_confidence", float, d.min_confidence), q("min_lift", float, d.min_lift))
    except (QueryError, OverflowError) as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    return await _answer(request, chains, params, None, request["caller"].scope)


async def get_recommendations(request: web.Request) -> web.Response:
    q = lambda n, c, d: _param(request, n, c, d)  # noqa: E731
    try:
        d = RecommendParams()
        params = RecommendParams(q("devolve_min_volume", int, d.devolve_min_volume), q("top", int, d.top),
                                 MergeParams(q("merge_min_support", int, d.merge.min_support),
                                             timedelta(days=q("merge_max_gap_days", float,
                                                              d.merge.max_gap / timedelta(days=1)))),
                                 q("simplify_min_complaints", int, d.simplify_min_complaints),
                                 q("simplify_ratio", float, d.simplify_ratio))
    except (QueryError, OverflowError) as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    return await _answer(request, recommendations, params, None, request["caller"].scope)


async def get_compare(request: web.Request) -> web.Response:
    min_volume = _param(request, "min_volume", int, 20)
    item, department = request.query.get("item"), request.query.get("department")
    return await _answer(request, comparison, item, department, min_volume, request["caller"].scope)


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/api/v1/analysis/chains", get_chains, READ)
    route(app, "GET", "/api/v1/analysis/recommendations", get_recommendations, READ)
    route(app, "GET", "/api/v1/analysis/compare", get_compare, READ)
