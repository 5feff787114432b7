"""The staffing half in the console (a unit as of a date with its timeline, the findings with their evidence, the
figures by unit and kind) and in the public portal (機構檢索: units, duties, bodies, quotas, a roster)."""
from __future__ import annotations

import urllib.parse
from datetime import datetime, timezone
from typing import Optional

from aiohttp import web

from web.console import archive, demands
from core.names import Names, region_name
from core.tz import local_day
from web.console.i18n import WORDS, t
from web.console.pages import esc, in_url, lang_of, layout, local, named, table
from web.console.sheets import xlsx_link
from web.console.public import _page, both_scripts
from web.common import HEAVY, POOL, PUBLIC, READ, SETTINGS, route, search_term
from streams.indicators.window import QueryError, parse_instant
from streams.staffing import checks, queries



def _as_of(request: web.Request) -> datetime:
    raw = (request.query.get("as_of") or "").strip()
    if not raw:
        return datetime.now(timezone.utc)
    try:
        return parse_instant(raw[:40], "as_of")
    except QueryError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None


def _date_form(action: str, at: datetime, lang: str, extra: str = "") -> str:
    return (f'<form method="get" action="{action}">{extra}<label>{t("as_of", lang)} <input type="date" name="as_of"'
            f' value="{local_day(at).isoformat()}"></label><button>{t("show", lang)}</button></form>')


def _bars(rows: list[dict]) -> str:
    """Approved against actual per quota kind, as bars that fit any width."""
    totals: dict[str, list[int]] = {}
    for r in rows:
        a = totals.setdefault(r["quota_kind"], [0, 0])
        a[0], a[1] = a[0] + r["approved"], a[1] + r["actual"]
    top = max([x for a in totals.values() for x in a] or [1]) or 1
    out = []
    for kind, (approved, actual) in sorted(totals.items()):
        out.append(f'<div class="bars"><span>{esc(kind)}</span>'
                   f'<div class="bar approved" style="width:{approved / top * 100:.1f}%">{approved}</div>'
                   f'<div class="bar {"over" if actual > approved else "actual"}" style="width:{actual / top * 100:.1f}%">'
                   f'{actual}</div></div>')
    return '<div class="chart">' + "".join(out) + "</div>"


async def org_page(request: web.Request) -> web.Response:
    lang, at = lang_of(request), _as_of(request)
    async with request.app[POOL].acquire() as conn:
        fig = await queries.figures(conn, at, request["caller"].scope)
    rows = fig["rows"]
    body = _date_form("/org", at, lang) + _bars(rows) + xlsx_link(
        "/api/v1/org/figures", {"as_of": at.date().isoformat()}, lang) + table(
        [t("unit", lang), t("quota_kind", lang), t("approved", lang), t("actual", lang), t("vacant", lang),
         t("over", lang), t("usage_rate", lang)],
        ([f'<a href="/org/units/{in_url(r["unit_code"])}?as_of={local_day(at).isoformat()}"'
          f' title="{esc(r["unit_code"])}">'
          f'{esc(r["unit_name"])}</a>', esc(r["quota_kind"]), esc(r["approved"]), esc(r["actual"]), esc(r["vacant"]),
          f'<strong>{r["over"]}</strong>' if r["over"] else "0",
          "—" if r["usage_rate"] is None else f'{r["usage_rate"] * 100:.1f}%'] for r in rows))
    body += (f'<p><a href="/org/findings?as_of={local_day(at).isoformat()}">{t("findings", lang)}</a> · '
             f'<form class="inline" method="get" action="/org/search"><input name="q" aria-label="{t("search", lang)}">'
             f'<button>{t("search", lang)}</button></form></p>')
    return layout(request, "org", t("org", lang), body)


_FIGURES = ("quota_kind", "approved", "actual", "over", "post_level", "posts_approved", "posts_held", "doc_no", "why",
            "item_code", "received", "on_time_rate", "other_unit_code", "score", "persons")


def evidence(f: dict, lang: str, names: Names) -> str:
    """A finding's figures in words: names for codes, a count of people (not their keys), a reason said."""
    out = []
    for k in _FIGURES:
        v = f.get(k)
        if v is None and k != "approved" or k not in f:
            continue
        if k == "persons":
            v = len(v)
        elif k == "why":
            v = t("why_no_doc" if v == "no doc_no" else "why_doc_unknown", lang)
        elif k in ("item_code", "other_unit_code"):
            v = names.of("item_code" if k == "item_code" else "department_code", v) or v
        elif k == "on_time_rate" or k == "score":
            v = f"{v * 100:.0f}%" if isinstance(v, float) else v
        out.append(f"{t('f_' + k, lang)} {esc('—' if v is None else v)}")
    return "; ".join(out)


