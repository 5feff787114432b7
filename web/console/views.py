"""The supervisors' console: the live overview, drill-down to a case and why it counts as it does, alerts with
acknowledge and silence, the list with its history and propagation; the other pages' routes. Every page reads
through the caller's region scope, as the API does."""
from __future__ import annotations

import asyncio
import functools
import json
import urllib.parse
from datetime import datetime, timedelta, timezone

from aiohttp import web

from web.console import analysis, archive, cases, demands, drafts, evaluation, org, proposals, sheets, signin
from web.console import items as item_pages
from web.console.i18n import WORDS, script, t
from web.console.live import CARDS, COLUMNS, LiveHub
from web.console.pages import allowed, esc, fmt, in_url, lang_of, layout, local, named, regions, table
from web.console.sheets import xlsx_link
from core.access import within
from core.figures import fmt as figure
from core.names import Names, region_name
from core.tz import TZ
from web.common import POOL, PUBLIC, READ, SETTINGS, Policy, route, static
from streams.alerts.state import act_on_alert, alerts_overview
from streams.alerts.engine import group_parts
from streams.alerts.rules import load_rules
from streams.calendar.store import loaded_years, missing_years
from streams.indicators.edges import due_sql, overdue_sql
from streams.indicators.queries import indicators, parse_window
from streams.powerlist.queries import item_history, items_as_of


def _window(request: web.Request):
    """The overview's window: today (live), this month, or a chosen [from, to); local dates."""
    if request.query.get("from"):
        return "chosen", parse_window(request.query.get("from"), request.query.get("to") or None)
    if request.query.get("window") == "month":
        return "month", parse_window(datetime.now(TZ).replace(day=1).date().isoformat(), None)
    return "today", parse_window(None, None)


async def _figures(request: web.Request, window) -> tuple[dict, list[dict]]:
    scope = request["caller"].scope
    async with request.app[POOL].acquire() as conn:
        total = (await indicators(conn, window, (), scope=scope))[0]
        rows = await indicators(conn, window, ("region_code",), scope=scope)
    return total, [r for r in rows if r["region_code"]]


async def overview(request: web.Request) -> web.Response:
    """Every figure for today (live), this month or a chosen window; each links on with the same window."""
    from web.console.i18n import WORDS, label

    lang = lang_of(request)
    which, window = _window(request)
    total, rows = await _figures(request, window)
    async with request.app[POOL].acquire() as conn:
        gaps = _calendar_notes(await loaded_years(conn), window.t0, window.t1, lang)
    # today's figures move: its links leave the end open (until the moment they are followed)
    span = urllib.parse.urlencode({"from": window.t0.isoformat(),
                                   **({} if which == "today" else {"to": window.t1.isoformat()})})
    cards = "".join(f'<a class="card" href="/cases?figure={k}&amp;{esc(span)}" title="{esc(k)}"><div class="k">'
                    f'{esc(label(k, lang))}'
                    f'</div><div class="v" data-k="{k}">{fmt(k, total[k])}</div>'
                    + (f'<div class="note">{esc(t("note_" + k, lang))}</div>' if "note_" + k in WORDS else "")
                    + "</a>" for k in CARDS)
    choose = ('<form class="window" method="get" action="/">'
              + "".join(f'<a href="/?window={w}" class="{"on" if which == w else ""}">{t(w, lang)}</a> '
                        for w in ("today", "month"))
              + f'<input type="date" name="from" aria-label="from" value="{window.t0.astimezone(TZ).date()}">'
              f'<input type="date" name="to" aria-label="to"><button>{t("show", lang)}</button></form>')
    data = json.dumps(live_message(total, rows), ensure_ascii=False)
    chart_labels = {k: label(k, lang) for k in ("received", "completed", "overdue")}
    body = (choose + "".join(f'<p class="bad">{esc(g)}</p>' for g in gaps)
            + f'<p class="note">{esc(local(window.t0))} → {esc(local(window.t1))}'
            + (f' · {t("live", lang)}' if which == "today" else "") + "</p>"
            + f'<div class="cards">{cards}</div><div id="chart" data-labels="{esc(json.dumps(chart_labels, ensure_ascii=False))}"></div>'
            + table([t("region", lang), *(esc(label(k, lang)) for k in COLUMNS)],
                    ([f'<a href="/drill?region={in_url(r["region_code"])}&amp;{esc(span)}">'
                      f'{named(region_name(r["region_code"]), r["region_code"])}</a>',
                      *(f'<a href="/cases?figure={k}&amp;region_code={in_url(r["region_code"])}&amp;{esc(span)}">'
                        f'{fmt(k, r[k])}</a>' for k in COLUMNS)] for r in rows), cls="live")
            .replace('<table class="live">', f'<table class="live" data-columns="{",".join(COLUMNS)}"'
                                             f' data-span="{esc(span)}">'))
    # data, not code: the page runs no inline script (the Content-Security-Policy allows none)
    rows_json = data.replace("<", "\\u003c")
    scripts = (f'<script type="application/json" id="initial-rows">{rows_json}</script>'
               '<script src="/static/echarts.min.js"></script><script src="/static/console.js"></script>')
    return layout(request, "overview", t("overview", lang), body,
                  stream="/console/stream" if which == "today" else None, scripts=scripts)


