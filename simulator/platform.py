"""A simulator of the government service platform (政務服務平台): its item catalog, over real HTTP.

The catalog says where each item can be applied for. Every change is idempotent by its Idempotency-Key;
a devolution moves an item in one step, so applicants never see it at both levels or at neither.
Faults can be injected for tests: 5xx answers, timeouts, slowness, a full outage.
"""
from __future__ import annotations

import asyncio
import hmac
import random
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from aiohttp import web

from schemas import ITEM_ATTRS


@dataclass
class Entry:
    item_code: str
    online: bool = False
    accepting: bool = False  # cancelled items stop new cases; accepted ones run on
    attrs: dict[str, Any] = field(default_factory=dict)
    version: int = 0

    def view(self) -> dict[str, Any]:
        return {"item_code": self.item_code, "online": self.online, "accepting": self.accepting,
                "version": self.version, **self.attrs}


@dataclass
class Faults:
    mode: Optional[str] = None  # "5xx", "timeout", "slow", "outage"
    probability: float = 1.0
    until: float = 0.0
    delay: float = 0.0

    def active(self) -> bool:
        return self.mode is not None and time.monotonic() < self.until


class Platform:
    """The catalog's state: entries, the idempotency records, and the log of what was applied."""

    def __init__(self, token: str):
        self.token = token
        self.entries: dict[str, Entry] = {}
        self.seen: dict[str, tuple[int, dict]] = {}
        self.applied: list[dict[str, Any]] = []
        self.faults = Faults()
        self.lock = asyncio.Lock()
        self.cases: list[dict[str, Any]] = []

    def apply(self, key: str, op: str, code: str, body: dict[str, Any]) -> tuple[int, dict]:
        if key in self.seen:
            return self.seen[key]
        e = self.entries.setdefault(code, Entry(code))
        if op == "publish":
            e.attrs.update({k: body[k] for k in ITEM_ATTRS if k in body})
            e.online = e.accepting = True
        elif op == "update":
            e.attrs.update({k: body[k] for k in ITEM_ATTRS if k in body})
        elif op == "withdraw":
            e.accepting = False
            e.online = False
        elif op == "move":
            # one assignment: there is no moment at which the item is at both levels or at neither
            e.attrs.update(level=body["level"], region_codes=list(body["region_codes"]))
            e.online = e.accepting = True
        e.version += 1
        self.applied.append({"key": key, "op": op, "item_code": code, "at": time.time(), "version": e.version})
        result = (200, e.view())
        self.seen[key] = result
        return result

    def accepts(self, code: str, region: str) -> bool:
        e = self.entries.get(code)
        return bool(e and e.accepting and region in e.attrs.get("region_codes", ()))


PLATFORM = web.AppKey("platform", Platform)


def _check(request: web.Request) -> None:
    token = request.app[PLATFORM].token
    got = request.headers.get("Authorization", "")
    if not (got.startswith("Bearer ") and hmac.compare_digest(got[7:].encode(), token.encode())):
        raise web.HTTPUnauthorized(text="platform: bearer token required")


@web.middleware
async def faults(request: web.Request, handler):
    f = request.app[PLATFORM].faults
    if request.path.startswith("/catalog") and f.active() and random.random() < f.probability:
        if f.mode == "outage":
            raise web.HTTPServiceUnavailable(text="platform: outage (simulated)")
        if f.mode == "5xx":
            raise web.HTTPInternalServerError(text="platform: error (simulated)")
        if f.mode == "timeout":
            await asyncio.sleep(3600)
        if f.mode == "slow":
            await asyncio.sleep(f.delay)
    return await handler(request)


async def _change(request: web.Request, op: str) -> web.Response:
    _check(request)
    key = request.headers.get("Idempotency-Key")
    if not key:
        raise web.HTTPBadRequest(text="platform: Idempotency-Key header required")
    body = await request.json() if request.can_read_body else {}
    platform = request.app[PLATFORM]
    code = request.match_info["code"]
    if op == "move" and not (body.get("level") and body.get("region_codes")):
        raise web.HTTPBadRequest(text="platform: move needs level and region_codes")
    async with platform.lock:
        status, view = platform.apply(key, op, code, body)
    return web.json_response(view, status=status)


async def publish(request):
    return await _change(request, "publish")


async def update(request):
    return await _change(request, "update")


async def withdraw(request):
    return await _change(request, "withdraw")


async def move(request):
    return await _change(request, "move")


async def list_items(request: web.Request) -> web.Response:
    _check(request)
    return web.json_response([e.view() for e in request.app[PLATFORM].entries.values()])


async def get_item(request: web.Request) -> web.Response:
    _check(request)
    e = request.app[PLATFORM].entries.get(request.match_info["code"])
    if e is None:
        raise web.HTTPNotFound(text="platform: no such item")
    return web.json_response(e.view())


async def apply_case(request: web.Request) -> web.Response:
    """An applicant submits a case for an item at a region's office."""
    body = await request.json()
    platform = request.app[PLATFORM]
    code, region = request.match_info["code"], body.get("region_code", "")
    if not platform.accepts(code, region):
        raise web.HTTPConflict(text=f"platform: {code} is not open for applications at {region}")
    platform.cases.append({"item_code": code, "region_code": region, "at": time.time()})
    return web.json_response({"accepted": True}, status=201)


async def set_faults(request: web.Request) -> web.Response:
    _check(request)
    body = await request.json()
    request.app[PLATFORM].faults = Faults(mode=body.get("mode"), probability=float(body.get("probability", 1.0)),
                                          until=time.monotonic() + float(body.get("seconds", 0)),
                                          delay=float(body.get("delay", 0)))
    return web.json_response({"ok": True})


async def applied_log(request: web.Request) -> web.Response:
    _check(request)
    return web.json_response(request.app[PLATFORM].applied)


def init_app(token: str) -> web.Application:
    app = web.Application(middlewares=[faults])
    app[PLATFORM] = Platform(token)
    app.router.add_get("/catalog/items", list_items)
    app.router.add_get("/catalog/items/{code}", get_item)
    app.router.add_put("/catalog/items/{code}", publish)
    app.router.add_patch("/catalog/items/{code}", update)
    app.router.add_post("/catalog/items/{code}/withdraw", withdraw)
    app.router.add_post("/catalog/items/{code}/move", move)
    app.router.add_post("/catalog/items/{code}/cases", apply_case)
    app.router.add_post("/_sim/faults", set_faults)
    app.router.add_get("/_sim/applied", applied_log)
    return app
