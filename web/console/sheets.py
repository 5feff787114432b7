"""Workbooks in the console: upload the list or a roster, see the report per row, go on to the drafts or the proposal;
and the link that downloads a page's table as a workbook."""
from __future__ import annotations

import urllib.parse
from typing import Any, Mapping

from aiohttp import web

from web.common import READ, UPLOAD_LIST, UPLOAD_ROSTER, route
from web.console.i18n import t
from web.console.pages import esc, in_url, lang_of, layout, table
from web.views.sheets import list_report, region_param, roster_report, uploaded


def xlsx_link(api_path: str, params: Mapping[str, Any], lang: str) -> str:
    """The button beside a table: the same table from the API as a workbook."""
    query = urllib.parse.urlencode({**{k: v for k, v in params.items() if v not in (None, "")}, "format": "xlsx"})
    return f'<a class="xlsx" href="{esc(api_path)}?{esc(query)}" download>{t("download_xlsx", lang)}</a>'


def _upload_form(action: str, csrf: str, extra: str, lang: str) -> str:
    return (f'<form class="draft" method="post" action="{action}" enctype="multipart/form-data">'
            f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
            f'<label>{t("workbook", lang)} <input type="file" name="file" required accept=".xlsx,.xls,.csv"></label>'
            f'{extra}<button>{t("upload_check", lang)}</button></form>')


async def sheets_page(request: web.Request) -> web.Response:
    lang, csrf = lang_of(request), request.get("csrf", "")
    body = (f'<h2>{t("list", lang)}</h2><p class="note">{t("sheet_list_note", lang)}</p>'
            + _upload_form("/console/list/import-sheet", csrf,
                           f'<label>{t("region", lang)} <input name="region" pattern="[0-9]{{6}}|[0-9]{{9}}"></label>',
                           lang)
            + f'<h2>{t("roster_sheet", lang)}</h2><p class="note">{t("sheet_roster_note", lang)}</p>'
            + _upload_form("/console/org/import-sheet", csrf,
                           f'<label>{t("as_of", lang)} <input name="as_of" type="date" required></label>', lang))
    return layout(request, "sheets", t("sheets", lang), body)


def _report(out: dict[str, Any], lang: str) -> str:
    counts = " · ".join(f'{t("rows_" + k, lang)} <strong>{v}</strong>' for k, v in out["rows"].items())
    refused = table([t("row", lang), t("column", lang), t("why", lang)],
                    ([esc(r["row"]), esc(r["column"]), esc(r["reason"])] for r in out["refused"]))
    return f"<p>{counts}</p>" + (f'<h2>{t("rows_refused", lang)}</h2>{refused}' if out["refused"] else "")


async def list_upload(request: web.Request) -> web.Response:
    lang = lang_of(request)
    data, name, form = await uploaded(request)
    out = await list_report(request, data, name, region_param(form.get("region")))
    links = "".join(f'<li><a href="/drafts/{in_url(d)}">{esc(d)}</a></li>' for d in out["drafts"])
    body = (_report(out, lang) + f'<h2>{t("drafts", lang)}</h2><ul>{links}</ul>'
            f'<p><a href="/drafts">{t("sheet_to_drafts", lang)}</a></p>')
    return layout(request, "sheets", f'{t("sheets", lang)} · {esc(name)}', body)


async def roster_upload(request: web.Request) -> web.Response:
    lang = lang_of(request)
    data, name, form = await uploaded(request)
    out = await roster_report(request, data, name, form.get("as_of"))
    parts = []
    for p in out["proposals"]:
        head = (f'<h2>{esc(p["unit_code"])} · <a href="/org/proposals/{in_url(p["proposal_id"])}">'
                f'{t("proposal", lang)} {esc(p["proposal_id"])}</a></h2>')
        parts.append(head + table(
            [t("kind", lang), t("subject", lang), t("name", lang), t("unit", lang), t("quota_kind", lang)],
            ([esc(t(c["kind"], lang)), esc(c["person_key"]), esc(c.get("name", "")), esc(c.get("unit_code", "")),
              esc(c.get("quota_kind", ""))] for c in p["changes"])))
    return layout(request, "sheets", f'{t("sheets", lang)} · {esc(name)}', _report(out, lang) + "".join(parts))


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/sheets", sheets_page, READ)
    route(app, "POST", "/console/list/import-sheet", list_upload, UPLOAD_LIST)
    route(app, "POST", "/console/org/import-sheet", roster_upload, UPLOAD_ROSTER)
