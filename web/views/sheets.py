"""Workbooks uploaded (multipart_form, field `file`): the power list as drafts, the roster as a staffing proposal; read in
a child process, never in the event loop."""
from __future__ import annotations

import hashlib
from typing import Any, Callable, Optional

from aiohttp import web

from connectors.sheets import SheetError, read_upload
from core.access import RegionError, parse_region
from web.heavy import pure
from web.common import HEAVY, POOL, SETTINGS, UPLOAD_LIST, UPLOAD_ROSTER, json_response, multipart_form, route


async def uploaded(request: web.Request) -> tuple[bytes, str, dict[str, str]]:
    """The file of a multipart upload (field `file`), with the form's other fields as text."""
    if not request.content_type.startswith("multipart/form-data"):
        raise web.HTTPBadRequest(text="send the workbook as multipart/form-data, field 'file'")
    fields = await multipart_form(request)
    name, data = fields.get("file", (None, b""))
    if name is None or not data:
        raise web.HTTPBadRequest(text="file: the workbook (.xlsx, .xls, .csv) as a multipart file field")
    return data, name, {k: v.decode(errors="replace") for k, (f, v) in fields.items() if f is None}


async def read_in_child(request: web.Request, data: bytes, name: str, kind: str, required: tuple[str, ...],
                        hashers: Optional[dict[str, Callable]] = None):
    """The sheet parsed off the event loop (a workbook can be large), within the child's time and memory limits."""
    settings = request.app[SETTINGS]
    try:
        return await request.app[HEAVY].run(request["caller"].name, pure, read_upload, data, name, kind, required, settings,
                                            hashers, timeout=settings.analysis_timeout_seconds)
    except SheetError as exc:
        raise web.HTTPBadRequest(text=f"{name}: {exc}") from None
    except web.HTTPServiceUnavailable:  # the child's limits (SHENPI_ANALYSIS_*), said about a workbook
        raise web.HTTPServiceUnavailable(text=f"{name}: reading it ran past the time or memory limit: split the"
                                              " workbook", headers={"Retry-After": "30"}) from None


def region_param(value: Any) -> Optional[str]:
    """A region code given (core.access.parse_region, the one reading), or none."""
    if value in (None, ""):
        return None
    try:
        return parse_region(value)
    except RegionError as exc:
        raise web.HTTPBadRequest(text=f"region: {exc}") from None


async def list_report(request: web.Request, data: bytes, name: str, region: Optional[str]) -> dict[str, Any]:
    """The row report and the drafts of a list workbook: the API's and the console's one way."""
    from streams.powerlist.sheet import REQUIRED, import_rows

    sheet = await read_in_child(request, data, name, "powerlist", REQUIRED)
    evidence = {"sheet": name, "sha256": hashlib.sha256(data).hexdigest()}
    async with request.app[POOL].acquire() as conn:
        return await import_rows(conn, sheet.rows, sheet.headers, [r.as_dict() for r in sheet.refused],
                                 request["caller"].name, request.app[SETTINGS].overlap_threshold, region, evidence)


async def import_list(request: web.Request) -> web.Response:
    data, name, form = await uploaded(request)
    region = region_param(request.query.get("region") or form.get("region"))
    return json_response(await list_report(request, data, name, region))


async def roster_report(request: web.Request, data: bytes, name: str, as_of: Any) -> dict[str, Any]:
    """The row report and the proposed staff changes of a roster workbook, within the caller's regions."""
    from datetime import date

    from streams.archive.roster import REQUIRED, hashers, import_roster

    try:
        on = date.fromisoformat(str(as_of or ""))
    except ValueError:
        raise web.HTTPBadRequest(text="as_of: the date the roster is the staff of (YYYY-MM-DD)") from None
    key = request.app[SETTINGS].identity_secret()
    sheet = await read_in_child(request, data, name, "roster", REQUIRED, hashers(key))
    tag = f"roster:{hashlib.sha256(data).hexdigest()[:12]}:{on.isoformat()}"
    caller = request["caller"]
    async with request.app[POOL].acquire() as conn:
        return await import_roster(conn, sheet.rows, sheet.headers, [r.as_dict() for r in sheet.refused], on,
                                   caller.name, tag, caller.scope, request.app[SETTINGS].overlap_threshold)


async def import_roster(request: web.Request) -> web.Response:
    data, name, form = await uploaded(request)
    return json_response(await roster_report(request, data, name, request.query.get("as_of") or form.get("as_of")))


def add_routes(app: web.Application) -> None:
    route(app, "POST", "/api/v1/list/import-sheet", import_list, UPLOAD_LIST)
    route(app, "POST", "/api/v1/org/import-sheet", import_roster, UPLOAD_ROSTER)
