"""Signing in to the console and out: a session cookie after a password check, failures throttled per name and
address, unknown names as slow as known ones."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

from aiohttp import web

from core.access import token_digest
from web.auth import SESSION_COOKIE
from web.common import POOL, PUBLIC, SETTINGS, SIGNED_IN, client_address, route
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
    """Sign-in failures, kept per name from one address (or from one known device) and per address: a stranger who
    guesses wrong slows only their own address, never the user at theirs. Past `limit` failures of a name from an
    address, each further try waits twice as long as the one before (from 30 s, at most the window); an address
    that failed `per_address` times in the window, for any names, waits the window out; a device that signed in as
    the name before is exempt from both (its own failures count on it alone). An administrator's reset
    (`shenpi users unlock`) forgets the name's failures before it."""

    def __init__(self, limit: int, per_address: int, window: float, first_wait: float = 30.0):
        self.limit, self.per_address, self.window, self.first_wait = limit, per_address, window, first_wait
        self.failures: dict[str, list[float]] = {}

    def keys(self, name: str, address: str, device: bool) -> tuple[str, ...]:
        return (f"device:{name}",) if device else (f"pair:{name}\n{address}", f"addr:{address}")

    def wait(self, keys: tuple[str, ...], reset_at: float = 0.0) -> float:
        """Seconds until these keys may try again (0: now)."""
        now, longest = time.time(), 0.0
        for k in keys:
            since = 0.0 if k.startswith("addr:") else reset_at  # a reset is the name's, not the address's
            times = [t for t in self.failures.get(k, ()) if now - t < self.window and t > since]
            if k.startswith("addr:"):
                until = times[-self.per_address] + self.window if len(times) >= self.per_address else 0.0
            else:
                over = len(times) - self.limit
                until = times[-1] + min(self.window, self.first_wait * 2 ** over) if over >= 0 else 0.0
            longest = max(longest, until - now)
        return longest

    def failed(self, keys: tuple[str, ...]) -> None:
        now = time.time()
        if len(self.failures) > 50000:
            self.failures = {k: v for k, v in self.failures.items() if v and now - v[-1] < self.window}
        keep = max(self.limit + 16, self.per_address)
        for k in keys:
            self.failures[k] = [t for t in self.failures.get(k, []) if now - t < self.window][-keep:] + [now]


THROTTLE = web.AppKey("signin_throttle", Throttle)
DEVICE_COOKIE = "shenpi_device"
_NOBODY: list[str] = []  # a hash verified against when the name is unknown: known and unknown take the same time


def _nobody() -> str:
    from argon2 import PasswordHasher

    if not _NOBODY:
        _NOBODY.append(PasswordHasher().hash(secrets.token_hex(16)))
    return _NOBODY[0]


def _device_mark(settings, name: str, nonce: str) -> str:
    return hmac.new(settings.identity_secret(), f"device:{name}:{nonce}".encode(), hashlib.sha256).hexdigest()[:32]


def known_device(request: web.Request, name: str) -> bool:
    """The browser signed in as `name` before (a cookie keyed to the name: nothing stored)."""
    nonce, _, mark = request.cookies.get(DEVICE_COOKIE, "").partition(".")
    return bool(nonce) and hmac.compare_digest(mark, _device_mark(request.app[SETTINGS], name, nonce))


def _throttle(app: web.Application) -> Throttle:
    if THROTTLE not in app:
        s = app[SETTINGS]
        app[THROTTLE] = Throttle(s.signin_failures, s.signin_failures_per_address, s.signin_window_seconds,
                                 s.signin_first_wait_seconds)
    return app[THROTTLE]


async def _verify(row, password: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import Argon2Error, InvalidHashError

    known = row is not None and bool(row["password_hash"])
    try:
        return await asyncio.to_thread(PasswordHasher().verify, row["password_hash"] if known else _nobody(),
                                       password) and known
    except (Argon2Error, InvalidHashError):
        return False


async def login(request: web.Request) -> web.Response:
    """One pool connection at a time, never two: the user looked up, the password checked with none held, the
    refusal or the session written with one."""
    from web.auth import refused

    form = await request.post()
    if not secrets.compare_digest(str(form.get("csrf", "")), request.cookies.get("login_csrf", "-")):
        raise web.HTTPForbidden(text="CSRF token missing or wrong: reload the sign-in page")
    name, password = str(form.get("name", ""))[:64], str(form.get("password", ""))[:200]
    pool = request.app[POOL]
    row = await pool.fetchrow("SELECT password_hash, extract(epoch FROM signin_reset_at) AS reset_at FROM app_user"
                              " WHERE name = $1 AND NOT disabled", name)
    throttle = _throttle(request.app)
    keys = throttle.keys(name, client_address(request), known_device(request, name))
    if throttle.wait(keys, float(row["reset_at"] or 0) if row is not None else 0.0) > 0:
        await refused(request, name or "?", 429)
        return await login_form(request, t("too_many", lang_of(request)), 429)
    if not await _verify(row, password):
        throttle.failed(keys)
        await refused(request, name or "?", 401)
        return await login_form(request, t("wrong_login", lang_of(request)), 401)
    cookie = secrets.token_urlsafe(32)
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO audit_log (actor, action, status, detail) VALUES ($1, 'login', 200, $2::jsonb)",
                           name, json.dumps({"remote": request.remote}))
        await conn.execute("INSERT INTO app_session (id, user_name, csrf, expires_at) VALUES ($1, $2, $3, $4)",
                           token_digest(cookie), name, secrets.token_urlsafe(24),
                           datetime.now(timezone.utc) + timedelta(hours=SESSION_HOURS))
    resp = web.HTTPFound(_next(request.query.get("next") or "/"))
    resp.set_cookie(SESSION_COOKIE, cookie, httponly=True, samesite="Lax", max_age=SESSION_HOURS * 3600,
                    secure=request.secure)
    nonce = secrets.token_urlsafe(12)
    resp.set_cookie(DEVICE_COOKIE, f"{nonce}.{_device_mark(request.app[SETTINGS], name, nonce)}", httponly=True,
                    samesite="Strict", max_age=365 * 86400, secure=request.secure)
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
