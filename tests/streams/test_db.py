"""Units of work outlive the database dropping their connections: run again, or lead again, never die."""
from __future__ import annotations

import asyncio

import asyncpg

from streams.db import Database


async def test_work_whose_connection_is_dropped_runs_again_and_its_rollback_leaves_nothing(database_url):
    retried: list[str] = []
    db = Database(database_url, on_retry=retried.append)
    attempts = 0

    async def work(conn: asyncpg.Connection) -> int:
        nonlocal attempts
        attempts += 1
        async with conn.transaction():
            await conn.execute("CREATE TEMP TABLE IF NOT EXISTS t_work (n int)")
            await conn.execute("INSERT INTO t_work VALUES ($1)", attempts)
            if attempts == 1:  # the server goes away mid-transaction
                await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
            return await conn.fetchval("SELECT array_agg(n) FROM t_work")

    try:
        assert await db.run("test work", work, max_delay=0.1) == [2]
        assert attempts == 2 and retried == ["test work"]
    finally:
        await db.close()


async def test_a_data_error_is_not_retried(database_url):
    db = Database(database_url, on_retry=lambda w: (_ for _ in ()).throw(AssertionError("retried")))
    try:
        try:
            await db.run("bad", lambda conn: conn.execute("SELECT 1 / 0"))
        except asyncpg.DivisionByZeroError:
            pass
        else:
            raise AssertionError("a data error must reach the caller")
    finally:
        await db.close()


async def test_a_leader_that_loses_its_connection_leads_again_with_the_lock(database_url):
    lock_id = 4242
    retried: list[str] = []
    db = Database(database_url, on_retry=retried.append)
    terms = 0
    held: list[bool] = []

    async def lead(conn: asyncpg.Connection) -> None:
        nonlocal terms
        held.append(await conn.fetchval(
            "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND pid = pg_backend_pid()",
            lock_id))
        if terms == 0:
            terms += 1
            other = await asyncpg.connect(database_url)
            try:
                await other.execute("SELECT pg_terminate_backend($1)", conn.get_server_pid())
            finally:
                await other.close()
            await conn.fetchval("SELECT 1")  # the loss shows here

    await asyncio.wait_for(db.lead("test leader", lock_id, lead), 30)
    assert held == [True, True] and retried == ["test leader"]
    probe = await asyncpg.connect(database_url)
    try:  # and the lock went with the last connection
        assert await probe.fetchval("SELECT pg_try_advisory_lock($1)", lock_id)
    finally:
        await probe.close()
