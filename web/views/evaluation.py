"""HTTP views of evaluations and rectification tasks; the engine applies the caller's region scope and the task
rules, these views the roles (streams/evaluation/rectify.py: may)."""
from __future__ import annotations

import base64
import binascii

from aiohttp import web

from web.common import (HEAVY, POOL, READ, SETTINGS, SIGNED_IN, json_object, json_response, path_int, query_text,
                        route, wants_xlsx, xlsx_answer)
from streams.evaluation import evaluate, rectify
from streams.evaluation.scorecard import load_scorecard
from streams.indicators.window import QueryError, parse_instant
from streams.staffing.checks import DutyParams


def _allowed(request: web.Request, action: str) -> None:
    c = request["caller"]
    if not rectify.may(action, c.role):
        raise web.HTTPForbidden(text=f"{c.name} ({c.role}) may not {action}")


def _time(body: dict, name: str):
    v = body.get(name)
    if not isinstance(v, str):
        raise web.HTTPBadRequest(text=f"{name}: a date or an ISO 8601 time is required")
    try:
        return parse_instant(v[:40], name)
    except QueryError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None


def _text(body: dict, name: str, required: bool = True, limit: int = 4000):
    v = body.get(name)
    if v is None and not required:
        return None
    if not isinstance(v, str) or not v.strip() or "\x00" in v or len(v) > limit:
        raise web.HTTPBadRequest(text=f"{name}: a text of 1 to {limit} characters")
    return v


async def run_engine(request: web.Request, work):
    try:
        async with request.app[POOL].acquire() as conn:
            return await work(conn)
    except LookupError as exc:
        raise web.HTTPNotFound(text=str(exc)) from None
    except evaluate.EvaluationError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    except rectify.TaskError as exc:
        raise web.HTTPConflict(text=str(exc)) from None


async def list_evaluations(request: web.Request) -> web.Response:
    from core.access import scope_pattern

    unit = query_text(request, "unit")
    rows = await run_engine(request, lambda conn: conn.fetch(
        "SELECT evaluation_id, unit_code, type, period_from, period_to, created_by, created_at FROM evaluation"
        " WHERE ($1::text IS NULL OR region_code LIKE $1) AND ($2::text IS NULL OR unit_code = $2)"
        " ORDER BY evaluation_id DESC LIMIT 500", scope_pattern(request["caller"].scope), unit))
    out = [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dict(r).items()} for r in rows]
    if wants_xlsx(request):
        return await xlsx_answer(request, "综合评估", out, "evaluations")
    return json_response({"evaluations": out})


async def create_evaluation(request: web.Request) -> web.Response:
    _allowed(request, "evaluate")
    body, c = await json_object(request), request["caller"]
    card = load_scorecard(request.app[SETTINGS].scorecard)

    async def work(conn):
        eid = await evaluate.create(conn, _text(body, "unit_code", limit=64), _time(body, "from"), _time(body, "to"),
                                    _text(body, "type", limit=20), c.name, card, c.scope,
                                    DutyParams.of(request.app[SETTINGS]))
        return await evaluate.show(conn, eid, c.scope)

    e = await run_engine(request, work)
    return json_response({k: v for k, v in e.items() if k != "inputs"}, status=201)


async def get_evaluation(request: web.Request) -> web.Response:
    eid, c = path_int(request, "id"), request["caller"]
    e = await run_engine(request, lambda conn: evaluate.show(conn, eid, c.scope))
    if e is None:
        raise web.HTTPNotFound(text=f"no evaluation {eid} in your regions")
    return json_response(e if query_text(request, "inputs", ("1", "true")) else
                         {k: v for k, v in e.items() if k != "inputs"})


async def give_score(request: web.Request) -> web.Response:
    _allowed(request, "evaluate")
    eid, body, c = path_int(request, "id"), await json_object(request), request["caller"]
    value = body.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not -1e9 < value < 1e9:
        raise web.HTTPBadRequest(text="value: a number")

    async def work(conn):
        if await evaluate.show(conn, eid, c.scope) is None:
            raise LookupError(f"no evaluation {eid} in your regions")
        await evaluate.give_score(conn, eid, _text(body, "code", limit=40), float(value), c.name,
                                  _text(body, "note", required=False))
        return await evaluate.show(conn, eid, c.scope)

    e = await run_engine(request, work)
    return json_response({k: v for k, v in e.items() if k != "inputs"})


