"""Demands in the console (spec/demands.md §4): figures for a window and grouping, topics month by month, and the
demands behind them with the words that chose each topic; every read in the caller's regions."""
from __future__ import annotations

import urllib.parse
from datetime import datetime, timedelta, timezone

from aiohttp import web

from streams.demands import manual, queries
from streams.indicators.window import QueryError, parse_instant
from web.common import POOL, READ, route
from core.names import Names, region_name
from core.tz import TZ
from web.console.i18n import say, t
from web.console.pages import allowed, esc, in_url, lang_of, layout, local, named, table
from web.views.demands import LINK_DEMANDS, link_demand

COLUMNS = ("demands", "complaints", "repeat_requesters", "resolved_rate", "satisfaction_rate", "handling_hours",
           "complaints_per_10k_cases")
WORDS = {  # written once in traditional characters, shown in the reader's script
    "demands": ("訴求數", "demands"), "complaints": ("投訴", "complaints"), "repeat_requesters": ("重複訴求人", "repeat"),
    "resolved_rate": ("解決率", "resolved"), "satisfaction_rate": ("滿意率", "satisfied"),
    "handling_hours": ("平均辦理時長（小時）", "handling (hours)"),
    "complaints_per_10k_cases": ("每萬件辦件投訴數", "complaints per 10k cases"), "topics": ("主題", "topics"),
    "item": ("事項", "item"), "department": ("部門", "department"), "region": ("區劃", "region"),
    "channel": ("渠道", "channel"), "topic": ("主題", "topic"), "topics_by_month": ("各月主題", "topics by month"),
    "text": ("原話", "text"), "link": ("關聯", "linked to"), "received": ("收到", "received"),
    "given": ("來源標明", "given"), "matched": ("文本匹配", "matched"), "manual": ("人工關聯", "by hand"),
    "recent_year": ("群眾訴求 · 近一年", "demands · last year"), "by": ("分組", "by"),
    "demand": ("訴求", "Demand"), "kind": ("類型", "kind"), "outcome": ("辦理結果", "outcome"),
    "satisfaction": ("滿意度", "satisfaction"), "handled": ("辦結", "handled"), "case": ("辦件", "case"),
    "link_to": ("關聯到事項", "Link to the item"), "relink": ("更正關聯", "Correct the link"),
    "pick_item": ("事項（輸入名稱選擇，或填編碼）", "Item (type its name, or its code)"),
    "pick_note": ("可選事項：訴求所在區劃現行有效的事項", "Items in force in the demand's region"),
    "may_not_link": ("人工關聯由監督人員或清單管理員辦理", "Supervisors and list administrators link demands by hand"),
    "latest": ("最近的訴求", "latest demands"), "unlinked": ("未關聯", "not linked"),
}


def w(key: str, lang: str) -> str:
    return say(WORDS, key, lang)


def _window(request: web.Request) -> tuple[datetime, datetime]:
    try:
        raw = {k: (request.query.get(k) or "").strip()[:40] for k in ("from", "to")}
        end = parse_instant(raw["to"], "to") if raw["to"] else datetime.now(timezone.utc)
        start = parse_instant(raw["from"], "from") if raw["from"] else end - timedelta(days=365)
    except QueryError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    if end <= start:
        raise web.HTTPBadRequest(text="empty window: to must be after from")
    return start, end


def cell(column: str, v) -> str:
    if v is None:
        return "—"
    if column.endswith("_rate"):
        return f"{v * 100:.1f}%"
    return esc(f"{v:.1f}" if isinstance(v, float) else v)


def _key(by: str, v, names: Names) -> str:
    """A group's key by name where it stands for something (item, department, region), the code on hover."""
    if v is None:
        return "—"
    if by in ("item", "department"):
        return named(names.of("item_code" if by == "item" else "department_code", v), v)
    return named(region_name(v), v) if by == "region" else esc(v)