def subject(f: dict, names: Names) -> str:
    """What a finding is about, by name: a body's name, a duty's text, an item's name; the code on hover."""
    name = (f.get("name") if f["kind"] == "unapproved_body" else f.get("text") if f["kind"].startswith("duty_")
            else names.of("item_code", f["subject"]) if f["kind"] == "power_without_duty" else None)
    return named(name, f["subject"])


async def findings_page(request: web.Request) -> web.Response:
    lang, at, scope = lang_of(request), _as_of(request), request["caller"].scope
    if request.query.get("as_of"):  # another time than now: computed in the bounded child, not in this loop
        s = request.app[SETTINGS]
        found = await request.app[HEAVY].run(request["caller"].name, checks.findings, at, scope, None, None,
                                              checks.DutyParams.of(s), timeout=s.analysis_timeout_seconds)
    else:
        async with request.app[POOL].acquire() as conn:
            found = await checks.stored(conn, at, scope)
    async with request.app[POOL].acquire() as conn:
        names = await Names.load(conn, (f.get("other_unit_code") for f in found),
                                 [f.get("item_code") for f in found] + [f["subject"] for f in found])
    body = _date_form("/org/findings", at, lang) + f'<p class="note">{t("candidate_note", lang)}</p>' + xlsx_link(
        "/api/v1/org/findings", {"as_of": at.date().isoformat()}, lang) + table(
        [t("kind", lang), t("unit", lang), t("subject", lang), t("evidence", lang), t("since", lang), t("basis", lang)],
        ([esc(t(f["kind"], lang)) + (" *" if f["candidate"] else ""),
          f'<a href="/org/units/{in_url(f["unit_code"])}" title="{esc(f["unit_code"])}">{esc(f["unit_name"])}</a>',
          subject(f, names), evidence(f, lang, names), esc(local(f["opened_at"])), esc(f["basis"])]
         for f in found))
    return layout(request, "org", t("findings", lang), body)


async def unit_page(request: web.Request) -> web.Response:
    lang, at, code = lang_of(request), _as_of(request), request.match_info["code"]
    scope = request["caller"].scope
    async with request.app[POOL].acquire() as conn:
        u = await queries.unit_as_of(conn, code, at, scope)
        h = await queries.history(conn, code, scope)
        docs = await archive.unit_documents(conn, code, scope, lang)
        said = await demands.unit_section(conn, code, scope, lang) if h is not None else ""
    if h is None:
        raise web.HTTPNotFound(text="no such unit in your scope")
    return layout(request, "org", u["name"] if u else code, _date_form(f"/org/units/{in_url(code)}", at, lang)
                  + _unit_body(u, lang) + _timeline(h, lang) + docs + said)


def _unit_body(u: Optional[dict], lang: str, public: bool = False) -> str:
    if u is None:
        return f'<p class="note">{t("not_standing", lang)}</p>'
    doc = u.get("document") or {}
    out = (f'<p>{esc(u["nature"])} · {esc(u["rank"])} · {esc(u["funding"])} · {t("region", lang)} '
           f'{named(region_name(u["region_code"]), u["region_code"])}{"" if public else " · " + esc(u["unit_code"])}</p>'
           f'<p class="note">{esc(doc.get("title") or "")} {esc(u["doc_no"])}</p>')
    out += f'<h2>{t("duties", lang)}</h2>' + table(
        ["#", t("duty", lang), t("item", lang), t("status", lang)],
        ([esc(d["duty_id"]), esc(d["text"]), esc(", ".join(d["item_codes"])), esc(t(d["status"], lang))]
         for d in u["duties"]))
    out += f'<h2>{t("bodies", lang)}</h2>' + table(
        [t("bodies", lang), "", t("document", lang)],
        ([esc(b["name"]), esc(b.get("rank") or ""), esc(b["doc_no"] or "—")] for b in u["bodies"]))
    out += f'<h2>{t("quotas", lang)}</h2>' + _bars(u["quotas"]) + table(
        [t("quota_kind", lang), t("approved", lang), t("actual", lang), t("vacant", lang), t("over", lang)],
        ([esc(q["quota_kind"]), esc(q["approved"]), esc(q["actual"]), esc(q["vacant"]), esc(q["over"])]
         for q in u["quotas"]))
    out += table([t("posts", lang), t("approved", lang), t("held", lang)],
                 ([esc(p["post_level"]), esc(p["posts_approved"]), esc(p["posts_held"])] for p in u["posts"]))
    return out


