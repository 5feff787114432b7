"""HTTP views of the indicators and of the reconciliation totals."""
from __future__ import annotations

from aiohttp import web

from core.figures import csv_text
from web.common import OPERATIONS, POOL, READ, json_response, query_int, query_text, route, xlsx_answer
from streams.indicators.definitions import GUARDS, INDICATORS

from streams.indicators.queries import (GROUP_KEYS, indicators, indicators_csv, labels, parse_group_by,
                                        parse_window)
from streams.indicators.status import totals


async def get_cases(request: web.Request) -> web.Response:
    """The cases behind a figure (same predicate, window and scope as the figure), paged, as JSON or CSV."""
    from streams.indicators.cases import COLUMNS, FIGURES, cases_behind

    q = request.query
    figure = query_text(request, "figure", FIGURES)
    if figure is None:
        raise web.HTTPBadRequest(text=f"figure: one of {', '.join(FIGURES)}")
    fmt = query_text(request, "format", ("json", "csv", "xlsx"))
    filters = {k: v for k in ("region_code", "department_code", "item_code", "level") if (v := query_text(request, k))}
    limit = None if fmt in ("csv", "xlsx") else query_int(request, "limit", 100, hi=10_000)
    offset = query_int(request, "offset", 0, lo=0, hi=10_000_000)
    window = parse_window(q.get("from"), q.get("to"))  # a QueryError is a 400 (web/limits.py)
    async with request.app[POOL].acquire() as conn:
        out = await cases_behind(conn, figure, window, filters, request["caller"].scope, limit, offset)
    if fmt == "csv":
        return web.Response(text=csv_text(COLUMNS, ([r[c] for c in COLUMNS] for r in out["rows"])),
                            content_type="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{out["figure"]}.csv"'})
    if fmt == "xlsx":
        return await xlsx_answer(request, f'办件明细 · {out["figure"]}', out["rows"], out["figure"], columns=COLUMNS,
                                 as_of=window.t1)
    return json_response(out)


async def get_indicators(request: web.Request) -> web.Response:
    q = request.query
    fmt = query_text(request, "format", ("json", "csv", "xlsx"))
    window, group_by = parse_window(q.get("from"), q.get("to")), parse_group_by(q.get("group_by", ""))
    async with request.app[POOL].acquire() as conn:
        rows = await indicators(conn, window, group_by, scope=request["caller"].scope)
    if q.get("components") not in ("1", "true"):
        for r in rows:
            r.pop("components")
    if fmt == "csv":
        return web.Response(text=indicators_csv(rows, group_by), content_type="text/csv")
    if fmt == "xlsx":
        return await xlsx_answer(request, "14项监测指标", rows, "indicators", columns=[*group_by, *INDICATORS, *GUARDS],
                                 labels=labels(), as_of=window.t1,
                                 filters={"from": window.t0, "to": window.t1, "group_by": ",".join(group_by),
                                          "region_code": request["caller"].scope or None})
    return web.json_response({
        "from": window.t0.isoformat(), "to": window.t1.isoformat(), "group_by": list(group_by),
        "group_keys": list(GROUP_KEYS), "rows": rows,
    })


async def get_status(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire() as conn:
        return json_response(await totals(conn))


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/api/v1/indicators", get_indicators, READ)
    route(app, "GET", "/api/v1/cases", get_cases, READ)
    route(app, "GET", "/api/v1/status", get_status, OPERATIONS)
