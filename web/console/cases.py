"""The cases behind a figure, in the console: the count at the top equals the figure it came from (the same
predicate, window and scope), paged, with the list as CSV."""
from __future__ import annotations

import urllib.parse

from aiohttp import web

from web.console.i18n import label, t
from web.console.sheets import xlsx_link
from web.console.pages import esc, in_url, lang_of, layout, local, named, table
from core.names import Names, region_name
from web.common import POOL, READ, route
from streams.indicators.cases import FIGURES, cases_behind
from streams.indicators.definitions import BY_KEY
from streams.indicators.window import parse_window

PAGE = 100
ITEM_FIGURES = ("items_active", "zero_case_items")



async def cases_page(request: web.Request) -> web.Response:
    lang, q = lang_of(request), request.query
    figure = q.get("figure", "")
    if figure in ITEM_FIGURES:  # a count of list items, not of cases: the page says so and leads to the list
        body = (f'<p class="note">{esc(t("counts_items", lang))}</p>'
                f'<p><a href="/list">{esc(t("list", lang))}</a></p>')
        return layout(request, "overview", f"{t('cases', lang)} · {esc(label(figure, lang))}", body)
    if figure not in FIGURES:
        raise web.HTTPBadRequest(text=f"figure: one of {', '.join(FIGURES)}")
    window = parse_window(q.get("from"), q.get("to"))
    filters = {k: q[k][:64] for k in ("region_code", "department_code", "item_code") if q.get(k)}
    page = max(0, min(100_000, int(q["page"]) if q.get("page", "").isdigit() else 0))
    async with request.app[POOL].acquire() as conn:
        out = await cases_behind(conn, figure, window, filters, request["caller"].scope, PAGE, page * PAGE)
        names = await Names.load(conn, (r["department_code"] for r in out["rows"]),
                                 (r["item_code"] for r in out["rows"]))
    keep = {k: v for k, v in q.items() if k != "page"}
    name = label(figure, lang) if figure in BY_KEY else figure
    head = (f'<p><strong>{esc(name)} · {t("cases_behind", lang)}: {out["total"]:,}</strong> · {esc(local(out["from"]))} → '
            f'{esc(local(out["to"]))} · <a href="/api/v1/cases?{esc(urllib.parse.urlencode({**keep, "format": "csv"}))}">'
            f'CSV</a> · {xlsx_link("/api/v1/cases", keep, lang)}</p>')
    nav = " ".join(f'<a href="/cases?{esc(urllib.parse.urlencode({**keep, "page": p}))}">{label_}</a>'
                   for p, label_ in ((page - 1, "‹"), (page + 1, "›"))
                   if 0 <= p and p * PAGE < out["total"])
    rows = ([f'<a href="/cases/{in_url(r["case_id"])}">{esc(r["case_id"])}</a>',
             esc(local(r["at"])), named(region_name(r["region_code"]), r["region_code"]),
             named(names.of("department_code", r["department_code"]), r["department_code"]),
             named(names.of("item_code", r["item_code"]), r["item_code"]),
             esc(local(r["deadline"]))] for r in out["rows"])
    body = head + table([t("case", lang), t("since", lang), t("region", lang), t("department", lang),
                         t("item", lang), t("due", lang)], rows) + f"<p>{nav}</p>"
    return layout(request, "overview", f"{t('cases', lang)} · {esc(name)}", body)


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/cases", cases_page, READ)