async def demands_page(request: web.Request) -> web.Response:
    lang, (start, end) = lang_of(request), _window(request)
    by = request.query.get("by") if request.query.get("by") in queries.GROUPS else "item"
    item, topic = (request.query.get("item") or "")[:64] or None, (request.query.get("topic") or "")[:20] or None
    scope = request["caller"].scope
    key = queries.GROUPS[by][0]
    async with request.app[POOL].acquire() as conn:
        fig = await queries.figures(conn, start, end, by, scope)
        months = await queries.topics_by_month(conn, start, end, scope)
        shown = await queries.listing(conn, item, topic, request.query.get("unlinked") == "1", 50, scope)
        names = await Names.load(conn, ([r[key] for r in fig["rows"]] if by == "department" else [])
                                 + [d["link"]["department_code"] for d in shown["demands"]],
                                 [r[key] for r in fig["rows"]] + [d["link"]["item_code"] for d in shown["demands"]])
    d0, d1 = start.astimezone(TZ).date().isoformat(), end.astimezone(TZ).date().isoformat()
    span = f'from={d0}&to={d1}'
    body = (f'<form method="get" action="/demands"><input type="date" name="from" value="{d0}">'
            f'<input type="date" name="to" value="{d1}"><label>{w("by", lang)} <select name="by">'
            + "".join(f'<option value="{g}"{" selected" if g == by else ""}>{w(g, lang)}</option>' for g in queries.GROUPS)
            + f'</select></label><button>{t("show", lang)}</button></form>')

    def drill(r) -> str:
        if by in ("item", "topic") and r[key] is not None:
            return f'<a href="/demands?{span}&{by}={in_url(r[key])}">{_key(by, r[key], names)}</a>'
        return _key(by, r[key], names)

    body += table([w(by, lang), *(w(c, lang) for c in COLUMNS), w("topics", lang)],
                  ([drill(r), *(cell(c, r[c]) for c in COLUMNS),
                    esc("、".join(f"{k} {n}" for k, n in r["topics"].items()))] for r in fig["rows"]))
    by_month: dict[str, dict[str, int]] = {}
    for r in months:
        by_month.setdefault(r["month"], {})[r["topic"]] = r["n"]
    topics = sorted({r["topic"] for r in months})
    body += f"<h2>{w('topics_by_month', lang)}</h2>" + table(["", *map(esc, topics)], (
        [esc(m), *(esc(c.get(tp, 0)) for tp in topics)] for m, c in sorted(by_month.items())))
    head = (f'<a href="/items/{in_url(item)}">{_key("item", item, names)}</a>' if item else esc(topic or ""))
    body += f"<h2>{head}</h2>" + demand_rows(shown["demands"], names, lang)
    return layout(request, "demands", t("demands", lang), body)


def _link(d: dict, names: Names, lang: str) -> str:
    """How a demand is linked: the item by name (to its page), else the department; how, and by whom by hand."""
    k = d["link"]
    if not k["item_code"] and not k["department_code"]:  # to its page, where it is linked by hand
        return f'<a href="/demands/{in_url(d["demand_id"])}">{w("unlinked", lang)}</a>'
    out = (f'<a href="/items/{in_url(k["item_code"])}">{_key("item", k["item_code"], names)}</a>' if k["item_code"]
           else _key("department", k["department_code"], names))
    if k["how"]:
        out += f' （{esc(w(k["how"], lang) if k["how"] in WORDS else k["how"])}）'
    if k["how"] == "manual" and k.get("by"):
        out += f' <small>{esc(k["by"])} {esc(local(k["at"]))}</small>'
    return out


def topic_words(d: dict) -> str:
    return "<br>".join(esc(x["topic"]) + (f'：{esc("、".join(x["words"]))}' if x["words"] else "") for x in d["topics"])


def demand_rows(demands: list[dict], names: Names, lang: str) -> str:
    """The demands as a table: the masked text, the words that chose each topic, the link, when received; each
    leading to its own page (where a person who may links it by hand)."""
    return table(["", w("text", lang), w("topics", lang), w("link", lang), w("received", lang)], (
        [f'<a href="/demands/{in_url(d["demand_id"])}">{esc(d["demand_id"])}</a>', esc(d["text"]), topic_words(d),
         _link(d, names, lang), esc(local(d["received_at"]))] for d in demands))


