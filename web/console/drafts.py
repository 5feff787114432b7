"""A list administrator's pages: draft a change (the overlap check shows the items it resembles), approve or reject
another's draft with a reason, and follow an item's trail from draft to the platform's acknowledgement."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from core.names import region_name
from web.console.forms import resolve_unit, unit_choices
from web.console.i18n import script, t
from web.console.pages import allowed, esc, in_url, lang_of, layout, local, named, table
from web.common import ADMINISTER_LIST, OPERATIONS, POOL, SETTINGS, route
from schemas.events import Category
from streams.powerlist import drafts
from web.common import PUBLISHER, RELAY_WAKE

ACTIONS = ("added", "modified", "cancelled", "devolved")



def _form(csrf: str, lang: str, units: str) -> str:
    field = lambda name, label, extra="": (  # noqa: E731
        f'<label>{label} <input name="{name}" {extra}></label>')
    cats = "".join(f'<option value="{esc(c.value)}">{esc(c.name if lang == "en" else script(c.value, lang))}</option>'
                   for c in Category)
    return (f'<form class="draft" method="post" action="/console/drafts"><input type="hidden" name="csrf" value="{esc(csrf)}">'
            + field("item_code", t("item", lang), "required")
            + f'<label>{t("kind", lang)} <select name="action">'
            + "".join(f'<option value="{a}">{t("act_" + a, lang)}</option>' for a in ACTIONS) + "</select></label>"
            + field("name", t("item_name", lang)) + f'<label>{t("category", lang)} <select name="category">'
            + '<option value=""></option>' + cats + "</select></label>"
            + units.replace('id="units"', 'id="departments"')
            + field("department_code", t("department_by_name", lang), 'list="departments" autocomplete="off"')
            + field("region_codes", t("regions_by_name", lang))
            + f'<label>{t("level", lang)} <select name="level"><option value=""></option>'
            + "".join(f'<option value="{lv}">{t("level_" + lv, lang)}</option>' for lv in ("province", "city", "county", "town"))
            + "</select></label>"
            + field("effective_at", t("since", lang), 'type="date" required')
            + f'<button>{t("draft", lang)}</button></form>')


async def drafts_page(request: web.Request) -> web.Response:
    lang, csrf = lang_of(request), request.get("csrf", "")
    may_decide = allowed(request, ADMINISTER_LIST)
    async with request.app[POOL].acquire() as conn:
        rows = await drafts.listing(conn, None, 200)
        units = await unit_choices(conn, "") if may_decide else ""
    out = []
    for d in rows:
        warn = "; ".join(f'{w.get("item_code")} {w.get("name", "")} ({w.get("score")})' for w in d["checks"][:5])
        act = ""  # another list administrator decides (the two-person rule): the drafter gets no buttons
        if d["status"] == "draft" and may_decide and d["drafted_by"] != request["caller"].name:
            act = "".join(
                f'<form class="inline" method="post" action="/console/drafts/{in_url(d["draft_id"])}/{a}">'
                f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
                + (f'<input name="reason" required aria-label="reason" placeholder="{t("why", lang)}">' if a == "reject" else "")
                + f'<button>{t(a, lang)}</button></form> ' for a in ("approve", "reject"))
        out.append([f'<a href="/drafts/{in_url(d["draft_id"])}">{esc(d["item_code"])}</a>',
                    esc(t("act_" + d["action"], lang)), esc(d["drafted_by"]), esc(local(d["drafted_at"])),
                    esc(t("draft_" + d["status"], lang)), f'<span class="bad">{esc(warn)}</span>',
                    esc(d.get("reason") or ""), act])
    body = ((f'<h2>{t("new_draft", lang)}</h2>' + _form(csrf, lang, units) if may_decide else "") + f'<h2>{t("drafts", lang)}</h2>'
            + table([t("item", lang), t("kind", lang), t("who", lang), t("since", lang), t("status", lang),
                     t("overlaps", lang), t("why", lang), ""], out))
    return layout(request, "drafts", t("drafts", lang), body)


async def draft_page(request: web.Request) -> web.Response:
    lang = lang_of(request)
    async with request.app[POOL].acquire() as conn:
        d = await drafts.get(conn, request.match_info["id"])
        steps = await drafts.trail(conn, d["item_code"])
    change = _change_words(d["change"], lang)
    warn = table([t("item", lang), t("item_name", lang), t("department", lang), t("overlaps", lang)],
                 ([esc(w.get("item_code")), esc(w.get("name")), esc(w.get("department_code")),
                   esc(f'{w.get("score")} {"; ".join(w.get("same_articles") or [])}')] for w in d["checks"]))
    trail = table([t("since", lang), t("who", lang), t("status", lang), t("changes", lang)],
                  ([esc(local(s.get("at"))), esc(s.get("actor")), esc(t("step_" + s["step"], lang)
                                                                      if "step_" + s["step"] in _steps() else s["step"]),
                    esc(s.get("change_id") or s.get("draft_id") or "")] for s in steps))
    body = (f'<p>{esc(t("act_" + d["action"], lang))} · {esc(change)}</p><p>{t("status", lang)}: '
            f'{esc(t("draft_" + d["status"], lang))} {esc(d.get("reason") or "")}</p>'
            f'<h2>{t("overlaps", lang)}</h2>{warn}<h2>{t("trail", lang)}</h2>{trail}')
    return layout(request, "drafts", f'{t("drafts", lang)} · {esc(d["item_code"])}', body)


_FIELDS = (("item_code", "item"), ("name", "item_name"), ("category", "category"), ("department_code", "department"),
           ("level", "level"), ("region_codes", "region"), ("effective_at", "since"), ("legal_basis", "legal_basis"))


def _change_words(change: dict, lang: str) -> str:
    """A drafted change for people: each field by its label, levels and regions in words, the date local."""
    out = []
    for key, word in _FIELDS:
        v = change.get(key)
        if v in (None, "", []):
            continue
        shown = (esc(t("level_" + v, lang)) if key == "level" else
                 ", ".join(named(region_name(r), r) for r in v) if key == "region_codes" else
                 esc(local(v, False)) if key == "effective_at" else esc(script(v, lang)) if key == "category" else esc(v))
        out.append(f"{t(word, lang)}：{shown}")
    return " · ".join(out)


async def _codes(conn, fields: dict) -> dict:
    """The department and regions a person typed (names in either script, or codes) as codes; unknown: 400."""
    if fields.get("department_code"):
        text = fields["department_code"]
        known = await conn.fetchval("SELECT true FROM list_item_version WHERE department_code = $1 LIMIT 1", text)
        try:
            fields["department_code"] = text if known else await resolve_unit(conn, text, "")
        except web.HTTPBadRequest as exc:
            raise web.HTTPBadRequest(text=exc.text.replace("unit", "department")) from None
    if fields.get("region_codes"):
        ours = {r[0] for r in await conn.fetch("SELECT DISTINCT data->>'region_code' FROM org_version"
                                               " WHERE part = 'unit'")}
        fields["region_codes"] = [_region(r, ours) for r in fields["region_codes"]]
    return fields


def _region(text: str, ours: set) -> str:
    """One region: a name shared by several is the one of this city's units."""
    from core.names import region_codes

    found = region_codes(text)
    if len(found) > 1:
        found = [c for c in found if c in ours]
    if len(found) != 1:
        raise web.HTTPBadRequest(text="region: no such region" if not found else "region: several have that name")
    return found[0]


