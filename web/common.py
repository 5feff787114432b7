"""What the HTTP API's parts share: the application keys, and JSON answers that carry dates and Chinese text."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
import json
import re
from typing import TYPE_CHECKING, Any, Optional

from aiohttp import web
from prometheus_client import CollectorRegistry

from core.settings import Settings

if TYPE_CHECKING:  # the keys' types; web/app.py imports the modules themselves
    from connectors.kafka import Publisher
    from web.heavy import Heavy
    from web.pool import BudgetPool, LoopLag

SETTINGS = web.AppKey("settings", Settings)
POOL: web.AppKey[BudgetPool] = web.AppKey("pool")  # asyncpg's pool with a bounded wait
LAG: web.AppKey[LoopLag] = web.AppKey("loop_lag")
PUBLISHER: web.AppKey[Publisher] = web.AppKey("publisher")
REGISTRY = web.AppKey("registry", CollectorRegistry)
RELAY_WAKE = web.AppKey("relay_wake", asyncio.Event)  # set when a receipt could not be sent at once
HEAVY: web.AppKey[Heavy] = web.AppKey("heavy")  # decision support off the event loop


def client_address(request: web.Request) -> str:
    """Who is asking: the peer, or, when the peer is a configured proxy, the address it forwarded (the last one it
    added: anything before it the client could have written)."""
    remote = request.remote or "?"
    if remote in request.app[SETTINGS].proxies():
        forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",") if a.strip()]
        if forwarded:
            return forwarded[-1]
    return remote


def dumps(obj: Any) -> str:
    return json.dumps(obj, default=str, ensure_ascii=False)


def json_response(obj: Any, status: int = 200) -> web.Response:
    return web.json_response(obj, status=status, dumps=dumps)


_DIGITS = re.compile(r"[0-9]{1,18}")


def _bad(text: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=text)


def query_int(request: web.Request, name: str, default: int, lo: int = 1, hi: int = 100_000) -> int:
    """A whole number of ASCII digits within [lo, hi], or the default when absent; else 400."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not _DIGITS.fullmatch(raw) or not lo <= int(raw) <= hi:
        raise _bad(f"{name}: {raw[:40]!r} is not a whole number from {lo} to {hi}")
    return int(raw)


def query_text(request: web.Request, name: str, choices: Optional[tuple[str, ...]] = None,
               max_length: int = 200) -> Optional[str]:
    """A text parameter without NUL and not too long (or one of `choices`); None when absent."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if "\x00" in raw or len(raw) > max_length:
        raise _bad(f"{name}: NUL characters or more than {max_length} characters")
    if choices is not None and raw not in choices:
        raise _bad(f"{name}: {raw[:40]!r} is not one of {', '.join(choices)}")
    return raw


def search_term(request: web.Request) -> str:
    """A search box's text (`q`): trimmed, at most 100 characters, no NUL; "" when absent."""
    q = (request.query.get("q") or "").strip()[:100]
    if "\x00" in q:
        raise _bad("q: NUL characters are not allowed")
    return q


def path_int(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not _DIGITS.fullmatch(raw) or int(raw) > 2**63 - 1:
        raise _bad(f"{name}: {raw[:40]!r} is not an id (ASCII digits)")
    return int(raw)


def path_text(request: web.Request, name: str) -> str:
    raw = request.match_info[name]
    if "\x00" in raw:
        raise _bad(f"{name}: NUL characters are not allowed")
    return raw


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"the key {k!r} is given twice")
        out[k] = v
    return out