def _timeline(h: dict, lang: str) -> str:
    rows = []
    for v in h["versions"]:
        docs = "; ".join(f'{d.get("doc_no")} {d.get("title") or ""}' for d in v["documents"])
        what = "; ".join(f'{t(c["action"], lang)} {t("part_" + c["part"], lang) if "part_" + c["part"] in WORDS else ""}'
                         f' {_change_key(c)}'.strip() for c in v["changes"][:12])
        rows.append([esc(local(v["at"], False)), esc(docs), esc(what + (" …" if len(v["changes"]) > 12 else "")),
                     f'<a href="?as_of={esc(urllib.parse.quote(v["at"]))}">{t("show", lang)}</a>'])
    return f'<h2>{t("history", lang)}</h2>' + table([t("since", lang), t("document", lang), t("changes", lang), ""],
                                                     rows)


def _change_key(c: dict) -> str:
    """What a change touched, by its name where the record has one (a body's, a duty's text), else its key."""
    data = c.get("after") or c.get("before") or {}
    name = data.get("name") or (data.get("text") or "")[:30] if isinstance(data, dict) else None
    return f"{name} ({c['key']})" if name and name != c["key"] else str(c["key"])


async def search_page(request: web.Request) -> web.Response:
    lang, q = lang_of(request), search_term(request)
    found: dict[str, list] = {"documents": [], "duties": []}
    if q:
        async with request.app[POOL].acquire() as conn:
            found = await queries.search(conn, q, request["caller"].scope)
    body = (f'<form method="get" action="/org/search"><input name="q" value="{esc(q)}" aria-label="{t("search", lang)}">'
            f'<button>{t("search", lang)}</button></form>')
    body += f'<h2>{t("duties", lang)}</h2>' + table([t("unit", lang), t("duty", lang), t("since", lang)], (
        [f'<a href="/org/units/{in_url(d["unit_code"])}">{esc(d["unit_name"])}</a>', esc(d["text"]),
         esc(local(d["valid_from"], False)) + ("" if d["in_force"] else " – " + esc(local(d["valid_to"], False)))]
        for d in found["duties"]))
    body += f'<h2>{t("document", lang)}</h2>' + table([t("document", lang), "", t("since", lang)], (
        [esc(d["doc_no"]), esc(d["title"]), esc(d["issued_at"])] for d in found["documents"]))
    return layout(request, "org", t("search", lang), body)


async def public_units(request: web.Request) -> web.Response:
    """機構檢索: units standing now, by name (either script)."""
    lang, q = lang_of(request), search_term(request)
    async with request.app[POOL].acquire() as conn:
        rows = await conn.fetch(
            "SELECT unit_code, data->>'name' AS name, data->>'nature' AS nature, data->>'rank' AS rank,"
            " data->>'region_code' AS region_code FROM org_units_at(now(), NULL)"
            " WHERE ($1 = '' OR data->>'name' LIKE ANY($2::text[])) ORDER BY region_code, name LIMIT 500",
            q, both_scripts(q))
    body = (f'<form method="get" action="/public/org"><input name="q" value="{esc(q)}" '
            f'aria-label="{t("search", lang)}"><button>{t("search", lang)}</button></form>') + table(
        [t("unit", lang), t("nature", lang), t("rank", lang), t("region", lang)],
        ([f'<a href="/public/org/{in_url(r["unit_code"])}">{esc(r["name"])}</a>', esc(r["nature"]), esc(r["rank"]),
          named(region_name(r["region_code"]), r["region_code"])] for r in rows))
    return _page(request, t("org_public", lang), body)


async def public_unit(request: web.Request) -> web.Response:
    """A unit as it stands: duties, bodies, approved against actual per kind, and a roster of name, sex, body and
    quota kind only."""
    lang, code = lang_of(request), request.match_info["code"]
    now = datetime.now(timezone.utc)
    async with request.app[POOL].acquire() as conn:
        u = await queries.unit_as_of(conn, code, now)
        roster = await conn.fetch(
            "SELECT s.name, s.sex, s.body_code, s.quota_kind FROM org_staff_at($2) s WHERE s.unit_code = $1"
            " ORDER BY s.body_code NULLS LAST, s.quota_kind, s.name", code, now)
        texts = await archive.public_texts(conn, code, lang)
    if u is None:
        raise web.HTTPNotFound(text="no such unit")
    bodies = {b["body_code"]: b["name"] for b in u["bodies"]}
    body = _unit_body(u, lang, public=True) + f'<h2>{t("roster", lang)}</h2>' + table(
        [t("person", lang), t("sex", lang), t("bodies", lang), t("quota_kind", lang)],
        ([esc(r["name"]), esc(r["sex"]), esc(bodies.get(r["body_code"], "")), esc(r["quota_kind"])] for r in roster))
    return _page(request, u["name"], body + texts)


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/org", org_page, READ)
    route(app, "GET", "/org/findings", findings_page, READ)
    route(app, "GET", "/org/search", search_page, READ)
    route(app, "GET", "/org/units/{code}", unit_page, READ)
    route(app, "GET", "/public/org", public_units, PUBLIC)
    route(app, "GET", "/public/org/{code}", public_unit, PUBLIC)
