"""The staffing office's proposals: the list, and a proposal with its document's text beside it, its warnings, the
diff, what is unsure, its trail; edit, approve and reject shown only to those who may."""
from __future__ import annotations

import json
import re

from aiohttp import web

from streams.archive import proposals
from streams.archive.proposals import ProposalError, may_maintain
from web.console.i18n import say, script, t
from core.names import Names, region_name
from web.console.org import evidence, subject
from web.console.pages import esc, in_url, lang_of, layout, local, named, table
from web.common import POOL, READ, route
from web.limits import http_error
from web.views.proposals import MAINTAIN_STAFFING, decide, run_edit

HAN = re.compile(r"[\u4e00-\u9fff]")


def _note(reason: str, lang: str) -> str:
    """A note of the reader's, in the page's script; one stored before the notes were in Chinese marked English."""
    return f'<span>{esc(script(reason, lang))}</span>' if HAN.search(reason) else f'<span lang="en">{esc(reason)}</span>'


WORDS = {  # written once in traditional characters, shown in the reader's script
    "proposals": ("擬議變更", "Proposals"), "would_open": ("批准後將出現的問題", "Would open"),
    "would_close": ("批准後將消除的問題", "Would close"), "unsure": ("待人工確認", "Unsure"),
    "diff": ("與生效日現狀對比", "Against the unit on the effective date"), "edit": ("修改", "Edit"),
    "not_applying": ("不能按此生效", "Would not apply"), "invalid": ("不合規，需修改", "Invalid: edit it"),
    "status_proposed": ("待審核", "awaiting review"), "status_published": ("已批准發布", "published"),
    "status_rejected": ("已駁回", "rejected"), "added": ("新增", "added"), "removed": ("刪除", "removed"),
    "before_after": ("調整前 → 調整後", "before → after"), "doc_text": ("文件原文", "The document"),
    "effective": ("生效日期", "Effective"), "step_uploaded": ("上傳", "uploaded"), "step_proposed": ("提出", "proposed"),
    "step_extracted": ("提取", "extracted"), "step_checked": ("比對無問題", "checked"),
    "step_warned": ("比對提示問題", "warned"), "step_check_failed": ("比對失敗", "check failed"),
    "step_edited": ("修改", "edited"), "step_approved": ("批准", "approved"), "step_rejected": ("駁回", "rejected"),
    "step_published": ("發布到編制數據", "published"),
    "two_person": ("上傳或最後修改者之外的另一人批准", ("approved by someone other than the uploader and the last"
                                                   " editor")),
    "reader_note": ("以下為系統自動識別的說明，請人工核對", "What the reader could not settle, for a person to check"),
    # the staffing changes, as a person reads them
    "c_document": ("文件入庫", "document"), "c_unit_set": ("機構設立或調整", "unit set"),
    "c_unit_abolished": ("機構撤銷", "unit abolished"), "c_body_set": ("內設機構設立或調整", "body set"),
    "c_body_abolished": ("內設機構撤銷", "body abolished"), "c_quota_set": ("核定編制", "quota"),
    "c_posts_set": ("核定領導職數", "posts"), "c_duties_set": ("主要職責", "duties"), "c_staff_in": ("入編", "staff in"),
    "c_staff_out": ("出編", "staff out"), "c_staff_moved": ("調動", "staff moved"),
    "name": ("名稱", "name"), "rank": ("規格", "rank"), "nature": ("性質", "nature"), "funding": ("經費形式", "funding"),
    "region_code": ("區劃", "region"), "parent_unit_code": ("上級單位", "parent"), "body_code": ("內設機構", "body"),
    "quota_kind": ("編制類型", "quota kind"), "approved": ("核定", "approved"), "post_level": ("職級", "level"),
    "doc_no": ("文號", "document"), "effective_at": ("生效", "effective"), "title": ("標題", "title"),
    "issued_at": ("印發", "issued"), "doc_type": ("文件類型", "type"), "person_key": ("人員", "person"),
    "sex": ("性別", "sex"), "system": ("系統", "system"), "unit_code": ("單位", "unit"), "clauses": ("條", "clauses"),
}


def w(key: str, lang: str) -> str:
    return say(WORDS, key, lang)


async def list_page(request: web.Request) -> web.Response:
    lang = lang_of(request)
    async with request.app[POOL].acquire() as conn:
        rows = await proposals.listing(conn, request["caller"].scope)
    body = table([w("proposals", lang), t("unit", lang), t("document", lang), w("effective", lang), t("status", lang),
                  t("changes", lang), w("unsure", lang), w("would_open", lang), t("who", lang)],
                 ([f'<a href="/org/proposals/{in_url(p["proposal_id"])}">{esc(p["proposal_id"])}</a>',
                   f'<a href="/org/units/{in_url(p["unit_code"])}">{esc(p["unit_code"])}</a>', esc(p["doc_no"]),
                   esc(local(p["effective_at"], False)), esc(w("status_" + p["status"], lang)), esc(p["changes"]),
                   esc(p["unsure"]), f'<span class="bad">{esc(p["would_open"] or "")}</span>', esc(p["created_by"])]
                  for p in rows))
    return layout(request, "org", w("proposals", lang), body)


