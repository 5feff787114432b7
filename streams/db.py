"""The worker's connection pool, opened on first use and closed with the app."""
from __future__ import annotations

import asyncio
from typing import Optional

import asyncpg


class Database:
    def __init__(self, dsn: str, max_size: int = 4):
        self.dsn = dsn
        self.max_size = max_size
        self._pool: Optional[asyncpg.Pool] = None
        self._lock = asyncio.Lock()

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=self.max_size)
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