def live_message(total: dict, rows: list[dict]) -> dict:
    """What the overview shows, in one message: the tiles, the chart and the region table agree by construction."""
    return {"total": {k: figure(k, total.get(k)) for k in CARDS},
            "rows": [{"region_code": r["region_code"], "region_name": region_name(r["region_code"]),
                      **{k: r[k] for k in ("received", "completed", "overdue")},
                      "cells": [figure(k, r[k]) for k in COLUMNS]} for r in rows]}


async def stream(request: web.Request) -> web.StreamResponse:
    """Server-sent events: the scope's message each time the hub computes a new one (console/live.py)."""
    hub: LiveHub = request.app[LIVE]
    # a person's stream ends with their account or session; a service credential's with the hub
    caller = request["caller"]
    watcher = hub.subscribe(caller.scope, request.get("person"), request.get("session"), caller.role,
                            request.get("token"))
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                       "X-Content-Type-Options": "nosniff"})
    await resp.prepare(request)
    try:
        while True:
            try:
                msg = await asyncio.wait_for(watcher.queue.get(), 15)
            except asyncio.TimeoutError:
                await resp.write(b": keep-alive\n\n")  # a reader that left is noticed, and let go
                continue
            if msg is None:  # the user was disabled, or the session ended
                await resp.write(b"event: end\ndata: {}\n\n")
                break
            await resp.write(f"data: {msg}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        hub.unsubscribe(watcher)
    return resp


async def drill(request: web.Request) -> web.Response:
    """Region → department → item → its cases."""
    lang = lang_of(request)
    from web.console.i18n import label

    scope = request["caller"].scope
    q = {k: request.query.get(k) for k in ("region", "department", "item")}
    if q["region"] and not within(scope, q["region"]):
        raise web.HTTPForbidden(text="that region is outside your scope")
    # the overview's window (today, local) unless one is given; it travels with every link below
    window = parse_window(request.query.get("from"), request.query.get("to"))
    span = {"from": window.t0.isoformat(), "to": window.t1.isoformat()}
    level = "item_code" if q["department"] else "department_code" if q["region"] else "region_code"
    filters = {k: v for k, v in (("region_code", q["region"]), ("department_code", q["department"])) if v}
    if q["item"]:  # an item's cases: those it received in the window, each page saying why it counts
        raise web.HTTPFound("/cases?" + urllib.parse.urlencode({"figure": "received", **filters,
                                                                 "item_code": q["item"], **span}))
    async with request.app[POOL].acquire() as conn:
        groups = await indicators(conn, window, (level,), filters, scope)
        names = await Names.load(conn, (r[level] for r in groups if level == "department_code"),
                                 (r[level] for r in groups if level == "item_code"))
    keys = ("received", "completed", "in_progress", "overdue", "on_time_rate", "avg_handling_hours")
    link = lambda v: "/drill?" + esc(urllib.parse.urlencode({  # noqa: E731
        **{k: q[k] for k in ("region", "department") if q[k]},
        {"region_code": "region", "department_code": "department", "item_code": "item"}[level]: v, **span}))
    heading = {"region_code": "region", "department_code": "department", "item_code": "item"}[level]
    def cases_of(r: dict, k: str) -> str:  # the cases behind the number: the group's filters, the same window
        params = {"figure": k, **filters, level: r[level], **span}
        return f'<a href="/cases?{esc(urllib.parse.urlencode(params))}">{fmt(k, r[k])}</a>'

    body = table([t(heading, lang), *(esc(label(k, lang)) for k in keys)],
                 ([f'<a href="{link(r[level])}">{named(names.of(level, r[level]), r[level])}</a>',
                   *(cases_of(r, k) for k in keys)] for r in groups if r[level]))
    # the workbook: every indicator at this level, grouped with the levels above it (the API has no filters)
    sheet = xlsx_link("/api/v1/indicators", {**span, "group_by": ",".join([*filters, level])}, lang)
    return layout(request, "drill", t("drill", lang),
                  f'<p class="note">{esc(local(window.t0))} → {esc(local(window.t1))} · {sheet}</p>' + body)


async def case(request: web.Request) -> web.Response:
    """A case: its events, its deadline as computed (the calendar's working days, the suspensions that moved it),
    its state, and why it counts where it counts."""
    lang = lang_of(request)
    cid = request.match_info["id"]
    now = datetime.now(timezone.utc)
    async with request.app[POOL].acquire() as conn:
        st = await conn.fetchrow(
            f"SELECT s.*, {due_sql('$2')} AS due, s.ended_at IS NULL AND s.accepted_at IS NOT NULL"
            f" AND {overdue_sql('$2', '$2')} AS overdue FROM case_state s WHERE case_id = $1", cid, now)
        if st is None or not within(request["caller"].scope, st["region_code"]):
            raise web.HTTPNotFound(text="no such case in your scope")
        evs = await conn.fetch("SELECT e.event_id, e.type, e.occurred_at, e.deadline, v.rule FROM case_event e"
                               " LEFT JOIN violation v USING (event_id) WHERE e.case_id = $1 ORDER BY occurred_at", cid)
        names = await Names.load(conn, [st["department_code"]], [st["item_code"]])
        loaded = await loaded_years(conn)
    why = []
    if st["accepted_at"] and st["due"]:  # a deadline counted over a year without its holidays says so
        why += _calendar_notes(loaded, st["accepted_at"], st["due"], lang)
    state = t("case_ended" if st["ended_at"] else "case_open" if st["accepted_at"] else "case_submitted", lang)
    if st["due"] is None:
        why.append(t("why_no_deadline", lang))
    elif st["overdue"]:  # the rule the figure counts by (overdue_sql), not decided again here
        late = now - st["due"]
        why.append(f'{t("why_overdue", lang)} {late.days}{t("days", lang)}{late.seconds // 3600}{t("hours", lang)}')
    elif st["ended_at"] is not None and st["due"] is not None:
        why.append(t("why_on_time" if st["ended_at"] <= st["due"] else "why_late", lang))
    rules = sorted({e["rule"] for e in evs if e["rule"]})
    if rules:
        why.append(f'{t("outside_list", lang)}: {", ".join(t("rule_" + r, lang) for r in rules)}')
    suspended = [f"{local(r.lower)} → {local(r.upper) if r.upper else '…'}" for r in (st["suspensions"] or [])]
    facts = table([t("status", lang), t("region", lang), t("department", lang), t("item", lang), t("due", lang),
                   t("suspensions", lang), t("why", lang)],
                  [[esc(state), named(region_name(st["region_code"]), st["region_code"]),
                    named(names.of("department_code", st["department_code"]), st["department_code"]),
                    named(names.of("item_code", st["item_code"]), st["item_code"]),
                    esc(local(st["due"]) if st["due"] else "—"), esc("; ".join(suspended) or "—"),
                    f'<span class="bad">{esc("; ".join(why))}</span>']])
    body = facts + table([t("events", lang), t("kind", lang), t("since", lang), t("due", lang),
                          t("outside_list", lang)],
                         ([esc(e["event_id"]), esc(t("ev_" + e["type"], lang)), esc(local(e["occurred_at"])),
                           esc(local(e["deadline"]) if e["deadline"] else ""),
                           f'<span class="bad">{esc(t("rule_" + e["rule"], lang) if e["rule"] else "")}</span>']
                          for e in evs))
    return layout(request, "drill", f'{t("case", lang)} {esc(cid)}', body)


def _calendar_notes(loaded: set[int], first, last, lang: str) -> list[str]:
    from core.tz import local_day

    missing = missing_years(loaded, local_day(first), local_day(last))
    runs: list[list[int]] = []
    for y in missing:  # consecutive years as one span: 2000–2024
        if runs and runs[-1][-1] == y - 1:
            runs[-1].append(y)
        else:
            runs.append([y])
    years = "、".join(str(r[0]) if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs)
    return [t("calendar_missing", lang).format(years)] if missing else []


@functools.lru_cache(maxsize=4)
def _summaries(rules_path) -> dict[str, str]:
    """The rules' summaries, read once (the worker, too, reads its rules file when it starts)."""
    return {r.name: r.summary for r in load_rules(rules_path).rules if r.summary}


async def alerts_page(request: web.Request) -> web.Response:
    lang, scope = lang_of(request), request["caller"].scope
    async with request.app[POOL].acquire() as conn:
        data = await alerts_overview(conn)
        data["alerts"] = [a for a in data["alerts"] if _alert_within(scope, a["group_key"])]
        groups = {a["group_key"]: group_parts(a["group_key"]) for a in data["alerts"]}
        names = await Names.load(conn, *({v for parts in groups.values() for k, v in parts if k == dim}
                                         for dim in ("department_code", "item_code")))
    dims = {"region_code": "region", "department_code": "department", "item_code": "item", "level": "level",
            "year": "year"}
    summaries = _summaries(request.app[SETTINGS].alert_rules)

    def group(key: str) -> str:  # names, not codes (the code on hover); levels in words
        return " · ".join(f'{t(dims[k], lang)} ' + (esc(t("level_" + v, lang)) if k == "level" and "level_" + v in WORDS
                                                   else named(names.of(k, v) if k != "level" else None, v))
                          for k, v in groups[key]) or esc(t("all", lang))

    csrf = esc(request.get("csrf", ""))
    rows = []
    acts = allowed(request, ACT_ON_ALERTS)
    for a in data["alerts"]:
        actions = "" if not acts else "".join(f'<form class="inline" method="post" action="/console/alerts/{a["id"]}/{act}">'
                          f'<input type="hidden" name="csrf" value="{csrf}"><button>{t(act, lang)}</button></form> '
                          for act in ("ack", "silence"))
        silenced = a["silenced_until"] and a["silenced_until"] > datetime.now(timezone.utc)
        done = "; ".join(x for x in (
            f'{t("acked_by", lang)} {a["acknowledged_by"]} {local(a["acknowledged_at"])}' if a["acknowledged_by"] else "",
            f'{t("silenced_until", lang)} {local(a["silenced_until"])}' if silenced else "") if x)
        rows.append([named(script(summaries[a["rule"]], lang), a["rule"]) if a["rule"] in summaries else
                     named(t("rule_" + a["rule"], lang), a["rule"]) if "rule_" + a["rule"] in WORDS else esc(a["rule"]),
                     group(a["group_key"]), esc(t("alert_" + a["status"], lang)),
                     esc(t("sev_" + a["severity"], lang) if "sev_" + a["severity"] in WORDS else a["severity"]),
                     fmt("v", a["value"]), f'<span class="good">{esc(done)}</span>', actions])
    body = table([t("rule", lang), t("group", lang), t("status", lang), t("severity", lang), t("value", lang),
                  t("handled", lang), ""], rows)
    return layout(request, "alerts", t("alerts", lang), body)


def _alert_within(scope: str, group_key: str) -> bool:
    """An alert a caller sees: every alert for who sees every region; else those of a region in the scope."""
    region = dict(group_parts(group_key)).get("region_code")
    return within(scope, region) if scope else True


# a supervisor of a city or a county handles the alerts of their regions
ACT_ON_ALERTS = Policy("caller", roles=("supervisor",), scoped=True, write=True)


async def alert_action(request: web.Request) -> web.Response:
    kind = {"ack": "acknowledged", "silence": "silenced"}[request.match_info["act"]]
    aid = int(request.match_info["id"])
    until = datetime.now(timezone.utc) + timedelta(hours=1) if kind == "silenced" else None
    async with request.app[POOL].acquire() as conn:
        key = await conn.fetchval("SELECT group_key FROM alert_state WHERE id = $1", aid)
        if key is None or not _alert_within(request["caller"].scope, key):
            raise web.HTTPNotFound(text="no such alert in your scope")
        await act_on_alert(conn, aid, kind, request["user"], until)
    raise web.HTTPFound("/alerts")


async def list_page(request: web.Request) -> web.Response:
    lang = lang_of(request)
    scope = request["caller"].scope
    code = request.query.get("code")
    async with request.app[POOL].acquire() as conn:
        if code:
            h = await item_history(conn, code, scope)
            if not h["versions"]:
                raise web.HTTPNotFound(text="no such item in your scope")
            body = table([t("since", lang), t("until", lang), t("kind", lang), t("in_force", lang), t("level", lang),
                          t("region", lang), t("change", lang)],
                         ([esc(local(v["valid_from"])), esc(local(v["valid_to"]) if v["valid_to"] else ""),
                           esc(t("act_" + v["action"], lang)), esc(t("yes" if v["active"] else "no", lang)),
                           esc(t("level_" + v["level"], lang) if v["level"] else ""), regions(v["region_codes"], lang),
                           esc(v["change_id"])] for v in h["versions"]))
            body += table([t("change", lang), t("kind", lang), t("status", lang), t("attempts", lang),
                           t("latency", lang)],
                          ([esc(x["change_id"]), esc(t("act_" + x["action"], lang)),
                            esc(t("sync_" + x["status"], lang)), esc(x["attempts"]), esc(x["latency_ms"])]
                           for x in h["sync"])) if request["caller"].everywhere else ""
            return layout(request, "list", f'{t("history", lang)} · {esc(code)}', body)
        items = await items_as_of(conn, datetime.now(timezone.utc), None, True, 2000, scope)
        names = await Names.load(conn, (i["department_code"] for i in items))
    body = xlsx_link("/api/v1/list/items", {"active": "true"}, lang) + table(
        [t("item", lang), t("item_name", lang), t("department", lang), t("level", lang), t("region", lang)],
                 ([f'<a href="/list?code={in_url(i["item_code"])}">{esc(i["item_code"])}</a>',
                   f'<a href="/items/{in_url(i["item_code"])}">{esc(i["name"])}</a>',
                   named(names.of("department_code", i["department_code"]), i["department_code"]),
                   esc(t("level_" + i["level"], lang) if i["level"] else ""), regions(i["region_codes"], lang)]
                  for i in items))
    return layout(request, "list", t("list", lang), body)


LIVE = web.AppKey("live", LiveHub)


async def _live(app: web.Application):
    hub = app[LIVE] = LiveHub(app[POOL], app[SETTINGS].database_url, live_message)
    await hub.start()
    yield
    await hub.stop()


async def _end_streams(app: web.Application) -> None:
    app[LIVE].end_all()


def add_routes(app: web.Application, static_dir, echarts) -> None:
    app.cleanup_ctx.append(_live)
    app.on_shutdown.append(_end_streams)
    signin.add_routes(app)
    route(app, "GET", "/", overview, READ)
    route(app, "GET", "/console/stream", stream, READ)
    route(app, "GET", "/drill", drill, READ)
    route(app, "GET", "/cases/{id}", case, READ)
    route(app, "GET", "/alerts", alerts_page, READ)
    route(app, "POST", "/console/alerts/{id:[0-9]{1,18}}/{act:ack|silence}", alert_action, ACT_ON_ALERTS)
    route(app, "GET", "/list", list_page, READ)
    analysis.add_routes(app)
    org.add_routes(app)
    archive.add_routes(app)
    evaluation.add_routes(app)
    cases.add_routes(app)
    drafts.add_routes(app)
    sheets.add_routes(app)
    proposals.add_routes(app)
    demands.add_routes(app)
    item_pages.add_routes(app)
    if echarts.exists():
        async def charts(request: web.Request) -> web.FileResponse:
            return web.FileResponse(echarts)

        route(app, "GET", "/static/echarts.min.js", charts, PUBLIC)
    static(app, "/static/", static_dir)