def _finding(f: dict, lang: str, names: Names) -> str:
    """A finding the proposal would open or close, in words (the figures as the findings page shows them)."""
    unit = named(f.get("unit_name") or names.of("department_code", f["unit_code"]), f["unit_code"])
    return (f'<li><strong>{esc(t(f["kind"], lang))}</strong> {unit} · {subject(f, names)}：{evidence(f, lang, names)}'
            f' <small>{esc(f.get("basis"))}</small></li>')


def _change(c: dict, lang: str, names: Names) -> str:
    """One staffing change in words: its fields by name, units and regions by name, a duty list by its clauses."""
    parts = []
    for k, v in c.items():
        if k in ("kind", "change_id", "text", "spans", "id_hash") or v in (None, "", []):
            continue
        if k == "duties":
            parts.append(f'{len(v)} {w("clauses", lang)}：' + "；".join(esc(d.get("text", "")) for d in v))
            continue
        if k in ("unit_code", "parent_unit_code"):
            v = named(names.of("department_code", v), v)
        elif k == "region_code":
            v = named(region_name(v), v)
        elif k == "effective_at" or k == "issued_at":
            v = esc(local(v, False))
        else:
            v = esc(v)
        parts.append(f"{esc(w(k, lang)) if k in WORDS else esc(k)} {v}")
    return "；".join(parts)


def _diff(d: dict, lang: str) -> str:
    out = []
    for unit, x in d.items():
        rows = [[esc(t("duties", lang)), esc(w(k, lang)), esc(c.get("text", ""))] for k in ("added", "removed")
                for c in x["duties"][k]]
        rows += [[esc(t("duties", lang)), esc(t("changed", lang)), esc(f'{c["before"]} → {c["after"]}')]
                 for c in x["duties"]["changed"]]
        rows += [[esc(t("bodies", lang)), esc(w(k, lang)), esc(f'{c["body_code"]} {c["name"]}')] for k in ("added", "removed")
                 for c in x["bodies"][k]]
        rows += [[esc(t("bodies", lang)), esc(t("changed", lang)), esc(f'{c["before"]["name"]} → {c["after"]["name"]}')]
                 for c in x["bodies"]["changed"]]
        rows += [[esc(t("quotas", lang)), esc(q["quota_kind"]),
                  esc(f'{q["approved"]["before"]} → {q["approved"]["after"]} ({t("actual", lang)} {q["actual"]["after"]})')]
                 for q in x["quotas"]]
        rows += [[esc(t("posts", lang)), esc(p["post_level"]),
                  esc(f'{p["posts_approved"]["before"]} → {p["posts_approved"]["after"]}')] for p in x["posts"]]
        rows += [[esc(w(k, lang) if k in WORDS else k), "", esc(f'{v["before"]} → {v["after"]}')]
                 for k, v in x["attributes"].items()]
        out.append(f"<h3>{esc(unit)}</h3>" + table([t("kind", lang), t("changes", lang), w("before_after", lang)], rows))
    return "".join(out)


def _actions(p: dict, request: web.Request, lang: str) -> str:
    caller, csrf = request["caller"], esc(request.get("csrf", ""))
    if p["status"] != "proposed" or not may_maintain(caller, p["region_code"]):
        return ""
    base = f'/console/proposals/{in_url(p["proposal_id"])}'
    edit = (f'<form method="post" action="{base}/edit"><input type="hidden" name="csrf" value="{csrf}">'
            f'<textarea name="changes" rows="12" cols="80" aria-label="changes" lang="en">'
            f'{esc(json.dumps(p["changes"], ensure_ascii=False, indent=1))}</textarea><br>'
            f'<label>{w("effective", lang)} <input name="effective_at" type="date"></label> '
            f'<button>{w("edit", lang)}</button></form>')
    if caller.name in (p["created_by"], p["edited_by"]):
        return f'<p>{w("two_person", lang)}</p>' + edit
    return (f'<form class="inline" method="post" action="{base}/approve"><input type="hidden" name="csrf" value="{csrf}">'
            f'<button>{t("approve", lang)}</button></form> '
            f'<form class="inline" method="post" action="{base}/reject"><input type="hidden" name="csrf" value="{csrf}">'
            f'<input name="reason" required aria-label="reason" placeholder="{t("why", lang)}">'
            f'<button>{t("reject", lang)}</button></form>' + edit)


