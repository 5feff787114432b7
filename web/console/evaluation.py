"""Evaluations and rectification tasks in the console: the reports, and the task pages a supervisor works from
(my tasks, overdue, by unit), with the transitions as buttons."""
from __future__ import annotations

import re
import urllib.parse
from datetime import datetime

from aiohttp import web

from web.console.i18n import t
from core.names import Names
from web.console import forms
from web.console.pages import esc, in_url, lang_of, layout, local, named, table
from streams.evaluation.report import render
from web.common import POOL, READ, SETTINGS, SIGNED_IN, path_int, route
from streams.evaluation.scorecard import load_scorecard
from core.tz import last_day, local_day, period
from streams.calendar.store import loaded_years, missing_years
from web.console.sheets import xlsx_link
from streams.evaluation import evaluate, rectify



def _id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not re.fullmatch(r"[0-9]{1,18}", raw):
        raise web.HTTPNotFound(text="no such id")
    return int(raw)


async def evaluations_page(request: web.Request) -> web.Response:
    from core.access import scope_pattern

    lang = lang_of(request)
    async with request.app[POOL].acquire() as conn:
        rows = await conn.fetch(
            "SELECT evaluation_id, unit_code, inputs->'unit'->>'name' AS name, type, period_from, period_to, created_by"
            " FROM evaluation WHERE ($1::text IS NULL OR region_code LIKE $1) ORDER BY evaluation_id DESC LIMIT 300",
            scope_pattern(request["caller"].scope))
        start = (forms.evaluation_form(request.get("csrf", ""), lang, await forms.unit_choices(conn, request["caller"].scope))
                 if forms.may(request, "evaluate") else "")
    body = start + xlsx_link("/api/v1/evaluations", {}, lang) + table(["#", t("unit", lang), t("kind", lang), t("since", lang), ""], (
        [esc(r["evaluation_id"]), f'<span title="{esc(r["unit_code"])}">{esc(r["name"])}</span>', esc(r["type"]),
         esc(period(r["period_from"], r["period_to"])),
         f'<a href="/evaluations/{r["evaluation_id"]}">{t("show", lang)}</a>'] for r in rows))
    return layout(request, "evaluations", t("evaluations", lang), body)


async def evaluation_page(request: web.Request) -> web.Response:
    eid, lang, csrf = _id(request), lang_of(request), request.get("csrf", "")
    async with request.app[POOL].acquire() as conn:
        e = await evaluate.show(conn, eid, request["caller"].scope)
        if e is None:
            raise web.HTTPNotFound(text="no such evaluation in your scope")
        units = await forms.unit_choices(conn, request["caller"].scope) if forms.may(request, "open") else ""
    report = render(e)
    inner = report[report.index("<body>") + 6:report.rindex("</body>")]
    link = (f'<p><a href="/api/v1/evaluations/{eid}/report.pdf">PDF</a> · '
            f'<a href="/rectifications?evaluation={eid}">{t("rectifications", lang)}</a></p>')
    if forms.may(request, "evaluate"):
        link += forms.score_form(eid, csrf, lang, load_scorecard(request.app[SETTINGS].scorecard))
    if units:
        link += forms.task_form(csrf, lang, units, eid, e["inputs"]["unit"]["name"] or "")
    return layout(request, "evaluations", f"{t('evaluations', lang)} {eid}", link + inner)


async def tasks_page(request: web.Request) -> web.Response:
    lang, c = lang_of(request), request["caller"]
    view = request.query.get("view", "all")
    unit = (request.query.get("unit") or "").strip()[:64] or None
    async with request.app[POOL].acquire() as conn:
        rows = await rectify.tasks(conn, c.scope, None, unit, True if view == "overdue" else None,
                                   c.name if view == "mine" else None)
        names = await Names.load(conn, (r["unit_code"] for r in rows))
        start = (forms.task_form(request.get("csrf", ""), lang, await forms.unit_choices(conn, c.scope))
                 if forms.may(request, "open") else "")
    tabs = " · ".join(f'<a href="/rectifications?view={v}" class="{"on" if v == view else ""}">{t(v, lang)}</a>'
                      for v in ("all", "mine", "overdue"))
    body = f"<p>{tabs} · " + xlsx_link("/api/v1/rectifications", {"unit": unit, "overdue": "true" if view == "overdue"
                                                                  else None, "mine": "1" if view == "mine" else None},
                                        lang) + "</p>" + start + table(
        ["#", t("unit", lang), t("requirement", lang), t("status", lang), t("due", lang), t("overdue", lang)],
        ([f'<a href="/rectifications/{r["task_id"]}">{r["task_id"]}</a>',
          f'<a href="/rectifications?unit={in_url(r["unit_code"])}">'
          f'{named(names.of("department_code", r["unit_code"]), r["unit_code"])}</a>', esc(r["requirement"]),
          esc(t("state_" + r["state"], lang)), esc(last_day(r["due_at"]).isoformat()),
          f'<strong>{r["overdue_days"]}</strong>' if r["overdue"] else ""] for r in rows))
    return layout(request, "rectifications", t("rectifications", lang), body)


