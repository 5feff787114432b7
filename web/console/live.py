"""Many watchers, one computation: the live overview computed once per change for every region (the workers say
when, by NOTIFY), each scope's figures summed from it, and one message per scope fanned out to all of its open
streams. Time passing changes the figures too (a case turns overdue with no event): a timer recomputes."""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Optional

import asyncpg

from core.access import USERS_CHANNEL, within
from streams.indicators.definitions import GUARDS, INDICATORS, POINT, group_row
from streams.indicators.queries import indicators
from streams.indicators.window import parse_window

log = logging.getLogger(__name__)
CHANNEL = "shenpi_changed"
CARDS = (*INDICATORS, *GUARDS)  # every figure on the overview
COLUMNS = ("received", "completed", "in_progress", "overdue", "on_time_rate", "completed_without_deadline",
           "out_of_list")  # the region table's, narrow enough for a phone


def by_scope(rows: list[dict[str, Any]], scope: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A scope's total and region rows from every region's row: components add up, the ratios follow from them
    (a test holds this equal to asking the engine for the scope)."""
    mine = [r for r in rows if r.get("region_code") and within(scope, r["region_code"])]
    comps: dict[str, int] = {}
    for r in mine:
        for k, v in r["components"].items():
            comps[k] = comps.get(k, 0) + (v or 0)
        for k in POINT[1:]:
            comps[k] = comps.get(k, 0) + (r[k] or 0)
    if not mine:
        comps = {k: 0 for k in (*rows[0]["components"], *POINT)} if rows else {}
    return (group_row({}, comps) if comps else {}), mine


@dataclass(eq=False)  # each stream is itself (hashed by identity)
class Watcher:
    scope: str
    user: Optional[str]  # a user's stream ends when the user is disabled (None: a service credential's)
    session: Optional[str]  # the session's id digest, when signed in by cookie
    role: str = ""  # ... or when their role, scope or (for a token's stream) token changes
    token: Optional[str] = None  # the bearer token's digest
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(maxsize=1))


class LiveHub:
    def __init__(self, pool: asyncpg.Pool, dsn: str, render, interval: float = 30.0, debounce: float = 0.3,
                 check_every: float = 30.0):
        self.pool, self.dsn, self.render = pool, dsn, render
        self.interval, self.debounce, self.check_every = interval, debounce, check_every
        self.watchers: set[Watcher] = set()
        self.last: dict[str, str] = {}  # scope -> the last message sent
        self.wake = asyncio.Event()
        self.users_changed = asyncio.Event()  # a user was changed or disabled (`shenpi users`): check at once
        self.computations = 0
        self._tasks: list[asyncio.Task] = []
        self._listener: Optional[asyncpg.Connection] = None

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._run()),
                       asyncio.create_task(self._check())]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for w in list(self.watchers):
            self._end(w)

    def end_all(self) -> None:
        """Every stream ends (the API is shutting down: they must not hold it up)."""
        for w in list(self.watchers):
            self._end(w)

    def subscribe(self, scope: str, user: Optional[str], session: Optional[str], role: str = "",
                  token: Optional[str] = None) -> Watcher:
        w = Watcher(scope, user, session, role, token)
        self.watchers.add(w)
        if scope in self.last:
            w.queue.put_nowait(self.last[scope])
        else:
            self.wake.set()
        return w

    def unsubscribe(self, w: Watcher) -> None:
        self.watchers.discard(w)

    def _end(self, w: Watcher) -> None:
        self.watchers.discard(w)
        _replace(w.queue, None)

    async def _listen(self) -> None:
        """One connection listens for the workers' word; it is opened again if it drops."""
        while True:
            try:
                self._listener = await asyncpg.connect(self.dsn)
                await self._listener.add_listener(CHANNEL, lambda *_: self.wake.set())
                await self._listener.add_listener(USERS_CHANNEL, lambda *_: self.users_changed.set())
                self.users_changed.set()
                self.wake.set()  # whatever happened while not listening
                while not self._listener.is_closed():
                    await asyncio.sleep(5)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("live: listening failed (%s); again in 2 s", exc)
            finally:
                if self._listener is not None and not self._listener.is_closed():
                    await self._listener.close()
            await asyncio.sleep(2)

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self.wake.wait(), self.interval)
                await asyncio.sleep(self.debounce)  # a burst of takes is one change
            except asyncio.TimeoutError:
                pass
            self.wake.clear()
            if not self.watchers:
                continue
            try:
                await self._compute()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("live: computing the overview failed: %s", exc)

    async def _compute(self) -> None:
        window = parse_window(None, None)
        scopes = {w.scope for w in self.watchers}
        async with self.pool.acquire() as conn:
            rows = await indicators(conn, window, ("region_code",))
            # the tiles: the very query the overview and a chosen window run (items in force are not a sum over
            # regions: an item in force in three counties is one item of the city)
            totals = {scope: (await indicators(conn, window, (), scope=scope))[0] for scope in scopes}
        self.computations += 1
        for scope in scopes:
            _, mine = by_scope(rows, scope)
            total = totals[scope]
            msg = json.dumps(self.render(total, mine), ensure_ascii=False)
            if msg != self.last.get(scope):
                self.last[scope] = msg
                for w in [w for w in self.watchers if w.scope == scope]:
                    _replace(w.queue, msg)

    async def _check(self) -> None:
        """Streams whose user was disabled, changed (role, scope, a token rotated) or whose session ended are
        closed: at once when `shenpi users` says so, else every check_every seconds; one query for all."""
        while True:
            try:
                await asyncio.wait_for(self.users_changed.wait(), self.check_every)
            except asyncio.TimeoutError:
                pass
            self.users_changed.clear()
            if not self.watchers:
                continue
            try:
                async with self.pool.acquire() as conn:
                    users = {r["name"]: r for r in await conn.fetch(
                        "SELECT name, role, region_scope, token_digest FROM app_user WHERE NOT disabled"
                        " AND name = ANY($1::text[])", list({w.user for w in self.watchers if w.user}))}
                    sessions = {r["id"] for r in await conn.fetch(
                        "SELECT id FROM app_session WHERE expires_at > now() AND id = ANY($1::text[])",
                        list({w.session for w in self.watchers if w.session}))}
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                continue
            for w in list(self.watchers):
                if (w.session and w.session not in sessions) or (w.user and _changed(w, users.get(w.user))):
                    self._end(w)


def _changed(w: Watcher, user) -> bool:
    """The person the stream was opened for is no longer the same: gone, another role or scope, a new token."""
    return (user is None or (w.role and user["role"] != w.role) or user["region_scope"] != w.scope
            or (w.token is not None and user["token_digest"] != w.token))


def _replace(q: asyncio.Queue, item: Any) -> None:
    """The newest message only: a slow reader skips what it missed rather than piling it up."""
    while not q.empty():
        q.get_nowait()
    q.put_nowait(item)
