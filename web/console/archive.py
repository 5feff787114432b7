"""The archive in the console (a file dropped in, a document with its pages and where each field came from, archive
search) and the 三定規定 texts on the public portal's unit pages."""
from __future__ import annotations

from typing import Any, Optional

from aiohttp import web

from connectors.documents import Refused
from streams.archive import documents
from streams.archive.search import marked_html, search
from web.common import POOL, READ, UPLOAD, multipart_form, path_int, route, search_term
from web.console.i18n import t
from web.console.pages import esc, in_url, lang_of, layout, local, table
from web.views.archive import given_param, year_param, check_file

FIELDS = ("doc_no", "title", "issued_at", "effective_at", "doc_type", "unit_code")


def _status(doc: dict, lang: str) -> str:
    s = t("doc_" + doc["status"], lang)
    if doc["status"] == "reading" and doc.get("ocr"):
        s += f' {doc.get("pages_done", 0)}/{doc["pages"] if isinstance(doc["pages"], int) else len(doc["pages"])}'
    return esc(s) + (f' · {esc(doc["reason"])}' if doc.get("reason") else "")


def doc_table(docs: list[dict], lang: str) -> str:
    return table([t("doc_no", lang), t("doc_title", lang), t("doc_type", lang), t("issued_at", lang),
                  t("unit", lang), t("status", lang)],
                 ([f'<a href="/org/archive/{d["document_id"]}">{esc(d["doc_no"] or d["filename"])}</a>',
                   esc(d["title"]), esc(d["doc_type"]), esc(d["issued_at"]),
                   f'<a href="/org/units/{in_url(d["unit_code"])}">{esc(d["unit_code"])}</a>' if d["unit_code"] else "",
                   _status(d, lang)] for d in docs))


def _upload_form(request: web.Request, lang: str) -> str:
    return (f'<form method="post" action="/console/archive" enctype="multipart/form-data">'
            f'<input type="hidden" name="csrf" value="{esc(request.get("csrf", ""))}">'
            f'<label class="dropzone">{t("drop_here", lang)}<input type="file" name="file" required'
            ' accept=".docx,.pdf,.png,.jpg,.jpeg,.tif,.tiff,.txt,.doc,.wps"></label>'
            f'<label>{t("doc_no", lang)} <input name="doc_no"></label> '
            f'<label>{t("unit", lang)} <input name="unit_code"></label> '
            f'<button>{t("upload", lang)}</button></form>')


def _search_form(q: str, lang: str, unit: str = "", y0: Optional[int] = None, y1: Optional[int] = None) -> str:
    return (f'<form method="get" action="/org/archive/search"><input name="q" value="{esc(q)}"'
            f' aria-label="{t("search", lang)}"> <label>{t("unit", lang)} <input name="unit" value="{esc(unit)}"></label>'
            f' <label>{t("year_from", lang)} <input name="from" size="4" value="{esc(y0 or "")}"></label>'
            f' <label>{t("year_to", lang)} <input name="to" size="4" value="{esc(y1 or "")}"></label>'
            f' <button>{t("search", lang)}</button></form>')


async def archive_page(request: web.Request) -> web.Response:
    lang = lang_of(request)
    async with request.app[POOL].acquire() as conn:
        docs = await documents.list_documents(conn, request["caller"].scope, None, 100)
    body = _upload_form(request, lang) + _search_form("", lang) + doc_table(docs, lang)
    return layout(request, "archive", t("archive", lang), body)


async def upload(request: web.Request) -> web.Response:
    lang = lang_of(request)
    fields = await multipart_form(request)
    name, data = fields.get("file", (None, b""))
    if not name:
        raise web.HTTPBadRequest(text="choose a file to upload")
    name = name.replace("\\", "/").rsplit("/", 1)[-1] or "file"
    try:
        got = await check_file(request, data, name)
    except Refused as exc:
        page = layout(request, "archive", t("refused", lang), f'<p class="error">{esc(exc)}</p>'
                      f'<p><a href="/org/archive">{t("archive", lang)}</a></p>')
        page.set_status(422)
        return page
    async with request.app[POOL].acquire() as conn:
        doc = await documents.add(conn, data, name, got,
                                  uploaded_by=request["caller"].name, given=given_param(fields),
                                  region_code=request["caller"].scope or None)
    raise web.HTTPSeeOther(f'/org/archive/{doc["document_id"]}')


