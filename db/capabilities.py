"""What the database server can do, detected rather than configured."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import asyncpg


@dataclass(frozen=True)
class Capabilities:
    server_version: str
    timescaledb: Optional[str]  # the installed extension's version, None without it

    @property
    def label(self) -> str:
        return f"PostgreSQL {self.server_version}" + (f" + TimescaleDB {self.timescaledb}" if self.timescaledb else
                                                     " (native range partitions)")


async def detect(conn: asyncpg.Connection) -> Capabilities:
    version = await conn.fetchval("SHOW server_version")
    ts = await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
    return Capabilities(version.split()[0], ts)
