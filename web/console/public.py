"""The public portal of the power list (權責清單公示): no sign-in, read-only, rate-limited per address: the items in
force by department and region, search by name or code, each item's history, and the monthly figures of the
departments the administrator chose to publish."""
from __future__ import annotations

import time

from aiohttp import web

from web.console.i18n import HTML_LANG, script, t
from web.console.pages import esc, fmt, in_url, lang_of, local, named, table
from core.names import Names, region_name
from web.common import POOL, PUBLIC, client_address, policy_of, route, search_term
from streams.powerlist.queries import item_history

RATE = 5.0  # requests a second per address, with bursts of BURST
BURST = 20.0


def rate_limit():
    """Every route anyone may call without credentials (the portal, sign-in, the OpenAPI document) is limited per
    client address; the health check and static assets are not."""
    buckets: dict[str, tuple[float, float]] = {}

    @web.middleware
    async def limit(request: web.Request, handler):
        policy = policy_of(request)
        if policy is None or policy.who != "anyone" or request.path == "/healthz" or request.path.startswith(
                "/static/"):
            return await handler(request)
        who, now = client_address(request), time.monotonic()
        tokens, last = buckets.get(who, (BURST, now))
        tokens = min(BURST, tokens + (now - last) * RATE)
        if tokens < 1:
            raise web.HTTPTooManyRequests(text="too many requests: slow down", headers={"Retry-After": "1"})
        buckets[who] = (tokens - 1, now)
        if len(buckets) > 10000:  # forget the quiet ones
            for k in [k for k, (_, at) in buckets.items() if now - at > 60]:
                del buckets[k]
        return await handler(request)

    return limit


def both_scripts(q: str) -> list[str]:
    """LIKE patterns for the query in simplified and in traditional characters (OpenCC's tables): 许可 finds 許可
    and back, whichever script the list was written in."""
    from core.access import like_pattern
    from core.script import to_simplified, to_traditional

    return sorted({like_pattern(v) for v in (q, to_simplified(q), to_traditional(q))})


def _page(request: web.Request, title: str, body: str) -> web.Response:
    lang = lang_of(request)
    doc = (f'<!doctype html><html lang="{HTML_LANG[lang]}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, '
           f'initial-scale=1"><title>{esc(title)}</title><link rel="stylesheet" href="/static/console.css"></head>'
           f'<body><header><strong>{t("public", lang)}</strong><a href="/public">{t("list", lang)}</a>'
           f'<a href="/public/figures">{t("monthly", lang)}</a><a href="/public/org">{t("org_public", lang)}</a></header><main><h1>{esc(title)}</h1>{body}</main>'
           '</body></html>')
    return web.Response(text=doc, content_type="text/html")


async def public_list(request: web.Request) -> web.Response:
    lang, q = lang_of(request), search_term(request)
    async with request.app[POOL].acquire() as conn:
        rows = await conn.fetch(
            "SELECT item_code, name, category, department_code, level, region_codes, legal_basis"
            " FROM list_items_at(now()) WHERE active AND ($1 = '' OR item_code ILIKE ANY($2::text[])"
            " OR name ILIKE ANY($2::text[])) ORDER BY department_code, item_code LIMIT 500", q, both_scripts(q))
        names = await Names.load(conn, (r["department_code"] for r in rows))
    form = (f'<form method="get" action="/public"><input name="q" value="{esc(q)}" aria-label="{t("search", lang)}">'
            f'<button>{t("search", lang)}</button></form>')
    body = form + table([t("item", lang), t("item_name", lang), t("category", lang), t("department", lang),
                         t("level", lang), t("region", lang), t("legal_basis", lang)],
                        ([f'<a href="/public/items/{in_url(r["item_code"])}">'
                          f'{esc(r["item_code"])}</a>', esc(r["name"]), esc(script(r["category"] or "", lang)),
                          named(names.of("department_code", r["department_code"]), r["department_code"]),
                          esc(t("level_" + r["level"], lang) if r["level"] else ""),
                          ", ".join(named(region_name(c), c) for c in r["region_codes"]) or t("everywhere", lang),
                          esc(r["legal_basis"])] for r in rows))
    return _page(request, t("public", lang), body)


async def _demand_figures(conn, code: str) -> str:
    """What people said of the item over the last year, as figures (never their texts: spec/demands.md §4)."""
    from datetime import datetime, timedelta, timezone

    from streams.demands.queries import figures

    end = datetime.now(timezone.utc)
    rows = (await figures(conn, end - timedelta(days=365), end, "item", "", code))["rows"]
    if not rows:
        return ""
    r = rows[0]
    rate = lambda v: "—" if v is None else f"{v * 100:.1f}%"  # noqa: E731
    return "<h2>群众诉求 · 近一年</h2>" + table(
        ["demands", "complaints", "resolved_rate", "satisfaction_rate", "topics"],
        [[esc(r["demands"]), esc(r["complaints"]), rate(r["resolved_rate"]), rate(r["satisfaction_rate"]),
          esc(", ".join(f"{k} {n}" for k, n in r["topics"].items()))]])


async def public_item(request: web.Request) -> web.Response:
    lang = lang_of(request)
    code = request.match_info["code"]
    async with request.app[POOL].acquire() as conn:
        h = await item_history(conn, code)
        said = await _demand_figures(conn, code) if h["versions"] else ""
    if not h["versions"]:
        raise web.HTTPNotFound(text="no such item")
    body = said + table([t("since", lang), t("until", lang), t("kind", lang), t("in_force", lang), t("level", lang),
                  t("region", lang), t("legal_basis", lang)],
                 ([esc(local(v["valid_from"])), esc(local(v["valid_to"])), esc(t("act_" + v["action"], lang)),
                   esc(t("yes" if v["active"] else "no", lang)), esc(t("level_" + v["level"], lang) if v["level"] else ""),
                   ", ".join(named(region_name(c), c) for c in v["region_codes"] or []), esc(v["legal_basis"])]
                  for v in h["versions"]))
    return _page(request, f'{t("history", lang)} · {code}', body)


async def public_figures(request: web.Request) -> web.Response:
    """Monthly figures of the published departments, the last twelve local months, as stored (computed by the
    worker when the data changes): a view costs no indicator query."""
    lang = lang_of(request)
    from web.console.i18n import label
    from streams.public.snapshots import published

    async with request.app[POOL].acquire() as conn:
        rows = await published(conn)
        names = await Names.load(conn, (r["department_code"] for r in rows))
    body = table([t("month_col", lang), t("department", lang), esc(label("received", lang)), esc(label("completed", lang)),
                  esc(label("on_time_rate", lang)), esc(label("completed_without_deadline", lang)),
                  esc(label("satisfaction_rate", lang))],
                 ([esc(r["month"]), named(names.of("department_code", r["department_code"]), r["department_code"]),
                   fmt("received", r["received"]),
                   fmt("completed", r["completed"]), fmt("on_time_rate", r["on_time_rate"]),
                   fmt("completed_without_deadline", r["completed_without_deadline"]),
                   fmt("satisfaction_rate", r["satisfaction_rate"])] for r in rows))
    stamp = local(max((r["computed_at"] for r in rows), default=None)) or "—"
    return _page(request, t("monthly", lang), f'<p class="note">{esc(t("no_deadline_note", lang))} · '
                 f'{esc(t("computed_at", lang))} {esc(stamp)}</p>' + body)


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/public", public_list, PUBLIC)
    route(app, "GET", "/public/items/{code}", public_item, PUBLIC)
    route(app, "GET", "/public/figures", public_figures, PUBLIC)