async def proposal_page(request: web.Request) -> web.Response:
    lang = lang_of(request)
    async with request.app[POOL].acquire() as conn:
        p = await proposals.show(conn, request.match_info["id"], request["caller"].scope)
        if p is None:
            raise web.HTTPNotFound(text="no such proposal in your regions")
        pages = await _pages(conn, p["document_id"])
    text = next((c.get("text") for c in p["changes"] if c.get("kind") == "document"), None)
    async with request.app[POOL].acquire() as conn:
        found = [*p["would_open"], *p["would_close"]]
        names = await Names.load(conn, [p["unit_code"], *(c.get("unit_code") for c in p["changes"]),
                                        *(f.get("other_unit_code") for f in found)],
                                 [f.get("item_code") for f in found] + [f["subject"] for f in found])
    warn = "".join(_finding(f, lang, names) for f in p["would_open"])
    closes = "".join(_finding(f, lang, names) for f in p["would_close"])
    issues = "".join(f'<li>{esc(w("c_" + x["kind"], lang) if "c_" + str(x.get("kind")) in WORDS else x.get("kind"))}：'
                     f'<span lang="en">{esc(x.get("reason"))}</span></li>' for x in [*p["would_not_apply"], *p["invalid"]])
    # the reader's notes are in Chinese; those stored before they were (English) are marked so for the browser
    unsure = "".join(f'<li>{_note(u["reason"], lang)}{" → " + esc("、".join(u["suggested"])) if u.get("suggested") else ""}'
                     '</li>' for u in p["unsure"])
    changes = table([t("kind", lang), t("changes", lang)], ([esc(w("c_" + c["kind"], lang) if "c_" + c["kind"] in WORDS
                                                                 else c["kind"]), _change(c, lang, names)]
                                                           for c in p["changes"]))
    trail = table([t("since", lang), t("who", lang), t("status", lang)],
                  ([esc(local(s["at"])), esc(w("system", lang) if s["actor"] == "system" else s["actor"]), esc(w("step_" + s["step"], lang) if "step_" + s["step"] in WORDS
                                                              else s["step"])] for s in p["trail"]))
    right = (f'<p>{t("unit", lang)} <a href="/org/units/{in_url(p["unit_code"])}">'
             f'{named(names.of("department_code", p["unit_code"]), p["unit_code"])}</a> · '
             f'{esc(p["doc_no"])} · {w("effective", lang)} {esc(local(p["effective_at"], False))} · '
             f'{esc(w("status_" + p["status"], lang))} {esc(p.get("reason") or "")}</p>'
             + _actions(p, request, lang)
             + (f'<h2 class="bad">{w("would_open", lang)}</h2><ul>{warn}</ul>' if warn else "")
             + (f'<h2>{w("would_close", lang)}</h2><ul>{closes}</ul>' if closes else "")
             + (f'<h2 class="bad">{w("not_applying", lang)}</h2><ul>{issues}</ul>' if issues else "")
             + (f'<h2>{w("unsure", lang)}</h2><p class="note">{w("reader_note", lang)}</p><ul>{unsure}</ul>'
                if unsure else "")
             + f'<h2>{w("diff", lang)}</h2>{_diff(p["diff"], lang)}<h2>{t("changes", lang)}</h2>{changes}'
             + f'<h2>{t("trail", lang)}</h2>{trail}')
    if pages:  # the archive's pages, each under its number
        text = "\n".join(f"— {n} —\n{page}" for n, page in pages)
    left = f'<h2>{w("doc_text", lang)}</h2><pre class="doctext">{esc(text)}</pre>' if text else ""
    body = f'<div class="beside"><section>{left}</section><section>{right}</section></div>' if left else right
    return layout(request, "org", f'{w("proposals", lang)} · {esc(p["proposal_id"])}', body)


async def _pages(conn, document_id) -> list[tuple[int, str]]:
    """The document's pages as the archive keeps them (when its tables are there), else none."""
    if not document_id or not await conn.fetchval("SELECT to_regclass('archive_page') IS NOT NULL"):
        return []
    return [(r["n"], r["text"]) for r in await conn.fetch(
        "SELECT n, text FROM archive_page WHERE document_id::text = $1 ORDER BY n", document_id)]


async def act(request: web.Request) -> web.Response:
    form = await request.post()
    pid, action, caller = request.match_info["id"], request.match_info["act"], request["caller"]
    try:
        if action == "edit":
            try:
                changes = json.loads(str(form.get("changes") or ""))
            except ValueError as exc:
                raise ProposalError(400, f"changes: not JSON ({exc})") from None
            await run_edit(request.app, pid, changes, caller, str(form.get("effective_at") or "").strip() or None)
        else:
            reason = str(form.get("reason") or "").strip()[:2000] or None
            await decide(request.app, pid, caller, action == "approve", reason)
    except ProposalError as exc:
        raise http_error(exc) from None
    raise web.HTTPFound(f"/org/proposals/{in_url(pid)}")


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/org/proposals", list_page, READ)
    route(app, "GET", "/org/proposals/{id}", proposal_page, READ)
    route(app, "POST", "/console/proposals/{id}/{act:approve|reject|edit}", act, MAINTAIN_STAFFING)