async def unit_section(conn, unit: str, scope: str, lang: str = "zh") -> str:
    """A unit's page: its items' demands over the last year, each row leading to the texts."""
    end = datetime.now(timezone.utc)
    start = end - timedelta(days=365)
    rows = (await queries.figures(conn, start, end, "item", scope, department=unit))["rows"]
    if not rows:
        return ""
    span = f'from={start.date().isoformat()}&to={end.date().isoformat()}'
    names = await Names.load(conn, (), [r["item_code"] for r in rows])
    return f"<h2>{w('recent_year', lang)}</h2>" + table([w("item", lang), *(w(c, lang) for c in COLUMNS)], (
        [f'<a href="/items/{in_url(r["item_code"])}">{_key("item", r["item_code"], names)}</a>' if r["item_code"]
         else "—", f'<a href="/demands?{span}&item={in_url(r["item_code"])}">{cell("demands", r["demands"])}</a>'
         if r["item_code"] else cell("demands", r["demands"]), *(cell(c, r[c]) for c in COLUMNS[1:])] for r in rows))


def _link_form(request: web.Request, d: dict, items, lang: str) -> str:
    """The picker by name among the items in force in the demand's region, for a person who may link; a note for
    one who may not (the route refuses them too)."""
    if not allowed(request, LINK_DEMANDS):
        return f'<p class="note">{w("may_not_link", lang)}</p>'
    options = "".join(f'<option value="{esc(i.name)}" label="{esc(i.item_code)}">' for i in items)
    return (f'<form class="start" method="post" action="/console/demands/{in_url(d["demand_id"])}/link">'
            f'<input type="hidden" name="csrf" value="{esc(request.get("csrf", ""))}">'
            f'<datalist id="items">{options}</datalist><label>{w("pick_item", lang)} <input name="item" list="items"'
            f' required autocomplete="off" maxlength="200"></label> '
            f'<button>{w("relink" if d["link"]["item_code"] else "link_to", lang)}</button></form>'
            f'<p class="note">{w("pick_note", lang)}（{len(items)}）</p>')


async def demand_page(request: web.Request) -> web.Response:
    lang, demand_id = lang_of(request), request.match_info["id"]
    async with request.app[POOL].acquire() as conn:
        d, items = await manual.choices(conn, demand_id, request["caller"].scope)
        names = await Names.load(conn, [d["link"]["department_code"]], [d["link"]["item_code"]])
    rows = [(w("text", lang), esc(d["text"])), (w("topics", lang), topic_words(d)),
            (w("link", lang), _link(d, names, lang)), (w("received", lang), esc(local(d["received_at"]))),
            (w("channel", lang), esc(d["channel"])), (w("kind", lang), esc(d["kind"])),
            (w("region", lang), named(region_name(d["region_code"]), d["region_code"])),
            (w("case", lang), esc(d["case_id"] or "—")), (w("handled", lang), esc(local(d["handled_at"]) or "—")),
            (w("outcome", lang), esc(d["outcome"] or "—")), (w("satisfaction", lang), esc(d["satisfaction"] or "—"))]
    body = table(["", ""], ([k, v] for k, v in rows)) + _link_form(request, d, items, lang)
    return layout(request, "demands", f'{w("demand", lang)} · {esc(demand_id)}', body)


async def link_from_form(request: web.Request) -> web.Response:
    demand_id = request.match_info["id"]
    await link_demand(request, demand_id, str((await request.post()).get("item") or ""))
    raise web.HTTPFound(f"/demands/{urllib.parse.quote(demand_id, safe='')}")


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/demands", demands_page, READ)
    route(app, "GET", "/demands/{id}", demand_page, READ)
    route(app, "POST", "/console/demands/{id}/link", link_from_form, LINK_DEMANDS)