async def task_page(request: web.Request) -> web.Response:
    lang, c, tid = lang_of(request), request["caller"], _id(request)
    try:
        async with request.app[POOL].acquire() as conn:
            task = await rectify.show(conn, tid, c.scope)
            missing = missing_years(await loaded_years(conn), local_day(datetime.fromisoformat(task["opened_at"])),
                                    last_day(task["due_at"]))
    except LookupError:
        raise web.HTTPNotFound(text="no such task in your scope") from None
    csrf = esc(request.get("csrf", ""))
    buttons = []
    for action, (starts, _) in rectify.TRANSITIONS.items():
        if task["state"] in starts and rectify.may(action, c.role) and c.name != "anonymous" and not (
                action in rectify.NOT_THE_SUBMITTER and c.name == task["submitted_by"]):
            extra = ('<input name="reason" required aria-label="reason">' if action == "return" else
                     '<input name="text" required aria-label="evidence">' if action == "submit" else "")
            buttons.append(f'<form class="inline" method="post" action="/console/rectifications/{tid}/{action}">'
                           f'<input type="hidden" name="csrf" value="{csrf}">{extra}<button>{t(action, lang)}</button>'
                           "</form>")
    cleared = task.get("condition_cleared")
    facts = (f'<p>{esc(task["requirement"])}</p><p>{t("status", lang)}: {esc(t("state_" + task["state"], lang))} · '
             f'{t("due", lang)} {esc(last_day(task["due_at"]).isoformat())}'
             + (f' · <strong>{t("overdue", lang)} {task["overdue_days"]}</strong>' if task["overdue"] else "")
             + (f' · {t("condition_cleared" if cleared else "condition_holds", lang)}' if cleared is not None else "")
             + "</p>" + (f'<p class="bad">{esc(t("calendar_missing", lang).format("、".join(map(str, missing))))}</p>'
                         if missing else ""))
    events = table([t("since", lang), t("status", lang), t("who", lang), t("why", lang)], (
        [esc(local(e["at"])), esc(t("state_" + e["to_state"], lang)), esc(e["actor"]),
         esc(e["reason"] or "")] for e in task["events"]))
    files = table([t("evidence", lang), t("size", lang), t("who", lang), t("since", lang)], (
        [_evidence(tid, f), esc(f"{f['size']:,}"), esc(f["added_by"]), esc(local(f["added_at"]))]
        for f in task["evidence"]))
    return layout(request, "rectifications", f'{t("rectifications", lang)} {tid}',
                  facts + " ".join(buttons) + events + files)


def _evidence(tid: int, f: dict) -> str:
    """A text shown whole; a file as a link that downloads it (its digest on hover)."""
    if f["text"] is not None:
        return f'<div class="evidence">{esc(f["text"])}</div>'
    return (f'<a href="/rectifications/{tid}/evidence/{f["id"]}" title="SHA-256 {esc(f["sha256"])}" download>'
            f'{esc(f["name"])}</a>')


async def evidence_download(request: web.Request) -> web.Response:
    """An evidence file, for those who see the task: sent as a download of its accepted type, never run in the page."""
    tid, n = _id(request), path_int(request, "n")
    try:
        async with request.app[POOL].acquire() as conn:
            f = await rectify.evidence_file(conn, tid, n, request["caller"].scope)
    except LookupError:
        raise web.HTTPNotFound(text="no such evidence in your scope") from None
    body = f["content"] if f["content"] is not None else (f["text"] or "").encode()
    name = f["name"] if f["content"] is not None else f"evidence-{n}.txt"
    return web.Response(body=bytes(body), headers={
        "Content-Type": rectify.content_type(name), "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox", "X-Content-SHA256": f["sha256"],
        "Content-Disposition": f"attachment; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"})


async def task_action(request: web.Request) -> web.Response:
    c, tid, action = request["caller"], _id(request), request.match_info["action"]
    if not rectify.may(action, c.role):
        raise web.HTTPForbidden(text=f"{c.name} ({c.role}) may not {action}")
    form = await request.post()
    text = str(form.get("text") or "").strip()[:20000]
    try:
        async with request.app[POOL].acquire() as conn:
            await rectify.act(conn, tid, action, c.name, str(form.get("reason") or "").strip()[:4000] or None,
                              [rectify.Evidence("text", text)] if text else [], c.scope)
    except LookupError:
        raise web.HTTPNotFound(text="no such task in your scope") from None
    except rectify.TaskError as exc:
        raise web.HTTPConflict(text=str(exc)) from None
    raise web.HTTPFound(f"/rectifications/{tid}")


def add_routes(app: web.Application) -> None:
    forms.add_routes(app)
    route(app, "GET", "/evaluations", evaluations_page, READ)
    route(app, "GET", "/evaluations/{id}", evaluation_page, READ)
    route(app, "GET", "/rectifications", tasks_page, READ)
    route(app, "GET", "/rectifications/{id}", task_page, READ)
    route(app, "GET", "/rectifications/{id}/evidence/{n}", evidence_download, READ)
    route(app, "POST", "/console/rectifications/{id}/{action:start|submit|verify|return|close}", task_action, SIGNED_IN)
