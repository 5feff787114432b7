"""HTML building blocks: the layout with its navigation, tables, numbers; every value escaped."""
from __future__ import annotations

import html
import urllib.parse
from typing import Any, Iterable, Optional

from aiohttp import web

from schemas.private import neutralise
from web.console.i18n import HTML_LANG, LANG_NAMES, LANGS, t
from core.figures import fmt as figure
from core.tz import shown as local  # noqa: F401  (the pages' name for it)

NAV = (("/", "overview"), ("/drill", "drill"), ("/alerts", "alerts"), ("/list", "list"), ("/analysis", "analysis"),
       ("/drafts", "drafts"), ("/org", "org"), ("/org/archive", "archive"), ("/org/proposals", "proposals"),
       ("/evaluations", "evaluations"), ("/demands", "demands"),
       ("/rectifications", "rectifications"), ("/sheets", "sheets"))


def allowed(request: web.Request, policy) -> bool:
    """Whether the caller passes a route's policy (web.auth enforces it; pages use this to show only what a person
    may do)."""
    if policy is None or policy.who == "anyone":
        return True
    c = request.get("caller")
    if c is None or (policy.write and c.name == "anonymous"):
        return False
    if policy.roles and not c.can(*policy.roles) or (not policy.service and c.role == "service"):
        return False
    return not (policy.everywhere and not c.everywhere)


def _nav(request: web.Request, active: str, lang: str) -> str:
    """The menu: only the pages the caller may open."""
    from web.common import POLICIES

    policies = request.app.get(POLICIES, {})
    return "".join(f'<a href="{href}" class="{"on" if key == active else ""}">{t(key, lang)}</a>' for href, key in NAV
                   if request.get("caller") is not None and allowed(request, policies.get(("GET", href))))


def esc(v: Any) -> str:
    """Text for a page: escaped, and without control characters or bidi overrides (stored before the edge took
    them out, or from anywhere else, they could show a name reversed)."""
    return html.escape("" if v is None else neutralise(str(v)))


def in_url(v: Any) -> str:
    """A value put in a URL: quoted (a code may hold '/'), then escaped for the attribute."""
    return esc(urllib.parse.quote(str(v), safe=""))


def fmt(key: str, v: Any) -> str:
    return esc(figure(key, v))


def lang_of(request: web.Request) -> str:
    lang = request.query.get("lang", request.cookies.get("lang"))
    return lang if lang in LANGS else "zh"


def layout(request: web.Request, active: str, title: str, body: str, stream: Optional[str] = None,
           scripts: str = "") -> web.Response:
    lang = lang_of(request)
    caller = request.get("caller")
    nav = _nav(request, active, lang)
    who = ""
    if caller is not None:
        from core.names import region_name

        scope = named(region_name(caller.scope), caller.scope) if caller.scope else esc(t("everywhere", lang))
        csrf = request.get("csrf", "")
        who = (f'<span class="who">{esc(caller.name)} · {t(caller.role, lang)} · {t("scope", lang)} {scope}</span>'
               f'<form class="inline" method="post" action="/logout"><input type="hidden" name="csrf" value="{esc(csrf)}">'
               f'<button>{t("logout", lang)}</button></form>')
    switch = " ".join(f'<a href="?lang={x}" lang="{HTML_LANG[x]}">{LANG_NAMES[x]}</a>' for x in LANGS if x != lang)
    doc = f"""<!doctype html><html lang="{HTML_LANG[lang]}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(title)} · {t('title', lang)}</title>
<link rel="stylesheet" href="/static/console.css"></head>
<body{f' data-stream="{stream}"' if stream else ''}><header><strong>{t('title', lang)}</strong>{nav}
<span class="langs">{switch}</span>{who}</header><main><h1>{esc(title)}</h1>{body}</main>{scripts}
</body></html>"""
    resp = web.Response(text=doc, content_type="text/html")
    if "lang" in request.query:
        resp.set_cookie("lang", lang, samesite="Lax", httponly=True)
    return resp


def named(name: Optional[str], code: Any) -> str:
    """A name where there is one, its code on hover; the code where there is none."""
    return f'<span title="{esc(code)}">{esc(name)}</span>' if name else esc(code)


def regions(codes, lang: str) -> str:
    """Regions by name (the code on hover); "everywhere" for none."""
    from core.names import region_name

    return ", ".join(named(region_name(c), c) for c in codes or []) or esc(t("everywhere", lang))


def table(headers: Iterable[str], rows: Iterable[Iterable[str]], cls: str = "") -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


ERROR_WORDS = {  # status -> (traditional Chinese, English): what happened, said to a person
    400: ("請求有誤", "The request was not understood"), 403: ("無權訪問", "You may not see this"),
    404: ("找不到頁面或數據", "Not found"), 405: ("不支持此操作", "Not allowed here"),
    408: ("請求超時", "The request took too long"), 409: ("狀態已變化，無法執行", "It changed meanwhile: not done"),
    413: ("提交的內容過大", "Too large"), 429: ("請求過於頻繁，請稍後再試", "Too many requests: try again shortly"),
    500: ("系統出錯", "Something went wrong"), 503: ("系統繁忙，請稍後再試", "Busy: try again shortly"),
}


@web.middleware
async def error_pages(request: web.Request, handler):
    """Errors on the console's and the portal's pages as a page in the reader's language, with a way back (the API
    keeps answering plain text, as its document says)."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or request.path.startswith(("/api/", "/metrics", "/healthz", "/static/", "/console/stream")):
            raise
        from web.console.i18n import reason, script

        lang = lang_of(request)
        zh, en = ERROR_WORDS.get(exc.status, ERROR_WORDS[500] if exc.status >= 500 else ERROR_WORDS[400])
        title = en if lang == "en" else script(zh, lang)
        back = "Back" if lang == "en" else script("返回", lang)
        detail = reason(exc.text, lang) if exc.text and not exc.text.startswith(f"{exc.status}:") else ""
        page = layout(request, "", title, f'<p class="note">{esc(detail)}</p><p><a href="/">{back}</a></p>')
        return web.Response(status=exc.status, text=page.text, content_type="text/html", headers={
            k: v for k, v in exc.headers.items() if k.lower() in ("retry-after", "allow")})
