"""What the commands share: the console, the settings (filled from the running stack), a database connection."""
from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable, Callable, Optional, TypeVar

import click
from rich.console import Console

from core.settings import Settings
from shenpi.runtime import require, resolved

T = TypeVar("T")
console = Console(stderr=True)


def settings(ctx: click.Context) -> Settings:
    """The settings, with what the environment left open taken from the stack `shenpi up` started."""
    return resolved(ctx.obj["settings"])


def with_db(ctx: click.Context, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work` on a connection to the stack's database (closed afterwards)."""

    s = settings(ctx)
    require(s, "database_url")

    async def go() -> T:
        conn = await connect(s.database_url)
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(go())


def region_option(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """A click callback: a --region given is a region code (core.access.parse_region), nothing else."""
    from core.access import RegionError, parse_region

    if not value:
        return value
    try:
        return parse_region(value)
    except RegionError as exc:
        raise click.BadParameter(str(exc)) from None


async def connect(dsn: str):
    """A connection to the stack's database, migrated first if it was not (a command run before `shenpi up`)."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await _migrated(conn, dsn)
    except BaseException:
        await conn.close()
        raise
    return conn


async def _migrated(conn, dsn: str) -> None:
    """A database not yet migrated (a command before `shenpi up`) is migrated first, and the reader told."""
    from db.migrate import available, upgrade

    done = set()
    if await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
    if any(v not in done for v, _, _ in available()):
        applied = await asyncio.to_thread(upgrade, dsn)
        console.print(f"数据库尚未迁移，已执行迁移：{len(applied)} 项（shenpi db upgrade）")


OUTPUT = click.option("--output", default=None, type=click.Path(dir_okay=False),
                      help="With --format xlsx: the workbook to write.")


def write_workbook(ctx: click.Context, output: Optional[str], title: str, rows: list, **kw: Any) -> None:
    """--format xlsx: the rows as a workbook (names beside codes, core/workbook.py) written to --output."""
    from pathlib import Path

    from core.workbook import table_workbook

    if not output:
        raise click.UsageError("--format xlsx writes a workbook: give --output FILE")
    data = with_db(ctx, lambda conn: table_workbook(conn, title, rows, **kw))
    Path(output).write_bytes(data)
    console.print(f"{output}: {len(rows):,} rows")


def echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def progress(done: int, total: int) -> None:
    console.print(f"re-evaluated {done:,} of {total:,} cases", end="\r")


def run_maintenance(dsn: str) -> list[str]:
    """What migrations requested (e.g. every case re-evaluated after a change of rule), run now."""
    import asyncpg

    from streams.cases.rebuild import run_pending

    async def go() -> list[str]:
        conn = await asyncpg.connect(dsn)
        try:
            return await run_pending(conn, progress=progress)
        finally:
            await conn.close()

    return asyncio.run(go())