def _fields(doc: dict, lang: str) -> str:
    rows = []
    for f in FIELDS:
        span = doc["spans"].get(f) or {}
        where = (t("given", lang) if span.get("given") else
                 f'{t("page", lang)} {span["page"]}: 「{esc(span.get("text"))}」' if span else "—")
        rows.append([t("doc_title" if f == "title" else "unit" if f == "unit_code" else f, lang), esc(doc.get(f)),
                     where])
    return table(["", "", t("from_text", lang)], rows)


async def document_page(request: web.Request) -> web.Response:
    lang, document_id = lang_of(request), path_int(request, "id")
    async with request.app[POOL].acquire() as conn:
        doc = await documents.get(conn, document_id, request["caller"].scope)
    if doc is None:
        raise web.HTTPNotFound(text="no such document in your scope")
    head = (f'<p>{_status(doc, lang)} · {esc(doc["filename"])} · {doc["size_bytes"]:,} B · SHA-256 '
            f'<code>{esc(doc["sha256"][:16])}…</code> · {t("uploaded_by", lang)} {esc(doc.get("uploaded_by"))}'
            f' {esc(local(doc["uploaded_at"]))} · <a href="/api/v1/org/documents/{document_id}/original">'
            f'{t("original", lang)}</a>')
    if doc["proposal_id"]:
        head += f' · <a href="/api/v1/org/proposals/{in_url(doc["proposal_id"])}">{t("proposal", lang)}</a>'
    pages = "".join(
        f'<h3>{t("page", lang)} {p["n"]}' + (f' · {t("ocr", lang)} {t("confidence", lang)} {p["confidence"]:.2f}'
                                             if p["ocr"] and p["confidence"] is not None else "")
        + (f' · <strong>{t("low_confidence", lang)}</strong>' if p["low_confidence"] else "") + "</h3>"
        f'<div class="page-text{" unsure" if p["low_confidence"] else ""}">{esc(p["text"])}</div>'
        for p in doc["pages"])
    return layout(request, "archive", doc["title"] or doc["doc_no"] or doc["filename"],
                  head + "</p>" + _fields(doc, lang) + pages)


async def search_page(request: web.Request) -> web.Response:
    lang, q = lang_of(request), search_term(request)
    unit = (request.query.get("unit") or "").strip()[:40]
    y0, y1 = year_param(request, "from"), year_param(request, "to")
    found: dict[str, Any] = {"total": 0, "hits": []}
    if q:
        async with request.app[POOL].acquire() as conn:
            found = await search(conn, q, request["caller"].scope, unit or None, None, (y0, y1), None, 50)
    body = _search_form(q, lang, unit, y0, y1) + f'<p>{found["total"]} {t("hits", lang)}</p>' + table(
        [t("doc_no", lang), t("doc_title", lang), t("page", lang), ""],
        ([f'<a href="/org/archive/{h["document_id"]}">{esc(h["doc_no"] or "—")}</a>', esc(h["title"]), esc(h["page"]),
          marked_html(h["snippet"])] for h in found["hits"]))
    return layout(request, "archive", t("search", lang) + " · " + t("archive", lang), body)


async def unit_documents(conn, code: str, scope: str, lang: str) -> str:
    """A unit's documents, for its page."""
    return f'<h2>{t("archive", lang)}</h2>' + doc_table(await documents.list_documents(conn, scope, code, 200), lang)


async def public_texts(conn, code: str, lang: str) -> str:
    """The unit's 三定規定 (public), each with its text."""
    out = []
    for d in await documents.list_documents(conn, "", code, 20, public=True):
        doc = await documents.get(conn, d["document_id"], public=True)
        if doc is not None:
            text = "\n\n".join(p["text"] for p in doc["pages"])
            out.append(f'<details><summary>{esc(doc["doc_no"])} {esc(doc["title"])} ({esc(doc["issued_at"])})</summary>'
                       f'<div class="page-text">{esc(text)}</div></details>')
    return (f'<h2>{t("text_of", lang)} · 三定</h2>' + "".join(out)) if out else ""


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/org/archive", archive_page, READ)
    route(app, "GET", "/org/archive/search", search_page, READ)
    route(app, "GET", "/org/archive/{id:[0-9]+}", document_page, READ)
    route(app, "POST", "/console/archive", upload, UPLOAD)
