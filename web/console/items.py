"""An item's console page: the item as listed in force, its figures over the last 30 days, and what people said of it
over the last year (figures, topics, the latest demands with their words and links); all in the caller's regions."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from aiohttp import web

from core.names import Names
from streams.demands import queries
from streams.indicators.queries import indicators
from streams.indicators.window import Window
from streams.powerlist.queries import item_history, items_as_of
from web.common import POOL, READ, route
from web.console import demands as said
from web.console.i18n import label, say, script, t
from web.console.pages import esc, fmt, in_url, lang_of, layout, named, regions, table

FIGURES = ("received", "completed", "on_time_rate", "avg_handling_hours", "satisfaction_rate")
WORDS = {
    "recent_month": ("辦件 · 近30天", "cases · last 30 days"), "not_in_force": ("該事項現已不在清單中，以下為最後一版",
                                                                  "No longer on the list: its last version"),
    "all_demands": ("全部訴求", "all its demands"),
}


def w(key: str, lang: str) -> str:
    return say(WORDS, key, lang)


async def _demands(conn, code: str, scope: str, lang: str) -> str:
    end = datetime.now(timezone.utc)
    start = end - timedelta(days=365)
    rows = (await queries.figures(conn, start, end, "item", scope, item=code))["rows"]
    latest = (await queries.listing(conn, code, None, False, 20, scope))["demands"]
    names = await Names.load(conn, [d["link"]["department_code"] for d in latest], [code])
    span = f"from={start.date().isoformat()}&to={end.date().isoformat()}"
    out = f'<h2>{said.w("recent_year", lang)}</h2>' + table(
        [*(said.w(c, lang) for c in said.COLUMNS), said.w("topics", lang)],
        ([*(said.cell(c, r[c]) for c in said.COLUMNS), esc("、".join(f"{k} {n}" for k, n in r["topics"].items()))]
         for r in rows))
    return (out + f'<h2>{said.w("latest", lang)} · <a href="/demands?{span}&item={in_url(code)}">'
            f'{w("all_demands", lang)}</a></h2>' + said.demand_rows(latest, names, lang))


async def item_page(request: web.Request) -> web.Response:
    lang, code, scope = lang_of(request), request.match_info["code"], request["caller"].scope
    now = datetime.now(timezone.utc)
    async with request.app[POOL].acquire() as conn:
        h = await item_history(conn, code, scope)
        if not h["versions"]:
            raise web.HTTPNotFound(text="no such item in your scope")
        current = await items_as_of(conn, now, code, True, 1, scope)
        i = current[0] if current else h["versions"][-1]
        names = await Names.load(conn, [i["department_code"]])
        cases = await indicators(conn, Window(now - timedelta(days=30), now), (), {"item_code": code}, scope)
        body = _listed(i, lang, names, bool(current))
        body += f'<h2>{w("recent_month", lang)}</h2>' + table(
            [esc(label(k, lang)) for k in FIGURES], [[fmt(k, cases[0][k] if cases else None) for k in FIGURES]])
        body += await _demands(conn, code, scope, lang)
    return layout(request, "list", esc(i["name"] or code), body)


def _listed(i: dict, lang: str, names: Names, in_force: bool) -> str:
    """The item as the list has it: code, type, department, level, regions, and its history."""
    rows = [(t("item", lang), esc(i["item_code"])), (t("category", lang), esc(script(i["category"], lang) if i["category"] else "—")),
            (t("department", lang), named(names.of("department_code", i["department_code"]), i["department_code"])),
            (t("level", lang), esc(t("level_" + i["level"], lang) if i["level"] else "—")),
            (t("region", lang), regions(i["region_codes"], lang))]
    note = "" if in_force else f'<p class="note">{w("not_in_force", lang)}</p>'
    return note + table(["", ""], ([k, v] for k, v in rows)) + (
        f'<p><a href="/list?code={in_url(i["item_code"])}">{t("history", lang)}</a></p>')


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/items/{code}", item_page, READ)
