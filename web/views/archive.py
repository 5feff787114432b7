"""HTTP views of the archive: a document uploaded (multipart, field `file`; checked whole in a child process, never on
the event loop), shown, listed, searched, and its original bytes; every read through the caller's region scope."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from aiohttp import web

from connectors.documents import Refused, read
from core.script import to_simplified
from schemas.staffing import DOC_TYPES
from streams.archive import documents
from streams.archive.search import search
from web.heavy import pure
from web.common import (HEAVY, POOL, READ, SETTINGS, UPLOAD, json_response, multipart_form, path_int, query_int,
                        query_text, route)
from web.views.staffing import _scope

async def check_file(request: web.Request, data: bytes, filename: str):
    """The file checked and read in the API's child pool, within its time and memory limits, never on the loop."""
    settings = request.app[SETTINGS]
    try:
        return await request.app[HEAVY].run(request["caller"].name, pure, read, data, filename,
                                            documents.limits(settings), timeout=settings.analysis_timeout_seconds)
    except web.HTTPServiceUnavailable:  # the child's limits (SHENPI_ANALYSIS_*), said about a file
        raise Refused(f"the file could not be read within {settings.analysis_timeout_seconds:.0f} s or its memory"
                      " limit") from None


def given_param(fields: dict) -> dict:
    text = {k: v.decode("utf-8", "replace").strip() for k, (f, v) in fields.items() if f is None and v.strip()}
    doc_type = text.get("doc_type") or text.get("type")
    if doc_type is not None and to_simplified(doc_type) not in DOC_TYPES:
        raise web.HTTPBadRequest(text=f"doc_type: {doc_type[:40]!r} is not one of {', '.join(DOC_TYPES)}")
    return {"doc_no": text.get("doc_no"), "unit_code": text.get("unit_code") or text.get("unit"),
            "doc_type": doc_type and to_simplified(doc_type)}


async def post_document(request: web.Request) -> web.Response:
    fields = await multipart_form(request)
    if "file" not in fields or fields["file"][0] is None:
        raise web.HTTPBadRequest(text="the file is missing: send it in the multipart field 'file'")
    name, data = fields["file"]
    name = Path(name.replace("\\", "/")).name or "file"
    given = given_param(fields)
    try:
        got = await check_file(request, data, name)
    except Refused as exc:
        return json_response({"refused": True, "file": name, "reason": str(exc)}, status=422)
    async with request.app[POOL].acquire() as conn:
        doc = await documents.add(conn, data, name, got, uploaded_by=request["caller"].name, given=given,
                                  region_code=request["caller"].scope or None)
    return json_response({"documents": [doc]}, status=200 if doc["duplicate"] else 201)


async def get_document(request: web.Request) -> web.Response:
    document_id = path_int(request, "id")
    async with request.app[POOL].acquire() as conn:
        doc = await documents.get(conn, document_id, request["caller"].scope)
    if doc is None:
        raise web.HTTPNotFound(text=f"no document {document_id} in your regions")
    return json_response(doc)


async def get_original(request: web.Request) -> web.Response:
    document_id = path_int(request, "id")
    async with request.app[POOL].acquire() as conn:
        try:
            got = await documents.original(conn, document_id, request["caller"].scope)
        except documents.Corrupted as exc:
            raise web.HTTPInternalServerError(text=str(exc)) from None
    if got is None:
        raise web.HTTPNotFound(text=f"no document {document_id} in your regions")
    from urllib.parse import quote

    name, data = got
    return web.Response(body=data, content_type="application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


async def list_documents(request: web.Request) -> web.Response:
    scope = _scope(request)
    docs: Optional[list] = [] if scope is None else None
    if docs is None:
        async with request.app[POOL].acquire() as conn:
            docs = await documents.list_documents(conn, scope, query_text(request, "unit", max_length=40),
                                                  query_int(request, "limit", 200, hi=10000))
    return json_response({"documents": docs})


def year_param(request: web.Request, name: str) -> Optional[int]:
    raw = query_text(request, name, max_length=4)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and 1900 <= int(raw) <= 2200):
        raise web.HTTPBadRequest(text=f"{name}: a year from 1900 to 2200")
    return int(raw)


async def search_documents(request: web.Request) -> web.Response:
    q = query_text(request, "q", max_length=100)
    if not q:
        raise web.HTTPBadRequest(text="q: what to search for")
    scope = _scope(request)
    if scope is None:
        return json_response({"query": q, "total": 0, "hits": []})
    async with request.app[POOL].acquire() as conn:
        return json_response(await search(
            conn, q, scope, query_text(request, "unit", max_length=40), query_text(request, "type", max_length=20),
            (year_param(request, "from"), year_param(request, "to")), None, query_int(request, "limit", 20, hi=500),
            query_int(request, "offset", 0, lo=0)))


def add_routes(app: web.Application) -> None:
    route(app, "POST", "/api/v1/org/documents", post_document, UPLOAD)
    route(app, "GET", "/api/v1/org/documents", list_documents, READ)
    route(app, "GET", "/api/v1/org/documents/search", search_documents, READ)
    route(app, "GET", "/api/v1/org/documents/{id:[0-9]+}", get_document, READ)
    route(app, "GET", "/api/v1/org/documents/{id:[0-9]+}/original", get_original, READ)
