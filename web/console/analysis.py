"""Decision support in the console: service chains and recommendations (one turned into a draft), and regions
compared for an item or a department."""
from __future__ import annotations

import json

from aiohttp import web

from core.names import Names, region_name
from streams.analysis.service import analysis_window, chains, recommendations
from web.common import HEAVY, POOL, READ, SETTINGS, SUPERVISE, route
from web.console.i18n import WORDS, t
from web.console.pages import allowed, esc, fmt, lang_of, layout, local, named, table


async def _page_data(conn, window, scope: str) -> tuple[dict, dict]:
    return (await chains(conn, window, scope=scope), await recommendations(conn, window, scope=scope))


async def analysis_page(request: web.Request) -> web.Response:
    lang = lang_of(request)
    scope = request["caller"].scope
    window = analysis_window(None, None)

    # in a child process, within the API's limits and the caller's queue, like /api/v1/analysis
    found, recs = await request.app[HEAVY].run(request["caller"].name, _page_data, window, scope,
                                               timeout=request.app[SETTINGS].analysis_timeout_seconds)
    async with request.app[POOL].acquire() as conn:
        names = await Names.load(conn, (), {i for c in found["chains"] for i in c["items"]}
                                 | {i for r in recs["recommendations"] for i in r["item_codes"]})
    item = lambda code: named(names.of("item_code", code), code)  # noqa: E731
    days = lambda v: "—" if v is None else f"{v:.1f}{t('days', lang)}"  # noqa: E731

    def steps(c: dict) -> str:
        out = []
        for k, st in enumerate(c.get("steps") or [{"item": i} for i in c["items"]]):
            if k:
                out.append(f' <span class="note">→ {t("wait", lang)} {days(st.get("median_wait_days"))} →</span> ')
            mark = ' class="bad"' if st["item"] == c["bottleneck"] else ""
            out.append(f'<span{mark}>{item(st["item"])} ({t("handling", lang)} {days(st.get("median_handling_days"))})'
                       "</span>")
        return "".join(out)

    body = f'<h2>{t("chains", lang)}</h2>' + table(
        [t("chain", lang), t("support", lang), t("end_to_end", lang)],
        ([steps(c), esc(c["support"]), days(c["median_days"])] for c in found["chains"]))
    csrf = esc(request.get("csrf", ""))

    def evidence(r: dict) -> str:
        return "; ".join(f"{t('ev_' + k, lang)} {_evidence_value(k, v, lang, names)}"
                         for k, v in r["evidence"].items() if "ev_" + k in WORDS and v is not None)

    def draft_button(r: dict) -> str:
        if r["kind"] not in ("cancel", "devolve", "merge") or not allowed(request, SUPERVISE):
            return ""
        return (f'<form class="inline" method="post" action="/console/recommendations/draft">'
                f'<input type="hidden" name="csrf" value="{csrf}">'
                f'<input type="hidden" name="recommendation" value="{esc(json.dumps(r, ensure_ascii=False))}">'
                f'<button>{t("draft_it", lang)}</button></form>')

    body += f'<h2>{t("recommendations", lang)}</h2>' + table(
        [t("kind", lang), t("item", lang), t("region", lang), t("evidence", lang), ""],
        ([esc(t("rec_" + r["kind"], lang)), " + ".join(item(i) for i in r["item_codes"]),
          named(region_name(r["region_code"]), r["region_code"]) if r["region_code"] else "", evidence(r),
          draft_button(r)] for r in recs["recommendations"][:50]))
    body = f'<p><a href="/compare">{t("comparison", lang)}</a></p>' + body
    return layout(request, "analysis", t("analysis", lang), body)


def _evidence_value(key: str, v, lang: str, names) -> str:
    """A recommendation's evidence for people: levels and regions by name, dates local, days and rates with units."""
    if key == "level":
        return esc(t("level_" + v, lang)) if "level_" + str(v) in WORDS else esc(v)
    if key == "in_force_since":
        return esc(local(v, False))
    if key == "window_days":
        return esc(f"{v:.0f}{t('days', lang)}")
    if key == "confidence" and isinstance(v, dict):
        return ", ".join(f"{named(names.of('item_code', i), i)} {fmt('x_rate', c)}" for i, c in v.items())
    if key == "lower_level_peers":
        return ", ".join(named(region_name(p["region_code"]), p["region_code"]) for p in v)
    if key == "change_ratio":
        return fmt("x_rate", v)
    if key == "avg_handling_hours":
        return esc(f"{v:.1f}{t('hours', lang)}")
    return fmt(key, v) if isinstance(v, (int, float)) else esc(v)