def _steps() -> set[str]:
    from web.console.i18n import WORDS

    return {k for k in WORDS if k.startswith("step_")}


async def create_draft(request: web.Request) -> web.Response:
    form = await request.post()
    fields: dict[str, Any] = {k: str(v).strip() for k, v in form.items() if k != "csrf" and str(v).strip()}
    if "region_codes" in fields:
        fields["region_codes"] = [r.strip() for r in fields["region_codes"].replace("，", ",").split(",") if r.strip()]
    if "effective_at" in fields and len(fields["effective_at"]) == 10:
        fields["effective_at"] = fields["effective_at"] + "T00:00:00+08:00"
    if fields.get("action") == "devolved":
        raise web.HTTPBadRequest(text="a devolution is drafted over the API (it names the level and regions taking over)")
    async with request.app[POOL].acquire() as conn:
        fields = await _codes(conn, fields)
        await drafts.create(conn, fields, request["caller"].name, request.app[SETTINGS].overlap_threshold, None)
    raise web.HTTPFound("/drafts")


async def decide_draft(request: web.Request) -> web.Response:
    form = await request.post()
    reason = str(form.get("reason") or "").strip()[:2000] or None
    app = request.app
    await drafts.decide_and_publish(app[POOL], app[PUBLISHER], app[RELAY_WAKE], request.match_info["id"],
                                    request["caller"].name, request.match_info["act"] == "approve", reason)
    raise web.HTTPFound("/drafts")


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/drafts", drafts_page, OPERATIONS)
    route(app, "GET", "/drafts/{id}", draft_page, OPERATIONS)
    route(app, "POST", "/console/drafts", create_draft, ADMINISTER_LIST)
    route(app, "POST", "/console/drafts/{id}/{act:approve|reject}", decide_draft, ADMINISTER_LIST)
