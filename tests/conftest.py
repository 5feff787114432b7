"""Session fixtures: a fresh database on the real PostgreSQL, migrated once; the real broker when asked."""
from __future__ import annotations

import os
import uuid

import asyncpg
import psycopg
import pytest

from db.migrate import upgrade

ADMIN_DSN = os.environ.get("SHENPI_TEST_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
TABLES = ("case_event", "case_state", "case_contrib", "indicator_daily", "violation", "processed_batch",
          "dead_letter", "list_change", "list_item_version", "worker")


def _dsn_for(name: str) -> str:
    base, _, _ = ADMIN_DSN.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def database_url():
    name = f"shenpi_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = _dsn_for(name)
    upgrade(dsn)
    yield dsn
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def truncate_all(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES)}")


@pytest.fixture
async def conn(database_url):
    truncate_all(database_url)
    c = await asyncpg.connect(database_url)
    yield c
    await c.close()