async def draft_recommendation(request: web.Request) -> web.Response:
    """A supervisor's reading of the evidence becomes a draft for a list administrator to review (two people)."""
    from streams.powerlist import drafts

    form = await request.post()
    try:
        rec = json.loads(str(form.get("recommendation") or ""))
        wanted = drafts.from_recommendation(rec)
    except (ValueError, TypeError) as exc:
        raise web.HTTPBadRequest(text=f"recommendation: {exc}") from None
    async with request.app[POOL].acquire() as conn:
        for w in wanted:
            await drafts.create(conn, w, request["caller"].name, request.app[SETTINGS].overlap_threshold,
                                {"recommendation": rec})
    raise web.HTTPFound("/drafts")


async def compare_page(request: web.Request) -> web.Response:
    """Regions side by side for an item or a department, the worse outliers marked."""
    from web.console.i18n import label
    from streams.analysis.service import comparison
    from streams.indicators.window import QueryError

    lang = lang_of(request)
    item, dept = request.query.get("item") or None, request.query.get("department") or None
    form = (f'<form method="get"><input name="item" placeholder="{t("item_by_name", lang)}" value="{esc(item or "")}"> '
            f'<input name="department" placeholder="{t("department_by_name", lang)}" value="{esc(dept or "")}"> '
            f'<button>{t("search", lang)}</button></form>'
            f'<p class="note">{t("compare_note", lang)}</p>')
    if not item and not dept:
        return layout(request, "analysis", t("comparison", lang_of(request)), form)
    try:
        async with request.app[POOL].acquire() as conn:
            item, dept = await _code(conn, "item", item), await _code(conn, "department", dept)
            out = await comparison(conn, analysis_window(None, None), item if item else None,
                                   None if item else dept, 20, request["caller"].scope)
    except QueryError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    keys = ("received", "on_time_rate", "avg_handling_hours", "satisfaction_rate", "rejection_rate")
    rows = [[named(region_name(r["region_code"]), r["region_code"]),
             *(f'<span class="{"bad" if k in r["worse"] else ""}">{fmt(k, r[k])}</span>' for k in keys)]
            for r in out["rows"]]
    rows.append([t("median", lang), "", *(fmt(k, out["medians"].get(k)) for k in keys[1:])])
    return layout(request, "analysis", t("comparison", lang_of(request)),
                  form + table([t("region", lang), *(esc(label(k, lang)) for k in keys)], rows))


async def _code(conn, kind: str, text):
    """An item's or a department's code from its name (either script) or its code; unknown: 400."""
    from core.script import to_simplified, to_traditional

    if not text:
        return None
    text = text.strip()[:200]
    names = list({text, to_simplified(text), to_traditional(text)})
    column = "item_code" if kind == "item" else "department_code"
    # a code the cases carry is taken as it is (an item off the list has cases too); else a name
    if await conn.fetchval(f"SELECT true FROM case_state WHERE {column} = $1 LIMIT 1", text):
        return text
    sql = ("SELECT DISTINCT item_code FROM list_item_version WHERE item_code = $1 OR name = ANY($2::text[]) LIMIT 2"
           if kind == "item" else
           "SELECT DISTINCT unit_code FROM org_version WHERE part = 'unit' AND (unit_code = $1"
           " OR data->>'name' = ANY($2::text[])) UNION SELECT DISTINCT department_code FROM list_item_version"
           " WHERE department_code = $1 LIMIT 2")
    rows = await conn.fetch(sql, text, names)
    if len(rows) != 1:
        raise web.HTTPBadRequest(text=f"{kind}: no such {kind}" if not rows else f"{kind}: several have that name")
    return rows[0][0]


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/analysis", analysis_page, READ)
    route(app, "POST", "/console/recommendations/draft", draft_recommendation, SUPERVISE)
    route(app, "GET", "/compare", compare_page, READ)
