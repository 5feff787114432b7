"""The worker's connection pool, opened on first use and closed when the app shuts down, and units of work
retried."""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, Optional, TypeVar

import asyncpg

log = logging.getLogger(__name__)
T = TypeVar("T")


class ConnectionLost(Exception):
    """An error on a connection that is gone (asyncpg can report a cut mid-operation as a protocol error)."""


# the database or the network, not the data: retried, never dead-lettered
TRANSIENT = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.SerializationError,
             asyncpg.DeadlockDetectedError, asyncpg.OperatorInterventionError, asyncpg.InsufficientResourcesError,
             asyncpg.LockNotAvailableError, OSError, asyncio.TimeoutError, ConnectionLost)


def is_transient(exc: BaseException, conn: Optional[asyncpg.Connection] = None) -> bool:
    """A failure of the database or the network, not of the data: a known kind, or any error on a connection
    that is gone."""
    return isinstance(exc, TRANSIENT) or (conn is not None and conn.is_closed())


class Database:
    def __init__(self, dsn: str, max_size: int = 4, on_retry: Optional[Callable[[str], None]] = None):
        self.dsn = dsn
        self.max_size = max_size
        self.on_retry = on_retry
        self._pool: Optional[asyncpg.Pool] = None
        self._lock = asyncio.Lock()

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=self.max_size)
        return self._pool

    async def run(self, what: str, work: Callable[[asyncpg.Connection], Awaitable[T]],
                  max_delay: float = 5.0) -> T:
        """`work` on a pooled connection. Its transactions are atomic, so after a transient failure (the
        database restarting, a deadlock) it simply runs again, after a growing pause, until it passes: the
        stream waits for the database instead of the worker dying."""
        delay = 0.05
        while True:
            try:
                pool = await self.pool()
                async with pool.acquire() as conn:
                    try:
                        return await work(conn)
                    except Exception as exc:
                        if is_transient(exc, conn) and not isinstance(exc, TRANSIENT):
                            raise ConnectionLost(f"{type(exc).__name__}: {exc}") from exc
                        raise
            except TRANSIENT as exc:
                if self.on_retry:
                    self.on_retry(what)
                log.warning("%s: %s: %s; again in %.2fs", what, type(exc).__name__, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, max_delay)

    async def lead(self, what: str, lock_id: int, work: Callable[[asyncpg.Connection], Awaitable[None]],
                   stop: Optional[asyncio.Event] = None) -> None:
        """`work` on a connection of its own that holds the advisory lock `lock_id`: one worker at a time
        leads. Losing the connection loses the lock too, so a transient failure starts over: connect, wait
        for the lock (another worker may have it by then), and lead again."""
        delay = 0.5
        while stop is None or not stop.is_set():
            conn: Optional[asyncpg.Connection] = None
            try:
                conn = await asyncpg.connect(self.dsn)
                while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock_id):
                    if stop is not None and stop.is_set():
                        return
                    await asyncio.sleep(2.0)
                delay = 0.5
                await work(conn)
                return
            except Exception as exc:
                if not is_transient(exc, conn):
                    raise
                if self.on_retry:
                    self.on_retry(what)
                log.warning("%s: %s: %s; leading again in %.1fs", what, type(exc).__name__, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            finally:
                if conn is not None:
                    conn.terminate()  # never waits on a dead peer; the session lock goes with it

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
