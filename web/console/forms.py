"""Starting work from the console: an evaluation, a person's manual score, a rectification task; units picked by
name (the code accepted), unknown ones refused, periods entered as people mean them (the last day included)."""
from __future__ import annotations

from datetime import date, timedelta

from aiohttp import web

from core.access import scope_pattern
from core.script import to_simplified, to_traditional
from core.tz import midnight
from streams.evaluation import evaluate, rectify
from streams.evaluation.scorecard import load_scorecard
from web.common import SETTINGS, SIGNED_IN, route
from web.console.i18n import t
from web.console.pages import esc
from web.views.evaluation import run_engine

UNITS = "SELECT unit_code, data->>'name' AS name FROM org_units_at(now(), $1) ORDER BY unit_code"


def may(request: web.Request, action: str) -> bool:
    c = request.get("caller")
    return c is not None and c.name != "anonymous" and rectify.may(action, c.role)


async def unit_choices(conn, scope: str) -> str:
    """The units of the caller's regions as a list the unit field offers by name."""
    rows = await conn.fetch(UNITS + " LIMIT 3000", scope_pattern(scope))
    return '<datalist id="units">' + "".join(f'<option value="{esc(r["name"])}" label="{esc(r["unit_code"])}">'
                                             for r in rows) + "</datalist>"


async def resolve_unit(conn, text: str, scope: str) -> str:
    """A unit's code from its name (either script) or its code, within the caller's regions; else 400."""
    text = text.strip()[:200]
    names = list({text, to_simplified(text), to_traditional(text)})
    rows = await conn.fetch(f"SELECT unit_code FROM ({UNITS}) u WHERE unit_code = $2 OR name = ANY($3::text[])",
                            scope_pattern(scope), text, names)
    if len(rows) != 1:
        raise web.HTTPBadRequest(text="unit: no such unit in your regions" if not rows else
                                 "unit: several units have that name: give the code")
    return rows[0]["unit_code"]


def _field(name: str, label: str, extra: str = "") -> str:
    return f'<label>{label} <input name="{name}" {extra}></label> '


def _form(action: str, csrf: str, fields: str, button: str) -> str:
    return (f'<form class="start" method="post" action="{action}"><input type="hidden" name="csrf" value="{esc(csrf)}">'
            f'{fields}<button>{button}</button></form>')


def evaluation_form(csrf: str, lang: str, units: str) -> str:
    kinds = "".join(f'<option value="{esc(k)}">{esc(k)}</option>' for k in evaluate.TYPES)
    return _form("/console/evaluations", csrf, units
                 + _field("unit", t("unit", lang), 'list="units" required autocomplete="off"')
                 + _field("from", t("period_from", lang), 'type="date" required')
                 + _field("last", t("period_last", lang), 'type="date" required')
                 + f'<label>{t("kind", lang)} <select name="type">{kinds}</select></label> ', t("new_evaluation", lang))


def score_form(eid: int, csrf: str, lang: str, card) -> str:
    manual = [(i.source.split(":", 1)[1], i.name) for i in card.indicators if i.source.startswith("manual:")]
    if not manual:
        return ""
    codes = "".join(f'<option value="{esc(c)}">{esc(n)}</option>' for c, n in manual)
    return _form(f"/console/evaluations/{eid}/scores", csrf,
                 f'<label>{t("indicator", lang)} <select name="code">{codes}</select></label> '
                 + _field("value", t("value", lang), 'type="number" step="any" required')
                 + _field("note", t("note", lang)), t("give_score", lang))


def task_form(csrf: str, lang: str, units: str, evaluation: int | None = None, unit: str = "") -> str:
    hidden = f'<input type="hidden" name="evaluation" value="{evaluation}">' if evaluation else ""
    return _form("/console/rectifications", csrf, units + hidden
                 + _field("unit", t("unit", lang), f'list="units" required autocomplete="off" value="{esc(unit)}"')
                 + _field("text", t("requirement", lang), "required")
                 + _field("days", t("working_days", lang), 'type="number" min="1" max="3650" value="20" required'),
                 t("new_task", lang))


def _day(raw, name: str) -> date:
    try:
        return date.fromisoformat(str(raw or ""))
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name}: a date (YYYY-MM-DD)") from None


async def create_evaluation(request: web.Request) -> web.Response:
    c, form = request["caller"], await request.post()
    if not may(request, "evaluate"):
        raise web.HTTPForbidden(text=f"{c.role} may not evaluate")
    # the form asks for the last day, as people say a period; the engine's end is the next local midnight
    t0, t1 = midnight(_day(form.get("from"), "from")), midnight(_day(form.get("last"), "last") + timedelta(days=1))
    card = load_scorecard(request.app[SETTINGS].scorecard)

    async def work(conn):
        unit = await resolve_unit(conn, str(form.get("unit") or ""), c.scope)
        return await evaluate.create(conn, unit, t0, t1, str(form.get("type") or ""), c.name, card, c.scope)

    raise web.HTTPFound(f"/evaluations/{await run_engine(request, work)}")


async def give_score(request: web.Request) -> web.Response:
    c, form, eid = request["caller"], await request.post(), int(request.match_info["id"])
    if not may(request, "evaluate"):
        raise web.HTTPForbidden(text=f"{c.role} may not evaluate")
    try:
        value = float(str(form.get("value") or ""))
    except ValueError:
        raise web.HTTPBadRequest(text="value: a number") from None
    if not -1e9 < value < 1e9:
        raise web.HTTPBadRequest(text="value: a number")

    async def work(conn):
        if await evaluate.show(conn, eid, c.scope) is None:
            raise LookupError(f"no evaluation {eid} in your regions")
        await evaluate.give_score(conn, eid, str(form.get("code") or ""), value, c.name,
                                  str(form.get("note") or "").strip()[:2000] or None)

    await run_engine(request, work)
    raise web.HTTPFound(f"/evaluations/{eid}")


async def open_task(request: web.Request) -> web.Response:
    c, form = request["caller"], await request.post()
    if not may(request, "open"):
        raise web.HTTPForbidden(text=f"{c.role} may not open")
    days = str(form.get("days") or "")
    if not days.isdigit():
        raise web.HTTPBadRequest(text="days: a whole number of working days")
    ev = str(form.get("evaluation") or "")

    async def work(conn):
        unit = await resolve_unit(conn, str(form.get("unit") or ""), c.scope)
        return await rectify.open_task(conn, unit, str(form.get("text") or "")[:4000], int(days[:5]), c.name,
                                       evaluation_id=int(ev[:18]) if ev.isdigit() else None, scope=c.scope)

    raise web.HTTPFound(f"/rectifications/{await run_engine(request, work)}")


def add_routes(app: web.Application) -> None:
    route(app, "POST", "/console/evaluations", create_evaluation, SIGNED_IN)
    route(app, "POST", "/console/evaluations/{id:[0-9]{1,18}}/scores", give_score, SIGNED_IN)
    route(app, "POST", "/console/rectifications", open_task, SIGNED_IN)