async def get_report(request: web.Request) -> web.Response:
    from streams.evaluation.report import report_pdf

    eid, c = path_int(request, "id"), request["caller"]
    try:  # printed (the first time) by Chromium in a child process: no pool connection held meanwhile
        pdf, sha = await request.app[HEAVY].run(c.name, report_pdf, eid, c.scope, memory=False,
                                                timeout=request.app[SETTINGS].report_timeout_seconds)
    except LookupError as exc:
        raise web.HTTPNotFound(text=str(exc)) from None
    return web.Response(body=pdf, content_type="application/pdf", headers={"X-Content-SHA256": sha})


async def list_tasks(request: web.Request) -> web.Response:
    c = request["caller"]
    overdue = {"true": True, "false": False, None: None}[query_text(request, "overdue", ("true", "false"))]
    mine = query_text(request, "mine", ("1", "true"))
    rows = await run_engine(request, lambda conn: rectify.tasks(
        conn, c.scope, query_text(request, "state", rectify.STATES),
        query_text(request, "unit"), overdue, c.name if mine else None))
    if wants_xlsx(request):
        return await xlsx_answer(request, "整改任务", rows, "rectifications")
    return json_response({"tasks": rows})


async def open_task(request: web.Request) -> web.Response:
    _allowed(request, "open")
    body, c = await json_object(request), request["caller"]
    days = body.get("days")
    if isinstance(days, bool) or not isinstance(days, int):
        raise web.HTTPBadRequest(text="days: a whole number of working days")
    ev = body.get("evaluation_id")
    if ev is not None and (isinstance(ev, bool) or not isinstance(ev, int)):
        raise web.HTTPBadRequest(text="evaluation_id: a number")

    async def work(conn):
        tid = await rectify.open_task(conn, _text(body, "unit_code", limit=64), _text(body, "text"), days, c.name,
                                      _text(body, "finding", required=False, limit=40),
                                      _text(body, "subject", required=False, limit=64), ev, c.scope)
        return await rectify.show(conn, tid, c.scope)

    return json_response(await run_engine(request, work), status=201)


async def get_task(request: web.Request) -> web.Response:
    tid, c = path_int(request, "id"), request["caller"]
    return json_response(await run_engine(request, lambda conn: rectify.show(conn, tid, c.scope)))


async def task_action(request: web.Request) -> web.Response:
    tid, action, c = path_int(request, "id"), request.match_info["action"], request["caller"]
    _allowed(request, action)
    body = await json_object(request)
    evidence = []
    if body.get("text") is not None:
        evidence.append(rectify.Evidence("text", _text(body, "text", limit=20000)))
    files = body.get("files") or []
    if not isinstance(files, list) or len(files) > 20:
        raise web.HTTPBadRequest(text="files: a list of at most 20 {name, content_base64}")
    for f in files:
        try:
            evidence.append(rectify.Evidence(_text(f, "name", limit=200), None,
                                             base64.b64decode(f.get("content_base64", ""), validate=True)))
        except (binascii.Error, TypeError, AttributeError):
            raise web.HTTPBadRequest(text="files: content_base64 must be base64") from None
    return json_response(await run_engine(request, lambda conn: rectify.act(
        conn, tid, action, c.name, _text(body, "reason", required=False), evidence, c.scope,
        max_bytes=request.app[SETTINGS].evidence_max_bytes)))


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/api/v1/evaluations", list_evaluations, READ)
    route(app, "POST", "/api/v1/evaluations", create_evaluation, SIGNED_IN)
    route(app, "GET", "/api/v1/evaluations/{id}", get_evaluation, READ)
    route(app, "POST", "/api/v1/evaluations/{id}/scores", give_score, SIGNED_IN)
    route(app, "GET", "/api/v1/evaluations/{id}/report.pdf", get_report, READ)
    route(app, "GET", "/api/v1/rectifications", list_tasks, READ)
    route(app, "POST", "/api/v1/rectifications", open_task, SIGNED_IN)
    route(app, "GET", "/api/v1/rectifications/{id}", get_task, READ)
    route(app, "POST", "/api/v1/rectifications/{id}/{action:start|submit|verify|return|close}", task_action, SIGNED_IN)
