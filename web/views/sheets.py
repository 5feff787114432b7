"""Workbooks uploaded (multipart, field `file`): the power list as drafts, the roster as a staffing proposal; read in
a child process, never in the event loop."""
from __future__ import annotations

import asyncio
import hashlib
from typing import Any, Callable, Optional

from aiohttp import web

from connectors.sheets import SheetError, read_upload
from web.common import HEAVY, POOL, SETTINGS, UPLOAD_LIST, json_response, route


async def uploaded(request: web.Request) -> tuple[bytes, str, Any]:
    """The file of a multipart upload (field `file`), with the form's other fields."""
    if not request.content_type.startswith("multipart/form-data"):
        raise web.HTTPBadRequest(text="send the workbook as multipart/form-data, field 'file'")
    form = await request.post()
    f = form.get("file")
    if not isinstance(f, web.FileField):
        raise web.HTTPBadRequest(text="file: the workbook (.xlsx, .xls, .csv) as a multipart file field")
    return f.file.read(), f.filename or "sheet.xlsx", form


async def read_in_child(request: web.Request, data: bytes, name: str, kind: str, required: tuple[str, ...],
                        hashers: Optional[dict[str, Callable]] = None):
    """The sheet parsed off the event loop (a workbook can be large), within the child's time and memory limits."""
    settings = request.app[SETTINGS]
    loop = asyncio.get_running_loop()
    try:
        return await request.app[HEAVY].run(request["caller"].name, lambda ex: loop.run_in_executor(
            ex, read_upload, data, name, kind, required, settings, hashers))
    except SheetError as exc:
        raise web.HTTPBadRequest(text=f"{name}: {exc}") from None


def _region(value: Any) -> Optional[str]:
    import re

    if value in (None, ""):
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d{6}|\d{9}", value):
        raise web.HTTPBadRequest(text="region: a region code of 6 or 9 digits")
    return value


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
    region = _region(request.query.get("region") or form.get("region"))
    return json_response(await list_report(request, data, name, region))


def add_routes(app: web.Application) -> None:
    route(app, "POST", "/api/v1/list/import-sheet", import_list, UPLOAD_LIST)
