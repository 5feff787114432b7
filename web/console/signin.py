"""Signing in to the console and out: a session cookie after a password check, failures throttled per name and
address, unknown names as slow as known ones."""
from __future__ import annotations

import asyncio
import json
import secrets
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

from aiohttp import web

from core.access import token_digest
from web.auth import SESSION_COOKIE
from web.common import POOL, PUBLIC, SIGNED_IN, route
from web.console.i18n import t
from web.console.pages import esc, lang_of, layout

SESSION_HOURS = 12


async def login_form(request: web.Request, error: str = "", status: int = 200) -> web.Response:
    lang = lang_of(request)
    csrf = secrets.token_urlsafe(16)
    nxt = _next(request.query.get("next") or "")
    body = (f'<form class="login" method="post" action="/login?next={esc(urllib.parse.quote(nxt, safe=""))}">'
            f'<input type="hidden" name="csrf" value="{csrf}">'
            f'<label>{t("name", lang)}<input name="name" autocomplete="username"></label>'
            f'<label>{t("password", lang)}<input name="password" type="password" autocomplete="current-password">'
            f'</label><button type="submit">{t("login", lang)}</button><p class="bad">{esc(error)}</p></form>')
    resp = layout(request, "", t("login", lang), body)
    resp.set_status(status)
    resp.set_cookie("login_csrf", csrf, httponly=True, samesite="Strict")
    return resp


def _next(path: str) -> str:
    """Where to go after signing in: a path of this site only (never another host)."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


class Throttle:
    """Sign-in failures per name and per address: after `limit` within `window` seconds, wait it out."""

    def __init__(self, limit: int = 5, window: float = 900.0):
        self.limit, self.window = limit, window
        self.failures: dict[str, list[float]] = {}

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        return any(len([t for t in self.failures.get(k, ()) if now - t < self.window]) >= self.limit for k in keys)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        if len(self.failures) > 50000:
            self.failures = {k: v for k, v in self.failures.items() if v and now - v[-1] < self.window}
        for k in keys:
            self.failures[k] = [t for t in self.failures.get(k, []) if now - t < self.window][-self.limit:] + [now]


THROTTLE = web.AppKey("signin_throttle", Throttle)
_NOBODY: list[str] = []  # a hash verified against when the name is unknown: known and unknown take the same time


def _nobody() -> str:
    from argon2 import PasswordHasher

    if not _NOBODY:
        _NOBODY.append(PasswordHasher().hash(secrets.token_hex(16)))
    return _NOBODY[0]


async def login(request: web.Request) -> web.Response:
    from argon2 import PasswordHasher
    from argon2.exceptions import Argon2Error, InvalidHashError

    from web.auth import refused

    form = await request.post()
    if not secrets.compare_digest(str(form.get("csrf", "")), request.cookies.get("login_csrf", "-")):
        raise web.HTTPForbidden(text="CSRF token missing or wrong: reload the sign-in page")
    name, password = str(form.get("name", ""))[:64], str(form.get("password", ""))[:200]
    throttle = request.app.setdefault(THROTTLE, Throttle())
    keys = (f"name:{name}", f"addr:{request.remote}")
    if throttle.blocked(*keys):
        await refused(request, name or "?", 429)
        return await login_form(request, t("too_many", lang_of(request)), 429)
    async with request.app[POOL].acquire() as conn:
        row = await conn.fetchrow("SELECT password_hash FROM app_user WHERE name = $1 AND NOT disabled", name)
        known = row is not None and bool(row["password_hash"])
        try:
            ok = await asyncio.to_thread(PasswordHasher().verify, row["password_hash"] if known else _nobody(),
                                         password) and known
        except (Argon2Error, InvalidHashError):
            ok = False
        if not ok:
            throttle.failed(*keys)
            await refused(request, name or "?", 401)
            return await login_form(request, t("wrong_login", lang_of(request)), 401)
        await conn.execute("INSERT INTO audit_log (actor, action, status, detail) VALUES ($1, 'login', 200, $2::jsonb)",
                           name, json.dumps({"remote": request.remote}))
        cookie = secrets.token_urlsafe(32)
        await conn.execute("INSERT INTO app_session (id, user_name, csrf, expires_at) VALUES ($1, $2, $3, $4)",
                           token_digest(cookie), name, secrets.token_urlsafe(24),
                           datetime.now(timezone.utc) + timedelta(hours=SESSION_HOURS))
    resp = web.HTTPFound(_next(request.query.get("next") or "/"))
    resp.set_cookie(SESSION_COOKIE, cookie, httponly=True, samesite="Lax", max_age=SESSION_HOURS * 3600,
                    secure=request.secure)
    raise resp


async def logout(request: web.Request) -> web.Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        async with request.app[POOL].acquire() as conn:
            await conn.execute("DELETE FROM app_session WHERE id = $1", token_digest(cookie))
    resp = web.HTTPFound("/login")
    resp.del_cookie(SESSION_COOKIE)
    raise resp


def add_routes(app: web.Application) -> None:
    route(app, "GET", "/login", login_form, PUBLIC)
    route(app, "POST", "/login", login, PUBLIC)
    route(app, "POST", "/logout", logout, SIGNED_IN)
