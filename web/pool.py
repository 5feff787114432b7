"""The API's connection budget: a request waits a bounded time for a pool connection (then 503), a task that asks
for a second while it holds one is counted, and the health check reads the pool's and the event loop's load."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Optional

import asyncpg

log = logging.getLogger(__name__)


class PoolBusy(ConnectionError):
    """No pool connection came free in time (an OSError: background loops that retry on one retry on this)."""


class BudgetPool:
    """asyncpg's pool with a bounded wait; the query shortcuts hold a connection for one statement only."""

    def __init__(self, pool: asyncpg.Pool, max_size: int, wait: float):
        self.pool, self.max_size, self.wait = pool, max_size, wait
        self.waiting = self.nested = self.timeouts = 0
        self._held: dict[asyncio.Task, int] = {}

    def acquire(self) -> "_Lease":
        return _Lease(self)

    async def fetch(self, query: str, *args: Any) -> list:
        async with self.acquire() as conn:
            return await conn.fetch(query, *args)

    async def fetchrow(self, query: str, *args: Any):
        async with self.acquire() as conn:
            return await conn.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: Any):
        async with self.acquire() as conn:
            return await conn.fetchval(query, *args)

    async def execute(self, query: str, *args: Any) -> str:
        async with self.acquire() as conn:
            return await conn.execute(query, *args)

    def in_use(self) -> int:
        return self.pool.get_size() - self.pool.get_idle_size()

    def load(self) -> dict[str, Any]:
        busy = self.in_use()
        return {"max": self.max_size, "in_use": busy, "waiting": self.waiting, "nested": self.nested,
                "timed_out": self.timeouts, "saturated": busy >= self.max_size and self.waiting > 0}

    async def close(self, grace: float) -> None:
        """Closed within `grace` seconds: connections still held then are cut (a stop never waits on a request)."""
        try:
            await asyncio.wait_for(self.pool.close(), grace)
        except asyncio.TimeoutError:
            log.warning("pool: connections still held after %.0f s: terminated", grace)
            self.pool.terminate()


class _Lease:
    def __init__(self, budget: BudgetPool):
        self.budget, self.conn, self.task = budget, None, asyncio.current_task()

    async def __aenter__(self) -> asyncpg.Connection:
        b = self.budget
        if self.task is not None and b._held.get(self.task):
            b.nested += 1  # the deadlock of issue 29: one request holding a connection while it waits for another
            log.warning("a task asked for a second pool connection while holding one: %s", self.task.get_name())
        b.waiting += 1
        try:
            self.conn = await b.pool.acquire(timeout=b.wait)
        except asyncio.TimeoutError:
            b.timeouts += 1
            raise PoolBusy(f"no database connection free within {b.wait:g} s") from None
        finally:
            b.waiting -= 1
        if self.task is not None:
            b._held[self.task] = b._held.get(self.task, 0) + 1
        return self.conn

    async def __aexit__(self, *exc) -> None:
        b = self.budget
        if self.task is not None:
            left = b._held.get(self.task, 1) - 1
            if left:
                b._held[self.task] = left
            else:
                b._held.pop(self.task, None)
        await b.pool.release(self.conn)


class LoopLag:
    """How late the event loop wakes a timer: a loop that something blocks answers nothing, and shows it here."""

    def __init__(self, every: float = 0.1):
        self.every, self.worst, self.last, self.since = every, 0.0, 0.0, time.monotonic()
        self.task: Optional[asyncio.Task] = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            t = time.monotonic()
            await asyncio.sleep(self.every)
            self.last = max(0.0, time.monotonic() - t - self.every)
            if time.monotonic() - self.since > 60:  # the worst of about the last minute
                self.worst, self.since = 0.0, time.monotonic()
            self.worst = max(self.worst, self.last)

    def load(self, saturated_after: float) -> dict[str, Any]:
        return {"lag_ms": round(self.last * 1000, 1), "worst_lag_ms_last_minute": round(self.worst * 1000, 1),
                "saturated": self.last > saturated_after}

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
