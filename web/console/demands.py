"""Demands in the console (spec/demands.md §4): figures for a window and grouping, topics month by month, and the
demands behind them with the words that chose each topic; every read in the caller's regions."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from aiohttp import web

from streams.demands import queries
from streams.indicators.window import QueryError, parse_instant
from web.common import POOL, READ, route
from web.console.i18n import t
from web.console.pages import esc, in_url, lang_of, layout, local, table

COLUMNS = ("demands", "complaints", "repeat_requesters", "resolved_rate", "satisfaction_rate", "handling_hours",
           "complaints_per_10k_cases")


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


def _cell(v) -> str:
    if v is None:
        return "—"
    return f"{v * 100:.1f}%" if isinstance(v, float) and v <= 1 else esc(v)


async def demands_page(request: web.Request) -> web.Response:
    lang, (start, end) = lang_of(request), _window(request)
    by = request.query.get("by") if request.query.get("by") in queries.GROUPS else "item"
    item, topic = (request.query.get("item") or "")[:64] or None, (request.query.get("topic") or "")[:20] or None
    scope = request["caller"].scope
    async with request.app[POOL].acquire() as conn:
        fig = await queries.figures(conn, start, end, by, scope)
        months = await queries.topics_by_month(conn, start, end, scope)
        shown = await queries.listing(conn, item, topic, request.query.get("unlinked") == "1", 50, scope)
    span = f'from={start.date().isoformat()}&to={end.date().isoformat()}'
    key = queries.GROUPS[by][0]
    body = (f'<form method="get" action="/demands"><input type="date" name="from" value="{start.date().isoformat()}">'
            f'<input type="date" name="to" value="{end.date().isoformat()}"><select name="by">'
            + "".join(f'<option{" selected" if g == by else ""}>{g}</option>' for g in queries.GROUPS)
            + f'</select><button>{t("show", lang)}</button></form>')
    drill = (lambda r: f'<a href="/demands?{span}&item={in_url(r[key])}">{esc(r[key])}</a>') if by == "item" else (
        lambda r: f'<a href="/demands?{span}&topic={in_url(r[key])}">{esc(r[key])}</a>' if by == "topic"
        else esc(r[key] if r[key] is not None else "—"))
    body += table([key, *COLUMNS, "topics"], ([drill(r), *(_cell(r[c]) for c in COLUMNS),
                                               esc(", ".join(f"{k} {n}" for k, n in r["topics"].items()))]
                                              for r in fig["rows"]))
    by_month: dict[str, dict[str, int]] = {}
    for r in months:
        by_month.setdefault(r["month"], {})[r["topic"]] = r["n"]
    topics = sorted({r["topic"] for r in months})
    body += "<h2>topics / month</h2>" + table(["", *map(esc, topics)], (
        [esc(m), *(esc(c.get(tp, 0)) for tp in topics)] for m, c in sorted(by_month.items())))
    body += f'<h2>{esc(item or topic or "")}</h2>' + table(["", "text", "topics", "link", "received"], (
        [esc(d["demand_id"]), esc(d["text"]),
         "<br>".join(f'{esc(x["topic"])}: {esc("、".join(x["words"]))}' for x in d["topics"]),
         esc(d["link"]["item_code"] or d["link"]["department_code"] or "—") + f' ({esc(d["link"]["how"] or "—")})',
         esc(local(d["received_at"]))]
        for d in shown["demands"]))
    return layout(request, "demands", t("demands", lang), body)


async def unit_section(conn, unit: str, scope: str) -> str:
    """A unit's page: its items' demands over the last year, each row leading to the texts."""
    end = datetime.now(timezone.utc)
    start = end - timedelta(days=365)
    rows = (await queries.figures(conn, start, end, "item", scope, department=unit))["rows"]
    if not rows:
        return ""
    span = f'from={start.date().isoformat()}&to={end.date().isoformat()}'
    return "<h2>群众诉求 · 近一年</h2>" + table(["item_code", *COLUMNS], (
        [f'<a href="/demands?{span}&item={in_url(r["item_code"])}">{esc(r["item_code"])}</a>' if r["item_code"]
         else "—", *(_cell(r[c]) for c in COLUMNS)] for r in rows))


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/demands", demands_page, READ)
