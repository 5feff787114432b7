"""HTML building blocks: the layout with its navigation, tables, numbers; every value escaped."""
from __future__ import annotations

import html
from typing import Any, Iterable, Optional

from aiohttp import web

from console.i18n import HTML_LANG, LANG_NAMES, LANGS, t
from core.figures import fmt as figure

NAV = (("/", "overview"), ("/drill", "drill"), ("/alerts", "alerts"), ("/list", "list"), ("/analysis", "analysis"),
       ("/org", "org"), ("/evaluations", "evaluations"), ("/rectifications", "rectifications"))


def esc(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def fmt(key: str, v: Any) -> str:
    return esc(figure(key, v))


def lang_of(request: web.Request) -> str:
    lang = request.query.get("lang", request.cookies.get("lang"))
    return lang if lang in LANGS else "zh"


def layout(request: web.Request, active: str, title: str, body: str, stream: Optional[str] = None,
           scripts: str = "") -> web.Response:
    lang = lang_of(request)
    caller = request.get("caller")
    nav = "".join(f'<a href="{href}" class="{"on" if key == active else ""}">{t(key, lang)}</a>' for href, key in NAV)
    who = ""
    if caller is not None:
        scope = caller.scope or t("everywhere", lang)
        csrf = request.get("csrf", "")
        who = (f'<span class="who">{esc(caller.name)} · {t(caller.role, lang)} · {t("scope", lang)} {esc(scope)}</span>'
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


def table(headers: Iterable[str], rows: Iterable[Iterable[str]], cls: str = "") -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