async def json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object ({} when empty); else 400: not JSON, nested too deep, or a key given twice."""
    import orjson

    body = await request.read()
    if not body.strip():
        return {}
    try:
        orjson.loads(body)  # bounded depth (1024) before the parser that sees repeated keys recurses
        data = json.loads(body, object_pairs_hook=_no_repeats)
    except (ValueError, RecursionError) as exc:
        raise _bad(f"the body is not JSON: {str(exc)[:200]}") from None
    if not isinstance(data, dict):
        raise _bad(f"the body must be a JSON object, not {type(data).__name__}")
    return data


async def multipart_form(request: web.Request) -> dict[str, tuple[Optional[str], bytes]]:
    """A multipart body (already read, bounded, by the middleware) as name -> (filename or None, bytes); else 400."""
    from email.parser import BytesParser
    from email.policy import HTTP

    if not request.content_type.startswith("multipart/form-data"):
        raise _bad("a multipart/form-data body is required (the file in the field 'file')")
    body = await request.read()
    head = f"Content-Type: {request.headers.get('Content-Type', '')}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise _bad("the multipart body could not be read")
    out: dict[str, tuple[Optional[str], bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            payload = part.get_payload(decode=True)
            out[str(name)] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return out


def wants_xlsx(request: web.Request, others: tuple[str, ...] = ("json",)) -> bool:
    """format=xlsx asked (400 for a format not offered)."""
    return query_text(request, "format", (*others, "xlsx")) == "xlsx"


async def xlsx_answer(request: web.Request, title: str, rows: list, filename: str, **kw: Any) -> web.Response:
    """Rows as a workbook download (core/workbook.py: names beside codes, the query as the filter); written in a
    thread, so a large table does not hold the event loop in one piece."""
    import asyncio
    import functools

    from core.names import names_for
    from core.workbook import MEDIA_TYPE, columns_of, workbook

    async with request.app[POOL].acquire() as conn:
        names = await names_for(conn, rows)
    kw.setdefault("filters", {k: v for k, v in request.query.items() if k != "format"})
    cols = columns_of(rows, kw.pop("columns", None) or ())
    data = await asyncio.get_running_loop().run_in_executor(None, functools.partial(
        workbook, title, cols, rows, names=names, **kw))
    return web.Response(body=data, content_type=MEDIA_TYPE,
                        headers={"Content-Disposition": f'attachment; filename="{filename}.xlsx"'})


# ----------------------------------------------------------------------------- who may call a route

@dataclass(frozen=True)
class Policy:
    """Who may call a route, declared where the route is added; the API's middleware enforces it and nothing else
    decides access. `scoped`: the handler reads through the caller's region scope (request["caller"].scope)."""

    who: str  # anyone (no credentials), platform (event credentials), caller (a user or the platform's token)
    roles: tuple[str, ...] = ()  # () any role; else these (admin and the platform's service credential included)
    everywhere: bool = False  # only callers who see every region
    scoped: bool = False
    write: bool = False
    service: bool = True  # False: a person must act (the platform's token may not)
    upload: bool = False  # a file upload (multipart): its body bounded by SHENPI_ARCHIVE_MAX_BYTES, not as a form's


PUBLIC = Policy("anyone")
EVENTS = Policy("platform", write=True)
READ = Policy("caller", scoped=True)
OPERATIONS = Policy("caller", everywhere=True)  # reads that are not about regions
SUPERVISE = Policy("caller", roles=("supervisor",), everywhere=True, write=True)
ADMINISTER_LIST = Policy("caller", roles=("list_admin",), everywhere=True, write=True, service=False)
UPLOAD_LIST = Policy("caller", roles=("list_admin",), everywhere=True, write=True, service=False, upload=True)
UPLOAD_ROSTER = Policy("caller", roles=("staffing_admin", "supervisor"), scoped=True, write=True, service=False, upload=True)
# writes any signed-in person may attempt; the engine decides by its own rules and the caller's scope
SIGNED_IN = Policy("caller", roles=("viewer", "supervisor", "list_admin"), scoped=True, write=True)
# documents into the archive: any signed-in person (publishing what they propose takes a second person)
UPLOAD = Policy("caller", roles=("viewer", "supervisor", "list_admin"), scoped=True, write=True, service=False,
                upload=True)
POLICIES = web.AppKey("policies", dict)


def route(app: web.Application, method: str, path: str, handler, policy: Policy, **kw) -> None:
    """Add a route with its policy (a GET answers HEAD by the same policy)."""
    r = app.router.add_get(path, handler, **kw) if method == "GET" else app.router.add_route(method, path, handler, **kw)
    table = app.setdefault(POLICIES, {})
    table[(method, r.resource.canonical)] = policy
    if method == "GET":
        table[("HEAD", r.resource.canonical)] = policy


def static(app: web.Application, prefix: str, directory) -> None:
    r = app.router.add_static(prefix, directory)
    app.setdefault(POLICIES, {}).update({("GET", r.canonical): PUBLIC, ("HEAD", r.canonical): PUBLIC})


def policy_of(request: web.Request) -> Optional["Policy"]:
    r = request.match_info.route
    if r.resource is None:
        return None
    return request.app.get(POLICIES, {}).get((request.method, r.resource.canonical))
